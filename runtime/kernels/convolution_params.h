// Shared pieces of the convolution family (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED): the
// geometry TFLite derives from padding/stride/dilation, the per-channel requantization
// parameters computed once in Prepare, and the reference kernels (the oracle for faster ones).
//
// Quantized arithmetic follows XNNPACK, because the reference runtime (LiteRT.js = TFLite + the
// XNNPACK delegate) hands these three operators to XNNPACK for int8 and uint8 (docs/arithmetic.md,
// section 2):
//   acc[c] = bias[c] + sum_k (x[k] - x_zp) * (w[c][k] - w_zp[c])          (exact int32)
//   out[c] = clamp(rne(f32(acc[c]) * scale[c]) + out_zp, qmin, qmax)
//   scale[c] = f32(f32(input_scale * filter_scale[c]) / output_scale)
// with qmin/qmax from the fused activation quantized as XNNPACK does (ActivationRangeXnnpack).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/format/schema.h"
#include "runtime/kernels/quantization.h"

namespace wisp {

// Output extent along one spatial axis, as TFLite's ComputeOutSize.
int32_t ConvOutputSize(fb::Padding padding, int32_t in, int32_t kernel, int32_t stride,
                       int32_t dilation);
// Padding before the first element (top or left), as TFLite's ComputePaddingHeightWidth and
// XNNPACK's TENSORFLOW_SAME_PADDING: the odd extra padding goes after (bottom/right).
int32_t ConvPadBefore(fb::Padding padding, int32_t in, int32_t kernel, int32_t stride,
                      int32_t dilation, int32_t out);

struct ConvGeometry {
  int32_t batch = 1;
  int32_t in_h = 1, in_w = 1, in_c = 1;
  int32_t out_h = 1, out_w = 1, out_c = 1;
  int32_t kernel_h = 1, kernel_w = 1;
  int32_t stride_h = 1, stride_w = 1;
  int32_t dilation_h = 1, dilation_w = 1;
  int32_t pad_top = 0, pad_left = 0;
  int32_t depth_multiplier = 1;  // depthwise only: out_c = in_c * depth_multiplier
};

// Everything a quantized (int8/uint8) kernel needs besides the packed weights.
struct QuantConvParams {
  int32_t input_zero_point = 0;
  // bias[c] - input_zero_point * sum_k (w[c][k] - w_zp[c]) (int32, wrapping like XNNPACK's
  // packing): the kernel then only adds x[k] * (w[c][k] - w_zp[c]).
  std::vector<int32_t> folded_bias;
  std::vector<float> scale;  // per output channel
  int32_t output_zero_point = 0;
  int32_t qmin = -128;  // include the fused activation
  int32_t qmax = 127;
};

inline int32_t RequantizeChannel(int32_t acc, const QuantConvParams& p, int32_t c) {
  Fp32Requant r;
  r.scale = p.scale[c];
  r.zero_point = p.output_zero_point;
  r.qmin = p.qmin;
  r.qmax = p.qmax;
  return RequantizeFp32(acc, r);
}

// ---- Reference kernels -------------------------------------------------------------------------
// Layouts: input/output NHWC. Weights as in TFLite, except that quantized weights are stored
// as int16 (w - w_zp) so int8 and uint8 share one inner loop.
// `pad_row` holds in_c elements equal to the padding value (0.0f, or the input zero point for
// quantized kernels, which is how XNNPACK's indirection "zero buffer" pads): a padded tap then
// contributes exactly nothing after zero-point folding.

// filter [out_c, kh, kw, in_c]; bias [out_c] (zeros when the model has none).
void Conv2DFloat(const ConvGeometry& g, const float* input, const float* filter, const float* bias,
                 float act_min, float act_max, const float* pad_row, float* output);
void Conv2DInt8(const ConvGeometry& g, const int8_t* input, const int16_t* filter,
                const QuantConvParams& p, const int8_t* pad_row, int8_t* output);
void Conv2DUint8(const ConvGeometry& g, const uint8_t* input, const int16_t* filter,
                 const QuantConvParams& p, const uint8_t* pad_row, uint8_t* output);

// filter [kh, kw, out_c] (TFLite's [1, kh, kw, out_c]); out channel c reads input channel
// c / depth_multiplier. `acc` is scratch for out_c accumulators.
void DepthwiseConv2DFloat(const ConvGeometry& g, const float* input, const float* filter,
                          const float* bias, float act_min, float act_max, const float* pad_row,
                          float* acc, float* output);
void DepthwiseConv2DInt8(const ConvGeometry& g, const int8_t* input, const int16_t* filter,
                         const QuantConvParams& p, const int8_t* pad_row, int32_t* acc,
                         int8_t* output);
void DepthwiseConv2DUint8(const ConvGeometry& g, const uint8_t* input, const int16_t* filter,
                          const QuantConvParams& p, const uint8_t* pad_row, int32_t* acc,
                          uint8_t* output);

// input [batch, in_c], filter [out_c, in_c], output [batch, out_c].
void FullyConnectedFloat(int32_t batch, int32_t in_c, int32_t out_c, const float* input,
                         const float* filter, const float* bias, float act_min, float act_max,
                         float* output);
void FullyConnectedInt8(int32_t batch, int32_t in_c, int32_t out_c, const int8_t* input,
                        const int16_t* filter, const QuantConvParams& p, int8_t* output);
void FullyConnectedUint8(int32_t batch, int32_t in_c, int32_t out_c, const uint8_t* input,
                         const int16_t* filter, const QuantConvParams& p, uint8_t* output);

}  // namespace wisp
