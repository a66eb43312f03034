// Runs a validated Model: prepares every operator once (kernel choice, packed weights, memory
// plan), then Invoke() computes the graph with no allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/format/model.h"
#include "runtime/interpreter/kernel.h"

namespace wisp {

class ThreadPool;

struct InterpreterOptions {
  KernelOptions kernels;
  ThreadPool* thread_pool = nullptr;  // not owned; nullptr: run on the calling thread
  // Variable tensors (LSTM state) restart from zero on every Invoke, so a run depends only on its
  // inputs. Off: state carries over between invokes, as in TFLite.
  bool reset_variables_each_invoke = true;
};

class Interpreter {
 public:
  static Result<std::unique_ptr<Interpreter>> Create(std::shared_ptr<const Model> model,
                                                     const InterpreterOptions& options = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  const Model& model() const { return *model_; }
  size_t num_inputs() const { return model_->inputs().size(); }
  size_t num_outputs() const { return model_->outputs().size(); }
  const TensorDesc& input(size_t i) const { return model_->tensors()[model_->inputs()[i]]; }
  const TensorDesc& output(size_t i) const { return model_->tensors()[model_->outputs()[i]]; }

  // Input buffers may be written directly before Invoke (input(i).bytes bytes).
  uint8_t* input_data(size_t i) { return data_[model_->inputs()[i]]; }
  const uint8_t* output_data(size_t i) const { return data_[model_->outputs()[i]]; }
  // Copies `size` bytes into input i, checking the size against the tensor's.
  Status SetInput(size_t i, const void* bytes, size_t size);

  Status Invoke();
  void ResetVariables();

  // Per-operator timing (runtime/interpreter/profile.h): when on, every Invoke adds each
  // operator's wall time to op_time_ns(). Turning it on (again) clears what was accumulated.
  void SetProfiling(bool on);
  bool profiling() const { return profiling_; }
  const std::vector<double>& op_time_ns() const { return op_time_ns_; }
  int64_t profiled_runs() const { return profiled_runs_; }

  size_t arena_bytes() const { return arena_bytes_; }
  // Sum of every intermediate and scratch buffer allocated separately: what the plan saves on.
  size_t naive_arena_bytes() const { return naive_arena_bytes_; }
  // Weights repacked at prepare time and lookup tables, beyond the arena.
  const char* kernel_implementation(size_t op_index) const;
  // "wisp", or the name of the KernelProvider that took the operator (KernelOptions::provider).
  const char* kernel_backend(size_t op_index) const;
  size_t num_ops_on_backend(const char* backend) const;
  // Data pointer of any tensor (constants, activations); for debugging and tests. Activations
  // share arena memory, so only tensors still live after Invoke hold their final values.
  const uint8_t* tensor_data(int32_t index) const { return data_[index]; }

 private:
  Interpreter() = default;
  Status Prepare();

  std::shared_ptr<const Model> model_;
  InterpreterOptions options_;
  std::vector<std::unique_ptr<KernelContext>> contexts_;
  std::vector<std::unique_ptr<OpKernel>> kernels_;
  std::vector<uint8_t*> data_;  // per tensor
  uint8_t* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  size_t naive_arena_bytes_ = 0;
  uint8_t* variables_ = nullptr;
  size_t variables_bytes_ = 0;
  struct VariableFill {
    uint8_t* data;
    size_t bytes;
    int fill;  // the zero point of a quantized 8-bit state, else 0
  };
  std::vector<VariableFill> variable_fills_;
  bool profiling_ = false;
  std::vector<double> op_time_ns_;
  int64_t profiled_runs_ = 0;
};

}  // namespace wisp
