// LiteRT.js (@litertjs/core 2.5.3) driven through its low-level embind API, in the page.
//
// The high-level loadAndCompile()/Tensor of 2.5.3 reject int8 and int64 tensors ("Element type
// INT8 is not supported."), so this makes the calls those wrappers make internally, as
// $WISP_SHARED/peers/lib/litert_core.mjs does: loadModel -> compileModel (XNNPACK CPU) ->
// LiteRtTensorBuffer.createManaged(HOST_MEMORY) -> compiledModel.run(signature 0, buffers).

const vecToArray = (v) => {
  const a = [];
  for (let i = 0; i < v.size(); i++) a.push(v.get(i));
  v.delete();
  return a;
};

/** Copies the model into the wasm heap, loads and compiles it. */
export async function compileModel(rt, modelBytes, { numThreads = 1 } = {}) {
  const w = rt.liteRtWasm;
  const envObj = rt.getDefaultEnvironment();
  const env = envObj.liteRtEnvironment;
  const ptr = w._malloc(modelBytes.byteLength);
  let model = null;
  try {
    w.HEAPU8.set(modelBytes, ptr);
    model = w.loadModel(env, ptr, modelBytes.byteLength);
    const opts = { environment: envObj, accelerator: 'wasm', cpuOptions: { numThreads }, gpuOptions: {}, webNNOptions: {} };
    const cm = await w.compileModel(env, model, opts);
    const sig = model.getSignature(0);
    const inNames = vecToArray(sig.inputNames());
    const outNames = vecToArray(sig.outputNames());
    const inputs = inNames.map((name, i) => {
      let tt = model.getInputTensorType(0, i);
      const layout = tt.layout();
      const dims = vecToArray(layout.dimensions());
      layout.delete();
      if (dims.some((d) => d < 0)) {
        // A SignatureDef with a dynamic batch reports [-1, ...] and tt.bytes() throws; build a
        // concrete [1, ...] type as LiteRT.js's own Tensor does.
        const et = tt.elementType();
        tt.delete();
        const v = new w.VectorInt32();
        dims.forEach((d) => v.push_back(d < 0 ? 1 : d));
        const lay = w.LiteRtLayout.create(v);
        v.delete();
        tt = w.LiteRtRankedTensorType.create({ value: et.value }, lay);
        lay.delete();
      }
      return { name, tt, bytes: tt.bytes() };
    });
    return { w, env, model, cm, ptr, inputs, outputNames: outNames };
  } catch (e) {
    try { model?.delete(); } catch { /* ignore */ }
    w._free(ptr);
    throw e;
  }
}

export function writeBuffer(h, buf, bytes) {
  const { w } = h;
  const p = buf.lock(w.LiteRtTensorBufferLockMode.WRITE);
  try {
    if (bytes.byteLength !== buf.size()) throw new Error(`input size ${bytes.byteLength} != buffer size ${buf.size()}`);
    w.HEAPU8.set(bytes, p);
  } finally { buf.unlock(); }
}

export function readBuffer(h, buf) {
  const { w } = h;
  const p = buf.lock(w.LiteRtTensorBufferLockMode.READ);
  try {
    return w.HEAPU8.slice(p, p + buf.packedSize());
  } finally { buf.unlock(); }
}

/** Host-memory input buffers holding the given raw bytes (Uint8Array per input). */
export function makeInputBuffers(h, inputBytes) {
  if (inputBytes.length !== h.inputs.length) throw new Error(`model has ${h.inputs.length} inputs, got ${inputBytes.length}`);
  return h.inputs.map((inp, i) => {
    const buf = h.w.LiteRtTensorBuffer.createManaged(h.env, h.w.LiteRtTensorBufferType.HOST_MEMORY, inp.tt, inp.bytes);
    writeBuffer(h, buf, inputBytes[i]);
    return buf;
  });
}

/**
 * One inference as an application does it: input bytes into the buffers, run, output bytes out
 * of the heap, output buffers freed. Returns { outputs, invokeMs } (invokeMs = the run call only).
 */
export async function infer(h, inBufs, inputBytes) {
  inBufs.forEach((b, i) => writeBuffer(h, b, inputBytes[i]));
  const a = performance.now();
  const outs = await h.cm.run(0, inBufs);
  const invokeMs = performance.now() - a;
  const outputs = outs.map((o) => readBuffer(h, o));
  outs.forEach((o) => o.delete());
  return { outputs, invokeMs };
}

export function disposeModel(h) {
  h.inputs.forEach((i) => i.tt.delete());
  h.cm.delete();
  h.model.delete();
  h.w._free(h.ptr);
}
