// Reference DEPTHWISE_CONV_2D: one output pixel at a time; a row of out_c accumulators is
// updated tap by tap, so both the input pixel and the [kh, kw, out_c] filter row are read
// contiguously. Output channel c = ic * depth_multiplier + m reads input channel ic.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "runtime/kernels/convolution_params.h"

namespace wisp {
namespace {

template <typename T>
const T* TapRow(const ConvGeometry& g, const T* image, int32_t iy, int32_t ix, const T* pad_row) {
  if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) return pad_row;
  return image + (static_cast<int64_t>(iy) * g.in_w + ix) * g.in_c;
}

// x * w in the accumulator type; integer products are formed in int32 (they cannot overflow:
// |x| <= 255, |w| <= 510) and then added with wrap-around in uint32.
template <typename Acc, typename T, typename W>
inline Acc Product(T x, W w) {
  if constexpr (std::is_floating_point<Acc>::value) {
    return static_cast<Acc>(x) * static_cast<Acc>(w);
  } else {
    return static_cast<Acc>(static_cast<int32_t>(x) * static_cast<int32_t>(w));
  }
}

// Accumulates acc[c] += x[c / m] * w[c] over the kernel taps of output pixel (oy, ox).
template <typename T, typename W, typename Acc>
void AccumulateTaps(const ConvGeometry& g, const T* image, int32_t oy, int32_t ox, const W* filter,
                    const T* pad_row, Acc* acc) {
  const int32_t iy0 = oy * g.stride_h - g.pad_top;
  const int32_t ix0 = ox * g.stride_w - g.pad_left;
  const int32_t m = g.depth_multiplier;
  for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
    for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
      const T* x = TapRow(g, image, iy0 + ky * g.dilation_h, ix0 + kx * g.dilation_w, pad_row);
      const W* w = filter + static_cast<int64_t>(ky * g.kernel_w + kx) * g.out_c;
      if (m == 1) {
        for (int32_t c = 0; c < g.out_c; ++c) acc[c] += Product<Acc>(x[c], w[c]);
      } else {
        for (int32_t ic = 0; ic < g.in_c; ++ic) {
          for (int32_t j = 0; j < m; ++j) acc[ic * m + j] += Product<Acc>(x[ic], w[ic * m + j]);
        }
      }
    }
  }
}

template <typename T>
void DepthwiseQuantized(const ConvGeometry& g, const T* input, const int16_t* filter,
                        const QuantConvParams& p, const T* pad_row, int32_t* acc_storage,
                        T* output) {
  // uint32: wraps like XNNPACK's int32 arithmetic instead of overflowing (hostile models).
  uint32_t* acc = reinterpret_cast<uint32_t*>(acc_storage);
  for (int32_t b = 0; b < g.batch; ++b) {
    const T* image = input + static_cast<int64_t>(b) * g.in_h * g.in_w * g.in_c;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        for (int32_t c = 0; c < g.out_c; ++c) acc[c] = static_cast<uint32_t>(p.folded_bias[c]);
        AccumulateTaps(g, image, oy, ox, filter, pad_row, acc);
        for (int32_t c = 0; c < g.out_c; ++c) {
          *output++ = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc[c]), p, c));
        }
      }
    }
  }
}

}  // namespace

void DepthwiseConv2DFloat(const ConvGeometry& g, const float* input, const float* filter,
                          const float* bias, float act_min, float act_max, const float* pad_row,
                          float* acc, float* output) {
  for (int32_t b = 0; b < g.batch; ++b) {
    const float* image = input + static_cast<int64_t>(b) * g.in_h * g.in_w * g.in_c;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        // XNNPACK starts the accumulator from the bias, then adds the taps in order.
        std::copy(bias, bias + g.out_c, acc);
        AccumulateTaps(g, image, oy, ox, filter, pad_row, acc);
        for (int32_t c = 0; c < g.out_c; ++c) {
          *output++ = std::min(std::max(acc[c], act_min), act_max);
        }
      }
    }
  }
}

void DepthwiseConv2DInt8(const ConvGeometry& g, const int8_t* input, const int16_t* filter,
                         const QuantConvParams& p, const int8_t* pad_row, int32_t* acc,
                         int8_t* output) {
  DepthwiseQuantized(g, input, filter, p, pad_row, acc, output);
}

void DepthwiseConv2DUint8(const ConvGeometry& g, const uint8_t* input, const int16_t* filter,
                          const QuantConvParams& p, const uint8_t* pad_row, int32_t* acc,
                          uint8_t* output) {
  DepthwiseQuantized(g, input, filter, p, pad_row, acc, output);
}

}  // namespace wisp
