// Threads are a platform service: the portable core only sees this interface. Native builds pass
// a pool from native/platform; single-threaded WASM passes none and work runs inline.
#pragma once

#include <type_traits>
#include <utility>

namespace wisp {

// A non-owning reference to a callable taking the task index: unlike std::function it never
// allocates, so kernels can hand lambdas to the pool inside Invoke.
class TaskFn {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, TaskFn>>>
  TaskFn(const F& f)  // NOLINT: implicit, like std::function
      : object_(&f), call_([](const void* o, int task) { (*static_cast<const F*>(o))(task); }) {}
  void operator()(int task) const { call_(object_, task); }

 private:
  const void* object_;
  void (*call_)(const void*, int);
};

class ThreadPool {
 public:
  virtual ~ThreadPool() = default;
  virtual int num_threads() const = 0;
  // Calls fn(task) for task in [0, num_tasks), spread over the pool; returns when all are done.
  virtual void Run(int num_tasks, TaskFn fn) = 0;
};

// Runs tasks inline when `pool` is null or single-threaded.
inline void ParallelFor(ThreadPool* pool, int num_tasks, TaskFn fn) {
  if (pool == nullptr || pool->num_threads() <= 1 || num_tasks <= 1) {
    for (int i = 0; i < num_tasks; ++i) fn(i);
    return;
  }
  pool->Run(num_tasks, fn);
}

}  // namespace wisp
