// std::thread implementation of the core's ThreadPool interface. The calling thread takes part
// in the work, so a pool of N threads starts N-1 workers.
//
// An inference dispatches one job per operator, tens of microseconds apart, so waking a worker
// through a condition variable (several microseconds, more on a VM) would cost as much as the
// smaller operators themselves. Workers therefore spin on the job counter for a while after
// each job (kSpin) and only then sleep on the condition variable; Run wakes sleepers only when
// there are some. Tasks are claimed lock-free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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
  // Runs tasks of job `job` while any are left unclaimed.
  void Drain(uint32_t job);

  std::vector<std::thread> workers_;
  // The current job in one word, so that claiming a task checks the job and its size at once:
  // bits 32..63 the job number, 16..31 its task count, 0..15 the next unclaimed task. A worker
  // that is late for a job can then never claim a task of the next one.
  std::atomic<uint64_t> state_{0};
  std::atomic<const TaskFn*> fn_{nullptr};
  std::atomic<int> pending_{0};  // tasks of the current job not finished yet
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
};

}  // namespace wisp
