#include "native/platform/thread_pool.h"

#include <chrono>

namespace wisp {
namespace {

// How long a worker keeps spinning after its last job before it sleeps: longer than the gaps
// between the operators of one inference, short enough not to hold a core between inferences.
constexpr auto kSpin = std::chrono::microseconds(300);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spin-waits a little: pauses, with a clock read now and then. (A tight pause loop, or
// sched_yield, on one vCPU of a VM slowed the other vCPU's work by up to 1.7x: the hypervisor
// intervenes.)
inline void Wait(int i) {
  CpuRelax();
  if (i % 64 == 63) (void)std::chrono::steady_clock::now();
}

uint64_t Pack(uint64_t begin, uint64_t end) { return begin | end << 32; }

}  // namespace

NativeThreadPool::NativeThreadPool(int num_threads)
    : ranges_(new Range[static_cast<size_t>(num_threads < 1 ? 1 : num_threads)]) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

NativeThreadPool::~NativeThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

// Ranges are refilled (release) only after fn_ and pending_ of a job are set and the previous job
// has finished, so a successful claim (acquire) always sees the job it belongs to, and the job
// cannot end, nor fn_ change, before the claimed task is done. A worker late for a job claims
// nothing, or tasks of the next one, which is equally right.
bool NativeThreadPool::Claim(int range, bool front, int* task) {
  std::atomic<uint64_t>& bounds = ranges_[range].bounds;
  uint64_t b = bounds.load(std::memory_order_acquire);
  for (;;) {
    const uint64_t begin = b & 0xFFFFFFFFu, end = b >> 32;
    if (begin >= end) return false;
    const uint64_t next = front ? Pack(begin + 1, end) : Pack(begin, end - 1);
    if (bounds.compare_exchange_weak(b, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      *task = static_cast<int>(front ? begin : end - 1);
      return true;
    }
  }
}

void NativeThreadPool::Work(int index) {
  const int n = num_threads();
  int task;
  for (int k = 0; k < n; ++k) {
    const int range = (index + k) % n;
    // Own range from the front, the others' from the back.
    while (Claim(range, k == 0, &task)) {
      (*fn_.load(std::memory_order_relaxed))(task);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
}

void NativeThreadPool::WorkerLoop(int index) {
  uint32_t seen = job_.load(std::memory_order_acquire);
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0; job_.load(std::memory_order_acquire) == seen; ++i) {
      if (stop_.load(std::memory_order_relaxed)) return;
      Wait(i);
      if (i % 64 == 63 && std::chrono::steady_clock::now() > spin_until) {
        // Sleep until Run announces a job. sleepers_ is raised before the job is checked again
        // (both sequentially consistent, as in Run), so either this check sees the new job or
        // Run sees the sleeper and notifies under the mutex.
        std::unique_lock<std::mutex> lock(mu_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stop_.load() || job_.load() != seen; });
        sleepers_.fetch_sub(1);
        break;
      }
    }
    if (stop_.load()) return;
    seen = job_.load(std::memory_order_acquire);
    Work(index);
  }
}

void NativeThreadPool::Run(int num_tasks, TaskFn fn) {
  if (num_tasks <= 0) return;
  const int n = num_threads();
  // The previous job has ended (Run waits for it), so no thread can touch fn_ or pending_ now.
  fn_.store(&fn, std::memory_order_relaxed);
  pending_.store(num_tasks, std::memory_order_relaxed);
  for (int i = 0; i < n; ++i) {
    const uint64_t begin = static_cast<uint64_t>(num_tasks) * i / n;
    const uint64_t end = static_cast<uint64_t>(num_tasks) * (i + 1) / n;
    ranges_[i].bounds.store(Pack(begin, end), std::memory_order_release);
  }
  job_.fetch_add(1);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  Work(0);
  // The other threads finish the tasks they claimed.
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) Wait(i);
}

}  // namespace wisp
