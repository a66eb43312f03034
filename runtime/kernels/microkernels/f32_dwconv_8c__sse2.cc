// Float32 depthwise convolution (f32_conv.h) on SSE2, any number of taps, 8 channels
// per tile: each lane one channel, multiplied and added tap by tap in the reference's order. Four
// pixels are computed together (eight independent add chains sharing each weight load): with one
// pixel's two chains the loop waits on the add latency at every tap. A last partial tile reads its
// inputs through a zero-padded copy, so nothing is read past the pixel's channels.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

constexpr size_t kTile = 8;

// P pixels (4, or 1 for the rest of the row), full tiles then the partial one.
template <size_t P>
void Pixels(size_t channels, size_t taps, const float* const* in[P], const float* packed_w,
            float* out[P], __m128 lo, __m128 hi) {
  const float* w = packed_w;
  size_t c0 = 0;
  for (; c0 + kTile <= channels; c0 += kTile) {
    __m128 al[P], ah[P];
    const __m128 bl = _mm_loadu_ps(w), bh = _mm_loadu_ps(w + 4);
    for (size_t i = 0; i < P; ++i) al[i] = bl, ah[i] = bh;
    w += kTile;
    for (size_t t = 0; t < taps; ++t, w += kTile) {
      const __m128 wl = _mm_loadu_ps(w), wh = _mm_loadu_ps(w + 4);
      for (size_t i = 0; i < P; ++i) {
        const float* x = in[i][t] + c0;
        al[i] = _mm_add_ps(al[i], _mm_mul_ps(_mm_loadu_ps(x), wl));
        ah[i] = _mm_add_ps(ah[i], _mm_mul_ps(_mm_loadu_ps(x + 4), wh));
      }
    }
    for (size_t i = 0; i < P; ++i) {
      _mm_storeu_ps(out[i] + c0, Sse2ClampF32(al[i], lo, hi));
      _mm_storeu_ps(out[i] + c0 + 4, Sse2ClampF32(ah[i], lo, hi));
    }
  }
  if (c0 < channels) {
    const size_t n = channels - c0;
    for (size_t i = 0; i < P; ++i) {
      const float* wt = w;
      __m128 al = _mm_loadu_ps(wt), ah = _mm_loadu_ps(wt + 4);
      wt += kTile;
      for (size_t t = 0; t < taps; ++t, wt += kTile) {
        float x[kTile] = {};
        std::copy(in[i][t] + c0, in[i][t] + channels, x);
        al = _mm_add_ps(al, _mm_mul_ps(_mm_loadu_ps(x), _mm_loadu_ps(wt)));
        ah = _mm_add_ps(ah, _mm_mul_ps(_mm_loadu_ps(x + 4), _mm_loadu_ps(wt + 4)));
      }
      float o[kTile];
      _mm_storeu_ps(o, Sse2ClampF32(al, lo, hi));
      _mm_storeu_ps(o + 4, Sse2ClampF32(ah, lo, hi));
      std::copy(o, o + n, out[i] + c0);
    }
  }
}

void Dwconv(size_t channels, size_t output_width, size_t taps, const float* const* input,
            size_t input_stride, const float* packed_w, float* output, const F32MinMax* params) {
  const __m128 lo = _mm_set1_ps(params->min);
  const __m128 hi = _mm_set1_ps(params->max);
  size_t p = 0;
  for (; p + 4 <= output_width; p += 4) {
    const float* const* in[4];
    float* out[4];
    for (size_t i = 0; i < 4; ++i) {
      in[i] = input + (p + i) * input_stride;
      out[i] = output + (p + i) * channels;
    }
    Pixels<4>(channels, taps, in, packed_w, out, lo, hi);
  }
  for (; p < output_width; ++p) {
    const float* const* in[1] = {input + p * input_stride};
    float* out[1] = {output + p * channels};
    Pixels<1>(channels, taps, in, packed_w, out, lo, hi);
  }
}

}  // namespace

const F32DwconvKernelInfo kF32Dwconv8cSse2 = {"f32_dwconv_8c__sse2", kTile, Dwconv};

}  // namespace wisp
