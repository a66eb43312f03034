// Content-defined chunking of artifacts for delta updates: "gear64k-v1", byte for byte the
// algorithm of native/common/chunker.cc (docs/server.md, "Delta updates"). A client holding an
// earlier version chunks it, and fetches only the chunks of the new version's manifest it lacks.
// The native and JS implementations are checked against each other (web/test/chunk_cross_check.mjs,
// run by ctest as chunker_matches_js).

export const CHUNKING_ALGORITHM = 'gear64k-v1';
export const CHUNK_MIN = 16 * 1024;
export const CHUNK_AVG = 64 * 1024;
export const CHUNK_MAX = 256 * 1024;
// Cut where the top bits of the 32-bit rolling hash are zero: 18 bits before CHUNK_AVG, 14 after
// (FastCDC's normalized chunking). The top bits depend on the last 32 bytes, the low bits only on
// the last few, hence top-bit masks.
const MASK_BEFORE_AVG = 0xffffc000 | 0;
const MASK_AFTER_AVG = 0xfffc0000 | 0;

/** The gear table: upper 32 bits of the first 256 outputs of splitmix64 seeded with "wispgear". */
export const GEAR = (() => {
  const M = (1n << 64n) - 1n;
  let state = 0x7769737067656172n;
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & M;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    z ^= z >> 31n;
    t[i] = Number(z >> 32n);
  }
  return t;
})();

function cutPoint(bytes, start, n) {
  if (n <= CHUNK_MIN) return n;
  const end = Math.min(n, CHUNK_MAX);
  const normal = Math.min(end, CHUNK_AVG);
  let h = 0;
  let i = CHUNK_MIN; // the first CHUNK_MIN bytes are not hashed
  for (; i < normal; i++) {
    // (h << 1) + gear modulo 2^32: `<<` wraps to int32, `>>> 0` back to uint32.
    h = ((h << 1) + GEAR[bytes[start + i]]) >>> 0;
    if ((h & MASK_BEFORE_AVG) === 0) return i + 1;
  }
  for (; i < end; i++) {
    h = ((h << 1) + GEAR[bytes[start + i]]) >>> 0;
    if ((h & MASK_AFTER_AVG) === 0) return i + 1;
  }
  return end;
}

/** The chunk boundaries of `bytes` (a Uint8Array): [[offset, size], ...], covering it exactly. */
export function chunkBoundaries(bytes) {
  const out = [];
  for (let off = 0; off < bytes.length;) {
    const len = cutPoint(bytes, off, bytes.length - off);
    out.push([off, len]);
    off += len;
  }
  return out;
}
