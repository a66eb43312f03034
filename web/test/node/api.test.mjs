// The JS API in Node: metadata, the three input forms, int8 tensors, quantize/dequantize options,
// errors carrying the core's message, dispose, the threaded variant and the worker-backed mode.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Wisp, WispError, dequantize } from '../../src/node.mjs';
import { decodeBmp, imageToTensor, topK } from '../../src/image.mjs';
import { SHARED, GOLDENS, haveShared, loadManifest, readTensor, argmax } from '../shared.mjs';

const skip = haveShared() ? false : `no shared data at ${SHARED}`;
const MBV2 = path.join(SHARED, 'models/tf2_mobilenet_v2_1.0_224_ptq.tflite');
const VWW = path.join(SHARED, 'models/mlperf_tiny_vww_96_int8.tflite');
const manifest = skip ? { cases: [] } : loadManifest();
const caseOf = (id) => manifest.cases.find((c) => c.id === id);

const runtimes = [];
async function create(options) {
  const rt = await Wisp.create(options);
  runtimes.push(rt);
  return rt;
}
after(() => { for (const rt of runtimes) rt.dispose(); });

test('single-threaded runtime: int8 model, metadata, input forms, options', { skip, timeout: 300000 }, async () => {
  const rt = await create({ threads: 1 });
  assert.equal(rt.variant.name, 'simd');
  assert.equal(rt.variant.threads, false);
  assert.equal(rt._parallelSelfTest(), 0);
  const progress = [];
  const model = await rt.load(pathToFileURL(VWW), { onProgress: (p) => progress.push(p) });
  assert.ok(progress.length >= 1 && progress.at(-1).loaded === fs.statSync(VWW).size, 'progress reported');
  const c = caseOf('mlperf_tiny_vww_96_int8/cat');
  const [inInfo] = model.inputs;
  const [outInfo] = model.outputs;
  assert.equal(inInfo.dtype, 'int8');
  assert.deepEqual(inInfo.shape, [1, 96, 96, 3]);
  assert.ok(inInfo.quantization && inInfo.quantization.scale.length === 1);
  assert.equal(outInfo.dtype, 'int8');
  assert.deepEqual(outInfo.quantization.scale, c.outputs[0].quantization.scale);
  assert.deepEqual(outInfo.quantization.zeroPoint, c.outputs[0].quantization.zero_point);
  assert.ok(model.info.arenaBytes > 0);

  const input = readTensor(c.inputs[0].file, 'int8');
  const golden = readTensor(c.outputs[0].file, 'int8');
  const [a] = await model.run(input);
  assert.ok(a.data instanceof Int8Array, 'int8 output is an Int8Array');
  assert.deepEqual(a.shape, [1, 2]);
  assert.deepEqual([...a.data], [...golden]);
  const [b] = await model.run([input]);
  const [d] = await model.run({ [inInfo.name]: input });
  assert.deepEqual([...b.data], [...a.data]);
  assert.deepEqual([...d.data], [...a.data]);

  // Float inputs are quantized on request; real values that sit on the grid give the same bytes.
  const q = inInfo.quantization;
  const real = Float32Array.from(input, (v) => (v - q.zeroPoint[0]) * q.scale[0]);
  await assert.rejects(model.run(real), (e) => e instanceof WispError && /quantize: true/.test(e.message));
  const [e] = await model.run(real, { quantize: true });
  assert.deepEqual([...e.data], [...a.data]);

  // Dequantized outputs.
  const [f] = await model.run(input, { dequantize: true });
  assert.ok(f.data instanceof Float32Array);
  assert.equal(f.rawDtype, 'int8');
  assert.deepEqual([...f.data], [...dequantize(a)]);
  assert.ok(Math.abs(f.data[0] - (golden[0] - c.outputs[0].quantization.zero_point[0]) * c.outputs[0].quantization.scale[0]) < 1e-7);

  // Input errors name the tensor.
  await assert.rejects(model.run(new Int8Array(5)), /input 'input_1'|expected 27648 elements/);
  await assert.rejects(model.run({ nope: input }), /unknown input 'nope'/);
  await assert.rejects(model.run(new Uint8Array(input.length)), /Int8Array/);

  model.dispose();
  model.dispose();
  await assert.rejects(model.run(input), /disposed/);
});

test('corrupt and truncated models reject with the core message; the runtime keeps working', { skip, timeout: 300000 }, async () => {
  const rt = await create({ threads: 1 });
  await assert.rejects(rt.load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])),
    (e) => e instanceof WispError && /identifier at byte offset 4/.test(e.message));
  const bytes = fs.readFileSync(VWW);
  await assert.rejects(rt.load(bytes.subarray(0, 5000)), (e) => e instanceof WispError && /invalid model/.test(e.message));
  const flipped = new Uint8Array(bytes);
  flipped[1] ^= 0xff; flipped[2] ^= 0x7f;  // root table offset far past the end
  await assert.rejects(rt.load(flipped), (e) => e instanceof WispError && e.message.length > 10 && !/Aborted/.test(e.message));
  await assert.rejects(rt.load(path.join(SHARED, 'models/does_not_exist.tflite')), /ENOENT|no such file/);
  const model = await rt.load(bytes);
  const c = caseOf('mlperf_tiny_vww_96_int8/cat');
  const [out] = await model.run(readTensor(c.inputs[0].file, 'int8'));
  assert.equal(argmax(out.data), c.top5[0].index);
  model.dispose();
});

test('a response announcing more bytes than the heap can hold fails cleanly; the runtime keeps working', { skip, timeout: 300000 }, async () => {
  // The download streams into a heap block of the Content-Length's size, here more than the
  // 4 GB a WebAssembly heap can have: the allocation must fail as such (emmalloc, tried instead
  // of dlmalloc, wrapped the size and handed back a small block that the body would overrun).
  const rt = await create({ threads: 1 });
  const claimed = 4_290_000_000;
  const body = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(4096)); c.close(); } });
  const response = new Response(body, { headers: { 'content-length': String(claimed) } });
  await assert.rejects(rt.load(response),
    (e) => e instanceof WispError && e.message.includes(`out of memory: cannot allocate ${claimed} bytes`));
  const model = await rt.load(fs.readFileSync(VWW));
  const c = caseOf('mlperf_tiny_vww_96_int8/cat');
  const [out] = await model.run(readTensor(c.inputs[0].file, 'int8'));
  assert.equal(argmax(out.data), c.top5[0].index);
  model.dispose();
});

test('image helpers reproduce the golden input (BMP decode + core resize)', { skip, timeout: 300000 }, async () => {
  const rt = await create({ threads: 1 });
  const c = caseOf('tf2_mobilenet_v2_1.0_224_ptq/cat');
  const img = decodeBmp(fs.readFileSync(path.join(SHARED, 'images/cat.bmp')));
  assert.equal(img.width, 512);
  assert.equal(img.height, 341);
  const info = { name: 'input', dtype: 'uint8', shape: [1, 224, 224, 3] };
  const tensor = await imageToTensor(rt, img, info);
  assert.deepEqual(Buffer.from(tensor.buffer), fs.readFileSync(path.join(GOLDENS, c.inputs[0].file)));
  const vww = caseOf('mlperf_tiny_vww_96_int8/cat');
  const t8 = await imageToTensor(rt, img, { name: 'x', dtype: 'int8', shape: [1, 96, 96, 3] });
  assert.deepEqual(Buffer.from(t8.buffer), fs.readFileSync(path.join(GOLDENS, vww.inputs[0].file)));
  assert.deepEqual(topK([1, 5, 5, 0, 9], 3), [4, 1, 2]);
  // Not an image (the keyword-spotting model's spectrogram, a flat vector): an error naming the
  // input and its shape, never a silently resized photo.
  await assert.rejects(imageToTensor(rt, img, { name: 'input_1', dtype: 'int8', shape: [1, 49, 10, 1] }),
    /input 'input_1' \(int8 \[1,49,10,1\]\) is not an image/);
  await assert.rejects(imageToTensor(rt, img, { name: 'x', dtype: 'int8', shape: [1, 640] }), /is not an image/);
  // Float inputs take their pixel range from the caller, never a default; each range maps as the
  // CLI does (0,255: the pixels themselves).
  const f = { name: 'f', dtype: 'float32', shape: [1, 96, 96, 3] };
  await assert.rejects(imageToTensor(rt, img, f), /input 'f' is float32: pass \{ range/);
  const raw = await imageToTensor(rt, img, f, { range: '0,255' });
  assert.deepEqual(Array.from(raw), Array.from(t8, (q) => q + 128));
  const unit = await imageToTensor(rt, img, f, { range: '0,1' });
  assert.equal(unit[7], Math.fround(raw[7] * Math.fround(1 / 255)));
  const sym = await imageToTensor(rt, img, f, { range: '-1,1' });
  assert.equal(sym[7], Math.fround((raw[7] - 128) * Math.fround(2 / 255)));
});

// TFLite Metadata kept by the importer: model.labels and model.metadata for a .tflite loaded
// directly, for the .wisp converted from it (in WebAssembly), and through the worker; the image
// helper takes the recorded range for a float input and an explicit one still wins.
test('model.metadata and model.labels from TFLite Metadata (.tflite, .wisp, worker)', { skip, timeout: 600000 }, async () => {
  const rt = await create({ threads: 1 });
  const file = path.join(SHARED, 'models/mobilenet_v1_0.25_128_quant.tflite');
  const check = (model, what) => {
    assert.equal(model.labels?.length, 1001, what);
    assert.equal(model.labels[0], 'background', what);
    assert.equal(model.labels.at(-1), 'toilet tissue, toilet paper, bathroom tissue', what);
    const md = model.metadata;
    assert.ok(md, `${what}: metadata`);
    assert.equal(md.name, 'ImageClassifier', what);
    assert.match(md.description, /^Identify the most prominent object/, what);
    assert.equal(md.labelCount, 1001, what);
    assert.equal(md.labelsSource, 'imagenet_labels.txt (output 0)', what);
    assert.equal(md.inputRange, '-1,1', what);
    assert.deepEqual(md.inputs, [{ mean: [127.5], std: [127.5], range: '-1,1', valueRange: { min: [0], max: [255] } }], what);
    assert.deepEqual(md.associatedFiles, [{ name: 'imagenet_labels.txt', type: 'TENSOR_AXIS_LABELS', owner: 'output 0' }], what);
    assert.equal(md.warnings, null, what);
    assert.equal(model.inputs[0].range, '-1,1', what);
  };
  const direct = await rt.load(pathToFileURL(file));
  check(direct, '.tflite');
  const img = decodeBmp(fs.readFileSync(path.join(SHARED, 'images/cat.bmp')));
  const [out] = await direct.run(await imageToTensor(rt, img, direct.inputs[0]));
  assert.match(direct.labels[topK(out.data, 1)[0]], /cat/);
  direct.dispose();
  const wisp = await rt.convert(file, { name: 'mbv1' });
  const converted = await rt.load(wisp);
  check(converted, '.wisp');
  assert.equal(converted.info.name, 'mbv1');
  // The content hash: recorded by convert, computed on demand for a .tflite imported in memory
  // under the same name (the same .wisp content), and equal.
  assert.match(converted.info.sha256, /^[0-9a-f]{64}$/);
  const sameName = await rt.load(pathToFileURL(file), { name: 'mbv1' });
  assert.equal(sameName.info.sha256, converted.info.sha256);
  sameName.dispose();
  converted.dispose();
  const wrt = await create({ threads: 1, worker: true });
  const remote = await wrt.load(pathToFileURL(file));
  check(remote, 'worker');
  remote.dispose();
  // A model without metadata says so.
  const plain = await rt.load(pathToFileURL(VWW));
  assert.equal(plain.metadata, null);
  assert.equal(plain.labels, null);
  assert.equal(plain.inputs[0].range, null);
  plain.dispose();
  // Float inputs: the recorded range is the default; an explicit range wins.
  const f = { name: 'f', dtype: 'float32', shape: [1, 16, 16, 3], range: '-1,1' };
  const recorded = await imageToTensor(rt, img, f);
  const given = await imageToTensor(rt, img, f, { range: '-1,1' });
  assert.deepEqual(Array.from(recorded), Array.from(given));
  const other = await imageToTensor(rt, img, f, { range: '0,255' });
  assert.notDeepEqual(Array.from(other), Array.from(recorded));
  await assert.rejects(imageToTensor(rt, img, { ...f, range: '0,2' }), /the model records '0,2'/);
});

test('threaded variant (pthreads) gives the golden result', { skip, timeout: 600000 }, async () => {
  const rt = await create({ threads: 2 });
  assert.equal(rt.variant.name, 'simd-mt', rt.variant.fallback ?? '');
  assert.equal(rt.variant.numThreads, 2);
  assert.equal(rt._parallelSelfTest(), 1, 'the pool runs tasks concurrently on two threads');
  const model = await rt.load(MBV2);
  const c = caseOf('tf2_mobilenet_v2_1.0_224_ptq/cat');
  const [out] = await model.run(readTensor(c.inputs[0].file, 'uint8'));
  assert.deepEqual([...out.data], [...readTensor(c.outputs[0].file, 'uint8')]);
  await assert.rejects(rt.load(new Uint8Array(64)), /identifier/);
  model.dispose();
});

test('preallocated outputs: results written into the given arrays, checked, reused over many runs', { skip, timeout: 300000 }, async () => {
  const rt = await create({ threads: 1 });
  const model = await rt.load(VWW);
  const cat = caseOf('mlperf_tiny_vww_96_int8/cat');
  const squat = caseOf('mlperf_tiny_vww_96_int8/squat');
  const inputs = [readTensor(cat.inputs[0].file, 'int8'), readTensor(squat.inputs[0].file, 'int8')];
  const goldens = [readTensor(cat.outputs[0].file, 'int8'), readTensor(squat.outputs[0].file, 'int8')];
  const outs = [new Int8Array(2)];
  const r = model.runSync(inputs[0], { outputs: outs });
  assert.equal(r[0].data, outs[0], 'the result is the caller\'s array');
  assert.equal(r[0].name, model.outputs[0].name);
  assert.equal(r[0].dtype, 'int8');
  assert.deepEqual(r[0].shape, [1, 2]);
  assert.deepEqual([...outs[0]], [...goldens[0]]);
  // Many runs into the same arrays, alternating inputs (and input forms): always the right bytes,
  // and the same tensor objects come back.
  for (let i = 0; i < 300; i++) {
    const k = i % 2;
    const form = i % 3 === 0 ? [inputs[k]] : i % 3 === 1 ? { [model.inputs[0].name]: inputs[k] } : inputs[k];
    const again = model.runSync(form, { outputs: outs });
    assert.equal(again, r);
    assert.deepEqual([...outs[0]], [...goldens[k]], `run ${i}`);
  }
  // run() takes them too.
  const [viaRun] = await model.run(inputs[1], { outputs: outs });
  assert.equal(viaRun.data, outs[0]);
  assert.deepEqual([...outs[0]], [...goldens[1]]);
  // New arrays: new tensors holding them.
  const outs2 = [new Int8Array(2)];
  const r2 = model.runSync(inputs[0], { outputs: outs2 });
  assert.notEqual(r2, r);
  assert.equal(r2[0].data, outs2[0]);
  assert.deepEqual([...outs2[0]], [...goldens[0]]);

  // Dequantized into a Float32Array.
  const f = [new Float32Array(2)];
  const [dq] = model.runSync(inputs[0], { outputs: f, dequantize: true });
  assert.equal(dq.data, f[0]);
  assert.equal(dq.dtype, 'float32');
  assert.deepEqual([...f[0]], [...dequantize({ data: goldens[0], shape: [1, 2], quantization: model.outputs[0].quantization })]);

  // Wrong arrays are refused before anything runs, naming the output.
  const bad = (outputs, re, options = {}) => assert.throws(() => model.runSync(inputs[0], { ...options, outputs }),
    (e) => e instanceof WispError && re.test(e.message), re.source);
  bad([new Int8Array(3)], /options\.outputs\[0\] \(output '.+', int8 \[1, 2\]\): expected a Int8Array of 2 elements, got a Int8Array of 3 elements/);
  bad([new Uint8Array(2)], /expected a Int8Array of 2 elements, got a Uint8Array of 2 elements/);
  bad([new Float32Array(2)], /expected a Int8Array/);
  bad([new Int8Array(2)], /dequantized\): expected a Float32Array of 2 elements/, { dequantize: true });
  bad([], /must be an array of 1 typed array/);
  bad([new Int8Array(2), new Int8Array(2)], /must be an array of 1 typed array/);
  bad(new Int8Array(2), /must be an array of 1 typed array/);
  bad([null], /got null/);
  await assert.rejects(model.run(inputs[0], { outputs: [new Int8Array(1)] }), /expected a Int8Array of 2 elements/);
  // ... and the model keeps working.
  model.runSync(inputs[1], { outputs: outs });
  assert.deepEqual([...outs[0]], [...goldens[1]]);
  // Input errors still name the tensor.
  assert.throws(() => model.runSync(new Int8Array(5), { outputs: outs }), /expected 27648 elements/);
  model.dispose();
  assert.throws(() => model.runSync(inputs[0], { outputs: outs }), /disposed/);
});

test('worker-backed runtime: same API, errors and results', { skip, timeout: 600000 }, async () => {
  const rt = await create({ worker: true, threads: 1 });
  assert.equal(rt.variant.worker, true);
  await assert.rejects(rt.load(new Uint8Array(32)), (e) => e instanceof WispError && /identifier/.test(e.message));
  const progress = [];
  const model = await rt.load(VWW, { onProgress: (p) => progress.push(p) });
  assert.ok(progress.length >= 1);
  assert.equal(model.inputs[0].dtype, 'int8');
  const c = caseOf('mlperf_tiny_vww_96_int8/squat');
  const [out] = await model.run(readTensor(c.inputs[0].file, 'int8'));
  assert.ok(out.data instanceof Int8Array);
  assert.deepEqual([...out.data], [...readTensor(c.outputs[0].file, 'int8')]);
  // Preallocated outputs: the worker's results are copied into the caller's arrays.
  const outs = [new Int8Array(2)];
  const [pre] = await model.run(readTensor(c.inputs[0].file, 'int8'), { outputs: outs });
  assert.equal(pre.data, outs[0]);
  assert.deepEqual([...outs[0]], [...readTensor(c.outputs[0].file, 'int8')]);
  await assert.rejects(model.run(readTensor(c.inputs[0].file, 'int8'), { outputs: [new Uint8Array(2)] }),
    (e) => e instanceof WispError && /expected a Int8Array of 2 elements/.test(e.message));
  const resized = await rt.resizeImage(new Uint8Array([0, 255, 0, 255]), 2, 2, 1, 1, 1);
  assert.deepEqual([...resized], [128]);
  model.dispose();
});

test('.tflite -> .wisp conversion in WebAssembly; the .wisp loads in place with its labels', { skip, timeout: 600000 }, async () => {
  const rt = await create({ threads: 1 });
  const labels = fs.readFileSync(path.join(SHARED, 'labels/imagenet_labels.txt'), 'utf8');
  const wisp = await rt.convert(MBV2, { name: 'mbv2', labels });
  assert.equal(String.fromCharCode(...wisp.subarray(4, 8)), 'WISP');
  const model = await rt.load(wisp, { verifySha256: true });
  assert.equal(model.info.name, 'mbv2');
  assert.equal(model.info.modelBytes, wisp.length, 'the .wisp bytes are the model (used in place)');
  assert.equal(model.labels?.[286], 'Egyptian cat');
  const c = caseOf('tf2_mobilenet_v2_1.0_224_ptq/cat');
  const [out] = await model.run(readTensor(c.inputs[0].file, 'uint8'));
  assert.deepEqual([...out.data], [...readTensor(c.outputs[0].file, 'uint8')]);
  model.dispose();
  // A bit flip in the data section is caught by the recorded hash when asked.
  const bad = wisp.slice();
  bad[bad.length - 100] ^= 1;
  await assert.rejects(rt.load(bad, { verifySha256: true }), (e) => e instanceof WispError && /sha256|hash/i.test(e.message));
  await assert.rejects(rt.convert(new Uint8Array(16)), (e) => e instanceof WispError);
});

test('variant and microkernel choice: simd option, isa cap, per-operator profile', { skip, timeout: 300000 }, async () => {
  // Node 20 validates relaxed SIMD only with --experimental-wasm-relaxed-simd; without it a
  // request for relaxed SIMD falls back to the SIMD128 build.
  const features = await Wisp.detectFeatures();
  const rt = await create({ threads: 1, simd: 'relaxed' });
  assert.equal(rt.variant.name, features.relaxedSimd ? 'relaxed' : 'simd');
  assert.ok(['wasmsimd', 'wasmrelaxed'].includes(rt.variant.isa), rt.variant.isa);
  const plain = await create({ threads: 1, simd: 'simd128' });
  assert.equal(plain.variant.name, 'simd');
  assert.equal(plain.variant.relaxed, false);
  await assert.rejects(Wisp.create({ simd: 'avx' }), (e) => e instanceof WispError && /simd must be/.test(e.message));
  await assert.rejects(Wisp.create({ isa: 'avx512' }), (e) => e instanceof WispError && /unknown isa 'avx512'/.test(e.message));

  // The scalar microkernels give the same bytes as the SIMD ones, and the profile names them.
  const scalar = await create({ threads: 1, simd: 'simd128', isa: 'scalar' });
  assert.equal(scalar.variant.isa, 'scalar');
  const c = caseOf('mlperf_tiny_vww_96_int8/squat');
  const input = readTensor(c.inputs[0].file, c.inputs[0].dtype);
  const [a, b] = await Promise.all([plain.load(VWW), scalar.load(VWW)]);
  const [outA] = a.runSync(input);
  const [outB] = b.runSync(input);
  assert.deepEqual(outB.data, outA.data);
  assert.deepEqual(outA.data, readTensor(c.outputs[0].file, c.outputs[0].dtype));
  const p = await b.profile({ runs: 3 });
  assert.equal(p.runs, 3);
  assert.ok(p.ops.length > 10, `${p.ops.length} operators`);
  const conv = p.ops.find((o) => o.type === 'CONV_2D');
  assert.match(conv.microkernel, /^q8_gemm_.*__scalar$/);
  assert.ok(p.ops.every((o) => o.us >= 0 && o.share >= 0 && o.share <= 1));
  assert.ok(Math.abs(p.ops.reduce((s, o) => s + o.share, 0) - 1) < 1e-3);
  const pa = await a.profile({ inputs: input, runs: 2 });
  assert.match(pa.ops.find((o) => o.type === 'CONV_2D').microkernel, /__wasmsimd$/);
});

// A loopback HTTP server for Wisp.load: /model sends the model in two halves with a pause between
// them (the download is still running when the runtime is ready), /short promises more bytes
// than it sends, anything else is a 404.
async function modelServer(bytes, pauseMs) {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    if (req.url === '/model.tflite') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
      const half = bytes.length >> 1;
      res.write(bytes.subarray(0, half));
      setTimeout(() => res.end(bytes.subarray(half)), pauseMs);
    } else if (req.url === '/short.tflite') {
      res.writeHead(200, { 'content-length': bytes.length });
      res.end(bytes.subarray(0, 1000));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

test('Wisp.load: runtime and model in one call over HTTP, the model owning its runtime', { skip, timeout: 300000 }, async () => {
  const bytes = fs.readFileSync(VWW);
  const c = caseOf('mlperf_tiny_vww_96_int8/cat');
  const input = readTensor(c.inputs[0].file, 'int8');
  const golden = readTensor(c.outputs[0].file, 'int8');
  // The download goes on after the runtime is ready (pause) and is already complete when it is
  // (no pause): both the part read early and the part read afterwards reach the heap in order.
  for (const pauseMs of [400, 0]) {
    const server = await modelServer(bytes, pauseMs);
    try {
      const progress = [];
      const model = await Wisp.load(`${server.url}/model.tflite`, { threads: 1, onProgress: (p) => progress.push(p) });
      assert.equal(model.info.name, 'model');
      assert.equal(progress.at(-1).loaded, bytes.length);
      assert.equal(model.runtime.variant.numThreads, 1);
      const [out] = model.runSync(input);
      assert.deepEqual([...out.data], [...golden], `pause ${pauseMs} ms`);
      model.dispose();
      await assert.rejects(model.runtime.load(bytes), /disposed/);

      await assert.rejects(Wisp.load(`${server.url}/none.tflite`, { threads: 1 }),
        (e) => e instanceof WispError && /none\.tflite: HTTP 404/.test(e.message));
      await assert.rejects(Wisp.load(`${server.url}/short.tflite`, { threads: 1 }),
        (e) => e instanceof WispError && /short\.tflite: the (download failed|response ended) after/.test(e.message));
    } finally {
      await server.close();
    }
  }
  // Bytes and paths go straight to runtime.load.
  const fromBytes = await Wisp.load(bytes, { threads: 1 });
  assert.deepEqual([...fromBytes.runSync(input)[0].data], [...golden]);
  fromBytes.dispose();
  const fromPath = await Wisp.load(VWW, { threads: 1, name: 'vww' });
  assert.equal(fromPath.info.name, 'vww');
  fromPath.dispose();
  // In a worker: the worker loads the path; disposing the model stops the worker's runtime.
  const inWorker = await Wisp.load(VWW, { worker: true, threads: 1 });
  assert.equal(inWorker.runtime.variant.worker, true);
  assert.deepEqual([...(await inWorker.run(input))[0].data], [...golden]);
  inWorker.dispose();
  await assert.rejects(inWorker.runtime.load(bytes), /the runtime was disposed/);
});
