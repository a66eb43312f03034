// PAD: constant padding. The pad value is 0 for floats and integers and the output zero point for
// quantized tensors (TFLite's PAD; XNNPACK's delegate pads with the real value 0.0, which it
// quantizes to the same zero point).
#include <cstring>

#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/shape_util_nd.h"

namespace wisp {
namespace {

class PadKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(
        &in, "input",
        {DType::FLOAT32, DType::INT8, DType::UINT8, DType::INT16, DType::INT32, DType::INT64}));
    if (out.dtype != in.dtype) {
      return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but input '%s' is %s",
                       out.name.c_str(), DTypeName(out.dtype), in.name.c_str(),
                       DTypeName(in.dtype));
    }
    if (IsQuantizedInteger(in.dtype) && !SameQuant(in, out)) {
      return ctx.Error(StatusCode::kUnsupported,
                       "input '%s' and output '%s' must share scale and zero point",
                       in.name.c_str(), out.name.c_str());
    }
    const size_t rank = in.shape.size();
    if (rank > static_cast<size_t>(kMaxMoveRank)) {
      return ctx.Error(StatusCode::kUnsupported, "input '%s' has rank %zu; at most %d supported",
                       in.name.c_str(), rank, kMaxMoveRank);
    }
    std::vector<int64_t> paddings;
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "paddings", &paddings));
    if (paddings.size() != rank * 2) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "paddings '%s' has %zu values; expected [%zu, 2] for input '%s'",
                       ctx.input(1)->name.c_str(), paddings.size(), rank, in.name.c_str());
    }
    Shape expected(rank);
    for (size_t d = 0; d < rank; ++d) {
      if (paddings[2 * d] < 0 || paddings[2 * d + 1] < 0 || paddings[2 * d] > (1 << 24) ||
          paddings[2 * d + 1] > (1 << 24)) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "paddings '%s' has an invalid value in dimension %zu",
                         ctx.input(1)->name.c_str(), d);
      }
      before_[d] = paddings[2 * d];
      expected[d] = static_cast<int32_t>(in.shape[d] + paddings[2 * d] + paddings[2 * d + 1]);
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    rank_ = static_cast<int>(rank);
    elem_size_ = DTypeSize(in.dtype);
    in_shape_ = in.shape;
    RowMajorStrides(out.shape, out_strides_);
    out_bytes_ = out.bytes;
    pad_value_.assign(elem_size_, 0);
    if (IsQuantizedInteger(in.dtype)) {
      const int32_t zp = out.quant.zero_point.empty() ? 0 : out.quant.zero_point[0];
      if (in.dtype == DType::INT16) {
        const int16_t v = static_cast<int16_t>(zp);
        std::memcpy(pad_value_.data(), &v, 2);
      } else {
        pad_value_[0] = static_cast<uint8_t>(zp);
      }
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    uint8_t* out = ctx.out_bytes(0);
    for (size_t i = 0; i < out_bytes_; i += elem_size_)
      std::memcpy(out + i, pad_value_.data(), elem_size_);
    if (rank_ == 0) {
      std::memcpy(out, ctx.in_bytes(0), elem_size_);
      return Status::Ok();
    }
    // Copy each innermost input row to its place in the output.
    const int outer_rank = rank_ - 1;
    const size_t row_bytes = static_cast<size_t>(in_shape_[rank_ - 1]) * elem_size_;
    for (int d = 0; d < rank_; ++d) {
      if (in_shape_[d] == 0) return Status::Ok();
    }
    int32_t index[kMaxMoveRank] = {};
    const uint8_t* in = ctx.in_bytes(0);
    do {
      int64_t offset = before_[rank_ - 1];
      for (int d = 0; d < outer_rank; ++d) offset += (index[d] + before_[d]) * out_strides_[d];
      std::memcpy(out + static_cast<size_t>(offset) * elem_size_, in, row_bytes);
      in += row_bytes;
    } while (NextIndex(outer_rank, in_shape_.data(), index));
    return Status::Ok();
  }

 private:
  int rank_ = 0;
  size_t elem_size_ = 0;
  size_t out_bytes_ = 0;
  Shape in_shape_;
  int64_t before_[kMaxMoveRank] = {};
  int64_t out_strides_[kMaxMoveRank] = {};
  std::vector<uint8_t> pad_value_;
};

}  // namespace

std::unique_ptr<OpKernel> CreatePadKernel() { return std::make_unique<PadKernel>(); }

}  // namespace wisp
