// Threads are a platform service: the portable core only sees this interface. Native builds pass
// a pool from native/platform; single-threaded WASM passes none and work runs inline.
#pragma once

#include <functional>

namespace wisp {

class ThreadPool {
 public:
  virtual ~ThreadPool() = default;
  virtual int num_threads() const = 0;
  // Calls fn(task) for task in [0, num_tasks), spread over the pool; returns when all are done.
  virtual void Run(int num_tasks, const std::function<void(int task)>& fn) = 0;
};

// Runs tasks inline when `pool` is null or single-threaded.
inline void ParallelFor(ThreadPool* pool, int num_tasks, const std::function<void(int)>& fn) {
  if (pool == nullptr || pool->num_threads() <= 1 || num_tasks <= 1) {
    for (int i = 0; i < num_tasks; ++i) fn(i);
    return;
  }
  pool->Run(num_tasks, fn);
}

}  // namespace wisp
