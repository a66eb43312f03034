// How kernels split their work over the thread pool. Output rows (of a convolution), GEMM tiles
// and channel blocks are independent and every microkernel computes each one exactly the same way
// wherever a task starts, so a split result equals the single-threaded one bit for bit. Below
// ~64K multiply-adds per task the dispatch costs more than it saves.
#pragma once

#include <algorithm>
#include <cstdint>

#include "runtime/interpreter/kernel.h"
#include "runtime/interpreter/thread_pool.h"

namespace wisp {

constexpr int64_t kMinMacsPerTask = 1 << 16;

// The most tasks a kernel splits into: one per pool thread. Known at Prepare, so per-task
// scratch can be sized then.
inline int MaxTasks(const KernelContext& ctx) {
  return ctx.thread_pool() ? std::max(1, ctx.thread_pool()->num_threads()) : 1;
}

// Tasks for `units` independent units of work totalling `macs` multiply-adds.
inline int NumTasks(ThreadPool* pool, int64_t units, int64_t macs, int max_tasks) {
  if (pool == nullptr) return 1;
  const int64_t by_work = std::max<int64_t>(1, macs / kMinMacsPerTask);
  return static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>({pool->num_threads(), max_tasks, units, by_work})));
}

// Work is split into up to kTasksPerThread tasks per pool thread (of at least kMinMacsPerTask
// multiply-adds) by the microkernel plans: the pool deals each thread a contiguous run of tasks,
// i.e. the same rows or pixels in consecutive operators, whose data then stays in that core's
// cache, and lets a thread that is done help with the rest, so a half that runs slower (data in the
// other core's cache, a descheduled thread) does not hold the operator up.
constexpr int kTasksPerThread = 8;

// Tasks for `units` units of work totalling `macs` multiply-adds, at most `max_tasks` (a plan's
// MaxTasks * kTasksPerThread, fixed at Prepare for its per-task scratch).
inline int Tasks(ThreadPool* pool, int64_t units, int64_t macs, int max_tasks) {
  if (pool == nullptr || pool->num_threads() <= 1) return 1;
  const int64_t by_work = std::max<int64_t>(1, macs / kMinMacsPerTask);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({max_tasks, units, by_work})));
}

}  // namespace wisp
