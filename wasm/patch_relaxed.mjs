// Rewrites the placeholders of relaxed-SIMD instructions in a linked .wasm into the real
// instructions, after Emscripten (clang 14, binaryen 108) has produced the module:
//   i32x4.relaxed_laneselect  0xfd 0xd2 0x01  ->  i32x4.relaxed_dot_i8x16_i7x16_add_s  0xfd 0x93 0x02
//   f32x4.relaxed_fma (clang 14's prototype)  0xfd 0xaf 0x01  ->  f32x4.relaxed_madd  0xfd 0x85 0x02
// Clang 14 has no builtin for the dot product; laneselect has the same stack signature
// (v128 v128 v128 -> v128) and nothing else in Wisp uses it. Only the code section is touched,
// and in every function body the number of byte sites must equal the number of placeholder
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

// The signed LEB128 value of placeholder bytes, as an i32.const immediate would read them.
function sleb(bytes) {
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
let [numBodies, firstBody] = uleb(data, code[0]);
if (numBodies !== funcTexts.length) {
  throw new Error(`${file}: ${numBodies} function bodies but ${funcTexts.length} functions in the disassembly; refusing to patch`);
}

// The byte sites of one placeholder instruction (its name in the disassembly and its bytes),
// function by function.
function findSites(disName, bytes) {
  const placeholder = Buffer.from(bytes);
  const expected = count(dis, disName);
  const sites = [];
  let skipped = 0;
  let at = firstBody;
  for (let f = 0; f < numBodies; f++) {
    const [size, start] = uleb(data, at);
    const end = start + size;
    const inBody = [];
    for (let p = data.indexOf(placeholder, start); p !== -1 && p < end; p = data.indexOf(placeholder, p + 3)) inBody.push(p);
    const want = count(funcTexts[f], disName);
    if (want === 0) {
      skipped += inBody.length;
      inBody.length = 0;
    }
    if (inBody.length > want) {
      // Look-alikes next to real sites: an i32.const (0x41) whose immediate starts with these
      // bytes (fd d2 01 is the LEB128 of 27005, a static data address) is left alone when the
      // disassembly shows that many such constants in the function.
      const constant = sleb(bytes);
      const isConst = (q) => data[q - 1] === 0x41;
      const consts = inBody.filter(isConst);
      if (consts.length && consts.length <= count(funcTexts[f], `(i32.const ${constant})`) &&
          inBody.length - consts.length === want) {
        skipped += consts.length;
        inBody.splice(0, inBody.length, ...inBody.filter((q) => !isConst(q)));
      }
    }
    if (want !== 0 && inBody.length !== want) {
      throw new Error(`${file}: function ${f} has ${want} ${disName} but ${inBody.length} byte sites; refusing to patch`);
    }
    sites.push(...inBody);
    at = end;
  }
  if (sites.length !== expected) {
    throw new Error(`${file}: ${expected} ${disName} in the disassembly but ${sites.length} byte sites; refusing to patch`);
  }
  if (skipped) console.log(`${file}: ${skipped} look-alike byte sites of ${disName} (immediates) left alone`);
  return sites;
}

// Placeholder (binaryen's name, clang 14's bytes) -> standard instruction (name, bytes). The
// dot product must be present (the relaxed GEMM kernels use it); f32x4.relaxed_fma is clang 14's
// pre-standard fused multiply-add (__builtin_wasm_fma_f32x4, 0xfd 0xaf 0x01), whose standard
// successor is f32x4.relaxed_madd (0xfd 0x85 0x02, same length). The prototype computed
// a + b * c, the standard one a * b + c: the kernels pass (x, w, acc) for the standard order.
const rewrites = [
  { dis: 'i32x4.laneselect', from: [0xfd, 0xd2, 0x01], to: [0xfd, 0x93, 0x02], name: 'i32x4.relaxed_dot_i8x16_i7x16_add_s', required: true },
  { dis: 'f32x4.relaxed_fma', from: [0xfd, 0xaf, 0x01], to: [0xfd, 0x85, 0x02], name: 'f32x4.relaxed_madd', required: false },
];
const planned = rewrites.map((r) => ({ ...r, sites: findSites(r.dis, r.from) }));
for (const r of planned) {
  if (r.required && r.sites.length === 0) throw new Error(`${file}: no ${r.dis} placeholder (${r.name}) found`);
}
// Relaxed instructions other than the placeholders would carry clang 14's pre-standard opcodes.
const placeholders = new Set(rewrites.map((r) => r.dis));
const stray = (dis.match(/\b(?:i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.(?:relaxed_\w+|laneselect|fma|fms)\b/g) ?? [])
  .filter((name) => !placeholders.has(name));
if (stray.length) throw new Error(`${file}: unexpected relaxed instructions ${[...new Set(stray)].join(', ')}`);
for (const r of planned) {
  for (const p of r.sites) data.set(r.to, p);
}
fs.writeFileSync(file, data);
console.log(`${file}: ${planned.map((r) => `${r.sites.length} x ${r.name}`).join(', ')}`);
