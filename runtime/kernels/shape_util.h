// Helpers shared by the shape and reduction kernel families: constant integer operands (axes,
// shapes, paddings, slice bounds), axis normalisation, and the kernel factories each family
// registers.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "runtime/interpreter/kernel.h"

namespace wisp {

// Shapes are static in Wisp, so operands that decide a shape must be constants known at prepare.
inline Status ReadConstantInts(const KernelContext& ctx, size_t input, const char* role,
                               std::vector<int64_t>* values) {
  const TensorDesc* t = ctx.input(input);
  if (t == nullptr) {
    return ctx.Error(StatusCode::kInvalidModel, "%s (input %zu) is absent", role, input);
  }
  if (t->dtype != DType::INT32 && t->dtype != DType::INT64) {
    return ctx.Error(StatusCode::kUnsupported, "%s '%s' has dtype %s; supported: INT32/INT64", role,
                     t->name.c_str(), DTypeName(t->dtype));
  }
  if (!t->is_constant()) {
    return ctx.Error(StatusCode::kUnsupported,
                     "%s '%s' is not a constant; shapes must be static in Wisp", role,
                     t->name.c_str());
  }
  values->resize(static_cast<size_t>(t->num_elements));
  for (int64_t i = 0; i < t->num_elements; ++i) {
    if (t->dtype == DType::INT32) {
      int32_t v;
      std::memcpy(&v, t->data + i * 4, 4);
      (*values)[static_cast<size_t>(i)] = v;
    } else {
      int64_t v;
      std::memcpy(&v, t->data + i * 8, 8);
      (*values)[static_cast<size_t>(i)] = v;
    }
  }
  return Status::Ok();
}

// Maps a possibly negative axis into [0, rank); false when out of range.
inline bool NormalizeAxis(int64_t axis, size_t rank, int* out) {
  const int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return false;
  *out = static_cast<int>(axis < 0 ? axis + r : axis);
  return true;
}

// Product of shape[begin, end).
inline int64_t DimProduct(const Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}

inline bool SameQuant(const TensorDesc& a, const TensorDesc& b) {
  return a.quant.scale == b.quant.scale && a.quant.zero_point == b.quant.zero_point;
}

// Shape family (register_shape.cc).
std::unique_ptr<OpKernel> CreateReshapeKernel();
std::unique_ptr<OpKernel> CreateSqueezeKernel();
std::unique_ptr<OpKernel> CreateConcatenationKernel();
std::unique_ptr<OpKernel> CreatePackKernel();
std::unique_ptr<OpKernel> CreateUnpackKernel();
std::unique_ptr<OpKernel> CreatePadKernel();
std::unique_ptr<OpKernel> CreateTransposeKernel();
std::unique_ptr<OpKernel> CreateSliceKernel();
std::unique_ptr<OpKernel> CreateStridedSliceKernel();
std::unique_ptr<OpKernel> CreateResizeBilinearKernel();
std::unique_ptr<OpKernel> CreateResizeNearestNeighborKernel();
std::unique_ptr<OpKernel> CreateGatherNdKernel();

// Reduction family (register_reduction.cc).
std::unique_ptr<OpKernel> CreateAveragePool2DKernel();
std::unique_ptr<OpKernel> CreateMaxPool2DKernel();
std::unique_ptr<OpKernel> CreateMeanKernel();
std::unique_ptr<OpKernel> CreateSoftmaxKernel();
std::unique_ptr<OpKernel> CreateArgMaxKernel();

}  // namespace wisp
