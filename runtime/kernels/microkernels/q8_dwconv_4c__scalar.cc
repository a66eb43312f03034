// Quantized depthwise convolution, any number of taps, 4 channels per tile: portable C++ for
// targets without SIMD, and the readable model of every faster depthwise kernel.
#include <algorithm>
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kTile = 4;

template <typename T>
void Dwconv(size_t channels, size_t output_width, size_t taps, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t tile_bytes = kTile * 4 + taps * kTile * 2 + kTile * 4;
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    const uint8_t* w = static_cast<const uint8_t*>(packed_w);
    T* out = reinterpret_cast<T*>(output) + p * channels;
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
      int32_t bias[kTile];
      std::memcpy(bias, w, sizeof(bias));
      uint32_t acc[kTile];
      for (int j = 0; j < kTile; ++j) acc[j] = static_cast<uint32_t>(bias[j]);
      const uint8_t* wt = w + sizeof(bias);
      for (size_t t = 0; t < taps; ++t, wt += kTile * 2) {
        const T* x = reinterpret_cast<const T*>(in[t]) + c0;
        int16_t wv[kTile];
        std::memcpy(wv, wt, sizeof(wv));
        for (int j = 0; j < kTile; ++j) acc[j] += static_cast<uint32_t>(x[j] * wv[j]);
      }
      float scale[kTile];
      std::memcpy(scale, wt, sizeof(scale));
      const size_t n = std::min<size_t>(kTile, channels - c0);
      for (size_t j = 0; j < n; ++j) {
        out[c0 + j] = static_cast<T>(RequantizeMagic(static_cast<int32_t>(acc[j]), scale[j], *e));
      }
    }
  }
}

}  // namespace

const DwconvKernelInfo kQ8DwconvUp4cScalar = {
    "q8_dwconv_up4c__scalar", kTile, 0, 1, {0, 0}, Dwconv<int8_t>, Dwconv<uint8_t>};

}  // namespace wisp
