// Reference FULLY_CONNECTED: every output a dot product of an input row with a filter row
// (both contiguous), starting from the (zero-point folded) bias.
#include <algorithm>

#include "runtime/kernels/convolution_params.h"

namespace wisp {
namespace {

template <typename T>
void FullyConnectedQuantized(int32_t batch, int32_t in_c, int32_t out_c, const T* input,
                             const int16_t* filter, const QuantConvParams& p, T* output) {
  for (int32_t b = 0; b < batch; ++b) {
    const T* x = input + static_cast<int64_t>(b) * in_c;
    for (int32_t oc = 0; oc < out_c; ++oc) {
      const int16_t* w = filter + static_cast<int64_t>(oc) * in_c;
      // uint32: wraps like XNNPACK's int32 arithmetic instead of overflowing (hostile models).
      uint32_t acc = static_cast<uint32_t>(p.folded_bias[oc]);
      for (int32_t k = 0; k < in_c; ++k) {
        acc += static_cast<uint32_t>(static_cast<int32_t>(x[k]) * static_cast<int32_t>(w[k]));
      }
      *output++ = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc), p, oc));
    }
  }
}

}  // namespace

void FullyConnectedFloat(int32_t batch, int32_t in_c, int32_t out_c, const float* input,
                         const float* filter, const float* bias, float act_min, float act_max,
                         float* output) {
  for (int32_t b = 0; b < batch; ++b) {
    const float* x = input + static_cast<int64_t>(b) * in_c;
    for (int32_t oc = 0; oc < out_c; ++oc) {
      const float* w = filter + static_cast<int64_t>(oc) * in_c;
      float acc = bias[oc];  // XNNPACK starts the accumulator from the bias
      for (int32_t k = 0; k < in_c; ++k) acc += x[k] * w[k];
      *output++ = std::min(std::max(acc, act_min), act_max);
    }
  }
}

void FullyConnectedInt8(int32_t batch, int32_t in_c, int32_t out_c, const int8_t* input,
                        const int16_t* filter, const QuantConvParams& p, int8_t* output) {
  FullyConnectedQuantized(batch, in_c, out_c, input, filter, p, output);
}

void FullyConnectedUint8(int32_t batch, int32_t in_c, int32_t out_c, const uint8_t* input,
                         const int16_t* filter, const QuantConvParams& p, uint8_t* output) {
  FullyConnectedQuantized(batch, in_c, out_c, input, filter, p, output);
}

}  // namespace wisp
