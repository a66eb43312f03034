// One golden case run by every fixture (bundled page, plain page, dedicated and shared worker): the
// Wisp object is passed in, so this file imports nothing and runs in any context.
export const MODEL_URL = '/shared/models/mlperf_tiny_vww_96_int8.tflite';
export const INPUT_URL = '/shared/goldens/mlperf_tiny_vww_96_int8/cat.input0.bin';

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

// Creates a runtime with `mode` ({ threads, worker }), runs the golden input and returns what the
// test asserts on: the variant (and its fallback message), the time Wisp.create took, the output.
export async function runCase(Wisp, mode) {
  const t0 = Date.now();
  const rt = await Wisp.create(mode);
  const createMs = Date.now() - t0;
  try {
    const model = await rt.load(MODEL_URL);
    const input = new Int8Array((await fetchBytes(INPUT_URL)).buffer);
    const [out] = await model.run(input);
    return { mode, variant: { ...rt.variant }, createMs, dtype: out.dtype, output: Array.from(out.data) };
  } finally {
    rt.dispose();
  }
}

// Runs each mode in turn; an error becomes { mode, error } so the test shows it.
export async function runModes(Wisp, modes) {
  const results = [];
  for (const mode of modes) {
    try {
      results.push(await runCase(Wisp, mode));
    } catch (e) {
      results.push({ mode, error: String(e?.stack ?? e) });
    }
  }
  return results;
}
