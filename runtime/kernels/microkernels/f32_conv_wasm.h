// The float32 GEMM (4 rows x 8 channels) and depthwise (8 channels, four pixels at a time)
// microkernels of f32_conv.h on WebAssembly SIMD, written once for the two ways of multiplying and
// adding: WasmMulThenAdd (f32x4.mul, then f32x4.add: two roundings, the reference's bits, every
// engine) and WasmRelaxedMadd (f32x4.relaxed_madd: one rounding where the engine fuses it, as x86
// engines with FMA and Arm ones do; half the instructions). The files named for the kernels
// (f32_gemm_4x8__wasmsimd.cc, f32_gemm_4x8__wasmrelaxed.cc, ...) instantiate them.
//
// Each lane is one output channel and each register one row (GEMM) or pixel (depthwise), so every
// lane multiplies and adds in the reference's order; only the rounding of the relaxed variant
// differs (RelaxedMaddFuses() says whether it does here).
#pragma once

#include <wasm_simd128.h>

#include <algorithm>
#include <cstddef>

#include "runtime/kernels/microkernels/f32_conv.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {

// acc + x * w with two roundings.
struct WasmMulThenAdd {
  static v128_t Apply(v128_t acc, v128_t x, v128_t w) {
    return wasm_f32x4_add(acc, wasm_f32x4_mul(x, w));
  }
};

#if defined(WISP_WASM_RELAXED)
// acc + x * w as f32x4.relaxed_madd(x, w, acc). Clang 14 spells it __builtin_wasm_fma_f32x4 with
// the prototype's opcode and operand order (a + b * c); wasm/patch_relaxed.mjs rewrites the opcode
// to the standard instruction, which computes a * b + c, so the operands are given in that order.
struct WasmRelaxedMadd {
  typedef float F32x4 __attribute__((vector_size(16)));
  static v128_t Apply(v128_t acc, v128_t x, v128_t w) {
    return reinterpret_cast<v128_t>(__builtin_wasm_fma_f32x4(
        reinterpret_cast<F32x4>(x), reinterpret_cast<F32x4>(w), reinterpret_cast<F32x4>(acc)));
  }
};
#endif

// ---- GEMM ---------------------------------------------------------------------------------------

constexpr size_t kF32GemmWasmMr = 4;
constexpr size_t kF32GemmWasmNr = 8;

// One row (a batch-1 fully connected layer): the same per-lane arithmetic as the 4-row loop
// without computing three copies of the row that would not be stored. B blocks of 8 channels at
// once (2 * B independent accumulator chains; with one block's two, every step would wait for the
// previous multiply-add's latency).
template <typename MulAdd, size_t B>
void F32GemmWasmOneRowBlocks(size_t nc, size_t kc, size_t ks, F32Window window, const float* w,
                             float* c, v128_t lo, v128_t hi) {
  const size_t block = kF32GemmWasmNr * (1 + ks * kc);  // packed floats per block
  v128_t al[B], ah[B];
  for (size_t b = 0; b < B; ++b) {
    al[b] = wasm_v128_load(w + b * block);
    ah[b] = wasm_v128_load(w + b * block + 4);
  }
  const float* wk = w + kF32GemmWasmNr;
  for (size_t t = 0; t < ks; ++t) {
    const float* x = window[t];
    for (size_t k = 0; k < kc; ++k, wk += kF32GemmWasmNr) {
      const v128_t v = wasm_f32x4_splat(x[k]);
      for (size_t b = 0; b < B; ++b) {
        al[b] = MulAdd::Apply(al[b], v, wasm_v128_load(wk + b * block));
        ah[b] = MulAdd::Apply(ah[b], v, wasm_v128_load(wk + b * block + 4));
      }
    }
  }
  for (size_t b = 0; b < B; ++b) {
    const size_t n0 = b * kF32GemmWasmNr;
    const size_t n = std::min(kF32GemmWasmNr, nc - n0);
    float out[kF32GemmWasmNr];
    wasm_v128_store(out, WasmClampF32(al[b], lo, hi));
    wasm_v128_store(out + 4, WasmClampF32(ah[b], lo, hi));
    std::copy(out, out + n, c + n0);
  }
}

template <typename MulAdd>
void F32GemmWasmOneRow(size_t nc, size_t kc, size_t ks, F32Window window, const float* w, float* c,
                       v128_t lo, v128_t hi) {
  const size_t block = kF32GemmWasmNr * (1 + ks * kc);
  size_t n0 = 0;
  for (; n0 + 4 * kF32GemmWasmNr <= nc; n0 += 4 * kF32GemmWasmNr, w += 4 * block) {
    F32GemmWasmOneRowBlocks<MulAdd, 4>(nc - n0, kc, ks, window, w, c + n0, lo, hi);
  }
  for (; n0 < nc; n0 += kF32GemmWasmNr, w += block) {
    F32GemmWasmOneRowBlocks<MulAdd, 1>(nc - n0, kc, ks, window, w, c + n0, lo, hi);
  }
}

template <typename MulAdd>
void F32GemmWasm(size_t mr, size_t nc, size_t kc, size_t ks, const F32Window* windows,
                 const float* w, float* c, size_t c_stride, const F32MinMax* params) {
  const F32Window w0 = windows[0];
  const F32Window w1 = windows[std::min<size_t>(1, mr - 1)];
  const F32Window w2 = windows[std::min<size_t>(2, mr - 1)];
  const F32Window w3 = windows[std::min<size_t>(3, mr - 1)];
  const v128_t lo = wasm_f32x4_splat(params->min);
  const v128_t hi = wasm_f32x4_splat(params->max);
  if (mr == 1) {
    F32GemmWasmOneRow<MulAdd>(nc, kc, ks, w0, w, c, lo, hi);
    return;
  }
  for (size_t n0 = 0; n0 < nc; n0 += kF32GemmWasmNr) {
    v128_t a0l = wasm_v128_load(w), a0h = wasm_v128_load(w + 4);
    v128_t a1l = a0l, a1h = a0h, a2l = a0l, a2h = a0h, a3l = a0l, a3h = a0h;
    w += kF32GemmWasmNr;
    for (size_t t = 0; t < ks; ++t) {
      const float* x0 = w0[t];
      const float* x1 = w1[t];
      const float* x2 = w2[t];
      const float* x3 = w3[t];
      for (size_t k = 0; k < kc; ++k, w += kF32GemmWasmNr) {
        const v128_t wl = wasm_v128_load(w);
        const v128_t wh = wasm_v128_load(w + 4);
        const v128_t v0 = wasm_f32x4_splat(x0[k]);
        const v128_t v1 = wasm_f32x4_splat(x1[k]);
        const v128_t v2 = wasm_f32x4_splat(x2[k]);
        const v128_t v3 = wasm_f32x4_splat(x3[k]);
        a0l = MulAdd::Apply(a0l, v0, wl);
        a0h = MulAdd::Apply(a0h, v0, wh);
        a1l = MulAdd::Apply(a1l, v1, wl);
        a1h = MulAdd::Apply(a1h, v1, wh);
        a2l = MulAdd::Apply(a2l, v2, wl);
        a2h = MulAdd::Apply(a2h, v2, wh);
        a3l = MulAdd::Apply(a3l, v3, wl);
        a3h = MulAdd::Apply(a3h, v3, wh);
      }
    }
    const v128_t out[kF32GemmWasmMr][2] = {{WasmClampF32(a0l, lo, hi), WasmClampF32(a0h, lo, hi)},
                                           {WasmClampF32(a1l, lo, hi), WasmClampF32(a1h, lo, hi)},
                                           {WasmClampF32(a2l, lo, hi), WasmClampF32(a2h, lo, hi)},
                                           {WasmClampF32(a3l, lo, hi), WasmClampF32(a3h, lo, hi)}};
    const size_t n = std::min(kF32GemmWasmNr, nc - n0);
    for (size_t r = 0; r < mr; ++r) {
      float* dst = c + r * c_stride + n0;
      if (n == kF32GemmWasmNr) {
        wasm_v128_store(dst, out[r][0]);
        wasm_v128_store(dst + 4, out[r][1]);
      } else {
        float tmp[kF32GemmWasmNr];
        wasm_v128_store(tmp, out[r][0]);
        wasm_v128_store(tmp + 4, out[r][1]);
        std::copy(tmp, tmp + n, dst);
      }
    }
  }
}

// ---- Depthwise ----------------------------------------------------------------------------------

constexpr size_t kF32DwconvWasmTile = 8;

// P pixels (4, or 1 for the rest of the row), full tiles then the partial one.
template <typename MulAdd, size_t P>
void F32DwconvWasmPixels(size_t channels, size_t taps, const float* const* in[P],
                         const float* packed_w, float* out[P], v128_t lo, v128_t hi) {
  const float* w = packed_w;
  size_t c0 = 0;
  for (; c0 + kF32DwconvWasmTile <= channels; c0 += kF32DwconvWasmTile) {
    v128_t al[P], ah[P];
    const v128_t bl = wasm_v128_load(w), bh = wasm_v128_load(w + 4);
    for (size_t i = 0; i < P; ++i) al[i] = bl, ah[i] = bh;
    w += kF32DwconvWasmTile;
    for (size_t t = 0; t < taps; ++t, w += kF32DwconvWasmTile) {
      const v128_t wl = wasm_v128_load(w), wh = wasm_v128_load(w + 4);
      for (size_t i = 0; i < P; ++i) {
        const float* x = in[i][t] + c0;
        al[i] = MulAdd::Apply(al[i], wasm_v128_load(x), wl);
        ah[i] = MulAdd::Apply(ah[i], wasm_v128_load(x + 4), wh);
      }
    }
    for (size_t i = 0; i < P; ++i) {
      wasm_v128_store(out[i] + c0, WasmClampF32(al[i], lo, hi));
      wasm_v128_store(out[i] + c0 + 4, WasmClampF32(ah[i], lo, hi));
    }
  }
  if (c0 < channels) {
    const size_t n = channels - c0;
    for (size_t i = 0; i < P; ++i) {
      const float* wt = w;
      v128_t al = wasm_v128_load(wt), ah = wasm_v128_load(wt + 4);
      wt += kF32DwconvWasmTile;
      for (size_t t = 0; t < taps; ++t, wt += kF32DwconvWasmTile) {
        float x[kF32DwconvWasmTile] = {};
        std::copy(in[i][t] + c0, in[i][t] + channels, x);
        al = MulAdd::Apply(al, wasm_v128_load(x), wasm_v128_load(wt));
        ah = MulAdd::Apply(ah, wasm_v128_load(x + 4), wasm_v128_load(wt + 4));
      }
      float o[kF32DwconvWasmTile];
      wasm_v128_store(o, WasmClampF32(al, lo, hi));
      wasm_v128_store(o + 4, WasmClampF32(ah, lo, hi));
      std::copy(o, o + n, out[i] + c0);
    }
  }
}

template <typename MulAdd>
void F32DwconvWasm(size_t channels, size_t output_width, size_t taps, const float* const* input,
                   size_t input_stride, const float* packed_w, float* output,
                   const F32MinMax* params) {
  const v128_t lo = wasm_f32x4_splat(params->min);
  const v128_t hi = wasm_f32x4_splat(params->max);
  size_t p = 0;
  for (; p + 4 <= output_width; p += 4) {
    const float* const* in[4];
    float* out[4];
    for (size_t i = 0; i < 4; ++i) {
      in[i] = input + (p + i) * input_stride;
      out[i] = output + (p + i) * channels;
    }
    F32DwconvWasmPixels<MulAdd, 4>(channels, taps, in, packed_w, out, lo, hi);
  }
  for (; p < output_width; ++p) {
    const float* const* in[1] = {input + p * input_stride};
    float* out[1] = {output + p * channels};
    F32DwconvWasmPixels<MulAdd, 1>(channels, taps, in, packed_w, out, lo, hi);
  }
}

}  // namespace wisp
