// Reference CONV_2D: one output pixel at a time, every output channel a dot product over the
// kernel taps with the input channels innermost (contiguous in NHWC input and OHWI filter).
#include <algorithm>
#include <cstdint>

#include "runtime/kernels/convolution_params.h"

namespace wisp {

// Both in int64: hostile strides/dilations must not overflow (Prepare rejects results < 1).
int32_t ConvOutputSize(fb::Padding padding, int32_t in, int32_t kernel, int32_t stride,
                       int32_t dilation) {
  const int64_t effective = (int64_t{kernel} - 1) * dilation + 1;
  const int64_t out = padding == fb::Padding::SAME ? (int64_t{in} + stride - 1) / stride
                                                   : (int64_t{in} + stride - effective) / stride;
  return static_cast<int32_t>(std::max<int64_t>(out, 0));
}

int32_t ConvPadBefore(fb::Padding padding, int32_t in, int32_t kernel, int32_t stride,
                      int32_t dilation, int32_t out) {
  (void)padding;  // TFLite applies the same formula to VALID, where it comes out as 0.
  const int64_t effective = (int64_t{kernel} - 1) * dilation + 1;
  const int64_t total = (int64_t{out} - 1) * stride + effective - in;
  return static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(total / 2, 0), INT32_MAX / 4));
}

namespace {

// Input row for tap (iy, ix), or the padding row when the tap falls outside the image.
template <typename T>
const T* TapRow(const ConvGeometry& g, const T* image, int32_t iy, int32_t ix, const T* pad_row) {
  if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) return pad_row;
  return image + (static_cast<int64_t>(iy) * g.in_w + ix) * g.in_c;
}

template <typename T>
void Conv2DQuantized(const ConvGeometry& g, const T* input, const int16_t* filter,
                     const QuantConvParams& p, const T* pad_row, T* output) {
  const int32_t taps = g.kernel_h * g.kernel_w;
  const int64_t filter_stride = static_cast<int64_t>(taps) * g.in_c;
  for (int32_t b = 0; b < g.batch; ++b) {
    const T* image = input + static_cast<int64_t>(b) * g.in_h * g.in_w * g.in_c;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        const int32_t iy0 = oy * g.stride_h - g.pad_top;
        const int32_t ix0 = ox * g.stride_w - g.pad_left;
        for (int32_t oc = 0; oc < g.out_c; ++oc) {
          const int16_t* w = filter + oc * filter_stride;
          // uint32: wraps like XNNPACK's int32 arithmetic instead of overflowing (hostile models).
          uint32_t acc = static_cast<uint32_t>(p.folded_bias[oc]);
          for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
            for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
              const T* x =
                  TapRow(g, image, iy0 + ky * g.dilation_h, ix0 + kx * g.dilation_w, pad_row);
              uint32_t dot = 0;
              for (int32_t ic = 0; ic < g.in_c; ++ic) {
                dot += static_cast<uint32_t>(static_cast<int32_t>(x[ic]) *
                                             static_cast<int32_t>(w[ic]));
              }
              acc += dot;
              w += g.in_c;
            }
          }
          *output++ = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc), p, oc));
        }
      }
    }
  }
}

}  // namespace

void Conv2DFloat(const ConvGeometry& g, const float* input, const float* filter, const float* bias,
                 float act_min, float act_max, const float* pad_row, float* output) {
  const int32_t taps = g.kernel_h * g.kernel_w;
  const int64_t filter_stride = static_cast<int64_t>(taps) * g.in_c;
  for (int32_t b = 0; b < g.batch; ++b) {
    const float* image = input + static_cast<int64_t>(b) * g.in_h * g.in_w * g.in_c;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        const int32_t iy0 = oy * g.stride_h - g.pad_top;
        const int32_t ix0 = ox * g.stride_w - g.pad_left;
        for (int32_t oc = 0; oc < g.out_c; ++oc) {
          const float* w = filter + oc * filter_stride;
          // XNNPACK starts the accumulator from the bias, then adds the products.
          float acc = bias[oc];
          for (int32_t ky = 0; ky < g.kernel_h; ++ky) {
            for (int32_t kx = 0; kx < g.kernel_w; ++kx) {
              const float* x =
                  TapRow(g, image, iy0 + ky * g.dilation_h, ix0 + kx * g.dilation_w, pad_row);
              for (int32_t ic = 0; ic < g.in_c; ++ic) acc += x[ic] * w[ic];
              w += g.in_c;
            }
          }
          *output++ = std::min(std::max(acc, act_min), act_max);
        }
      }
    }
  }
}

void Conv2DInt8(const ConvGeometry& g, const int8_t* input, const int16_t* filter,
                const QuantConvParams& p, const int8_t* pad_row, int8_t* output) {
  Conv2DQuantized(g, input, filter, p, pad_row, output);
}

void Conv2DUint8(const ConvGeometry& g, const uint8_t* input, const int16_t* filter,
                 const QuantConvParams& p, const uint8_t* pad_row, uint8_t* output) {
  Conv2DQuantized(g, input, filter, p, pad_row, output);
}

}  // namespace wisp
