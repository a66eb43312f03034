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

// A job is published by bumping a 64-bit state word, (generation << 32) | (front << 16) | back,
// the tasks not yet claimed being [front, back); threads claim tasks by compare-and-swap on that
// word, so a worker still finishing one job can never take a task of the next. The calling thread
// claims from the front and the workers from the back: kernels split rows or pixels into
// consecutive tasks, the same way in consecutive operators, so each thread mostly works on the
// rows that the previous operator left in its core's cache, and the threads still balance
// wherever they meet. A shared counter dealt the tasks out alternately, which cost most when the
// worker joined late: in the per-operator profile (a JS call between operators, long enough for
// the worker to fall asleep) deeplabv3 took 25.2 ms on two threads, its depthwise layers 1.2x
// faster than on one; 20.0 ms, 1.6x, with the two ends (steady state: 0-2% faster). Between jobs a
// worker spins on the word for a while before it sleeps on a condition variable: an interpreter
// dispatches one job per operator, dozens per inference, and waking a sleeping Web Worker costs
// tens of microseconds each time. The calling thread works on every job too and spins until the
// job's tasks are done.
class WasmThreadPool final : public ThreadPool {
 public:
  explicit WasmThreadPool(int num_threads) : num_threads_(num_threads) {
    for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  ~WasmThreadPool() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true, std::memory_order_release);
      state_.fetch_add(uint64_t{1} << 32, std::memory_order_acq_rel);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int num_threads() const override { return num_threads_; }

  void Run(int num_tasks, TaskFn fn) override {
    // Task indices are 16 bits in the state word: larger jobs run in parts.
    for (int base = 0; base < num_tasks; base += kMaxTasks) {
      const int part = std::min(kMaxTasks, num_tasks - base);
      if (base == 0) {
        RunPart(part, fn);
      } else {
        const auto offset = [&](int task) { fn(base + task); };
        RunPart(part, TaskFn(offset));
      }
    }
  }

 private:
  static constexpr int kMaxTasks = 0xFFFF;

  void RunPart(int num_tasks, TaskFn fn) {
    const uint64_t generation = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    // Each generation's job lives in its own slot: a worker still looking at the previous job
    // reads the other slot, and can claim nothing there (its compare-and-swap fails).
    Job& job = jobs_[generation & 1];
    job.fn.store(&fn, std::memory_order_relaxed);
    remaining_.store(num_tasks, std::memory_order_relaxed);
    state_.store(generation << 32 | static_cast<uint64_t>(num_tasks), std::memory_order_release);
    if (sleeping_.load(std::memory_order_acquire) > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      wake_.notify_all();
    }
    DoTasks(static_cast<uint32_t>(generation), /*from_back=*/false);
    while (remaining_.load(std::memory_order_acquire) > 0) {
    }
  }

  // Claims and runs tasks of `generation`, from the front or the back of those left, until none
  // are left or a newer job replaced it.
  void DoTasks(uint32_t generation, bool from_back) {
    const Job& job = jobs_[generation & 1];
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(s >> 32) != generation) return;
      const uint32_t front = static_cast<uint32_t>(s >> 16) & 0xFFFF;
      const uint32_t back = static_cast<uint32_t>(s) & 0xFFFF;
      if (front >= back) return;
      const uint32_t task = from_back ? back - 1 : front;
      const uint64_t next = from_back ? s - 1 : s + (uint64_t{1} << 16);
      if (!state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
        continue;
      }
      // The job cannot end while this task is unfinished, so the slot still holds it.
      (*job.fn.load(std::memory_order_relaxed))(static_cast<int>(task));
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
      s = state_.load(std::memory_order_acquire);
    }
  }

  void WorkerLoop() {
    uint32_t seen = 0;
    for (;;) {
      // Spin for the next job (about 50-100 us), then sleep.
      uint32_t generation = seen;
      for (int spin = 0; spin < 20000 && generation == seen; ++spin) {
        generation = static_cast<uint32_t>(state_.load(std::memory_order_acquire) >> 32);
      }
      if (generation == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        sleeping_.fetch_add(1, std::memory_order_acq_rel);
        wake_.wait(lock, [&] {
          return static_cast<uint32_t>(state_.load(std::memory_order_acquire) >> 32) != seen;
        });
        sleeping_.fetch_sub(1, std::memory_order_acq_rel);
        generation = static_cast<uint32_t>(state_.load(std::memory_order_acquire) >> 32);
      }
      if (stop_.load(std::memory_order_acquire)) return;
      seen = generation;
      DoTasks(generation, /*from_back=*/true);
    }
  }

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<uint64_t> state_{0};
  std::atomic<int> remaining_{0};
  std::atomic<int> sleeping_{0};
  std::atomic<bool> stop_{false};
  struct Job {
    std::atomic<const TaskFn*> fn{nullptr};
  };
  Job jobs_[2];
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
