// Rewrites the placeholder of the relaxed-SIMD dot product in a linked .wasm into the real
// instruction, after Emscripten (clang 14, binaryen 108) has produced the module:
//   i32x4.relaxed_laneselect  0xfd 0xd2 0x01  ->  i32x4.relaxed_dot_i8x16_i7x16_add_s  0xfd 0x93 0x02
// Clang 14 has no builtin for the dot product; laneselect has the same stack signature
// (v128 v128 v128 -> v128) and nothing else in Wisp uses it. Only the code section is touched,
// and in every function body the number of byte sites must equal the number of laneselect
// instructions binaryen's disassembler reports for that function (look-alike bytes in the
// immediates of functions without any are left alone), so no immediate or data byte can be
// rewritten by accident. Any other
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

// The signed LEB128 value of the placeholder bytes, as an i32.const immediate would read them.
function sleb() {
  const bytes = [0xfd, 0xd2, 0x01];
  let result = 0;
  for (let k = 0; k < bytes.length; k++) result |= (bytes[k] & 0x7f) << (7 * k);
  return result;  // 21 bits, sign bit (0x40 of the last byte) clear
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
const count = (text, name) => text.split(name).length - 1;
const expected = count(dis, 'i32x4.laneselect');
// Function by function: the disassembly lists the defined functions in code-section order, so a
// body's byte sites can be held to that function's own count. A function without the
// placeholder can still hold its bytes inside an immediate (an i32.const address, say): those
// sites are skipped. A function with real instructions must have exactly as many sites.
const funcTexts = dis.split('\n (func ').slice(1);
const placeholder = Buffer.from([0xfd, 0xd2, 0x01]);
const sites = [];
let [numBodies, at] = uleb(data, code[0]);
if (numBodies !== funcTexts.length) {
  throw new Error(`${file}: ${numBodies} function bodies but ${funcTexts.length} functions in the disassembly; refusing to patch`);
}
let skipped = 0;
for (let f = 0; f < numBodies; f++) {
  const [size, start] = uleb(data, at);
  const end = start + size;
  const inBody = [];
  for (let p = data.indexOf(placeholder, start); p !== -1 && p < end; p = data.indexOf(placeholder, p + 3)) inBody.push(p);
  const want = count(funcTexts[f], 'i32x4.laneselect');
  if (want === 0) {
    skipped += inBody.length;
    inBody.length = 0;
  }
  if (inBody.length > want) {
    // Look-alikes next to real sites: an i32.const (0x41) whose immediate starts with these
    // bytes (fd d2 01 is the LEB128 of 27005, a static data address) is left alone when the
    // disassembly shows that many such constants in the function.
    const constant = sleb();
    const isConst = (q) => data[q - 1] === 0x41;
    const consts = inBody.filter(isConst);
    if (consts.length && consts.length <= count(funcTexts[f], `(i32.const ${constant})`) &&
        inBody.length - consts.length === want) {
      skipped += consts.length;
      inBody.splice(0, inBody.length, ...inBody.filter((q) => !isConst(q)));
    }
  }
  if (want === 0) {
    // nothing to patch here
  } else if (inBody.length !== want) {
    throw new Error(`${file}: function ${f} has ${want} i32x4.laneselect but ${inBody.length} byte sites; refusing to patch`);
  } else {
    sites.push(...inBody);
  }
  at = end;
}
if (sites.length !== expected) {
  throw new Error(`${file}: ${expected} i32x4.laneselect in the disassembly but ${sites.length} byte sites; refusing to patch`);
}
if (skipped) console.log(`${file}: ${skipped} look-alike byte sites (immediates) left alone`);
if (expected === 0) throw new Error(`${file}: no relaxed dot-product placeholder found`);
// Relaxed instructions other than the placeholder would carry clang 14's pre-standard opcodes.
const stray = (dis.match(/\b(?:i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.(?:relaxed_\w+|laneselect|fma|fms)\b/g) ?? [])
  .filter((name) => name !== 'i32x4.laneselect');
if (stray.length) throw new Error(`${file}: unexpected relaxed instructions ${[...new Set(stray)].join(', ')}`);
for (const p of sites) data.set([0xfd, 0x93, 0x02], p);
fs.writeFileSync(file, data);
console.log(`${file}: ${sites.length} x i32x4.relaxed_dot_i8x16_i7x16_add_s`);
