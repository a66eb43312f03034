// The gear64k-v1 chunker in JS (web/src/chunker.mjs) against the native one
// (native/common/chunker.cc, through tests/support/delta_models_main.cc): both must cut every
// input at the same offsets with the same digests. Run by ctest (chunker_matches_js):
//   node web/test/chunk_cross_check.mjs path/to/wisp_delta_models
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chunkBoundaries, CHUNK_MIN, CHUNK_MAX } from '../src/chunker.mjs';

const tool = process.argv[2];
if (!tool) throw new Error('usage: node chunk_cross_check.mjs WISP_DELTA_MODELS_BINARY');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-chunks-'));

// Inputs that exercise every path: random bytes (cuts by the hash), constant runs (no cut until
// CHUNK_MAX), short inputs (one chunk), an exact multiple of CHUNK_MAX, and the delta models.
function xorshift(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
const inputs = {
  empty: new Uint8Array(0),
  tiny: xorshift(100, 1),
  min_plus_one: xorshift(CHUNK_MIN + 1, 2),
  random_5mb: xorshift(5 * 1024 * 1024 + 123, 3),
  zeros_1mb: new Uint8Array(1024 * 1024),
  max_multiple: new Uint8Array(2 * CHUNK_MAX).fill(0x5a),
  mixed: (() => {
    const a = xorshift(3 * 1024 * 1024, 4);
    a.fill(0, 500000, 1200000);
    a.fill(7, 2000000, 2100000);
    return a;
  })(),
};
execFileSync(tool, ['models', dir]);
for (const v of ['v1', 'v2']) inputs[`delta_model_${v}`] = new Uint8Array(fs.readFileSync(path.join(dir, `${v}.wisp`)));

let failures = 0;
let chunks = 0;
for (const [name, bytes] of Object.entries(inputs)) {
  const file = path.join(dir, `${name}.bin`);
  fs.writeFileSync(file, bytes);
  const native = execFileSync(tool, ['chunks', file], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n').filter(Boolean).map((l) => l.split(' ')).map(([o, s, h]) => [Number(o), Number(s), h]);
  const js = chunkBoundaries(bytes).map(([o, s]) =>
    [o, s, createHash('sha256').update(bytes.subarray(o, o + s)).digest('hex')]);
  const same = JSON.stringify(native) === JSON.stringify(js);
  const sizes = js.map(([, s]) => s);
  console.log(`${same ? 'ok  ' : 'FAIL'} ${name}: ${bytes.length} bytes, ${js.length} chunks` +
    (sizes.length ? ` (sizes ${Math.min(...sizes)}..${Math.max(...sizes)}, mean ${Math.round(bytes.length / sizes.length)})` : ''));
  if (!same) {
    failures++;
    const i = native.findIndex((c, k) => JSON.stringify(c) !== JSON.stringify(js[k]));
    console.log(`  first difference at chunk ${i}: native ${JSON.stringify(native[i])}, js ${JSON.stringify(js[i])}`);
  }
  if (sizes.some((s, k) => s > CHUNK_MAX || (s < CHUNK_MIN && k !== sizes.length - 1))) {
    failures++;
    console.log('  a chunk is outside the size bounds');
  }
  chunks += js.length;
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(`${Object.keys(inputs).length} inputs, ${chunks} chunks, ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
