// The contract between the interpreter and an operator implementation.
//
// Prepare runs once: it validates dtypes, shapes and options against the model (reporting the
// operator and tensor at fault), precomputes everything Invoke needs (requantization constants,
// lookup tables, packed weights) and reserves scratch memory. Invoke then only computes: it never
// allocates, and an operator may pick among several implementations (reference, SIMD, ...) in
// Prepare without the interpreter knowing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/format/model.h"

namespace wisp {

class ThreadPool;       // runtime/interpreter/thread_pool.h
class PreparedWeights;  // runtime/interpreter/prepared_weights.h
class KernelProvider;   // below

struct KernelOptions {
  // Only the readable reference implementations: the oracle for faster kernels in tests.
  bool reference_only = false;
  // Float 3x3 stride-1 convolutions through Winograd F(2x2, 3x3) (kernels/float_winograd.h):
  // 2.25x fewer multiply-adds, results within rounding of the reference rather than its bits.
  bool float_winograd = true;
  // Packed weights shared with other interpreters of the same model (not owned; may be null).
  PreparedWeights* shared_weights = nullptr;
  // Another backend offered every operator first (not owned; must outlive the interpreter; may
  // be null). Ignored with reference_only, which always means Wisp's reference kernels.
  KernelProvider* provider = nullptr;
};

class KernelContext {
 public:
  KernelContext(const Model& model, int32_t op_index, const KernelOptions& options)
      : model_(model), op_index_(op_index), op_(model.operators()[op_index]), options_(options) {}

  const OperatorDesc& op() const { return op_; }
  const fb::Operator& fb_op() const { return *op_.fb; }
  const KernelOptions& options() const { return options_; }
  int32_t op_index() const { return op_index_; }

  size_t num_inputs() const { return op_.inputs.size(); }
  size_t num_outputs() const { return op_.outputs.size(); }
  // nullptr when the optional input is absent (index -1) or beyond the operator's input list.
  const TensorDesc* input(size_t i) const;
  const TensorDesc& output(size_t i) const { return model_.tensors()[op_.outputs[i]]; }
  const TensorDesc* intermediate(size_t i) const;
  int32_t input_index(size_t i) const { return i < op_.inputs.size() ? op_.inputs[i] : -1; }
  int32_t output_index(size_t i) const { return op_.outputs[i]; }

  // Error helpers that name the operator ("operator 12 (CONV_2D): ...").
  Status Error(StatusCode code, const char* fmt, ...) const __attribute__((format(printf, 3, 4)));
  std::string DescribeInput(size_t i) const { return model_.DescribeTensor(input_index(i)); }
  std::string DescribeOutput(size_t i) const { return model_.DescribeTensor(output_index(i)); }

  // Checks shared by many kernels; each returns an error naming the tensor.
  Status ExpectInputs(size_t min_count, size_t max_count) const;
  Status ExpectOutputs(size_t count) const;
  Status ExpectDType(const TensorDesc* t, const char* role,
                     std::initializer_list<DType> allowed) const;
  Status ExpectRank(const TensorDesc* t, const char* role, size_t rank) const;
  Status ExpectShape(const TensorDesc& t, const char* role, const Shape& expected) const;

  // Prepare only: reserve `bytes` of scratch for Invoke. Returns a handle for scratch().
  int RequestScratch(size_t bytes);

  // Invoke only: tensor data pointers and scratch memory.
  template <typename T>
  const T* in(size_t i) const {
    return reinterpret_cast<const T*>(data_[op_.inputs[i]]);
  }
  template <typename T>
  T* out(size_t i) const {
    return reinterpret_cast<T*>(data_[op_.outputs[i]]);
  }
  const uint8_t* in_bytes(size_t i) const { return data_[op_.inputs[i]]; }
  uint8_t* out_bytes(size_t i) const { return data_[op_.outputs[i]]; }
  void* scratch(int handle) const { return scratch_ptrs_[handle]; }
  ThreadPool* thread_pool() const { return thread_pool_; }

  const Model& model() const { return model_; }

 private:
  friend class Interpreter;
  const Model& model_;
  int32_t op_index_;
  const OperatorDesc& op_;
  const KernelOptions& options_;
  uint8_t* const* data_ = nullptr;  // per tensor, set by the interpreter before Invoke
  std::vector<size_t> scratch_sizes_;
  std::vector<void*> scratch_ptrs_;
  ThreadPool* thread_pool_ = nullptr;
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status Prepare(KernelContext& ctx) = 0;
  // Called once after the memory plan, when every tensor's data pointer and every scratch buffer
  // are final and stay so for the interpreter's life: a kernel that hands fixed pointers to a
  // library (which then precomputes indirection from them) does it here, still at prepare time,
  // so that Invoke allocates nothing.
  virtual Status Bind(const KernelContext& ctx) { return Status::Ok(); }
  virtual Status Invoke(const KernelContext& ctx) = 0;
  // Which implementation Prepare chose, for `wisp inspect` and benchmarks.
  virtual const char* implementation() const { return "reference"; }
  // Which backend the kernel belongs to: "wisp", or the name of the KernelProvider that made it.
  virtual const char* backend() const { return "wisp"; }
};

// A backend that may take over single operators (the native XNNPACK backend in native/xnnpack):
// the interpreter offers it each operator before making Wisp's own kernel. The portable core only
// knows this interface, so it never depends on the backend's library.
class KernelProvider {
 public:
  virtual ~KernelProvider() = default;
  virtual const char* name() const = 0;
  // Either a kernel whose Prepare has already succeeded on `ctx` (the operator is the provider's
  // from now on), or null: the provider declines and Wisp's kernel runs the operator. A provider
  // declines everything it cannot run with the same results as Wisp's kernels, including
  // malformed operators, whose errors Wisp's kernel then reports. An error Status means the
  // provider itself failed (for example, out of memory) and fails the whole prepare.
  virtual Result<std::unique_ptr<OpKernel>> Bind(KernelContext& ctx) = 0;
  // Why the last Bind of the operator with this index declined it ("" when it was taken, never
  // offered, or the provider keeps no reasons), for `wisp inspect`.
  virtual std::string decline_reason(int32_t op_index) const { return ""; }
};

}  // namespace wisp
