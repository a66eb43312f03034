// MEAN over constant axes, with or without keep_dims.
//
// The reference runtime's XNNPACK delegate takes MEAN for float32, int8 and uint8 whenever the
// axes are static (xnn_define_static_reduce_v2 -> xnn_reduce_mean), so we follow XNNPACK
// (src/operators/reduce-nd.c): the raw 8-bit values are summed exactly in int32, then
//   scale = f32(f32(s_in / s_out) * f32(1.0f / N))
//   q_out = clamp(rne(f32(sum - N * zp_in) * scale) + zp_out)
// with rne = round half to even. Floats: sum * (1.0f / N).
#include <algorithm>
#include <cmath>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/shape_util_nd.h"

namespace wisp {
namespace {

class MeanKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(
        ctx.ExpectDType(&in, "input", {DType::FLOAT32, DType::INT8, DType::UINT8}));
    if (out.dtype != in.dtype) {
      return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but input '%s' is %s",
                       out.name.c_str(), DTypeName(out.dtype), in.name.c_str(),
                       DTypeName(in.dtype));
    }
    const size_t rank = in.shape.size();
    if (rank > static_cast<size_t>(kMaxMoveRank)) {
      return ctx.Error(StatusCode::kUnsupported, "input '%s' has rank %zu; at most %d supported",
                       in.name.c_str(), rank, kMaxMoveRank);
    }
    std::vector<int64_t> axes;
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "axes", &axes));
    std::vector<bool> reduced(rank, false);
    for (int64_t a : axes) {
      int axis;
      if (!NormalizeAxis(a, rank, &axis)) {
        return ctx.Error(StatusCode::kInvalidModel, "axis %lld is out of range for input '%s' %s",
                         static_cast<long long>(a), in.name.c_str(),
                         ShapeToString(in.shape).c_str());
      }
      reduced[axis] = true;
    }
    const fb::ReducerOptions* opts = ctx.fb_op().options_as_ReducerOptions();
    const bool keep_dims = opts ? opts->keep_dims() : false;
    Shape expected;
    int64_t strides[kMaxMoveRank];
    RowMajorStrides(in.shape, strides);
    kept_rank_ = reduced_rank_ = 0;
    num_reduced_ = 1;
    for (size_t d = 0; d < rank; ++d) {
      if (reduced[d]) {
        if (keep_dims) expected.push_back(1);
        reduced_dims_[reduced_rank_] = in.shape[d];
        reduced_strides_[reduced_rank_++] = strides[d];
        num_reduced_ *= in.shape[d];
      } else {
        expected.push_back(in.shape[d]);
        kept_dims_[kept_rank_] = in.shape[d];
        kept_strides_[kept_rank_++] = strides[d];
      }
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    if (num_reduced_ == 0) {
      return ctx.Error(StatusCode::kInvalidModel, "MEAN over an empty set of elements of '%s'",
                       in.name.c_str());
    }
    dtype_ = in.dtype;
    count_ = out.num_elements;
    inv_n_ = 1.0f / static_cast<float>(num_reduced_);
    if (dtype_ != DType::FLOAT32) {
      if (in.quant.empty() || out.quant.empty() || in.quant.per_channel() ||
          out.quant.per_channel()) {
        return ctx.Error(StatusCode::kUnsupported,
                         "input '%s' and output '%s' need per-tensor quantization", in.name.c_str(),
                         out.name.c_str());
      }
      // The int32 sum and N * zero point stay exact below 2^23 elements.
      if (num_reduced_ > (1 << 23)) {
        return ctx.Error(StatusCode::kUnsupported, "MEAN over %lld elements would overflow int32",
                         static_cast<long long>(num_reduced_));
      }
      const float in_out_scale = in.quant.scale[0] / out.quant.scale[0];
      scale_ = in_out_scale * inv_n_;
      in_zp_sum_ = static_cast<int32_t>(num_reduced_) * in.quant.zero_point[0];
      out_zp_ = out.quant.zero_point[0];
      qmin_ = dtype_ == DType::INT8 ? -128 : 0;
      qmax_ = dtype_ == DType::INT8 ? 127 : 255;
      // Reduced axes in one contiguous run (global average pooling over NHWC's H and W): a row
      // reduction microkernel, once per outer index.
      size_t first = rank, last = 0;
      for (size_t d = 0; d < rank; ++d) {
        if (reduced[d]) first = std::min(first, d), last = d;
      }
      bool contiguous = first < rank;
      for (size_t d = first; contiguous && d <= last; ++d) contiguous = reduced[d];
      if (contiguous && !ctx.options().reference_only && !in.is_constant()) {
        rsum_ = dtype_ == DType::INT8 ? Microkernels().rsum->qs8 : Microkernels().rsum->qu8;
        rsum_name_ = Microkernels().rsum->name;
        inner_ = 1;
        for (size_t d = last + 1; d < rank; ++d) inner_ *= in.shape[d];
        outer_ = count_ / inner_;
        epilogue_ = MakeQuantEpilogue(out_zp_, qmin_, qmax_);
      }
    }
    return Status::Ok();
  }

  const char* implementation() const override { return rsum_ ? rsum_name_ : "reference"; }

  Status Invoke(const KernelContext& ctx) override {
    if (rsum_ != nullptr) {
      const uint8_t* in = ctx.in_bytes(0);
      uint8_t* out = ctx.out_bytes(0);
      const size_t rows = static_cast<size_t>(num_reduced_), inner = static_cast<size_t>(inner_);
      for (int64_t o = 0; o < outer_; ++o) {
        rsum_(rows, inner, in + o * rows * inner, inner, -in_zp_sum_, scale_, out + o * inner,
              &epilogue_);
      }
      return Status::Ok();
    }
    switch (dtype_) {
      case DType::FLOAT32:
        Run<float>(ctx.in<float>(0), ctx.out<float>(0));
        break;
      case DType::INT8:
        Run<int8_t>(ctx.in<int8_t>(0), ctx.out<int8_t>(0));
        break;
      default:
        Run<uint8_t>(ctx.in<uint8_t>(0), ctx.out<uint8_t>(0));
        break;
    }
    return Status::Ok();
  }

 private:
  template <typename T>
  void Run(const T* in, T* out) const {
    using Acc = typename std::conditional<std::is_same<T, float>::value, float, int32_t>::type;
    int32_t kept[kMaxMoveRank] = {};
    for (int64_t o = 0; o < count_; ++o) {
      int64_t base = 0;
      for (int d = 0; d < kept_rank_; ++d) base += kept[d] * kept_strides_[d];
      Acc sum = 0;
      int32_t red[kMaxMoveRank] = {};
      do {
        int64_t off = base;
        for (int d = 0; d < reduced_rank_; ++d) off += red[d] * reduced_strides_[d];
        sum += static_cast<Acc>(in[off]);
      } while (NextIndex(reduced_rank_, reduced_dims_, red));
      if constexpr (std::is_same<T, float>::value) {
        out[o] = sum * inv_n_;
      } else {
        const float scaled = static_cast<float>(sum - in_zp_sum_) * scale_;
        const float lo = static_cast<float>(qmin_ - out_zp_);
        const float hi = static_cast<float>(qmax_ - out_zp_);
        const float clamped = std::min(std::max(scaled, lo), hi);
        out[o] = static_cast<T>(static_cast<int32_t>(std::nearbyint(clamped)) + out_zp_);
      }
      NextIndex(kept_rank_, kept_dims_, kept);
    }
  }

  DType dtype_ = DType::FLOAT32;
  int64_t count_ = 0;
  int64_t num_reduced_ = 1;
  int kept_rank_ = 0, reduced_rank_ = 0;
  int32_t kept_dims_[kMaxMoveRank] = {}, reduced_dims_[kMaxMoveRank] = {};
  int64_t kept_strides_[kMaxMoveRank] = {}, reduced_strides_[kMaxMoveRank] = {};
  float inv_n_ = 1.0f;
  float scale_ = 1.0f;
  int32_t in_zp_sum_ = 0, out_zp_ = 0, qmin_ = 0, qmax_ = 0;
  // The microkernel path: outer_ x (num_reduced_ rows of inner_ values).
  QRsumFn rsum_ = nullptr;
  const char* rsum_name_ = "";
  int64_t outer_ = 1, inner_ = 1;
  QuantEpilogue epilogue_;
};

}  // namespace

std::unique_ptr<OpKernel> CreateMeanKernel() { return std::make_unique<MeanKernel>(); }

}  // namespace wisp
