// GATHER_ND: out[i, ...] = params[indices[i, 0], ..., indices[i, K-1], ...]. Indices are data, so
// they are checked at every invoke; an out-of-range index is an error, never an out-of-bounds
// read (TFLite also fails the invoke).
#include <cstring>

#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

class GatherNdKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& params = *ctx.input(0);
    const TensorDesc& indices = *ctx.input(1);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&params, "params",
                                         {DType::FLOAT32, DType::INT8, DType::UINT8, DType::INT16,
                                          DType::INT32, DType::INT64, DType::BOOL}));
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&indices, "indices", {DType::INT32, DType::INT64}));
    if (out.dtype != params.dtype) {
      return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but params '%s' is %s",
                       out.name.c_str(), DTypeName(out.dtype), params.name.c_str(),
                       DTypeName(params.dtype));
    }
    if (indices.shape.empty()) {
      return ctx.Error(StatusCode::kInvalidModel, "indices '%s' must have rank >= 1",
                       indices.name.c_str());
    }
    const int32_t k = indices.shape.back();
    if (k < 1 || static_cast<size_t>(k) > params.shape.size()) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "indices '%s' %s index %d dimensions of params '%s' %s",
                       indices.name.c_str(), ShapeToString(indices.shape).c_str(), k,
                       params.name.c_str(), ShapeToString(params.shape).c_str());
    }
    Shape expected(indices.shape.begin(), indices.shape.end() - 1);
    for (size_t d = static_cast<size_t>(k); d < params.shape.size(); ++d) {
      expected.push_back(params.shape[d]);
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    k_ = k;
    num_lookups_ = DimProduct(indices.shape, 0, indices.shape.size() - 1);
    slice_elems_ = DimProduct(params.shape, static_cast<size_t>(k), params.shape.size());
    elem_size_ = DTypeSize(params.dtype);
    indices64_ = indices.dtype == DType::INT64;
    dims_.assign(params.shape.begin(), params.shape.begin() + k);
    strides_.assign(static_cast<size_t>(k), 0);
    int64_t stride = slice_elems_;
    for (int d = k - 1; d >= 0; --d) {
      strides_[d] = stride;
      stride *= params.shape[d];
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const uint8_t* params = ctx.in_bytes(0);
    uint8_t* out = ctx.out_bytes(0);
    const size_t slice_bytes = static_cast<size_t>(slice_elems_) * elem_size_;
    for (int64_t i = 0; i < num_lookups_; ++i) {
      int64_t offset = 0;
      for (int d = 0; d < k_; ++d) {
        const int64_t j = i * k_ + d;
        const int64_t index = indices64_ ? ctx.in<int64_t>(1)[j] : ctx.in<int32_t>(1)[j];
        if (index < 0 || index >= dims_[d]) {
          return ctx.Error(StatusCode::kOutOfRange,
                           "index %lld at position %lld of indices '%s' is outside [0, %d)",
                           static_cast<long long>(index), static_cast<long long>(j),
                           ctx.input(1)->name.c_str(), dims_[d]);
        }
        offset += index * strides_[d];
      }
      std::memcpy(out, params + static_cast<size_t>(offset) * elem_size_, slice_bytes);
      out += slice_bytes;
    }
    return Status::Ok();
  }

 private:
  int k_ = 0;
  int64_t num_lookups_ = 0;
  int64_t slice_elems_ = 0;
  size_t elem_size_ = 0;
  bool indices64_ = false;
  std::vector<int32_t> dims_;
  std::vector<int64_t> strides_;
};

}  // namespace

std::unique_ptr<OpKernel> CreateGatherNdKernel() { return std::make_unique<GatherNdKernel>(); }

}  // namespace wisp
