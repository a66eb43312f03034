// OpKernel wrappers of the convolution family: Prepare validates the operator, derives the
// geometry and precomputes everything the kernels need (zero-point folded biases, per-channel
// requantization scales, weights repacked as int16 (w - w_zp), padding rows); Invoke only
// dispatches to the chosen implementation, split over the thread pool when there is one.
#include "runtime/kernels/convolution.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "runtime/interpreter/thread_pool.h"
#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/float_conv.h"
#include "runtime/kernels/float_winograd.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/quantization.h"
#include "runtime/kernels/quantized_conv.h"

namespace wisp {
namespace {

enum class Path { kFloat, kInt8, kUint8 };

// The state shared by the three operators: everything derived from filter, bias and the
// quantization of input/output.
struct ConvCommon {
  Path path = Path::kFloat;
  // float
  const float* filter_f = nullptr;  // in place in the model, or filter_deq
  std::vector<float> filter_deq;    // int8 weights of a hybrid model, dequantized
  std::vector<float> bias_f;
  float act_min = 0.0f, act_max = 0.0f;
  // int8 / uint8
  QuantConvParams q;
  const uint8_t* filter_raw = nullptr;  // in place in the model
  int64_t filter_elements = 0;
  int32_t channel_axis = 0;
  std::vector<int32_t> bias_q;     // as in the model (zeros when it has none)
  std::vector<int32_t> filter_zp;  // per output channel
  // The reference kernels' weights (BuildReferenceWeights): int16 (w - w_zp), and
  // q.folded_bias. Built only when an operator runs on them.
  std::vector<int16_t> filter_q;
  // in_c elements of the padding value (0.0f or the input zero point)
  std::vector<uint8_t> pad_row;

  // What the float microkernel plans need (float_conv.h).
  FloatFilter FloatMicrokernelFilter() const {
    FloatFilter f;
    f.weights = filter_f;
    f.bias = bias_f.data();
    f.act_min = act_min;
    f.act_max = act_max;
    return f;
  }
  // What the quantized microkernel plans need (quantized_conv.h).
  QuantFilter MicrokernelFilter() const {
    QuantFilter f;
    f.weights = filter_raw;
    f.w_zp = filter_zp.data();
    f.weights_uint8 = path == Path::kUint8;
    f.bias = bias_q.data();
    f.scale = q.scale.data();
    f.input_zero_point = q.input_zero_point;
    f.uint8 = path == Path::kUint8;
    f.epilogue = MakeQuantEpilogue(q.output_zero_point, q.qmin, q.qmax);
    return f;
  }
  // The int16 (w - w_zp) weights and zero-point folded biases of the reference kernels. Walked in
  // memory order without a division per element; the sums wrap in uint32 like XNNPACK's packing.
  void BuildReferenceWeights() {
    if (path == Path::kFloat) return;
    const int32_t out_c = static_cast<int32_t>(filter_zp.size());
    const int64_t per_channel = filter_elements / out_c;
    const bool is_u8 = path == Path::kUint8;
    filter_q.resize(static_cast<size_t>(filter_elements));
    std::vector<uint32_t> sums(out_c, 0);
    auto convert = [&](int64_t i, int32_t ch) {
      const int32_t raw = is_u8 ? static_cast<int32_t>(filter_raw[i])
                                : static_cast<int32_t>(static_cast<int8_t>(filter_raw[i]));
      const int32_t w = raw - filter_zp[ch];
      filter_q[i] = static_cast<int16_t>(w);
      sums[ch] += static_cast<uint32_t>(w);
    };
    if (channel_axis == 0) {
      int64_t i = 0;
      for (int32_t ch = 0; ch < out_c; ++ch) {
        for (int64_t k = 0; k < per_channel; ++k, ++i) convert(i, ch);
      }
    } else {
      for (int64_t i = 0; i < filter_elements;) {
        for (int32_t ch = 0; ch < out_c; ++ch, ++i) convert(i, ch);
      }
    }
    q.folded_bias.resize(out_c);
    for (int32_t ch = 0; ch < out_c; ++ch) {
      q.folded_bias[ch] = static_cast<int32_t>(
          static_cast<uint32_t>(bias_q[ch]) - static_cast<uint32_t>(q.input_zero_point) * sums[ch]);
    }
  }
};

bool ValidScale(float s) { return std::isfinite(s) && s > 0.0f && std::isnormal(s); }

Status ExpectPerTensorQuant(const KernelContext& ctx, const TensorDesc& t, const char* role,
                            int32_t zp_min, int32_t zp_max) {
  if (t.quant.scale.size() != 1 || t.quant.zero_point.size() != 1) {
    return ctx.Error(StatusCode::kUnsupported,
                     "%s '%s' must be quantized per tensor (one scale and zero point), has %zu "
                     "scales",
                     role, t.name.c_str(), t.quant.scale.size());
  }
  if (!ValidScale(t.quant.scale[0])) {
    return ctx.Error(StatusCode::kInvalidModel, "%s '%s' has invalid scale %g", role,
                     t.name.c_str(), static_cast<double>(t.quant.scale[0]));
  }
  if (t.quant.zero_point[0] < zp_min || t.quant.zero_point[0] > zp_max) {
    return ctx.Error(StatusCode::kInvalidModel, "%s '%s' has zero point %d outside [%d, %d]", role,
                     t.name.c_str(), t.quant.zero_point[0], zp_min, zp_max);
  }
  return Status::Ok();
}

// Picks the dtype path from the input and checks filter/bias/output dtypes agree with it.
// Filter and bias must be constants: they are folded and repacked here, once.
Status SelectPath(const KernelContext& ctx, const TensorDesc& input, const TensorDesc& filter,
                  const TensorDesc* bias, const TensorDesc& output, Path* path) {
  DType act = input.dtype;
  DType bias_dtype;
  switch (act) {
    case DType::FLOAT32:
      *path = Path::kFloat;
      bias_dtype = DType::FLOAT32;
      break;
    case DType::INT8:
      *path = Path::kInt8;
      bias_dtype = DType::INT32;
      break;
    case DType::UINT8:
      *path = Path::kUint8;
      bias_dtype = DType::INT32;
      break;
    default:
      return ctx.Error(StatusCode::kUnsupported,
                       "input '%s' has dtype %s; supported: float32, int8, uint8 (int16x8 is not "
                       "implemented)",
                       input.name.c_str(), DTypeName(act));
  }
  if (act == DType::FLOAT32 && filter.dtype == DType::INT8) {
    // Hybrid ("dynamic range") models: float activations with int8 weights, no DEQUANTIZE op.
    // The filter is dequantized once here and the float kernel runs. The reference quantizes the
    // activations on the fly (XNNPACK qd8 or TFLite's hybrid kernels), so outputs agree to float
    // tolerance only.
  } else {
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&filter, "filter", {act}));
  }
  WISP_RETURN_IF_ERROR(ctx.ExpectDType(&output, "output", {act}));
  if (bias != nullptr) WISP_RETURN_IF_ERROR(ctx.ExpectDType(bias, "bias", {bias_dtype}));
  if (!filter.is_constant()) {
    return ctx.Error(StatusCode::kUnsupported, "filter '%s' must be a constant tensor",
                     filter.name.c_str());
  }
  if (bias != nullptr && !bias->is_constant()) {
    return ctx.Error(StatusCode::kUnsupported, "bias '%s' must be a constant tensor",
                     bias->name.c_str());
  }
  return Status::Ok();
}

// `channel_axis` is the filter axis holding the output channels (0 for CONV_2D and
// FULLY_CONNECTED, 3 for DEPTHWISE_CONV_2D).
Status PrepareCommon(const KernelContext& ctx, const TensorDesc& input, const TensorDesc& filter,
                     const TensorDesc* bias, const TensorDesc& output, int32_t channel_axis,
                     int32_t out_c, int32_t in_c, fb::Activation activation, ConvCommon* c) {
  WISP_RETURN_IF_ERROR(SelectPath(ctx, input, filter, bias, output, &c->path));
  if (bias != nullptr && (bias->shape.size() != 1 || bias->shape[0] != out_c)) {
    return ctx.Error(StatusCode::kInvalidModel, "bias '%s' has shape %s; expected [%d]",
                     bias->name.c_str(), ShapeToString(bias->shape).c_str(), out_c);
  }
  if (activation != fb::Activation::NONE && activation != fb::Activation::RELU &&
      activation != fb::Activation::RELU6 && activation != fb::Activation::RELU_N1_TO_1) {
    return ctx.Error(StatusCode::kUnsupported, "fused activation %s is not supported",
                     fb::EnumNameActivation(activation));
  }
  const int64_t n = filter.num_elements;
  const int64_t per_channel = n / out_c;  // filter elements feeding one output channel
  // Output channel of filter element i.
  auto channel_of = [&](int64_t i) -> int32_t {
    return channel_axis == 0 ? static_cast<int32_t>(i / per_channel)
                             : static_cast<int32_t>(i % out_c);
  };

  if (c->path == Path::kFloat) {
    c->filter_f = reinterpret_cast<const float*>(filter.data);
    if (filter.dtype == DType::INT8) {
      const QuantParams& fq = filter.quant;
      const size_t nscales = fq.scale.size();
      if ((nscales != 1 && nscales != static_cast<size_t>(out_c)) ||
          fq.zero_point.size() != nscales || (nscales > 1 && fq.axis != channel_axis)) {
        return ctx.Error(StatusCode::kUnsupported,
                         "int8 filter '%s' of a float operator needs one scale or one per output "
                         "channel along axis %d",
                         filter.name.c_str(), channel_axis);
      }
      c->filter_deq.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const size_t k = nscales == 1 ? 0 : static_cast<size_t>(channel_of(i));
        const int32_t w = static_cast<int8_t>(filter.data[i]);
        // As TFLite's Dequantize: scale * (q - zero_point) in float.
        c->filter_deq[i] =
            fq.scale[k] * static_cast<float>(w - static_cast<int32_t>(fq.zero_point[k]));
      }
      c->filter_f = c->filter_deq.data();
    }
    c->bias_f.assign(out_c, 0.0f);
    if (bias != nullptr) std::memcpy(c->bias_f.data(), bias->data, out_c * sizeof(float));
    ActivationRangeFloat(activation, &c->act_min, &c->act_max);
    c->pad_row.assign(static_cast<size_t>(in_c) * sizeof(float), 0);  // 0.0f
    return Status::Ok();
  }

  const bool is_u8 = c->path == Path::kUint8;
  const int32_t qmin = is_u8 ? 0 : -128;
  const int32_t qmax = is_u8 ? 255 : 127;
  WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, input, "input", qmin, qmax));
  WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, output, "output", qmin, qmax));

  const QuantParams& fq = filter.quant;
  const size_t nscales = fq.scale.size();
  if ((nscales != 1 && nscales != static_cast<size_t>(out_c)) || fq.zero_point.size() != nscales) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "filter '%s' has %zu scales and %zu zero points; expected 1 or %d (one per "
                     "output channel)",
                     filter.name.c_str(), nscales, fq.zero_point.size(), out_c);
  }
  if (nscales > 1 && fq.axis != channel_axis) {
    return ctx.Error(StatusCode::kUnsupported,
                     "filter '%s' is quantized per channel along axis %d; expected axis %d",
                     filter.name.c_str(), fq.axis, channel_axis);
  }
  for (size_t i = 0; i < nscales; ++i) {
    if (!ValidScale(fq.scale[i])) {
      return ctx.Error(StatusCode::kInvalidModel, "filter '%s' has invalid scale %g at %zu",
                       filter.name.c_str(), static_cast<double>(fq.scale[i]), i);
    }
    if (fq.zero_point[i] < qmin || fq.zero_point[i] > qmax) {
      return ctx.Error(StatusCode::kInvalidModel, "filter '%s' has zero point %d outside [%d, %d]",
                       filter.name.c_str(), fq.zero_point[i], qmin, qmax);
    }
  }
  auto filter_zp = [&](int32_t ch) { return fq.zero_point[nscales == 1 ? 0 : ch]; };
  auto filter_scale = [&](int32_t ch) { return fq.scale[nscales == 1 ? 0 : ch]; };

  const float input_scale = input.quant.scale[0];
  const float output_scale = output.quant.scale[0];
  const int32_t input_zp = input.quant.zero_point[0];
  QuantConvParams& q = c->q;
  q.input_zero_point = input_zp;
  q.output_zero_point = output.quant.zero_point[0];
  const QuantRange range =
      ActivationRangeXnnpack(activation, output_scale, q.output_zero_point, qmin, qmax);
  q.qmin = range.min;
  q.qmax = range.max;

  q.scale.resize(out_c);
  c->filter_raw = filter.data;
  c->filter_elements = n;
  c->channel_axis = channel_axis;
  c->bias_q.assign(out_c, 0);
  c->filter_zp.resize(out_c);
  for (int32_t ch = 0; ch < out_c; ++ch) {
    int32_t b = 0;
    if (bias != nullptr) std::memcpy(&b, bias->data + ch * sizeof(int32_t), sizeof(int32_t));
    c->bias_q[ch] = b;
    c->filter_zp[ch] = filter_zp(ch);
    // XNNPACK (convolution-nhwc.c, fully-connected-nc.c): the product of the input and filter
    // scales rounded to float, then divided by the output scale, all in binary32.
    const float product = input_scale * filter_scale(ch);
    q.scale[ch] = product / output_scale;
    // XNNPACK rejects scales >= 256 (TFLite would then run the operator itself); only a
    // non-finite scale is meaningless to us.
    if (!std::isfinite(q.scale[ch])) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "requantization scale of output channel %d is not finite (input '%s', "
                       "filter '%s', output '%s')",
                       ch, input.name.c_str(), filter.name.c_str(), output.name.c_str());
    }
  }
  c->pad_row.assign(static_cast<size_t>(in_c), static_cast<uint8_t>(input_zp));
  return Status::Ok();
}

// Shared by CONV_2D and DEPTHWISE_CONV_2D once g->in_* and g->kernel_* are known: checks strides
// and dilations, then derives output size and leading padding exactly as TFLite does.
Status PlanSpatialGeometry(const KernelContext& ctx, fb::Padding padding, const TensorDesc& input,
                           const TensorDesc& filter, ConvGeometry* g) {
  if (g->stride_h < 1 || g->stride_w < 1 || g->dilation_h < 1 || g->dilation_w < 1) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "strides (%d, %d) and dilations (%d, %d) must be >= 1", g->stride_h,
                     g->stride_w, g->dilation_h, g->dilation_w);
  }
  g->out_h = ConvOutputSize(padding, g->in_h, g->kernel_h, g->stride_h, g->dilation_h);
  g->out_w = ConvOutputSize(padding, g->in_w, g->kernel_w, g->stride_w, g->dilation_w);
  if (g->out_h < 1 || g->out_w < 1) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "filter '%s' (dilated) is larger than input '%s' with VALID padding",
                     filter.name.c_str(), input.name.c_str());
  }
  // Input coordinates (oy * stride - pad + ky * dilation) are int32: each term is kept within
  // 2^29 (the padding already is), so no real model is refused and a hostile one cannot overflow.
  constexpr int64_t kMaxExtent = int64_t{1} << 29;
  const int64_t span_h = int64_t{g->kernel_h - 1} * g->dilation_h + 1;
  const int64_t span_w = int64_t{g->kernel_w - 1} * g->dilation_w + 1;
  const int64_t reach_h = int64_t{g->out_h - 1} * g->stride_h;
  const int64_t reach_w = int64_t{g->out_w - 1} * g->stride_w;
  if (span_h > kMaxExtent || span_w > kMaxExtent || reach_h > kMaxExtent || reach_w > kMaxExtent) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "filter '%s' spans %lld x %lld input pixels (dilations %d, %d) over %lld x "
                     "%lld (strides %d, %d): more than 2^29",
                     filter.name.c_str(), static_cast<long long>(span_h),
                     static_cast<long long>(span_w), g->dilation_h, g->dilation_w,
                     static_cast<long long>(reach_h), static_cast<long long>(reach_w), g->stride_h,
                     g->stride_w);
  }
  g->pad_top = ConvPadBefore(padding, g->in_h, g->kernel_h, g->stride_h, g->dilation_h, g->out_h);
  g->pad_left = ConvPadBefore(padding, g->in_w, g->kernel_w, g->stride_w, g->dilation_w, g->out_w);
  return Status::Ok();
}

// Stride, dilation, padding and activation of CONV_2D or DEPTHWISE_CONV_2D (options table
// `Table`, schema defaults when the operator has none) and the NHWC extents of the input.
template <typename Table>
void ReadSpatialOptions(const Table* opt, const TensorDesc& input, ConvGeometry* g,
                        fb::Padding* padding, fb::Activation* activation) {
  typename Table::NativeTableType defaults;
  *padding = opt ? opt->padding() : defaults.padding;
  *activation = opt ? opt->activation() : defaults.activation;
  g->stride_h = opt ? opt->stride_h() : defaults.stride_h;
  g->stride_w = opt ? opt->stride_w() : defaults.stride_w;
  g->dilation_h = opt ? opt->dilation_h() : defaults.dilation_h;
  g->dilation_w = opt ? opt->dilation_w() : defaults.dilation_w;
  g->batch = input.shape[0];
  g->in_h = input.shape[1];
  g->in_w = input.shape[2];
  g->in_c = input.shape[3];
}

// Runs fn(task, band, output_offset) where `band` computes output rows [r0, r1) of `g` (batch 1)
// on the same input: out_h shrinks to the band and pad_top shifts so that input row
// oy * stride_h - pad_top is unchanged.
template <typename Fn>
void ForEachOutputBand(ThreadPool* pool, const ConvGeometry& g, int64_t macs_per_row, int max_tasks,
                       const Fn& fn) {
  const int tasks = g.batch == 1 ? NumTasks(pool, g.out_h, macs_per_row * g.out_h, max_tasks) : 1;
  ParallelFor(pool, tasks, [&](int t) {
    const int32_t r0 = static_cast<int32_t>(static_cast<int64_t>(g.out_h) * t / tasks);
    const int32_t r1 = static_cast<int32_t>(static_cast<int64_t>(g.out_h) * (t + 1) / tasks);
    if (r1 <= r0) return;
    ConvGeometry band = g;
    band.out_h = r1 - r0;
    band.pad_top = g.pad_top - r0 * g.stride_h;
    fn(t, band, static_cast<int64_t>(r0) * g.out_w * g.out_c);
  });
}

// An operator runs on the microkernels unless the reference kernels were asked for: quantized
// ones on the quantized plans, float ones on the float plans (bit-exact to the reference). The
// quantized microkernels may read a few bytes past an input row (a k group, a channel tile),
// which arena tensors allow; a constant input (weights-only graph) keeps the reference kernels.
enum class Impl { kReference, kQuantized, kFloat };

Impl ChooseImpl(const KernelContext& ctx, const ConvCommon& c, const TensorDesc& input) {
  if (ctx.options().reference_only || input.is_constant()) return Impl::kReference;
  return c.path == Path::kFloat ? Impl::kFloat : Impl::kQuantized;
}

// ---- CONV_2D -----------------------------------------------------------------------------------

class Conv2DKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& input = *ctx.input(0);
    const TensorDesc& filter = *ctx.input(1);
    const TensorDesc* bias = ctx.input(2);
    const TensorDesc& output = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectRank(&input, "input", 4));
    WISP_RETURN_IF_ERROR(ctx.ExpectRank(&filter, "filter", 4));
    fb::Padding padding;
    fb::Activation activation;
    ReadSpatialOptions(ctx.fb_op().options_as_Conv2DOptions(), input, &g_, &padding, &activation);
    g_.out_c = filter.shape[0];
    g_.kernel_h = filter.shape[1];
    g_.kernel_w = filter.shape[2];
    if (filter.shape[3] != g_.in_c || g_.out_c < 1 || g_.kernel_h < 1 || g_.kernel_w < 1) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "filter '%s' has shape %s; expected [out_channels, kh, kw, %d] to match "
                       "input '%s'",
                       filter.name.c_str(), ShapeToString(filter.shape).c_str(), g_.in_c,
                       input.name.c_str());
    }
    WISP_RETURN_IF_ERROR(PlanSpatialGeometry(ctx, padding, input, filter, &g_));
    WISP_RETURN_IF_ERROR(
        ctx.ExpectShape(output, "output", {g_.batch, g_.out_h, g_.out_w, g_.out_c}));
    WISP_RETURN_IF_ERROR(
        PrepareCommon(ctx, input, filter, bias, output, 0, g_.out_c, g_.in_c, activation, &c_));
    impl_ = ChooseImpl(ctx, c_, input);
    winograd_ =
        impl_ == Impl::kFloat && ctx.options().float_winograd && F32WinogradPlan::Applies(g_);
    if (impl_ == Impl::kQuantized) {
      plan_.Prepare(ctx, g_, c_.MicrokernelFilter());
    } else if (winograd_) {
      winograd_plan_.Prepare(ctx, g_, c_.FloatMicrokernelFilter());
    } else if (impl_ == Impl::kFloat) {
      float_plan_.Prepare(ctx, g_, c_.FloatMicrokernelFilter());
    } else {
      c_.BuildReferenceWeights();
    }
    return Status::Ok();
  }

  const char* implementation() const override {
    return impl_ == Impl::kQuantized ? plan_.microkernel()
           : winograd_               ? winograd_plan_.microkernel()
           : impl_ == Impl::kFloat   ? float_plan_.microkernel()
                                     : "reference";
  }

  Status Invoke(const KernelContext& ctx) override {
    if (impl_ == Impl::kQuantized) {
      plan_.Run(ctx, ctx.in_bytes(0), ctx.out_bytes(0));
      return Status::Ok();
    }
    if (winograd_) {
      winograd_plan_.Run(ctx, ctx.in<float>(0), ctx.out<float>(0));
      return Status::Ok();
    }
    if (impl_ == Impl::kFloat) {
      float_plan_.Run(ctx, ctx.in<float>(0), ctx.out<float>(0));
      return Status::Ok();
    }
    const int64_t macs_per_row =
        static_cast<int64_t>(g_.out_w) * g_.out_c * g_.kernel_h * g_.kernel_w * g_.in_c;
    ForEachOutputBand(ctx.thread_pool(), g_, macs_per_row, 64,
                      [&](int, const ConvGeometry& band, int64_t offset) {
                        switch (c_.path) {
                          case Path::kFloat:
                            Conv2DFloat(band, ctx.in<float>(0), c_.filter_f, c_.bias_f.data(),
                                        c_.act_min, c_.act_max,
                                        reinterpret_cast<const float*>(c_.pad_row.data()),
                                        ctx.out<float>(0) + offset);
                            break;
                          case Path::kInt8:
                            Conv2DInt8(band, ctx.in<int8_t>(0), c_.filter_q.data(), c_.q,
                                       reinterpret_cast<const int8_t*>(c_.pad_row.data()),
                                       ctx.out<int8_t>(0) + offset);
                            break;
                          case Path::kUint8:
                            Conv2DUint8(band, ctx.in<uint8_t>(0), c_.filter_q.data(), c_.q,
                                        c_.pad_row.data(), ctx.out<uint8_t>(0) + offset);
                            break;
                        }
                      });
    return Status::Ok();
  }

 private:
  ConvGeometry g_;
  ConvCommon c_;
  Impl impl_ = Impl::kReference;
  QuantGemmPlan plan_;
  F32GemmPlan float_plan_;
  bool winograd_ = false;  // a float 3x3 stride-1 layer through Winograd F(2x2, 3x3)
  F32WinogradPlan winograd_plan_;
};

// ---- DEPTHWISE_CONV_2D -------------------------------------------------------------------------

class DepthwiseConv2DKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& input = *ctx.input(0);
    const TensorDesc& filter = *ctx.input(1);
    const TensorDesc* bias = ctx.input(2);
    const TensorDesc& output = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectRank(&input, "input", 4));
    WISP_RETURN_IF_ERROR(ctx.ExpectRank(&filter, "filter", 4));
    fb::Padding padding;
    fb::Activation activation;
    ReadSpatialOptions(ctx.fb_op().options_as_DepthwiseConv2DOptions(), input, &g_, &padding,
                       &activation);
    g_.kernel_h = filter.shape[1];
    g_.kernel_w = filter.shape[2];
    g_.out_c = filter.shape[3];
    // Like TFLite (ComputeDepthMultiplier), the multiplier comes from the shapes, not from the
    // depth_multiplier option, which converters do not always fill in.
    if (filter.shape[0] != 1 || g_.in_c < 1 || g_.out_c < 1 || g_.out_c % g_.in_c != 0 ||
        g_.kernel_h < 1 || g_.kernel_w < 1) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "filter '%s' has shape %s; expected [1, kh, kw, k * %d] to match input '%s'",
                       filter.name.c_str(), ShapeToString(filter.shape).c_str(), g_.in_c,
                       input.name.c_str());
    }
    g_.depth_multiplier = g_.out_c / g_.in_c;
    WISP_RETURN_IF_ERROR(PlanSpatialGeometry(ctx, padding, input, filter, &g_));
    WISP_RETURN_IF_ERROR(
        ctx.ExpectShape(output, "output", {g_.batch, g_.out_h, g_.out_w, g_.out_c}));
    WISP_RETURN_IF_ERROR(
        PrepareCommon(ctx, input, filter, bias, output, 3, g_.out_c, g_.in_c, activation, &c_));
    max_tasks_ = MaxTasks(ctx);
    // Both plans take depth multiplier 1 only; others keep the reference kernels.
    impl_ = g_.depth_multiplier == 1 ? ChooseImpl(ctx, c_, input) : Impl::kReference;
    if (impl_ == Impl::kQuantized) {
      plan_.Prepare(ctx, g_, c_.MicrokernelFilter());
      return Status::Ok();
    }
    if (impl_ == Impl::kFloat) {
      float_plan_.Prepare(ctx, g_, c_.FloatMicrokernelFilter());
      return Status::Ok();
    }
    c_.BuildReferenceWeights();
    // The reference kernels keep one row of out_c accumulators per task.
    acc_scratch_ = ctx.RequestScratch(static_cast<size_t>(g_.out_c) * 4 * max_tasks_);
    return Status::Ok();
  }

  const char* implementation() const override {
    return impl_ == Impl::kQuantized ? plan_.microkernel()
           : impl_ == Impl::kFloat   ? float_plan_.microkernel()
                                     : "reference";
  }

  Status Invoke(const KernelContext& ctx) override {
    if (impl_ == Impl::kQuantized) {
      plan_.Run(ctx, ctx.in_bytes(0), ctx.out_bytes(0));
      return Status::Ok();
    }
    if (impl_ == Impl::kFloat) {
      float_plan_.Run(ctx, ctx.in<float>(0), ctx.out<float>(0));
      return Status::Ok();
    }
    char* acc_rows = static_cast<char*>(ctx.scratch(acc_scratch_));
    const int64_t macs_per_row =
        static_cast<int64_t>(g_.out_w) * g_.out_c * g_.kernel_h * g_.kernel_w;
    ForEachOutputBand(ctx.thread_pool(), g_, macs_per_row, max_tasks_,
                      [&](int task, const ConvGeometry& band, int64_t offset) {
                        void* acc = acc_rows + static_cast<size_t>(task) * g_.out_c * 4;
                        switch (c_.path) {
                          case Path::kFloat:
                            DepthwiseConv2DFloat(
                                band, ctx.in<float>(0), c_.filter_f, c_.bias_f.data(), c_.act_min,
                                c_.act_max, reinterpret_cast<const float*>(c_.pad_row.data()),
                                static_cast<float*>(acc), ctx.out<float>(0) + offset);
                            break;
                          case Path::kInt8:
                            DepthwiseConv2DInt8(band, ctx.in<int8_t>(0), c_.filter_q.data(), c_.q,
                                                reinterpret_cast<const int8_t*>(c_.pad_row.data()),
                                                static_cast<int32_t*>(acc),
                                                ctx.out<int8_t>(0) + offset);
                            break;
                          case Path::kUint8:
                            DepthwiseConv2DUint8(band, ctx.in<uint8_t>(0), c_.filter_q.data(), c_.q,
                                                 c_.pad_row.data(), static_cast<int32_t*>(acc),
                                                 ctx.out<uint8_t>(0) + offset);
                            break;
                        }
                      });
    return Status::Ok();
  }

 private:
  ConvGeometry g_;
  ConvCommon c_;
  int acc_scratch_ = -1;
  int max_tasks_ = 1;
  Impl impl_ = Impl::kReference;
  QuantDwconvPlan plan_;
  F32DwconvPlan float_plan_;
};

// ---- FULLY_CONNECTED ---------------------------------------------------------------------------

class FullyConnectedKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& input = *ctx.input(0);
    const TensorDesc& filter = *ctx.input(1);
    const TensorDesc* bias = ctx.input(2);
    const TensorDesc& output = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectRank(&filter, "filter", 2));
    const fb::FullyConnectedOptions* opt = ctx.fb_op().options_as_FullyConnectedOptions();
    const fb::Activation activation = opt ? opt->activation() : fb::Activation::NONE;
    const bool keep_num_dims = opt ? opt->keep_num_dims() : false;
    out_c_ = filter.shape[0];
    in_c_ = filter.shape[1];
    if (out_c_ < 1 || in_c_ < 1 || input.shape.empty() || input.num_elements % in_c_ != 0) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "input '%s' of shape %s cannot be flattened to rows of %d (filter '%s' of "
                       "shape %s)",
                       input.name.c_str(), ShapeToString(input.shape).c_str(), in_c_,
                       filter.name.c_str(), ShapeToString(filter.shape).c_str());
    }
    batch_ = static_cast<int32_t>(input.num_elements / in_c_);
    Shape expected;
    if (keep_num_dims) {
      if (input.shape.back() != in_c_) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "keep_num_dims needs the last dimension of input '%s' (shape %s) to be %d",
                         input.name.c_str(), ShapeToString(input.shape).c_str(), in_c_);
      }
      expected = input.shape;
      expected.back() = out_c_;
    } else {
      expected = {batch_, out_c_};
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(output, "output", expected));
    WISP_RETURN_IF_ERROR(
        PrepareCommon(ctx, input, filter, bias, output, 0, out_c_, in_c_, activation, &c_));
    impl_ = ChooseImpl(ctx, c_, input);
    // A 1x1 convolution over a column of `batch` pixels.
    ConvGeometry g;
    g.in_h = g.out_h = batch_;
    g.in_c = in_c_;
    g.out_c = out_c_;
    if (impl_ == Impl::kQuantized) {
      plan_.Prepare(ctx, g, c_.MicrokernelFilter());
    } else if (impl_ == Impl::kFloat) {
      float_plan_.Prepare(ctx, g, c_.FloatMicrokernelFilter());
    } else {
      c_.BuildReferenceWeights();
    }
    return Status::Ok();
  }

  const char* implementation() const override {
    return impl_ == Impl::kQuantized ? plan_.microkernel()
           : impl_ == Impl::kFloat   ? float_plan_.microkernel()
                                     : "reference";
  }

  Status Invoke(const KernelContext& ctx) override {
    if (impl_ == Impl::kQuantized) {
      plan_.Run(ctx, ctx.in_bytes(0), ctx.out_bytes(0));
      return Status::Ok();
    }
    if (impl_ == Impl::kFloat) {
      float_plan_.Run(ctx, ctx.in<float>(0), ctx.out<float>(0));
      return Status::Ok();
    }
    switch (c_.path) {
      case Path::kFloat:
        FullyConnectedFloat(batch_, in_c_, out_c_, ctx.in<float>(0), c_.filter_f, c_.bias_f.data(),
                            c_.act_min, c_.act_max, ctx.out<float>(0));
        break;
      case Path::kInt8:
        FullyConnectedInt8(batch_, in_c_, out_c_, ctx.in<int8_t>(0), c_.filter_q.data(), c_.q,
                           ctx.out<int8_t>(0));
        break;
      case Path::kUint8:
        FullyConnectedUint8(batch_, in_c_, out_c_, ctx.in<uint8_t>(0), c_.filter_q.data(), c_.q,
                            ctx.out<uint8_t>(0));
        break;
    }
    return Status::Ok();
  }

 private:
  int32_t batch_ = 0, in_c_ = 0, out_c_ = 0;
  ConvCommon c_;
  Impl impl_ = Impl::kReference;
  QuantGemmPlan plan_;
  F32GemmPlan float_plan_;
};

}  // namespace

std::unique_ptr<OpKernel> CreateConv2DKernel() { return std::make_unique<Conv2DKernel>(); }
std::unique_ptr<OpKernel> CreateDepthwiseConv2DKernel() {
  return std::make_unique<DepthwiseConv2DKernel>();
}
std::unique_ptr<OpKernel> CreateFullyConnectedKernel() {
  return std::make_unique<FullyConnectedKernel>();
}

}  // namespace wisp
