// Float32 depthwise convolution (f32_conv.h), any number of taps, 4 channels per tile, portable
// C++: the readable model of the SIMD depthwise kernels.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr size_t kTile = 4;

void Dwconv(size_t channels, size_t output_width, size_t taps, const float* const* input,
            size_t input_stride, const float* packed_w, float* output, const F32MinMax* params) {
  for (size_t p = 0; p < output_width; ++p, output += channels) {
    const float* const* in = input + p * input_stride;
    const float* w = packed_w;
    for (size_t c0 = 0; c0 < channels; c0 += kTile) {
      const size_t n = std::min(kTile, channels - c0);
      float acc[kTile];
      for (size_t j = 0; j < kTile; ++j) acc[j] = w[j];
      w += kTile;
      for (size_t t = 0; t < taps; ++t, w += kTile) {
        const float* x = in[t] + c0;
        for (size_t j = 0; j < n; ++j) acc[j] += x[j] * w[j];
      }
      for (size_t j = 0; j < n; ++j) {
        output[c0 + j] = std::min(std::max(acc[j], params->min), params->max);
      }
    }
  }
}

}  // namespace

const F32DwconvKernelInfo kF32Dwconv4cScalar = {"f32_dwconv_4c__scalar", kTile, Dwconv};

}  // namespace wisp
