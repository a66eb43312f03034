// std::thread implementation of the core's ThreadPool interface. The calling thread takes part
// in the work, so a pool of N threads starts N-1 workers.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/interpreter/thread_pool.h"

namespace wisp {

class NativeThreadPool : public ThreadPool {
 public:
  explicit NativeThreadPool(int num_threads);
  ~NativeThreadPool() override;

  int num_threads() const override { return static_cast<int>(workers_.size()) + 1; }
  void Run(int num_tasks, TaskFn fn) override;

 private:
  void WorkerLoop();
  void DrainTasks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const TaskFn* fn_ = nullptr;
  int num_tasks_ = 0;
  int next_task_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace wisp
