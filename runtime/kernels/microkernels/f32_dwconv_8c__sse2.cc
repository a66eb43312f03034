// Float32 depthwise convolution (f32_conv.h) on SSE2, any number of taps, 8 channels per tile
// (two vectors, two independent add chains): each lane one channel, multiplied and added tap by
// tap in the reference's order. A last partial tile reads its inputs through a zero-padded copy,
// so nothing is read past the pixel's channels.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

constexpr size_t kTile = 8;

void Dwconv(size_t channels, size_t output_width, size_t taps, const float* const* input,
            size_t input_stride, const float* packed_w, float* output, const F32MinMax* params) {
  const __m128 lo = _mm_set1_ps(params->min);
  const __m128 hi = _mm_set1_ps(params->max);
  for (size_t p = 0; p < output_width; ++p, output += channels) {
    const float* const* in = input + p * input_stride;
    const float* w = packed_w;
    size_t c0 = 0;
    for (; c0 + kTile <= channels; c0 += kTile) {
      __m128 al = _mm_loadu_ps(w), ah = _mm_loadu_ps(w + 4);
      w += kTile;
      for (size_t t = 0; t < taps; ++t, w += kTile) {
        const float* x = in[t] + c0;
        al = _mm_add_ps(al, _mm_mul_ps(_mm_loadu_ps(x), _mm_loadu_ps(w)));
        ah = _mm_add_ps(ah, _mm_mul_ps(_mm_loadu_ps(x + 4), _mm_loadu_ps(w + 4)));
      }
      _mm_storeu_ps(output + c0, Sse2ClampF32(al, lo, hi));
      _mm_storeu_ps(output + c0 + 4, Sse2ClampF32(ah, lo, hi));
    }
    if (c0 < channels) {
      const size_t n = channels - c0;
      __m128 al = _mm_loadu_ps(w), ah = _mm_loadu_ps(w + 4);
      w += kTile;
      for (size_t t = 0; t < taps; ++t, w += kTile) {
        float x[kTile] = {};
        std::copy(in[t] + c0, in[t] + channels, x);
        al = _mm_add_ps(al, _mm_mul_ps(_mm_loadu_ps(x), _mm_loadu_ps(w)));
        ah = _mm_add_ps(ah, _mm_mul_ps(_mm_loadu_ps(x + 4), _mm_loadu_ps(w + 4)));
      }
      float out[kTile];
      _mm_storeu_ps(out, Sse2ClampF32(al, lo, hi));
      _mm_storeu_ps(out + 4, Sse2ClampF32(ah, lo, hi));
      std::copy(out, out + n, output + c0);
    }
  }
}

}  // namespace

const F32DwconvKernelInfo kF32Dwconv8cSse2 = {"f32_dwconv_8c__sse2", kTile, Dwconv};

}  // namespace wisp
