// Image helpers for building model inputs exactly as the goldens were built (see the shared
// DATA.md): decode BMP in JS, resize with the core's integer half-pixel bilinear resize
// (runtime.resizeImage, computed in WebAssembly), then q = pixel (uint8) or q = pixel - 128 (int8).

/**
 * Decodes an uncompressed BMP (24- or 32-bit BI_RGB/BI_BITFIELDS, or 8-bit paletted) into RGB.
 * @returns {{ width: number, height: number, channels: 3, data: Uint8Array }}
 */
export function decodeBmp(input) {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input instanceof ArrayBuffer ? input : input.buffer);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 54 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new Error('not a BMP file (missing "BM" signature)');
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  const width = dv.getInt32(18, true);
  const rawHeight = dv.getInt32(22, true);
  const bpp = dv.getUint16(28, true);
  const compression = dv.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const bottomUp = rawHeight > 0;
  if (width <= 0 || height === 0 || width > 1 << 15 || height > 1 << 15) throw new Error(`BMP: bad dimensions ${width}x${rawHeight}`);
  if (!(compression === 0 || (compression === 3 && bpp === 32))) throw new Error(`BMP: compression ${compression} is not supported`);
  if (![8, 24, 32].includes(bpp)) throw new Error(`BMP: ${bpp} bits per pixel is not supported`);
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset + stride * height > bytes.length) throw new Error('BMP: pixel data is truncated');
  let palette = null;
  if (bpp === 8) {
    const colors = dv.getUint32(46, true) || 256;
    palette = bytes.subarray(14 + headerSize, 14 + headerSize + colors * 4);
  }
  let masks = null;
  if (compression === 3) {
    masks = [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true)];
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (bottomUp ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (bpp === 24) {
        const p = row + x * 3;
        out[o] = bytes[p + 2]; out[o + 1] = bytes[p + 1]; out[o + 2] = bytes[p];
      } else if (bpp === 32) {
        const p = row + x * 4;
        if (masks) {
          const v = dv.getUint32(p, true);
          for (let c = 0; c < 3; c++) {
            const m = masks[c];
            const shift = m ? Math.clz32(1) - Math.clz32(m & -m) : 0;
            const bits = m ? 32 - Math.clz32(m >>> shift) : 0;
            const val = m ? (v & m) >>> shift : 0;
            out[o + c] = bits >= 8 ? val >>> (bits - 8) : Math.round((val * 255) / ((1 << bits) - 1));
          }
        } else {
          out[o] = bytes[p + 2]; out[o + 1] = bytes[p + 1]; out[o + 2] = bytes[p];
        }
      } else {
        const i = bytes[row + x] * 4;
        out[o] = palette[i + 2]; out[o + 1] = palette[i + 1]; out[o + 2] = palette[i];
      }
    }
  }
  return { width, height, channels: 3, data: out };
}

/** Drops alpha from RGBA pixels (e.g. canvas ImageData). */
export function rgbaToRgb(rgba, width, height) {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = rgba[i]; out[j + 1] = rgba[i + 1]; out[j + 2] = rgba[i + 2];
  }
  return out;
}

/** BT.601 luma as libjpeg computes it: (19595 R + 38470 G + 7471 B + 32768) >> 16. */
export function rgbToGray(rgb, width, height) {
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) {
    out[i] = (19595 * rgb[j] + 38470 * rgb[j + 1] + 7471 * rgb[j + 2] + 32768) >>> 16;
  }
  return out;
}

// Float inputs from 8-bit pixels, as the CLI and the goldens compute them (float32 products).
const FLOAT_RANGES = {
  '0,1': (p) => p * Math.fround(1 / 255),
  '0,255': (p) => p,
  '-1,1': (p) => (p - 128) * Math.fround(2 / 255),
};

/**
 * Builds the input tensor of `inputInfo` (a model.inputs[i]) from an RGB image, following the
 * goldens' recipe: resize (core, integer half-pixel bilinear) -> uint8: q = pixel;
 * int8: q = pixel - 128; float32: the pixel mapped to options.range ('0,1', '0,255' or '-1,1'),
 * else to the range the model records (inputInfo.range: its TFLite Metadata normalization or
 * `wisp convert --input-range`); never guessed, as a guess gives plausible wrong answers.
 * `runtime` is a Wisp runtime (its resizeImage runs the core's resize in WebAssembly).
 */
export async function imageToTensor(runtime, image, inputInfo, options = {}) {
  const shape = inputInfo.shape;
  let h, w, c;
  if (shape.length === 4) [, h, w, c] = shape;
  else if (shape.length === 3) { [, h, w] = shape; c = 1; }
  // Models carry no "this is an image" flag yet, so the shape decides, as in the CLI: one picture
  // of 1 or 3 channels, at least 16 pixels a side. An audio spectrogram such as [1, 49, 10, 1]
  // would otherwise take a resized photo silently.
  if (!(shape[0] === 1 && (c === 1 || c === 3) && h >= 16 && w >= 16)) {
    throw new Error(`input '${inputInfo.name}' (${inputInfo.dtype} [${shape}]) is not an image: ` +
      'expected [1,H,W,1|3] or [1,H,W] with H and W at least 16; pass its data as a typed array');
  }
  let pixels = image.data;
  let channels = image.channels ?? 3;
  if (c === 1 && channels === 3) {
    let gray = true;
    for (let i = 0; i < pixels.length && gray; i += 3) gray = pixels[i] === pixels[i + 1] && pixels[i] === pixels[i + 2];
    pixels = gray ? pixels.filter((_, i) => i % 3 === 0) : rgbToGray(pixels, image.width, image.height);
    channels = 1;
  }
  const resized = (image.width === w && image.height === h)
    ? pixels : await runtime.resizeImage(pixels, image.width, image.height, channels, w, h);
  let rgb = resized;
  if (c === 3 && channels === 1) {
    rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = resized[i];
  }
  switch (inputInfo.dtype) {
    case 'uint8': return Uint8Array.from(rgb);
    case 'int8': return Int8Array.from(rgb, (p) => p - 128);
    case 'float32': {
      const range = options.range ?? inputInfo.range ?? null;
      const map = FLOAT_RANGES[range];
      if (!map) {
        const why = range === null ? 'it is not recorded in the model'
          : options.range != null ? `got '${range}'` : `the model records '${range}', which is not one of them`;
        throw new Error(`input '${inputInfo.name}' is float32: pass { range: '0,1' | '0,255' | '-1,1' }, ` +
          `the pixel range the model expects (${why})`);
      }
      return Float32Array.from(rgb, map);
    }
    default: throw new Error(`input '${inputInfo.name}': cannot build a ${inputInfo.dtype} tensor from an image`);
  }
}

/** Indices of the k largest values, ties to the lower index (as the goldens' top5). */
export function topK(data, k = 5) {
  const idx = Array.from({ length: data.length }, (_, i) => i);
  idx.sort((a, b) => (data[b] > data[a] ? 1 : data[b] < data[a] ? -1 : a - b));
  return idx.slice(0, k);
}
