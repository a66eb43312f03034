// SOFTMAX over the last dimension.
//
// float32 is taken by XNNPACK's delegate (beta == 1); floats only need tolerance.
// int8/uint8 are NOT delegated (the delegate accepts float32 only), so they follow TFLite's
// default kernel on a non-aarch64 build: optimized_ops::Softmax with the float lookup table of
// PopulateSoftmaxLookupTable (TFLITE_SOFTMAX_USE_UINT16_LUT is aarch64-only):
//   table[255 - v] = expf(f32(-s_in * beta) * v),  v = 0..255
//   per row: m = max(x); e_j = table[255 - m + x_j]; S = sequential f32 sum of e_j;
//   inv = 1.0f / (S * s_out); p_j = e_j * inv
//   int8:  q = clamp(int(round(p_j)) + zp_out)          (round half away from zero)
//   uint8: q = clamp(int(p_j + 0.5f))                     (truncation; zero point ignored, as the
//                                                          non-aarch64 QuantizeSoftmaxOutput)
#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/core/float_to_int.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

class SoftmaxKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(
        ctx.ExpectDType(&in, "input", {DType::FLOAT32, DType::INT8, DType::UINT8}));
    if (out.dtype != in.dtype) {
      return ctx.Error(StatusCode::kUnsupported, "output '%s' is %s but input '%s' is %s",
                       out.name.c_str(), DTypeName(out.dtype), in.name.c_str(),
                       DTypeName(in.dtype));
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", in.shape));
    if (in.shape.empty() || in.shape.back() < 1) {
      return ctx.Error(StatusCode::kInvalidModel, "input '%s' %s has no last dimension",
                       in.name.c_str(), ShapeToString(in.shape).c_str());
    }
    const fb::SoftmaxOptions* opts = ctx.fb_op().options_as_SoftmaxOptions();
    beta_ = opts ? opts->beta() : 1.0f;
    dtype_ = in.dtype;
    depth_ = in.shape.back();
    rows_ = in.num_elements / depth_;
    if (dtype_ != DType::FLOAT32) {
      if (in.quant.empty() || out.quant.empty() || in.quant.per_channel() ||
          out.quant.per_channel()) {
        return ctx.Error(StatusCode::kUnsupported,
                         "input '%s' and output '%s' need per-tensor quantization", in.name.c_str(),
                         out.name.c_str());
      }
      const float scale = -in.quant.scale[0] * beta_;
      for (int32_t v = 0; v <= 255; ++v) table_[255 - v] = std::exp(scale * static_cast<float>(v));
      // Finite entries keep every row's sum finite and at least 1 (the row maximum's entry).
      if (!std::isfinite(scale) || !std::isfinite(table_[0])) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "beta %g times input '%s' scale %g leaves exp() no finite table",
                         static_cast<double>(beta_), in.name.c_str(),
                         static_cast<double>(in.quant.scale[0]));
      }
      out_scale_ = out.quant.scale[0];
      out_zp_ = out.quant.zero_point[0];
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    switch (dtype_) {
      case DType::FLOAT32:
        RunFloat(ctx.in<float>(0), ctx.out<float>(0));
        break;
      case DType::INT8:
        RunQuantized(ctx.in<int8_t>(0), ctx.out<int8_t>(0));
        break;
      default:
        RunQuantized(ctx.in<uint8_t>(0), ctx.out<uint8_t>(0));
        break;
    }
    return Status::Ok();
  }

 private:
  void RunFloat(const float* in, float* out) const {
    for (int64_t r = 0; r < rows_; ++r, in += depth_, out += depth_) {
      float max = in[0];
      for (int32_t j = 1; j < depth_; ++j) max = std::max(max, in[j]);
      float sum = 0.0f;
      for (int32_t j = 0; j < depth_; ++j) {
        out[j] = std::exp((in[j] - max) * beta_);
        sum += out[j];
      }
      const float inv = 1.0f / sum;
      for (int32_t j = 0; j < depth_; ++j) out[j] *= inv;
    }
  }

  template <typename T>
  void RunQuantized(const T* in, T* out) const {
    const int32_t qmin = std::numeric_limits<T>::min();
    const int32_t qmax = std::numeric_limits<T>::max();
    for (int64_t r = 0; r < rows_; ++r, in += depth_, out += depth_) {
      int32_t max = qmin;
      for (int32_t j = 0; j < depth_; ++j) max = std::max(max, static_cast<int32_t>(in[j]));
      // table_[255 - (max - x)] = exp(-s_in * beta * (max - x)); the index is in [0, 255].
      const int32_t offset = 255 - max;
      float sum = 0.0f;
      for (int32_t j = 0; j < depth_; ++j) sum += table_[offset + in[j]];
      const float inv = 1.0f / (sum * out_scale_);
      for (int32_t j = 0; j < depth_; ++j) {
        const float p = table_[offset + in[j]] * inv;
        int32_t q;
        if constexpr (std::is_same<T, uint8_t>::value) {
          q = TruncToInt32Saturated(p + 0.5f);
        } else {
          q = QuantizeSaturated(p, out_zp_);
        }
        out[j] = static_cast<T>(std::min(std::max(q, qmin), qmax));
      }
    }
  }

  DType dtype_ = DType::FLOAT32;
  float beta_ = 1.0f;
  int32_t depth_ = 1;
  int64_t rows_ = 0;
  float table_[256] = {};
  float out_scale_ = 1.0f;
  int32_t out_zp_ = 0;
};

}  // namespace

std::unique_ptr<OpKernel> CreateSoftmaxKernel() { return std::make_unique<SoftmaxKernel>(); }

}  // namespace wisp
