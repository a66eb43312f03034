// In-page side of bench/browser_vs_litert.mjs: one runtime (Wisp or LiteRT.js) per page.
//   window.benchSide(args) -> steady-state latency of one model on one input (+ golden check)
//   window.coldSide(args)  -> runtime import + init, model fetch + load, first inference
// Both runtimes are imported dynamically, only when asked for.
import { compileModel, makeInputBuffers, infer, disposeModel } from './litert_lowlevel.mjs';

const LITERT_URL = '/nm/@litertjs/core/dist/index.js';
const LITERT_WASM_DIR = '/nm/@litertjs/core/wasm/';
const now = () => performance.now();
// Cold start: inferences timed after the first, outside the cold-start total. Until the engine's
// optimizing compiler has caught up they run partly in baseline code.
const NEXT_RUNS = 3;

const ARRAY_TYPES = {
  float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, bool: Uint8Array,
};

async function fetchBytes(url, timeoutMs = 60000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const r = await fetch(url, { signal: ctl.signal });
    if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  } finally { clearTimeout(timer); }
}

const typed = (bytes, dtype) => {
  const T = ARRAY_TYPES[dtype] ?? Uint8Array;
  return new T(bytes.buffer, bytes.byteOffset, bytes.byteLength / T.BYTES_PER_ELEMENT);
};
const rawBytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function quantile(sorted, q) {
  if (!sorted.length) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
function summarize(arr) {
  const s = arr.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  return { n: s.length, median: quantile(s, 0.5), min: s[0], p10: quantile(s, 0.1), p90: quantile(s, 0.9), max: s[s.length - 1] };
}

/** Exact byte comparison with the golden, plus the largest numeric difference when not exact. */
function compareGolden(ours, gold, dtype) {
  if (ours.byteLength !== gold.byteLength) return { exact: false, why: `size ${ours.byteLength} != golden ${gold.byteLength}` };
  let same = true;
  for (let i = 0; i < ours.length; i++) if (ours[i] !== gold[i]) { same = false; break; }
  if (same) return { exact: true };
  const a = typed(ours.slice(), dtype), b = typed(gold.slice(), dtype);
  let maxAbsDiff = 0, nDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    if (d !== 0) nDiff++;
    if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
  }
  return { exact: false, maxAbsDiff, nDiff, n: a.length };
}

async function checkGolden(outputs, goldens) {
  const res = [];
  for (let i = 0; i < goldens.length; i++) {
    const gold = await fetchBytes(goldens[i].url);
    res.push({ dtype: goldens[i].dtype, ...(outputs[i] ? compareGolden(outputs[i], gold, goldens[i].dtype) : { exact: false, why: 'missing output' }) });
  }
  return res;
}

async function timedLoop(runOnce, { warmup, warmupMinMs, minRuns, minMs, maxRuns, maxMs, batchMs = 0.5 }) {
  // warm-up: >= `warmup` runs and >= warmupMinMs (the JS engine tiers up the glue), bounded
  const w0 = now();
  let warmRuns = 0;
  while ((warmRuns < warmup || now() - w0 < warmupMinMs) && warmRuns < 100000 && now() - w0 < Math.max(10000, warmupMinMs)) {
    const r = runOnce();
    if (r && typeof r.then === 'function') await r;
    warmRuns++;
  }
  // Runs faster than batchMs are timed in batches (one sample = the mean of `batch` runs), so the
  // 5 us timer does not quantize them. The run time is estimated after the warm-up.
  const c0 = now();
  let calRuns = 0;
  while (calRuns < 50 && now() - c0 < 20) {
    const r = runOnce();
    if (r && typeof r.then === 'function') await r;
    calRuns++;
  }
  const perRun = (now() - c0) / Math.max(1, calRuns);
  const batch = Math.max(1, Math.min(1000, Math.floor(batchMs / Math.max(perRun, 1e-3))));
  const e2e = [], invoke = [];
  const start = now();
  for (;;) {
    const elapsed = now() - start;
    if (e2e.length >= maxRuns || elapsed >= maxMs) break;
    if (e2e.length >= minRuns && elapsed >= minMs) break;
    let inv = 0;
    const a = now();
    for (let k = 0; k < batch; k++) {
      let r = runOnce(); // Wisp's runSync is synchronous: no await (a microtask hop) in its timed region
      if (r && typeof r.then === 'function') r = await r;
      inv += typeof r === 'number' ? r : NaN;
    }
    e2e.push((now() - a) / batch);
    invoke.push(inv / batch);
  }
  return { e2e: summarize(e2e), invoke: summarize(invoke), batch, samples: e2e.length, runs: e2e.length * batch, warmRuns, timedMs: now() - start };
}

function wasmResources() {
  return performance.getEntriesByType('resource').filter((e) => /\.wasm(\?|$)/.test(e.name))
    .map((e) => e.name.split('/').pop());
}

export function pageInfo() {
  return { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency };
}

// ---- Wisp -------------------------------------------------------------------------------------

async function wispCreate(Wisp, threads, simd) {
  return Wisp.create({ threads, simd });
}

// keepState: a stateful model (keras_lstm_mnist_ptq) keeps its variables between runs, as a TFLite
// interpreter does and as its golden was taken (Wisp's default resets them every run); no effect
// on models without variables.
const WISP_LOAD_OPTIONS = { keepState: true };

// Preallocated outputs, when the runtime supports them: runSync(input, { outputs }) must hand back
// the very arrays it was given (older versions ignore the option and return fresh copies).
function wispOutputOptions(m, inputs) {
  let prealloc;
  try {
    prealloc = m.outputs.map((d) => { const T = ARRAY_TYPES[d.dtype] ?? Uint8Array; return new T(d.bytes / T.BYTES_PER_ELEMENT); });
    const r = m.runSync(inputs, { outputs: prealloc });
    if (r.every((o, i) => o.data === prealloc[i] || (o.data?.buffer === prealloc[i].buffer && o.data.byteOffset === prealloc[i].byteOffset))) {
      return { options: { outputs: prealloc }, prealloc: true };
    }
  } catch { /* not supported */ }
  return { options: undefined, prealloc: false };
}

async function benchWisp(a) {
  const res = { side: 'wisp' };
  const { Wisp } = await import(a.wispModule);
  let t = now();
  const rt = await wispCreate(Wisp, a.threads, a.simd);
  res.initMs = now() - t;
  try {
    res.variant = rt.variant?.name ?? null;
    res.numThreads = rt.variant?.numThreads ?? null;
    res.fallback = rt.variant?.fallback ?? null;
    res.wasm = wasmResources();
    const modelBytes = await fetchBytes(a.modelUrl);
    const inputs = await Promise.all(a.inputs.map(async (i) => typed(await fetchBytes(i.url), i.dtype)));
    t = now();
    const m = await rt.load(modelBytes, WISP_LOAD_OPTIONS);
    res.loadMs = now() - t;
    try {
      t = now();
      m.runSync(inputs);
      res.firstRunMs = now() - t;
      const { options, prealloc } = wispOutputOptions(m, inputs);
      res.preallocatedOutputs = prealloc;
      const loop = await timedLoop(() => { m.runSync(inputs, options); return m.lastInvokeMs; }, a.bench);
      Object.assign(res, loop);
      const outs = m.runSync(inputs);
      res.golden = await checkGolden(outs.map((o) => rawBytes(o.data)), a.goldens);
      if (a.profile && typeof m.profileSync !== 'function') res.profile = { unavailable: 'model.profileSync does not exist' };
      else if (a.profile) {
        try {
          const p = m.profileSync({ runs: 20 });
          res.profile = { runs: p.runs, totalUs: p.totalUs };
        } catch (e) { res.profile = { error: String(e?.message ?? e) }; }
      }
    } finally { m.dispose(); }
  } finally { rt.dispose(); }
  return res;
}

async function coldWisp(a) {
  // the input is not part of a cold start: fetched before the clock starts
  const inputs = await Promise.all(a.inputs.map(async (i) => typed(await fetchBytes(i.url), i.dtype)));
  const t0 = now();
  const { Wisp } = await import(a.wispModule);
  const t1 = now();
  // The package's one call for a runtime and its model, which downloads the model while the
  // runtime compiles (--cold-sequential: create, then load, as before it existed).
  const oneCall = !a.coldSequential && typeof Wisp.load === 'function';
  const rt = oneCall ? null : await wispCreate(Wisp, a.threads, a.simd);
  const t2 = now();
  const m = oneCall
    ? await Wisp.load(a.modelUrl, { threads: a.threads, simd: a.simd, ...WISP_LOAD_OPTIONS })
    : await rt.load(a.modelUrl, WISP_LOAD_OPTIONS);
  const t3 = now();
  const outs = m.runSync(inputs);
  const t4 = now();
  const nextRunsMs = [];
  for (let i = 0; i < NEXT_RUNS; i++) {
    const t = now();
    m.runSync(inputs);
    nextRunsMs.push(now() - t);
  }
  const variant = (rt ?? m.runtime).variant;
  const res = {
    side: 'wisp', variant: variant?.name ?? null, numThreads: variant?.numThreads ?? null, wasm: wasmResources(),
    // one call: init and load overlap, so "load" is both and init is not reported
    totalMs: t4 - t0, importMs: t1 - t0, initMs: oneCall ? null : t2 - t1, loadMs: t3 - t2, firstRunMs: t4 - t3, nextRunsMs,
    oneCall,
  };
  res.golden = await checkGolden(outs.map((o) => rawBytes(o.data)), a.goldens);
  m.dispose();
  rt?.dispose();
  return res;
}

// ---- LiteRT.js --------------------------------------------------------------------------------

async function litertLoad(lr, variant) {
  if (variant === 'compat') return lr.loadLiteRt(LITERT_WASM_DIR + 'litert_wasm_compat_internal.js');
  if (variant === 'relaxed' || variant === 'threaded') return lr.loadLiteRt(LITERT_WASM_DIR, { threads: variant === 'threaded' });
  throw new Error(`unknown LiteRT.js variant ${variant}`);
}

async function benchLitert(a) {
  const res = { side: 'litert' };
  const lr = await import(LITERT_URL);
  let t = now();
  const rt = await litertLoad(lr, a.litertVariant);
  res.initMs = now() - t;
  res.variant = a.litertVariant;
  res.wasm = wasmResources();
  try { res.runtimeThreadCount = rt.liteRtWasm.getThreadCount(); } catch { /* optional */ }
  const modelBytes = await fetchBytes(a.modelUrl);
  const inputs = await Promise.all(a.inputs.map((i) => fetchBytes(i.url)));
  t = now();
  let h;
  try {
    h = await compileModel(rt, modelBytes, { numThreads: a.threads });
  } catch (e) {
    res.error = { stage: 'load', message: String(e?.message ?? e) };
    return res;
  }
  res.loadMs = now() - t;
  res.numThreads = a.threads;
  const bufs = makeInputBuffers(h, inputs);
  try {
    t = now();
    await infer(h, bufs, inputs);
    res.firstRunMs = now() - t;
    const loop = await timedLoop(async () => (await infer(h, bufs, inputs)).invokeMs, a.bench);
    Object.assign(res, loop);
    const { outputs } = await infer(h, bufs, inputs);
    res.golden = await checkGolden(outputs, a.goldens);
  } finally {
    bufs.forEach((b) => b.delete());
    disposeModel(h);
  }
  return res;
}

async function coldLitert(a) {
  const inputs = await Promise.all(a.inputs.map((i) => fetchBytes(i.url)));
  const t0 = now();
  const lr = await import(LITERT_URL);
  const t1 = now();
  // As fast as LiteRT.js's API allows: the model downloads while its runtime compiles
  // (--cold-sequential: one after the other).
  let rt;
  let modelBytes;
  if (a.coldSequential) rt = await litertLoad(lr, a.litertVariant);
  else [rt, modelBytes] = await Promise.all([litertLoad(lr, a.litertVariant), fetchBytes(a.modelUrl)]);
  const t2 = now();
  modelBytes ??= await fetchBytes(a.modelUrl);
  const h = await compileModel(rt, modelBytes, { numThreads: a.threads });
  const t3 = now();
  const bufs = makeInputBuffers(h, inputs);
  const { outputs } = await infer(h, bufs, inputs);
  const t4 = now();
  const nextRunsMs = [];
  for (let i = 0; i < NEXT_RUNS; i++) {
    const t = now();
    await infer(h, bufs, inputs);
    nextRunsMs.push(now() - t);
  }
  const res = {
    side: 'litert', variant: a.litertVariant, numThreads: a.threads, wasm: wasmResources(),
    totalMs: t4 - t0, importMs: t1 - t0, initMs: a.coldSequential ? t2 - t1 : null, loadMs: a.coldSequential ? t3 - t2 : t3 - t1,
    firstRunMs: t4 - t3, nextRunsMs,
  };
  res.golden = await checkGolden(outputs, a.goldens);
  bufs.forEach((b) => b.delete());
  disposeModel(h);
  return res;
}

const wrap = (fn) => async (a) => {
  try { return await fn(a); } catch (e) { return { side: a.side, error: { stage: 'run', message: String(e?.stack ?? e).slice(0, 2000) } }; }
};
window.pageInfo = pageInfo;
window.benchSide = wrap((a) => (a.side === 'wisp' ? benchWisp(a) : benchLitert(a)));
window.coldSide = wrap((a) => (a.side === 'wisp' ? coldWisp(a) : coldLitert(a)));
window.pageReady = true;
