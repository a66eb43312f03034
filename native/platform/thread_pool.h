// std::thread implementation of the core's ThreadPool interface. The calling thread takes part
// in the work, so a pool of N threads starts N-1 workers.
//
// An inference dispatches one job per operator, tens of microseconds apart, so waking a worker
// through a condition variable (several microseconds, more on a VM) would cost as much as the
// smaller operators themselves. Workers therefore spin on the job number for a while after each
// job (kSpin) and only then sleep on the condition variable; Run wakes sleepers only when there
// are some.
//
// A job's tasks are dealt out as one contiguous range per thread (thread i of n: tasks
// [i * tasks / n, (i + 1) * tasks / n)), which each thread works through from the front, so
// consecutive operators that split their output rows or pixels the same way find their inputs in
// the cache of the core that wrote them. A thread done with its range takes tasks from the back
// of the others' ranges: a half that runs slower (its data in the other core's cache, or its
// thread descheduled on a busy machine) is finished by both.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
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
  // A thread's share of the current job: tasks [begin, end) as begin | end << 32, on a cache
  // line of its own (its owner claims from it without disturbing the others).
  struct alignas(64) Range {
    std::atomic<uint64_t> bounds{0};
  };

  void WorkerLoop(int index);
  void Work(int index);  // runs tasks of the current job until none is left unclaimed
  bool Claim(int range, bool front, int* task);

  std::vector<std::thread> workers_;
  std::unique_ptr<Range[]> ranges_;
  std::atomic<uint32_t> job_{0};  // bumped when a job is published
  std::atomic<const TaskFn*> fn_{nullptr};
  std::atomic<int> pending_{0};  // tasks of the current job not finished yet
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
};

}  // namespace wisp
