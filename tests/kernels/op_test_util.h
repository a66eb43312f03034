// Builds a model around one operator, runs it through the real loader and interpreter, and
// hands back the outputs: kernel tests exercise exactly the path a user's model takes.
#pragma once

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/format/model.h"
#include "runtime/format/model_builder.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp {
namespace testing {

inline QuantParams PerTensor(float scale, int32_t zero_point) {
  QuantParams q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  return q;
}

inline QuantParams PerChannel(std::vector<float> scales, int32_t axis) {
  QuantParams q;
  q.scale = std::move(scales);
  q.zero_point.assign(q.scale.size(), 0);
  q.axis = axis;
  return q;
}

// Quantize/dequantize helpers for building expectations from float math.
template <typename T>
std::vector<T> Quantize(const std::vector<float>& x, float scale, int32_t zp) {
  std::vector<T> q(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float v = std::round(x[i] / scale) + static_cast<float>(zp);
    const float lo = static_cast<float>(std::numeric_limits<T>::min());
    const float hi = static_cast<float>(std::numeric_limits<T>::max());
    q[i] = static_cast<T>(std::min(std::max(v, lo), hi));
  }
  return q;
}

template <typename T>
std::vector<float> Dequantize(const std::vector<T>& q, float scale, int32_t zp) {
  std::vector<float> x(q.size());
  for (size_t i = 0; i < q.size(); ++i) x[i] = (static_cast<float>(q[i]) - zp) * scale;
  return x;
}

class SingleOpModel {
 public:
  int32_t AddInput(const std::string& name, DType dtype, const Shape& shape,
                   const QuantParams& quant = {}) {
    const int32_t t = builder_.AddTensor(name, dtype, shape, quant);
    inputs_.push_back(t);
    return t;
  }
  template <typename T>
  int32_t AddConstant(const std::string& name, DType dtype, const Shape& shape,
                      const std::vector<T>& values, const QuantParams& quant = {}) {
    return builder_.AddConstant(name, dtype, shape, values, quant);
  }
  int32_t AddOutput(const std::string& name, DType dtype, const Shape& shape,
                    const QuantParams& quant = {}) {
    const int32_t t = builder_.AddTensor(name, dtype, shape, quant);
    outputs_.push_back(t);
    return t;
  }
  int32_t AddTensor(const std::string& name, DType dtype, const Shape& shape,
                    const QuantParams& quant = {}, bool is_variable = false) {
    return builder_.AddTensor(name, dtype, shape, quant, is_variable);
  }
  void AddOperator(fb::OpType type, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
                   fb::OpOptionsUnion options = {}, std::vector<int32_t> intermediates = {}) {
    builder_.AddOperator(type, std::move(inputs), std::move(outputs), std::move(options),
                         std::move(intermediates));
  }

  // Loads and prepares; returns the first error (load or prepare).
  Status Build(bool reference_only = false) {
    InterpreterOptions options;
    options.kernels.reference_only = reference_only;
    return Build(options);
  }
  Status Build(const InterpreterOptions& options) {
    builder_.SetInputs(inputs_);
    builder_.SetOutputs(outputs_);
    auto model = Model::Load(builder_.Finish());
    if (!model.ok()) return model.status();
    auto interp = Interpreter::Create(*model, options);
    if (!interp.ok()) return interp.status();
    interpreter_ = std::move(*interp);
    return Status::Ok();
  }

  template <typename T>
  void SetInput(size_t i, const std::vector<T>& values) {
    ASSERT_TRUE(interpreter_) << "Build() first";
    Status s = interpreter_->SetInput(i, values.data(), values.size() * sizeof(T));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Status Invoke() { return interpreter_->Invoke(); }

  template <typename T>
  std::vector<T> Output(size_t i) const {
    const TensorDesc& t = interpreter_->output(i);
    std::vector<T> out(t.bytes / sizeof(T));
    std::memcpy(out.data(), interpreter_->output_data(i), t.bytes);
    return out;
  }

  Interpreter& interpreter() { return *interpreter_; }

 private:
  ModelBuilder builder_;
  std::vector<int32_t> inputs_, outputs_;
  std::unique_ptr<Interpreter> interpreter_;
};

// Options helpers: fb::OpOptionsUnion from a typed options struct.
template <typename OptionsT>
fb::OpOptionsUnion Options(OptionsT value) {
  fb::OpOptionsUnion u;
  u.Set(std::move(value));
  return u;
}

}  // namespace testing
}  // namespace wisp
