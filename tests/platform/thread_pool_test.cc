// The native pool the kernels split their work over (native/platform/thread_pool.h): every task
// of every job runs exactly once, whatever the number of threads and tasks, when threads finish
// at different times (tasks taken from the back of another thread's range), and when workers
// have gone to sleep between jobs.
#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "native/platform/thread_pool.h"

namespace wisp {
namespace {

void RunJobs(int threads, int jobs, int max_tasks, bool pauses, uint32_t seed) {
  NativeThreadPool pool(threads);
  ASSERT_EQ(pool.num_threads(), threads);
  std::mt19937 rng(seed);
  for (int job = 0; job < jobs; ++job) {
    const int tasks = std::uniform_int_distribution<int>(1, max_tasks)(rng);
    std::vector<std::atomic<int>> runs(static_cast<size_t>(tasks));
    for (auto& r : runs) r.store(0);
    // Some tasks take longer, so that threads run out of their own tasks at different times.
    const int slow = std::uniform_int_distribution<int>(0, tasks - 1)(rng);
    pool.Run(tasks, [&](int t) {
      ASSERT_GE(t, 0);
      ASSERT_LT(t, tasks);
      runs[static_cast<size_t>(t)].fetch_add(1);
      if (t == slow) std::this_thread::sleep_for(std::chrono::microseconds(50));
    });
    for (int t = 0; t < tasks; ++t) {
      ASSERT_EQ(runs[static_cast<size_t>(t)].load(), 1) << "job " << job << " task " << t;
    }
    // Now and then long enough a gap for the workers to go to sleep.
    if (pauses && job % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST(NativeThreadPool, EveryTaskRunsOnce) {
  for (int threads : {1, 2, 3, 4}) {
    SCOPED_TRACE(threads);
    RunJobs(threads, 1500, 40, false, 11u + static_cast<uint32_t>(threads));
  }
}

TEST(NativeThreadPool, WorkersWakeAfterSleeping) {
  RunJobs(2, 300, 16, true, 5);
  RunJobs(3, 300, 16, true, 6);
}

}  // namespace
}  // namespace wisp
