// A real thread pool (native only) that records the most tasks any Run split the work into, so
// that a test of a threaded operator can check that the work was in fact split.
#pragma once

#include <algorithm>

#include "native/platform/thread_pool.h"
#include "runtime/interpreter/thread_pool.h"

namespace wisp {
namespace testing {

class CountingPool : public ThreadPool {
 public:
  explicit CountingPool(int threads) : pool_(threads) {}
  int num_threads() const override { return pool_.num_threads(); }
  void Run(int num_tasks, TaskFn fn) override {
    max_tasks_ = std::max(max_tasks_, num_tasks);
    pool_.Run(num_tasks, fn);
  }
  int max_tasks() const { return max_tasks_; }

 private:
  NativeThreadPool pool_;
  int max_tasks_ = 0;
};

}  // namespace testing
}  // namespace wisp
