// TRANSPOSE: out[i_0..i_n] = in[i_perm^-1...]; pure data movement.
#include <cstring>

#include "runtime/kernels/shape_util.h"
#include "runtime/kernels/shape_util_nd.h"

namespace wisp {
namespace {

class TransposeKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
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
    const size_t rank = in.shape.size();
    if (rank > static_cast<size_t>(kMaxMoveRank)) {
      return ctx.Error(StatusCode::kUnsupported, "input '%s' has rank %zu; at most %d supported",
                       in.name.c_str(), rank, kMaxMoveRank);
    }
    std::vector<int64_t> perm;
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "perm", &perm));
    if (perm.size() != rank) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "perm '%s' has %zu values; input '%s' has rank %zu",
                       ctx.input(1)->name.c_str(), perm.size(), in.name.c_str(), rank);
    }
    std::vector<bool> seen(rank, false);
    Shape expected(rank);
    int64_t in_strides[kMaxMoveRank];
    RowMajorStrides(in.shape, in_strides);
    for (size_t d = 0; d < rank; ++d) {
      int p;
      if (!NormalizeAxis(perm[d], rank, &p) || seen[p]) {
        return ctx.Error(StatusCode::kInvalidModel, "perm '%s' is not a permutation of 0..%zu",
                         ctx.input(1)->name.c_str(), rank - 1);
      }
      seen[p] = true;
      expected[d] = in.shape[p];
      // Walking the output in row-major order steps the input by these strides.
      src_strides_[d] = in_strides[p];
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    out_shape_ = out.shape;
    rank_ = static_cast<int>(rank);
    elem_size_ = DTypeSize(in.dtype);
    count_ = out.num_elements;
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const uint8_t* in = ctx.in_bytes(0);
    uint8_t* out = ctx.out_bytes(0);
    if (count_ == 0) return Status::Ok();
    int32_t index[kMaxMoveRank] = {};
    int64_t i = 0;
    do {
      int64_t src = 0;
      for (int d = 0; d < rank_; ++d) src += index[d] * src_strides_[d];
      std::memcpy(out + static_cast<size_t>(i) * elem_size_,
                  in + static_cast<size_t>(src) * elem_size_, elem_size_);
      ++i;
    } while (NextIndex(rank_, out_shape_.data(), index));
    return Status::Ok();
  }

 private:
  int rank_ = 0;
  size_t elem_size_ = 0;
  int64_t count_ = 0;
  Shape out_shape_;
  int64_t src_strides_[kMaxMoveRank] = {};
};

}  // namespace

std::unique_ptr<OpKernel> CreateTransposeKernel() { return std::make_unique<TransposeKernel>(); }

}  // namespace wisp
