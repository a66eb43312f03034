#include "native/platform/thread_pool.h"

namespace wisp {

NativeThreadPool::NativeThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

NativeThreadPool::~NativeThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void NativeThreadPool::DrainTasks() {
  std::unique_lock<std::mutex> lock(mu_);
  while (fn_ != nullptr && next_task_ < num_tasks_) {
    const int task = next_task_++;
    const auto* fn = fn_;
    lock.unlock();
    (*fn)(task);
    lock.lock();
    if (--pending_ == 0) done_cv_.notify_all();
  }
}

void NativeThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    DrainTasks();
  }
}

void NativeThreadPool::Run(int num_tasks, TaskFn fn) {
  if (num_tasks <= 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    num_tasks_ = num_tasks;
    next_task_ = 0;
    pending_ = num_tasks;
    ++generation_;
  }
  work_cv_.notify_all();
  DrainTasks();
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  fn_ = nullptr;
}

}  // namespace wisp
