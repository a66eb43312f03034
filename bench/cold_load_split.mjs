// Where the WebAssembly cold start goes, in Node: the first load of a large .tflite against a
// later one, and against a first load after "priming" (loading a small .tflite a few times
// first, so that V8 has compiled and tiered up the importer and the weight packing).
//
//   node bench/cold_load_split.mjs [--model M] [--prime-model P] [--prime N] [--pause-ms MS|-1]
//                                  [--simd simd128|relaxed]   (relaxed: node --experimental-wasm-relaxed-simd)
//
// Finding (2026-12-06, Node 20, simd128, 2 cores, one other build running): the first load of
// tf2_mobilenet_v2 takes 290-550 ms, the next ones 35-180 ms; with --no-liftoff the second takes
// 19 ms. The cold load is spent running the importer and PackGemm in baseline (Liftoff) code.
// Three loads of mlperf_tiny_vww_96_int8 (65-140 ms) followed by one turn of the event loop
// (--pause-ms 0) bring the first tf2 load to 66-77 ms and the next ones to 12-16 ms; without the
// turn (--pause-ms -1) priming does not help (V8 installs the optimized code between tasks).
// Next step for the package: prime the importer and packing on a tiny synthetic .tflite in the
// warm-up that already runs while the model downloads. Not a timed test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Wisp } from '../web/src/node.mjs';
import { SHARED } from '../web/test/shared.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const model = arg('model', 'tf2_mobilenet_v2_1.0_224_ptq');
const primeModel = arg('prime-model', 'mlperf_tiny_vww_96_int8');
const primes = Number(arg('prime', '0'));
const simd = arg('simd', 'simd128');

const rt = await Wisp.create({ threads: 1, simd });
rt._warmUp(Infinity, {});  // the package's own warm-up, as before any large model
const bytes = readFileSync(path.join(SHARED, 'models', `${model}.tflite`));
const row = { model, simd: rt.variant.name, primes };
if (primes > 0) {
  const small = readFileSync(path.join(SHARED, 'models', `${primeModel}.tflite`));
  const t = performance.now();
  for (let i = 0; i < primes; i++) (await rt.load(small, { warmUp: false })).dispose();
  row.primeMs = +(performance.now() - t).toFixed(1);
  const pause = Number(arg('pause-ms', '0'));
  if (pause >= 0) await new Promise((r) => setTimeout(r, pause));  // lets the engine install tiered-up code
}
for (let k = 0; k < 3; k++) {
  const t = performance.now();
  const m = await rt.load(bytes, { warmUp: false });
  row[`load${k + 1}Ms`] = +(performance.now() - t).toFixed(1);
  m.dispose();
}
console.log(JSON.stringify(row));
rt.dispose();
