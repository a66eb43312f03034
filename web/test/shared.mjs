// Locating the shared test data (models, goldens, images): $WISP_SHARED, else ../shared beside
// the repository root. Read-only.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(WEB_DIR, '..');
export const SHARED = path.resolve(process.env.WISP_SHARED || path.join(REPO_DIR, '..', 'shared'));
export const GOLDENS = path.join(SHARED, 'goldens');

export function haveShared() {
  return fs.existsSync(path.join(GOLDENS, 'manifest.json'));
}

export function loadManifest() {
  return JSON.parse(fs.readFileSync(path.join(GOLDENS, 'manifest.json'), 'utf8'));
}

export const ARRAY_TYPES = {
  float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array,
};

// Reads a raw little-endian tensor file as the typed array of its dtype.
export function readTensor(file, dtype) {
  const buf = fs.readFileSync(path.join(GOLDENS, file));
  const Type = ARRAY_TYPES[dtype];
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Type(copy.buffer, 0, buf.length / Type.BYTES_PER_ELEMENT);
}

// The native golden test's criteria (tests/integration/golden_test.cc): quantized and integer
// outputs bit for bit; float within 1e-5 * max(1, range of the golden); classifiers keep the
// golden top-1.
export function compareOutput(ours, golden, dtype) {
  const n = golden.length;
  let exact = 0, withinOne = 0, maxAbs = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = Number(ours[i]);
    const b = Number(golden[i]);
    const d = Math.abs(a - b);
    if (d === 0) exact++;
    if (d <= 1) withinOne++;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  let ok, why = '';
  if (dtype === 'float32') {
    const tol = 1e-5 * Math.max(1, hi - lo);
    ok = maxAbs <= tol;
    if (!ok) why = `max |diff| ${maxAbs} > tolerance ${tol}`;
  } else {
    ok = exact === n;
    if (!ok) why = `${n - exact}/${n} elements differ (${n - withinOne} by more than 1)`;
  }
  return { ok, why, exact, n, maxAbs };
}

export function argmax(data) {
  let best = 0;
  for (let i = 1; i < data.length; i++) if (data[i] > data[best]) best = i;
  return best;
}
