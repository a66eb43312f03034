// Float32 GEMM (f32_conv.h) on WebAssembly SIMD128, 4 rows x 8 channels per block: eight
// accumulators (a row's two vectors of four channels), each input value broadcast and multiplied
// with the block's weights, then added: wasm_f32x4_mul and wasm_f32x4_add round separately, so
// every lane follows the reference's order exactly.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr size_t kMr = 4;
constexpr size_t kNr = 8;

// One row (a batch-1 fully connected layer): the same per-lane arithmetic as the 4-row loop
// without computing three copies of the row that would not be stored.
void GemmOneRow(size_t nc, size_t kc, size_t ks, F32Window window, const float* w, float* c,
                v128_t lo, v128_t hi) {
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    v128_t al = wasm_v128_load(w), ah = wasm_v128_load(w + 4);
    w += kNr;
    for (size_t t = 0; t < ks; ++t) {
      const float* x = window[t];
      for (size_t k = 0; k < kc; ++k, w += kNr) {
        const v128_t v = wasm_f32x4_splat(x[k]);
        al = wasm_f32x4_add(al, wasm_f32x4_mul(v, wasm_v128_load(w)));
        ah = wasm_f32x4_add(ah, wasm_f32x4_mul(v, wasm_v128_load(w + 4)));
      }
    }
    const size_t n = std::min(kNr, nc - n0);
    float out[kNr];
    wasm_v128_store(out, WasmClampF32(al, lo, hi));
    wasm_v128_store(out + 4, WasmClampF32(ah, lo, hi));
    std::copy(out, out + n, c + n0);
  }
}

void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const F32Window* windows, const float* w,
          float* c, size_t c_stride, const F32MinMax* params) {
  const F32Window w0 = windows[0];
  const F32Window w1 = windows[std::min<size_t>(1, mr - 1)];
  const F32Window w2 = windows[std::min<size_t>(2, mr - 1)];
  const F32Window w3 = windows[std::min<size_t>(3, mr - 1)];
  const v128_t lo = wasm_f32x4_splat(params->min);
  const v128_t hi = wasm_f32x4_splat(params->max);
  if (mr == 1) {
    GemmOneRow(nc, kc, ks, w0, w, c, lo, hi);
    return;
  }
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    v128_t a0l = wasm_v128_load(w), a0h = wasm_v128_load(w + 4);
    v128_t a1l = a0l, a1h = a0h, a2l = a0l, a2h = a0h, a3l = a0l, a3h = a0h;
    w += kNr;
    for (size_t t = 0; t < ks; ++t) {
      const float* x0 = w0[t];
      const float* x1 = w1[t];
      const float* x2 = w2[t];
      const float* x3 = w3[t];
      for (size_t k = 0; k < kc; ++k, w += kNr) {
        const v128_t wl = wasm_v128_load(w);
        const v128_t wh = wasm_v128_load(w + 4);
        const v128_t v0 = wasm_f32x4_splat(x0[k]);
        const v128_t v1 = wasm_f32x4_splat(x1[k]);
        const v128_t v2 = wasm_f32x4_splat(x2[k]);
        const v128_t v3 = wasm_f32x4_splat(x3[k]);
        a0l = wasm_f32x4_add(a0l, wasm_f32x4_mul(v0, wl));
        a0h = wasm_f32x4_add(a0h, wasm_f32x4_mul(v0, wh));
        a1l = wasm_f32x4_add(a1l, wasm_f32x4_mul(v1, wl));
        a1h = wasm_f32x4_add(a1h, wasm_f32x4_mul(v1, wh));
        a2l = wasm_f32x4_add(a2l, wasm_f32x4_mul(v2, wl));
        a2h = wasm_f32x4_add(a2h, wasm_f32x4_mul(v2, wh));
        a3l = wasm_f32x4_add(a3l, wasm_f32x4_mul(v3, wl));
        a3h = wasm_f32x4_add(a3h, wasm_f32x4_mul(v3, wh));
      }
    }
    const v128_t out[kMr][2] = {{WasmClampF32(a0l, lo, hi), WasmClampF32(a0h, lo, hi)},
                                {WasmClampF32(a1l, lo, hi), WasmClampF32(a1h, lo, hi)},
                                {WasmClampF32(a2l, lo, hi), WasmClampF32(a2h, lo, hi)},
                                {WasmClampF32(a3l, lo, hi), WasmClampF32(a3h, lo, hi)}};
    const size_t n = std::min(kNr, nc - n0);
    for (size_t r = 0; r < mr; ++r) {
      float* dst = c + r * c_stride + n0;
      if (n == kNr) {
        wasm_v128_store(dst, out[r][0]);
        wasm_v128_store(dst + 4, out[r][1]);
      } else {
        float tmp[kNr];
        wasm_v128_store(tmp, out[r][0]);
        wasm_v128_store(tmp + 4, out[r][1]);
        std::copy(tmp, tmp + n, dst);
      }
    }
  }
}

}  // namespace

const F32GemmKernelInfo kF32Gemm4x8Wasmsimd = {"f32_gemm_4x8__wasmsimd", kMr, kNr, Gemm};

}  // namespace wisp
