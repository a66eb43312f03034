#include "native/xnnpack/xnnpack_provider.h"

#include <xnnpack.h>

#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/quantization.h"

namespace wisp {
namespace {

const char* XnnStatusName(xnn_status s) {
  switch (s) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "uninitialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown status";
}

bool ValidScale(float s) { return std::isnormal(s) && s > 0.0f; }

// One activation tensor quantized per tensor, with a usable scale and a zero point in range.
bool PerTensorQuant(const TensorDesc& t, int32_t zp_min, int32_t zp_max) {
  return t.quant.scale.size() == 1 && t.quant.zero_point.size() == 1 &&
         ValidScale(t.quant.scale[0]) && t.quant.zero_point[0] >= zp_min &&
         t.quant.zero_point[0] <= zp_max;
}

// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on one XNNPACK convolution operator (qc8 or
// qu8, NHWC). A fully connected layer is a 1x1 convolution over `batch` pixels.
class XnnpackConvKernel final : public OpKernel {
 public:
  explicit XnnpackConvKernel(pthreadpool_t pool) : pool_(pool) {}
  ~XnnpackConvKernel() override {
    if (op_ != nullptr) xnn_delete_operator(op_);
  }

  // kUnsupported: declined (the message says why); any other error: the backend failed.
  Status Prepare(KernelContext& ctx) override;

  // XNNPACK builds its indirection buffer from the input and output pointers at setup, so setup
  // runs once here, when the arena is final; Invoke only runs the operator.
  Status Bind(const KernelContext& ctx) override {
    const xnn_status s =
        uint8_ ? xnn_setup_convolution2d_nhwc_qu8(op_, batch_, in_h_, in_w_, ctx.in<uint8_t>(0),
                                                  ctx.out<uint8_t>(0), pool_)
               : xnn_setup_convolution2d_nhwc_qc8(op_, batch_, in_h_, in_w_, ctx.in<int8_t>(0),
                                                  ctx.out<int8_t>(0), pool_);
    if (s != xnn_status_success) {
      return ctx.Error(StatusCode::kInternal, "XNNPACK setup failed: %s", XnnStatusName(s));
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const xnn_status s = xnn_run_operator(op_, pool_);
    if (s != xnn_status_success) {
      return ctx.Error(StatusCode::kInternal, "XNNPACK run failed: %s", XnnStatusName(s));
    }
    return Status::Ok();
  }

  const char* implementation() const override { return implementation_; }
  const char* backend() const override { return "xnnpack"; }

 private:
  pthreadpool_t pool_;
  xnn_operator_t op_ = nullptr;
  bool uint8_ = false;
  size_t batch_ = 1, in_h_ = 1, in_w_ = 1;
  const char* implementation_ = "";
};

// Declining is a kUnsupported status whose message says why (XnnpackProvider::Bind turns it into
// a null kernel and keeps the reason for `wisp inspect`).
Status Decline(const KernelContext& ctx, const std::string& why) {
  return ctx.Error(StatusCode::kUnsupported, "XNNPACK backend declines: %s", why.c_str());
}

Status XnnpackConvKernel::Prepare(KernelContext& ctx) {
  const fb::OpType type = ctx.op().type;
  const bool depthwise = type == fb::OpType::DEPTHWISE_CONV_2D;
  const bool fully_connected = type == fb::OpType::FULLY_CONNECTED;
  if (type != fb::OpType::CONV_2D && !depthwise && !fully_connected) {
    return Decline(ctx, "operator type not delegated");
  }
  if (ctx.num_inputs() < 2 || ctx.num_inputs() > 3 || ctx.num_outputs() != 1 ||
      ctx.input(0) == nullptr || ctx.input(1) == nullptr) {
    return Decline(ctx, "unexpected inputs or outputs");
  }
  const TensorDesc& input = *ctx.input(0);
  const TensorDesc& filter = *ctx.input(1);
  const TensorDesc* bias = ctx.input(2);
  const TensorDesc& output = ctx.output(0);

  // ---- dtypes and constness
  if (input.dtype != DType::INT8 && input.dtype != DType::UINT8) {
    return Decline(ctx, "only int8 and uint8 operators are delegated");
  }
  uint8_ = input.dtype == DType::UINT8;
  if (filter.dtype != input.dtype || output.dtype != input.dtype ||
      (bias != nullptr && bias->dtype != DType::INT32)) {
    return Decline(ctx, "mixed dtypes");
  }
  if (!filter.is_constant() || (bias != nullptr && !bias->is_constant())) {
    return Decline(ctx, "filter and bias must be constants");
  }
  // XNNPACK reads up to XNN_EXTRA_BYTES past its input: arena tensors have the room (the arena is
  // padded at its end), constants inside the model file need not.
  if (input.is_constant()) return Decline(ctx, "constant input");

  // ---- geometry, checked as Wisp's kernels do (any mismatch: Wisp's kernel reports it)
  ConvGeometry g;
  fb::Padding padding = fb::Padding::VALID;
  fb::Activation activation = fb::Activation::NONE;
  if (fully_connected) {
    const fb::FullyConnectedOptions* opt = ctx.fb_op().options_as_FullyConnectedOptions();
    activation = opt ? opt->activation() : fb::Activation::NONE;
    const bool keep_num_dims = opt ? opt->keep_num_dims() : false;
    if (filter.shape.size() != 2 || filter.shape[0] < 1 || filter.shape[1] < 1 ||
        input.shape.empty() || input.num_elements % filter.shape[1] != 0) {
      return Decline(ctx, "filter and input shapes disagree");
    }
    g.out_c = filter.shape[0];
    g.in_c = filter.shape[1];
    g.batch = static_cast<int32_t>(input.num_elements / g.in_c);
    Shape expected = {g.batch, g.out_c};
    if (keep_num_dims) {
      if (input.shape.back() != g.in_c) {
        return Decline(ctx, "keep_num_dims with a mismatched input");
      }
      expected = input.shape;
      expected.back() = g.out_c;
    }
    if (output.shape != expected) return Decline(ctx, "output shape");
  } else {
    if (input.shape.size() != 4 || filter.shape.size() != 4) {
      return Decline(ctx, "input and filter must have rank 4");
    }
    auto read = [&](const auto* opt) {
      using Table = std::remove_const_t<std::remove_pointer_t<decltype(opt)>>;
      typename Table::NativeTableType defaults;
      padding = opt ? opt->padding() : defaults.padding;
      activation = opt ? opt->activation() : defaults.activation;
      g.stride_h = opt ? opt->stride_h() : defaults.stride_h;
      g.stride_w = opt ? opt->stride_w() : defaults.stride_w;
      g.dilation_h = opt ? opt->dilation_h() : defaults.dilation_h;
      g.dilation_w = opt ? opt->dilation_w() : defaults.dilation_w;
    };
    if (depthwise) {
      read(ctx.fb_op().options_as_DepthwiseConv2DOptions());
    } else {
      read(ctx.fb_op().options_as_Conv2DOptions());
    }
    g.batch = input.shape[0];
    g.in_h = input.shape[1];
    g.in_w = input.shape[2];
    g.in_c = input.shape[3];
    g.kernel_h = filter.shape[1];
    g.kernel_w = filter.shape[2];
    if (depthwise) {
      g.out_c = filter.shape[3];
      if (filter.shape[0] != 1 || g.in_c < 1 || g.out_c < 1 || g.out_c % g.in_c != 0) {
        return Decline(ctx, "depthwise filter shape");
      }
      g.depth_multiplier = g.out_c / g.in_c;
    } else {
      g.out_c = filter.shape[0];
      if (filter.shape[3] != g.in_c || g.out_c < 1) {
        return Decline(ctx, "filter shape");
      }
    }
    if (g.batch < 1 || g.in_h < 1 || g.in_w < 1 || g.kernel_h < 1 || g.kernel_w < 1 ||
        g.stride_h < 1 || g.stride_w < 1 || g.dilation_h < 1 || g.dilation_w < 1) {
      return Decline(ctx, "degenerate geometry");
    }
    g.out_h = ConvOutputSize(padding, g.in_h, g.kernel_h, g.stride_h, g.dilation_h);
    g.out_w = ConvOutputSize(padding, g.in_w, g.kernel_w, g.stride_w, g.dilation_w);
    if (g.out_h < 1 || g.out_w < 1 || output.shape != Shape{g.batch, g.out_h, g.out_w, g.out_c}) {
      return Decline(ctx, "output shape");
    }
    g.pad_top = ConvPadBefore(padding, g.in_h, g.kernel_h, g.stride_h, g.dilation_h, g.out_h);
    g.pad_left = ConvPadBefore(padding, g.in_w, g.kernel_w, g.stride_w, g.dilation_w, g.out_w);
  }
  if (bias != nullptr && bias->shape != Shape{g.out_c}) {
    return Decline(ctx, "bias shape");
  }
  if (activation != fb::Activation::NONE && activation != fb::Activation::RELU &&
      activation != fb::Activation::RELU6 && activation != fb::Activation::RELU_N1_TO_1) {
    return Decline(ctx, std::string("fused activation ") + fb::EnumNameActivation(activation));
  }

  // XNNPACK takes explicit padding and derives the output size from it,
  // (pad_top + in + pad_bottom - dilated_kernel) / stride + 1: the padding after is what TFLite's
  // output size needs beyond the padding before (0 when the input already reaches further).
  auto pad_after = [](int32_t in, int32_t kernel, int32_t stride, int32_t dilation, int32_t out,
                      int32_t before) {
    const int64_t needed =
        static_cast<int64_t>(out - 1) * stride + static_cast<int64_t>(kernel - 1) * dilation + 1;
    return static_cast<int32_t>(std::max<int64_t>(0, needed - in - before));
  };
  const int32_t pad_bottom =
      pad_after(g.in_h, g.kernel_h, g.stride_h, g.dilation_h, g.out_h, g.pad_top);
  const int32_t pad_right =
      pad_after(g.in_w, g.kernel_w, g.stride_w, g.dilation_w, g.out_w, g.pad_left);
  auto xnn_out = [](int32_t in, int32_t kernel, int32_t stride, int32_t dilation, int32_t before,
                    int32_t after) {
    const int64_t padded = static_cast<int64_t>(before) + in + after;
    const int64_t dilated = static_cast<int64_t>(kernel - 1) * dilation + 1;
    return padded < dilated ? int64_t{0} : (padded - dilated) / stride + 1;
  };
  if (g.pad_top < 0 || g.pad_left < 0 ||
      xnn_out(g.in_h, g.kernel_h, g.stride_h, g.dilation_h, g.pad_top, pad_bottom) != g.out_h ||
      xnn_out(g.in_w, g.kernel_w, g.stride_w, g.dilation_w, g.pad_left, pad_right) != g.out_w) {
    return Decline(ctx, "padding not expressible");
  }

  // ---- quantization
  const int32_t qmin = uint8_ ? 0 : -128;
  const int32_t qmax = uint8_ ? 255 : 127;
  if (!PerTensorQuant(input, qmin, qmax) || !PerTensorQuant(output, qmin, qmax)) {
    return Decline(ctx, "input and output must be quantized per tensor");
  }
  const QuantParams& fq = filter.quant;
  const size_t nscales = fq.scale.size();
  const int32_t channel_axis = depthwise ? 3 : 0;
  if (nscales == 0 || fq.zero_point.size() != nscales ||
      (nscales != 1 && nscales != static_cast<size_t>(g.out_c)) ||
      (nscales > 1 && fq.axis != channel_axis)) {
    return Decline(ctx, "filter quantization");
  }
  for (size_t i = 0; i < nscales; ++i) {
    if (!ValidScale(fq.scale[i])) return Decline(ctx, "filter scale");
  }
  if (uint8_) {
    // qu8 has one kernel zero point and one scale.
    if (nscales != 1 || fq.zero_point[0] < 0 || fq.zero_point[0] > 255) {
      return Decline(ctx, "uint8 filters quantized per channel have no XNNPACK 2022 operator");
    }
#if !(defined(__x86_64__) || defined(__i386__))
    // Elsewhere (Arm) XNNPACK 2022 requantizes qu8 with "rndnu" fixed point, not fp32.
    return Decline(ctx, "qu8 requantization is not fp32 on this CPU");
#endif
  } else {
    for (size_t i = 0; i < nscales; ++i) {
      if (fq.zero_point[i] != 0) {
        return Decline(ctx, "int8 filter with a nonzero zero point");
      }
    }
  }
  const int64_t filter_elements = filter.num_elements;
  if (depthwise && !uint8_) {
    // XNNPACK's depthwise kernels for AVX and XOP without AVX2 ("mul16_add16") add two int8
    // products in int16, which wraps only for (-128) * (-128) twice. Symmetric quantization never
    // produces -128; a filter that has it keeps Wisp's kernel on every CPU.
    for (int64_t i = 0; i < filter_elements; ++i) {
      if (static_cast<int8_t>(filter.data[i]) == -128) {
        return Decline(ctx, "depthwise filter holds -128");
      }
    }
  }

  const float input_scale = input.quant.scale[0];
  const float output_scale = output.quant.scale[0];
  const int32_t input_zp = input.quant.zero_point[0];
  const int32_t output_zp = output.quant.zero_point[0];
  // Wisp's scale per channel, as convolution.cc computes it; XNNPACK computes the same expression
  // (convolution-nhwc.c) and rejects >= 256, which Wisp runs: decline those.
  for (int32_t c = 0; c < g.out_c; ++c) {
    const float product = input_scale * fq.scale[nscales == 1 ? 0 : c];
    const float scale = product / output_scale;
    if (!(scale < 256.0f)) {
      return Decline(ctx, "requantization scale >= 256 (XNNPACK rejects it)");
    }
  }
  // The fused activation quantized exactly as Wisp's kernels do.
  const QuantRange range = ActivationRangeXnnpack(activation, output_scale, output_zp, qmin, qmax);
  if (range.min >= range.max) {
    // XNNPACK requires output_min < output_max.
    return Decline(ctx, "empty activation range");
  }
  std::vector<int32_t> bias_values(static_cast<size_t>(g.out_c), 0);
  if (bias != nullptr) std::memcpy(bias_values.data(), bias->data, bias_values.size() * 4);

  const uint32_t groups = depthwise ? static_cast<uint32_t>(g.in_c) : 1;
  const size_t group_in = depthwise ? 1 : static_cast<size_t>(g.in_c);
  const size_t group_out =
      depthwise ? static_cast<size_t>(g.depth_multiplier) : static_cast<size_t>(g.out_c);
  // TFLite's depthwise filter [1, kh, kw, in_c * multiplier] is XNNPACK's HWGo layout.
  const uint32_t flags = depthwise ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0;
  xnn_status s;
  if (uint8_) {
    s = xnn_create_convolution2d_nhwc_qu8(
        g.pad_top, pad_right, pad_bottom, g.pad_left, g.kernel_h, g.kernel_w, g.stride_h,
        g.stride_w, g.dilation_h, g.dilation_w, groups, group_in, group_out, g.in_c, g.out_c,
        static_cast<uint8_t>(input_zp), input_scale, static_cast<uint8_t>(fq.zero_point[0]),
        fq.scale[0], filter.data, bias_values.data(), static_cast<uint8_t>(output_zp), output_scale,
        static_cast<uint8_t>(range.min), static_cast<uint8_t>(range.max), flags, &op_);
    implementation_ = depthwise
                          ? "xnnpack qu8 dwconv"
                          : (fully_connected ? "xnnpack qu8 fc (1x1 conv)" : "xnnpack qu8 conv");
  } else {
    std::vector<float> kernel_scale(static_cast<size_t>(g.out_c));
    for (int32_t c = 0; c < g.out_c; ++c) kernel_scale[c] = fq.scale[nscales == 1 ? 0 : c];
    s = xnn_create_convolution2d_nhwc_qc8(
        g.pad_top, pad_right, pad_bottom, g.pad_left, g.kernel_h, g.kernel_w, g.stride_h,
        g.stride_w, g.dilation_h, g.dilation_w, groups, group_in, group_out, g.in_c, g.out_c,
        static_cast<int8_t>(input_zp), input_scale, kernel_scale.data(),
        reinterpret_cast<const int8_t*>(filter.data), bias_values.data(),
        static_cast<int8_t>(output_zp), output_scale, static_cast<int8_t>(range.min),
        static_cast<int8_t>(range.max), flags, &op_);
    implementation_ = depthwise
                          ? "xnnpack qc8 dwconv"
                          : (fully_connected ? "xnnpack qc8 fc (1x1 conv)" : "xnnpack qc8 conv");
  }
  if (s == xnn_status_out_of_memory) {
    return ctx.Error(StatusCode::kResourceExhausted, "XNNPACK ran out of memory");
  }
  if (s != xnn_status_success) {
    op_ = nullptr;
    return Decline(ctx, std::string("XNNPACK rejected the operator: ") + XnnStatusName(s));
  }
  batch_ = static_cast<size_t>(g.batch);
  in_h_ = static_cast<size_t>(g.in_h);
  in_w_ = static_cast<size_t>(g.in_w);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<XnnpackProvider>> XnnpackProvider::Create(int threads) {
  if (threads < 1) return InvalidArgument("XNNPACK threads must be >= 1, got %d", threads);
  // Process-wide and idempotent; never undone, since other providers may still use it.
  const xnn_status s = xnn_initialize(nullptr);
  if (s != xnn_status_success) {
    return Unsupported("XNNPACK cannot initialize on this machine: %s", XnnStatusName(s));
  }
  std::unique_ptr<XnnpackProvider> p(new XnnpackProvider());
  p->threads_ = threads;
  if (threads > 1) {
    p->pool_ = pthreadpool_create(static_cast<size_t>(threads));
    if (p->pool_ == nullptr) {
      return ResourceExhausted("cannot create an XNNPACK thread pool of %d threads", threads);
    }
  }
  return p;
}

XnnpackProvider::~XnnpackProvider() {
  if (pool_ != nullptr) pthreadpool_destroy(pool_);
}

Result<std::unique_ptr<OpKernel>> XnnpackProvider::Bind(KernelContext& ctx) {
  const size_t index = static_cast<size_t>(ctx.op_index());
  auto set_reason = [&](std::string why) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reasons_.size() <= index) reasons_.resize(index + 1);
    reasons_[index] = std::move(why);
  };
  set_reason("");
  const fb::OpType type = ctx.op().type;
  if (type != fb::OpType::CONV_2D && type != fb::OpType::DEPTHWISE_CONV_2D &&
      type != fb::OpType::FULLY_CONNECTED) {
    return std::unique_ptr<OpKernel>();
  }
  auto kernel = std::make_unique<XnnpackConvKernel>(pool_);
  Status s = kernel->Prepare(ctx);
  if (s.code() == StatusCode::kUnsupported) {
    set_reason(s.message());
    return std::unique_ptr<OpKernel>();
  }
  if (!s.ok()) return s;
  return std::unique_ptr<OpKernel>(std::move(kernel));
}

std::string XnnpackProvider::decline_reason(int32_t op_index) const {
  const size_t i = static_cast<size_t>(op_index);
  std::lock_guard<std::mutex> lock(mu_);
  return i < reasons_.size() ? reasons_[i] : std::string();
}

}  // namespace wisp
