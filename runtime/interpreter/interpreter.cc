#include "runtime/interpreter/interpreter.h"

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "runtime/interpreter/arena_planner.h"
#include "runtime/kernels/registry.h"

namespace wisp {
namespace {

// SIMD kernels may read up to this many bytes past the end of a buffer.
constexpr size_t kOverReadPadding = 64;

uint8_t* AlignedAlloc(size_t bytes) {
  const size_t size = (bytes + kOverReadPadding + ArenaPlanner::kAlignment - 1) /
                      ArenaPlanner::kAlignment * ArenaPlanner::kAlignment;
  void* p = std::aligned_alloc(ArenaPlanner::kAlignment, size);
  if (p) std::memset(p, 0, size);
  return static_cast<uint8_t*>(p);
}

}  // namespace

Result<std::unique_ptr<Interpreter>> Interpreter::Create(std::shared_ptr<const Model> model,
                                                         const InterpreterOptions& options) {
  if (!model) return InvalidArgument("no model given");
  std::unique_ptr<Interpreter> interp(new Interpreter());
  interp->model_ = std::move(model);
  interp->options_ = options;
  WISP_RETURN_IF_ERROR(interp->Prepare());
  return interp;
}

Interpreter::~Interpreter() {
  std::free(arena_);
  std::free(variables_);
}

Status Interpreter::Prepare() {
  const Model& m = *model_;
  const auto& ops = m.operators();
  const auto& tensors = m.tensors();

  // Every operator needs a kernel; list all the missing ones at once.
  std::string missing;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!KernelRegistry::Global().Find(ops[i].type)) {
      if (!missing.empty()) missing += ", ";
      missing += m.DescribeOperator(static_cast<int32_t>(i));
    }
  }
  if (!missing.empty()) return Unsupported("no kernel for %s", missing.c_str());

  kernels_.reserve(ops.size());
  contexts_.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    contexts_.push_back(
        std::make_unique<KernelContext>(m, static_cast<int32_t>(i), options_.kernels));
    // Known at Prepare, so kernels can size per-thread scratch.
    contexts_.back()->thread_pool_ = options_.thread_pool;
    KernelProvider* provider =
        options_.kernels.reference_only ? nullptr : options_.kernels.provider;
    if (provider != nullptr) {
      Result<std::unique_ptr<OpKernel>> bound = provider->Bind(*contexts_.back());
      if (!bound.ok()) return bound.status();
      if (*bound) {
        kernels_.push_back(std::move(*bound));
        continue;
      }
      // Declined: a kernel may have requested scratch before deciding.
      contexts_.back()->scratch_sizes_.clear();
    }
    kernels_.push_back(KernelRegistry::Global().Find(ops[i].type)());
    WISP_RETURN_IF_ERROR(kernels_.back()->Prepare(*contexts_.back()));
  }

  // Lifetimes in steps: graph inputs are written at step 0, operator i runs at step i + 1, graph
  // outputs stay live to the end.
  const int last_step = static_cast<int>(ops.size()) + 1;
  std::vector<int> first(tensors.size(), -1), last(tensors.size(), -1);
  auto touch = [&](int32_t t, int step) {
    if (t < 0 || tensors[t].is_constant() || tensors[t].is_variable) return;
    if (first[t] < 0) first[t] = step;
    last[t] = std::max(last[t], step);
  };
  // Graph inputs stay live to the end, so Invoke can be repeated without setting them again
  // (as in TFLite).
  for (int32_t t : m.inputs()) {
    touch(t, 0);
    touch(t, last_step);
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    for (int32_t t : ops[i].inputs) touch(t, static_cast<int>(i) + 1);
    for (int32_t t : ops[i].outputs) touch(t, static_cast<int>(i) + 1);
  }
  for (int32_t t : m.outputs()) touch(t, last_step);

  ArenaPlanner planner;
  std::vector<int> buffer_of(tensors.size(), -1);
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (first[t] >= 0) buffer_of[t] = planner.AddBuffer(tensors[t].bytes, first[t], last[t]);
  }
  std::vector<std::vector<int>> scratch_buffers(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    for (size_t bytes : contexts_[i]->scratch_sizes_) {
      const int step = static_cast<int>(i) + 1;
      scratch_buffers[i].push_back(planner.AddBuffer(bytes, step, step));
    }
  }
  planner.Plan();
  arena_bytes_ = planner.arena_bytes();
  naive_arena_bytes_ = planner.naive_bytes();
  arena_ = AlignedAlloc(arena_bytes_);
  if (!arena_) return ResourceExhausted("cannot allocate a %zu-byte arena", arena_bytes_);

  // Variables persist between operators (and, optionally, invokes): their own buffer.
  std::vector<size_t> variable_offset(tensors.size(), 0);
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (tensors[t].is_variable) {
      variable_offset[t] = variables_bytes_;
      variables_bytes_ += (tensors[t].bytes + ArenaPlanner::kAlignment - 1) /
                          ArenaPlanner::kAlignment * ArenaPlanner::kAlignment;
    }
  }
  if (variables_bytes_) {
    variables_ = AlignedAlloc(variables_bytes_);
    if (!variables_)
      return ResourceExhausted("cannot allocate %zu bytes of state", variables_bytes_);
  }

  data_.assign(tensors.size(), nullptr);
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (tensors[t].is_constant()) {
      // Kernels never write constants; the pointer is non-const only to share one table.
      data_[t] = const_cast<uint8_t*>(tensors[t].data);
    } else if (tensors[t].is_variable) {
      data_[t] = variables_ + variable_offset[t];
    } else if (buffer_of[t] >= 0) {
      data_[t] = arena_ + planner.offset(buffer_of[t]);
    }
  }
  // What ResetVariables writes, listed once so that Invoke does not scan every tensor.
  for (size_t t = 0; t < tensors.size(); ++t) {
    const TensorDesc& d = tensors[t];
    if (!d.is_variable) continue;
    int fill = 0;
    if ((d.dtype == DType::INT8 || d.dtype == DType::UINT8) && !d.quant.empty()) {
      fill = d.quant.zero_point[0];
    }
    variable_fills_.push_back({data_[t], d.bytes, fill});
  }
  ResetVariables();
  for (size_t i = 0; i < ops.size(); ++i) {
    KernelContext& ctx = *contexts_[i];
    ctx.data_ = data_.data();
    for (int id : scratch_buffers[i]) ctx.scratch_ptrs_.push_back(arena_ + planner.offset(id));
  }
  // Every pointer is final now.
  for (size_t i = 0; i < ops.size(); ++i) {
    WISP_RETURN_IF_ERROR(kernels_[i]->Bind(*contexts_[i]));
  }
  return Status::Ok();
}

Status Interpreter::SetInput(size_t i, const void* bytes, size_t size) {
  if (i >= num_inputs()) {
    return InvalidArgument("input %zu does not exist; the model has %zu inputs", i, num_inputs());
  }
  const TensorDesc& t = input(i);
  if (size != t.bytes) {
    return InvalidArgument("input %zu ('%s', %s %s) needs %zu bytes, got %zu", i, t.name.c_str(),
                           DTypeName(t.dtype), ShapeToString(t.shape).c_str(), t.bytes, size);
  }
  if (size) std::memcpy(input_data(i), bytes, size);
  return Status::Ok();
}

void Interpreter::ResetVariables() {
  // A quantized state starts at real 0, i.e. at its zero point (what TFLite does for int8).
  for (const VariableFill& v : variable_fills_) std::memset(v.data, v.fill, v.bytes);
}

Status Interpreter::Invoke() {
  // Most models have no variables: skip even the call.
  if (options_.reset_variables_each_invoke && !variable_fills_.empty()) ResetVariables();
  if (!profiling_) {
    for (size_t i = 0; i < kernels_.size(); ++i) {
      WISP_RETURN_IF_ERROR(kernels_[i]->Invoke(*contexts_[i]));
    }
    return Status::Ok();
  }
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0 = Clock::now();
  for (size_t i = 0; i < kernels_.size(); ++i) {
    WISP_RETURN_IF_ERROR(kernels_[i]->Invoke(*contexts_[i]));
    const Clock::time_point t1 = Clock::now();
    op_time_ns_[i] += std::chrono::duration<double, std::nano>(t1 - t0).count();
    t0 = t1;
  }
  ++profiled_runs_;
  return Status::Ok();
}

void Interpreter::SetProfiling(bool on) {
  profiling_ = on;
  op_time_ns_.assign(kernels_.size(), 0.0);
  profiled_runs_ = 0;
}

const char* Interpreter::kernel_implementation(size_t op_index) const {
  return op_index < kernels_.size() ? kernels_[op_index]->implementation() : "";
}

const char* Interpreter::kernel_backend(size_t op_index) const {
  return op_index < kernels_.size() ? kernels_[op_index]->backend() : "";
}

size_t Interpreter::num_ops_on_backend(const char* backend) const {
  size_t n = 0;
  for (const auto& k : kernels_) n += std::strcmp(k->backend(), backend) == 0;
  return n;
}

}  // namespace wisp
