// Float32 GEMM (f32_conv.h) on SSE2, 4 rows x 8 channels per block: eight accumulators (a row's
// two vectors of four channels), each input value broadcast and multiplied with the block's
// weights, then added: _mm_mul_ps and _mm_add_ps round separately, so every lane follows the
// reference's order exactly.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

constexpr size_t kMr = 4;
constexpr size_t kNr = 8;

// One row (a batch-1 fully connected layer): the same per-lane arithmetic as the 4-row loop
// without computing three copies of the row that would not be stored.
void GemmOneRow(size_t nc, size_t kc, size_t ks, F32Window window, const float* w, float* c,
                __m128 lo, __m128 hi) {
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    __m128 al = _mm_loadu_ps(w), ah = _mm_loadu_ps(w + 4);
    w += kNr;
    for (size_t t = 0; t < ks; ++t) {
      const float* x = window[t];
      for (size_t k = 0; k < kc; ++k, w += kNr) {
        const __m128 v = _mm_set1_ps(x[k]);
        al = _mm_add_ps(al, _mm_mul_ps(v, _mm_loadu_ps(w)));
        ah = _mm_add_ps(ah, _mm_mul_ps(v, _mm_loadu_ps(w + 4)));
      }
    }
    const size_t n = std::min(kNr, nc - n0);
    float out[kNr];
    _mm_storeu_ps(out, Sse2ClampF32(al, lo, hi));
    _mm_storeu_ps(out + 4, Sse2ClampF32(ah, lo, hi));
    std::copy(out, out + n, c + n0);
  }
}

void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const F32Window* windows, const float* w,
          float* c, size_t c_stride, const F32MinMax* params) {
  const F32Window w0 = windows[0];
  const F32Window w1 = windows[std::min<size_t>(1, mr - 1)];
  const F32Window w2 = windows[std::min<size_t>(2, mr - 1)];
  const F32Window w3 = windows[std::min<size_t>(3, mr - 1)];
  const __m128 lo = _mm_set1_ps(params->min);
  const __m128 hi = _mm_set1_ps(params->max);
  if (mr == 1) {
    GemmOneRow(nc, kc, ks, w0, w, c, lo, hi);
    return;
  }
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    __m128 a0l = _mm_loadu_ps(w), a0h = _mm_loadu_ps(w + 4);
    __m128 a1l = a0l, a1h = a0h, a2l = a0l, a2h = a0h, a3l = a0l, a3h = a0h;
    w += kNr;
    for (size_t t = 0; t < ks; ++t) {
      const float* x0 = w0[t];
      const float* x1 = w1[t];
      const float* x2 = w2[t];
      const float* x3 = w3[t];
      for (size_t k = 0; k < kc; ++k, w += kNr) {
        const __m128 wl = _mm_loadu_ps(w);
        const __m128 wh = _mm_loadu_ps(w + 4);
        const __m128 v0 = _mm_set1_ps(x0[k]);
        const __m128 v1 = _mm_set1_ps(x1[k]);
        const __m128 v2 = _mm_set1_ps(x2[k]);
        const __m128 v3 = _mm_set1_ps(x3[k]);
        a0l = _mm_add_ps(a0l, _mm_mul_ps(v0, wl));
        a0h = _mm_add_ps(a0h, _mm_mul_ps(v0, wh));
        a1l = _mm_add_ps(a1l, _mm_mul_ps(v1, wl));
        a1h = _mm_add_ps(a1h, _mm_mul_ps(v1, wh));
        a2l = _mm_add_ps(a2l, _mm_mul_ps(v2, wl));
        a2h = _mm_add_ps(a2h, _mm_mul_ps(v2, wh));
        a3l = _mm_add_ps(a3l, _mm_mul_ps(v3, wl));
        a3h = _mm_add_ps(a3h, _mm_mul_ps(v3, wh));
      }
    }
    const __m128 out[kMr][2] = {{Sse2ClampF32(a0l, lo, hi), Sse2ClampF32(a0h, lo, hi)},
                                {Sse2ClampF32(a1l, lo, hi), Sse2ClampF32(a1h, lo, hi)},
                                {Sse2ClampF32(a2l, lo, hi), Sse2ClampF32(a2h, lo, hi)},
                                {Sse2ClampF32(a3l, lo, hi), Sse2ClampF32(a3h, lo, hi)}};
    const size_t n = std::min(kNr, nc - n0);
    for (size_t r = 0; r < mr; ++r) {
      float* dst = c + r * c_stride + n0;
      if (n == kNr) {
        _mm_storeu_ps(dst, out[r][0]);
        _mm_storeu_ps(dst + 4, out[r][1]);
      } else {
        float tmp[kNr];
        _mm_storeu_ps(tmp, out[r][0]);
        _mm_storeu_ps(tmp + 4, out[r][1]);
        std::copy(tmp, tmp + n, dst);
      }
    }
  }
}

}  // namespace

const F32GemmKernelInfo kF32Gemm4x8Sse2 = {"f32_gemm_4x8__sse2", kMr, kNr, Gemm};

}  // namespace wisp
