// Timing for the microkernel benchmark and its candidate kernels (experimental_*.cc).
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>

namespace wisp {

// Natively the CPU time of this thread, so that other processes sharing the cores (a busy
// machine, a VM's neighbours) do not count against the kernel; wall time in WebAssembly.
inline double BenchNowUs() {
#if defined(__linux__)
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
#else
  return std::chrono::duration<double, std::micro>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

// Runs fn repeatedly for at least min_us (after a warm-up) and returns the best mean of 5 blocks.
template <typename Fn>
double BenchTimeUs(const Fn& fn, double min_us) {
  for (int i = 0; i < 3; ++i) fn();
  double best = 1e30;
  for (int block = 0; block < 5; ++block) {
    const double t0 = BenchNowUs();
    int n = 0;
    do {
      fn();
      ++n;
    } while (BenchNowUs() - t0 < min_us / 5);
    best = std::min(best, (BenchNowUs() - t0) / n);
  }
  return best;
}

}  // namespace wisp
