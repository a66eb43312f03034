#include "wasm/thread_pool_wasm.h"

#include <algorithm>
#include <memory>

#ifdef WISP_WASM_THREADS
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace wisp {
namespace wasm {

#ifdef WISP_WASM_THREADS

namespace {

// Workers sleep on a condition variable between jobs; a job hands out task indices through an
// atomic counter and the calling thread works on it too, so Run() never waits on an idle pool.
class WasmThreadPool final : public ThreadPool {
 public:
  explicit WasmThreadPool(int num_threads) : num_threads_(num_threads) {
    for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  ~WasmThreadPool() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int num_threads() const override { return num_threads_; }

  void Run(int num_tasks, TaskFn fn) override {
    if (num_tasks <= 0) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      num_tasks_ = num_tasks;
      next_task_.store(0, std::memory_order_relaxed);
      pending_ = num_tasks;
      ++generation_;
    }
    wake_.notify_all();
    DoTasks(fn, num_tasks);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_ == 0; });
    fn_ = nullptr;
  }

 private:
  void DoTasks(const TaskFn& fn, int num_tasks) {
    int finished = 0;
    for (;;) {
      const int task = next_task_.fetch_add(1, std::memory_order_relaxed);
      if (task >= num_tasks) break;
      fn(task);
      ++finished;
    }
    if (finished > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ -= finished;
      if (pending_ == 0) done_.notify_all();
    }
  }

  void WorkerLoop() {
    uint64_t seen = 0;
    for (;;) {
      const TaskFn* fn;
      int num_tasks;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
        fn = fn_;
        num_tasks = num_tasks_;
      }
      if (fn != nullptr) DoTasks(*fn, num_tasks);
    }
  }

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  const TaskFn* fn_ = nullptr;
  int num_tasks_ = 0;
  int pending_ = 0;
  std::atomic<int> next_task_{0};
};

std::unique_ptr<WasmThreadPool> g_pool;
int g_num_threads = 1;

}  // namespace

bool ThreadsSupported() { return true; }

int SetNumThreads(int n) {
  n = std::max(1, std::min(n, 64));
  if (n == g_num_threads) return g_num_threads;
  g_pool.reset();
  g_num_threads = n;
  if (n > 1) g_pool = std::make_unique<WasmThreadPool>(n);
  return g_num_threads;
}

int NumThreads() { return g_num_threads; }
ThreadPool* Pool() { return g_pool.get(); }

#else  // single-threaded variant

bool ThreadsSupported() { return false; }
int SetNumThreads(int) { return 1; }
int NumThreads() { return 1; }
ThreadPool* Pool() { return nullptr; }

#endif

}  // namespace wasm
}  // namespace wisp
