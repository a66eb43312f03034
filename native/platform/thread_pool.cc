#include "native/platform/thread_pool.h"

#include <chrono>

namespace wisp {
namespace {

constexpr int kTaskBits = 16;
constexpr uint64_t kTaskMask = (uint64_t{1} << kTaskBits) - 1;
constexpr int kMaxTasksPerJob = static_cast<int>(kTaskMask);

// How long a worker keeps spinning after its last job before it sleeps: longer than the gaps
// between the operators of one inference, short enough not to hold a core between inferences.
constexpr auto kSpin = std::chrono::microseconds(300);

uint32_t JobOf(uint64_t state) { return static_cast<uint32_t>(state >> 32); }
uint64_t TasksOf(uint64_t state) { return (state >> kTaskBits) & kTaskMask; }

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

NativeThreadPool::NativeThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

NativeThreadPool::~NativeThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void NativeThreadPool::Drain(uint32_t job) {
  uint64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if (JobOf(state) != job || (state & kTaskMask) >= TasksOf(state)) return;
    // Claim task (state & kTaskMask): the job cannot end, nor fn_ change, before it is done.
    if (!state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;
    }
    (*fn_.load(std::memory_order_relaxed))(static_cast<int>(state & kTaskMask));
    pending_.fetch_sub(1, std::memory_order_acq_rel);
    state = state_.load(std::memory_order_acquire);
  }
}

void NativeThreadPool::WorkerLoop() {
  uint32_t seen = JobOf(state_.load(std::memory_order_acquire));
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    uint32_t job = seen;
    for (int i = 0;; ++i) {
      job = JobOf(state_.load(std::memory_order_acquire));
      if (job != seen || stop_.load(std::memory_order_relaxed)) break;
      CpuRelax();
      if (i % 64 == 63 && std::chrono::steady_clock::now() > spin_until) {
        // Sleep until Run announces a job. sleepers_ is raised before the job is checked again
        // (both sequentially consistent, as in Run), so either this check sees the new job or
        // Run sees the sleeper and notifies under the mutex.
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stop_.load() || JobOf(state_.load()) != seen; });
        sleepers_.fetch_sub(1);
        job = JobOf(state_.load(std::memory_order_acquire));
        break;
      }
    }
    if (stop_.load()) return;
    seen = job;
    Drain(job);
  }
}

void NativeThreadPool::Run(int num_tasks, TaskFn fn) {
  while (num_tasks > kMaxTasksPerJob) {
    // More tasks than a job word holds: in slices (never the case for per-thread splits).
    const int base = num_tasks - kMaxTasksPerJob;
    auto slice = [&](int task) { fn(base + task); };
    Run(kMaxTasksPerJob, slice);
    num_tasks = base;
  }
  if (num_tasks <= 0) return;
  // The previous job has ended (Run waits for it), so no worker can touch fn_ or pending_ now.
  fn_.store(&fn, std::memory_order_relaxed);
  pending_.store(num_tasks, std::memory_order_relaxed);
  const uint32_t job = JobOf(state_.load(std::memory_order_relaxed)) + 1;
  state_.store(uint64_t{job} << 32 | static_cast<uint64_t>(num_tasks) << kTaskBits);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  Drain(job);
  // The other threads finish the tasks they claimed; a worker descheduled mid-task (a busy
  // machine) is waited for without burning the core.
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    if (i < 4096) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace wisp
