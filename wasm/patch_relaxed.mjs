// Rewrites the placeholder of the relaxed-SIMD dot product in a linked .wasm into the real
// instruction, after Emscripten (clang 14, binaryen 108) has produced the module:
//   i32x4.relaxed_laneselect  0xfd 0xd2 0x01  ->  i32x4.relaxed_dot_i8x16_i7x16_add_s  0xfd 0x93 0x02
// Clang 14 has no builtin for the dot product; laneselect has the same stack signature
// (v128 v128 v128 -> v128) and nothing else in Wisp uses it. Only the code section is touched,
// and the number of byte sites must equal the number of laneselect instructions binaryen's
// disassembler reports, so no immediate or data byte can be rewritten by accident. Any other
// pre-standard relaxed opcode left in the module (which engines reject) fails the build too.
//   node wasm/patch_relaxed.mjs module.wasm
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const file = process.argv[2];
if (!file) {
  console.error('usage: node patch_relaxed.mjs module.wasm');
  process.exit(2);
}
const data = fs.readFileSync(file);

function uleb(buf, i) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[i++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [result, i];
  }
}

let code = null;
for (let i = 8; i < data.length;) {
  const id = data[i];
  const [size, j] = uleb(data, i + 1);
  if (id === 10) code = [j, j + size];
  i = j + size;
}
if (!code) throw new Error(`${file}: no code section`);

const dis = execFileSync('wasm-dis', ['--all-features', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
const count = (name) => dis.split(name).length - 1;
const expected = count('i32x4.laneselect');
const placeholder = Buffer.from([0xfd, 0xd2, 0x01]);
const sites = [];
for (let p = data.indexOf(placeholder, code[0]); p !== -1 && p < code[1]; p = data.indexOf(placeholder, p + 3)) {
  sites.push(p);
}
if (sites.length !== expected) {
  throw new Error(`${file}: ${expected} i32x4.laneselect in the disassembly but ${sites.length} byte sites; refusing to patch`);
}
if (expected === 0) throw new Error(`${file}: no relaxed dot-product placeholder found`);
// Relaxed instructions other than the placeholder would carry clang 14's pre-standard opcodes.
const stray = (dis.match(/\b(?:i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.(?:relaxed_\w+|laneselect|fma|fms)\b/g) ?? [])
  .filter((name) => name !== 'i32x4.laneselect');
if (stray.length) throw new Error(`${file}: unexpected relaxed instructions ${[...new Set(stray)].join(', ')}`);
for (const p of sites) data.set([0xfd, 0x93, 0x02], p);
fs.writeFileSync(file, data);
console.log(`${file}: ${sites.length} x i32x4.relaxed_dot_i8x16_i7x16_add_s`);
