#include "runtime/interpreter/kernel.h"

#include <cstdarg>
#include <cstdio>

namespace wisp {

const TensorDesc* KernelContext::input(size_t i) const {
  if (i >= op_.inputs.size() || op_.inputs[i] < 0) return nullptr;
  return &model_.tensors()[op_.inputs[i]];
}

const TensorDesc* KernelContext::intermediate(size_t i) const {
  if (i >= op_.intermediates.size() || op_.intermediates[i] < 0) return nullptr;
  return &model_.tensors()[op_.intermediates[i]];
}

Status KernelContext::Error(StatusCode code, const char* fmt, ...) const {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return Status(code, model_.DescribeOperator(op_index_) + ": " + buf);
}

Status KernelContext::ExpectInputs(size_t min_count, size_t max_count) const {
  if (num_inputs() < min_count || num_inputs() > max_count) {
    if (min_count == max_count) {
      return Error(StatusCode::kInvalidModel, "expects %zu inputs, has %zu", min_count,
                   num_inputs());
    }
    return Error(StatusCode::kInvalidModel, "expects %zu to %zu inputs, has %zu", min_count,
                 max_count, num_inputs());
  }
  for (size_t i = 0; i < min_count; ++i) {
    if (input(i) == nullptr) {
      return Error(StatusCode::kInvalidModel, "required input %zu is absent", i);
    }
  }
  return Status::Ok();
}

Status KernelContext::ExpectOutputs(size_t count) const {
  if (num_outputs() != count) {
    return Error(StatusCode::kInvalidModel, "expects %zu outputs, has %zu", count, num_outputs());
  }
  return Status::Ok();
}

Status KernelContext::ExpectDType(const TensorDesc* t, const char* role,
                                  std::initializer_list<DType> allowed) const {
  for (DType d : allowed) {
    if (t->dtype == d) return Status::Ok();
  }
  std::string names;
  for (DType d : allowed) {
    if (!names.empty()) names += "/";
    names += DTypeName(d);
  }
  return Error(StatusCode::kUnsupported, "%s '%s' has dtype %s; supported: %s", role,
               t->name.c_str(), DTypeName(t->dtype), names.c_str());
}

Status KernelContext::ExpectRank(const TensorDesc* t, const char* role, size_t rank) const {
  if (t->shape.size() != rank) {
    return Error(StatusCode::kInvalidModel, "%s '%s' has shape %s; expected rank %zu", role,
                 t->name.c_str(), ShapeToString(t->shape).c_str(), rank);
  }
  return Status::Ok();
}

Status KernelContext::ExpectShape(const TensorDesc& t, const char* role,
                                  const Shape& expected) const {
  if (t.shape != expected) {
    return Error(StatusCode::kInvalidModel, "%s '%s' has shape %s; expected %s", role,
                 t.name.c_str(), ShapeToString(t.shape).c_str(), ShapeToString(expected).c_str());
  }
  return Status::Ok();
}

int KernelContext::RequestScratch(size_t bytes) {
  scratch_sizes_.push_back(bytes);
  return static_cast<int>(scratch_sizes_.size() - 1);
}

}  // namespace wisp
