// SLICE and STRIDED_SLICE: both reduce to a start, a stride and a count per input dimension,
// decided at prepare from constant operands with TFLite's clamping rules
// (kernels/internal/strided_slice_logic.h).
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/shape_util_nd.h"

namespace wisp {
namespace {

class SliceBase : public OpKernel {
 protected:
  Status CheckInputOutput(const KernelContext& ctx) const {
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&in, "input",
                                         {DType::FLOAT32, DType::INT8, DType::UINT8, DType::INT16,
                                          DType::INT32, DType::INT64, DType::BOOL}));
    if (out.dtype != in.dtype) {
      return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but input '%s' is %s",
                       out.name.c_str(), DTypeName(out.dtype), in.name.c_str(),
                       DTypeName(in.dtype));
    }
    if (in.shape.size() > static_cast<size_t>(kMaxMoveRank)) {
      return ctx.Error(StatusCode::kUnsupported, "input '%s' has rank %zu; at most %d supported",
                       in.name.c_str(), in.shape.size(), kMaxMoveRank);
    }
    return Status::Ok();
  }

  // start/stride/count per input dimension are set; computes the copy plan.
  void Plan(const TensorDesc& in) {
    rank_ = static_cast<int>(in.shape.size());
    elem_size_ = DTypeSize(in.dtype);
    int64_t in_strides[kMaxMoveRank];
    RowMajorStrides(in.shape, in_strides);
    base_ = 0;
    empty_ = false;
    for (int d = 0; d < rank_; ++d) {
      base_ += start_[d] * in_strides[d];
      step_[d] = stride_[d] * in_strides[d];
      if (count_[d] == 0) empty_ = true;
    }
  }

 public:
  Status Invoke(const KernelContext& ctx) override {
    if (empty_) return Status::Ok();
    const uint8_t* in = ctx.in_bytes(0);
    uint8_t* out = ctx.out_bytes(0);
    int32_t index[kMaxMoveRank] = {};
    do {
      int64_t src = base_;
      for (int d = 0; d < rank_; ++d) src += index[d] * step_[d];
      std::memcpy(out, in + static_cast<size_t>(src) * elem_size_, elem_size_);
      out += elem_size_;
    } while (NextIndex(rank_, count_, index));
    return Status::Ok();
  }

 protected:
  int rank_ = 0;
  size_t elem_size_ = 0;
  bool empty_ = false;
  int64_t base_ = 0;
  int64_t start_[kMaxMoveRank] = {};
  int64_t stride_[kMaxMoveRank] = {};
  int32_t count_[kMaxMoveRank] = {};
  int64_t step_[kMaxMoveRank] = {};
};

class SliceKernel : public SliceBase {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    WISP_RETURN_IF_ERROR(CheckInputOutput(ctx));
    const TensorDesc& in = *ctx.input(0);
    std::vector<int64_t> begin, size;
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "begin", &begin));
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 2, "size", &size));
    const size_t rank = in.shape.size();
    if (begin.size() != rank || size.size() != rank) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "begin and size need %zu values for input '%s' %s (have %zu and %zu)", rank,
                       in.name.c_str(), ShapeToString(in.shape).c_str(), begin.size(), size.size());
    }
    Shape expected(rank);
    for (size_t d = 0; d < rank; ++d) {
      const int64_t dim = in.shape[d];
      const int64_t b = begin[d];
      const int64_t n = size[d] == -1 ? dim - b : size[d];
      if (b < 0 || b > dim || n < 0 || b + n > dim) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "slice [%lld, +%lld) is outside dimension %zu (size %lld) of input '%s'",
                         static_cast<long long>(b), static_cast<long long>(size[d]), d,
                         static_cast<long long>(dim), in.name.c_str());
      }
      start_[d] = b;
      stride_[d] = 1;
      count_[d] = static_cast<int32_t>(n);
      expected[d] = static_cast<int32_t>(n);
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(ctx.output(0), "output", expected));
    Plan(in);
    return Status::Ok();
  }
};

class StridedSliceKernel : public SliceBase {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(3, 4));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    WISP_RETURN_IF_ERROR(CheckInputOutput(ctx));
    const TensorDesc& in = *ctx.input(0);
    const fb::StridedSliceOptions* opts = ctx.fb_op().options_as_StridedSliceOptions();
    const int32_t begin_mask = opts ? opts->begin_mask() : 0;
    const int32_t end_mask = opts ? opts->end_mask() : 0;
    const int32_t shrink_mask = opts ? opts->shrink_axis_mask() : 0;
    const bool offset = opts ? opts->offset() : false;
    if (opts && (opts->ellipsis_mask() != 0 || opts->new_axis_mask() != 0)) {
      return ctx.Error(StatusCode::kUnsupported,
                       "ellipsis_mask and new_axis_mask are not supported (got %d and %d)",
                       opts->ellipsis_mask(), opts->new_axis_mask());
    }
    std::vector<int64_t> begin, end, strides;
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "begin", &begin));
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 2, "end", &end));
    if (ctx.input(3) != nullptr) {
      WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 3, "strides", &strides));
    } else {
      strides.assign(begin.size(), 1);
    }
    const size_t rank = in.shape.size();
    if (begin.size() > rank || end.size() != begin.size() || strides.size() != begin.size()) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "begin/end/strides have %zu/%zu/%zu values; input '%s' has rank %zu",
                       begin.size(), end.size(), strides.size(), in.name.c_str(), rank);
    }
    Shape expected;
    for (size_t d = 0; d < rank; ++d) {
      const int64_t dim = in.shape[d];
      if (d >= begin.size()) {  // dimensions not mentioned are taken whole
        start_[d] = 0;
        stride_[d] = 1;
        count_[d] = static_cast<int32_t>(dim);
        expected.push_back(static_cast<int32_t>(dim));
        continue;
      }
      const int64_t s = strides[d];
      if (s == 0) {
        return ctx.Error(StatusCode::kInvalidModel, "stride of dimension %zu is 0", d);
      }
      const bool shrink = (shrink_mask >> d) & 1;
      int64_t b;
      int64_t e;
      if (shrink) {
        b = begin[d] < 0 ? begin[d] + dim : begin[d];
        if (b < 0 || b >= dim) {
          return ctx.Error(StatusCode::kInvalidModel,
                           "shrink index %lld is outside dimension %zu (size %lld) of input '%s'",
                           static_cast<long long>(begin[d]), d, static_cast<long long>(dim),
                           in.name.c_str());
        }
        start_[d] = b;
        stride_[d] = 1;
        count_[d] = 1;
        continue;
      }
      if ((begin_mask >> d) & 1) {
        b = s > 0 ? 0 : dim - 1;
      } else {
        b = begin[d] < 0 ? begin[d] + dim : begin[d];
        b = s > 0 ? std::min(std::max(b, int64_t{0}), dim)
                  : std::min(std::max(b, int64_t{-1}), dim - 1);
      }
      if ((end_mask >> d) & 1) {
        e = s > 0 ? dim : -1;
      } else {
        e = end[d];
        if (offset) e += b;
        if (e < 0 && !offset) e += dim;
        e = s > 0 ? std::min(std::max(e, int64_t{0}), dim)
                  : std::min(std::max(e, int64_t{-1}), dim - 1);
      }
      int64_t n = s > 0 ? (e - b + s - 1) / s : (b - e + (-s) - 1) / (-s);
      n = std::max<int64_t>(n, 0);
      start_[d] = b;
      stride_[d] = s;
      count_[d] = static_cast<int32_t>(n);
      expected.push_back(static_cast<int32_t>(n));
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(ctx.output(0), "output", expected));
    Plan(in);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<OpKernel> CreateSliceKernel() { return std::make_unique<SliceKernel>(); }
std::unique_ptr<OpKernel> CreateStridedSliceKernel() {
  return std::make_unique<StridedSliceKernel>();
}

}  // namespace wisp
