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

// Independent units [0, units) of about `work_per_unit` multiply-adds each (the rows or runs of
// an operator) in contiguous ranges, one per task: fn(begin, end).
template <typename Fn>
void ParallelRanges(const KernelContext& ctx, int64_t units, int64_t work_per_unit, const Fn& fn) {
  const int tasks =
      Tasks(ctx.thread_pool(), units, units * work_per_unit, MaxTasks(ctx) * kTasksPerThread);
  if (tasks <= 1) {
    fn(int64_t{0}, units);
    return;
  }
  ParallelFor(ctx.thread_pool(), tasks,
              [&](int t) { fn(units * t / tasks, units * (t + 1) / tasks); });
}

// Elementwise operators (a requantized add, a table lookup, a conversion: a few multiply-adds'
// worth of work per element) split [0, n) into contiguous runs, one per task, each starting on a
// 64-element boundary so that no two tasks write the same cache line: fn(begin, end).
template <typename Fn>
void ParallelElements(const KernelContext& ctx, int64_t n, const Fn& fn) {
  constexpr int64_t kWorkPerElement = 4, kAlign = 64;
  ParallelRanges(
      ctx, (n + kAlign - 1) / kAlign, kAlign * kWorkPerElement,
      [&](int64_t first, int64_t end) { fn(first * kAlign, std::min(end * kAlign, n)); });
}

// The row tiles and channel blocks of a GEMM (m_tiles x n_blocks) that task t of `tasks` computes:
// [t0, t1) x [b0, b1). Row tiles are split, as the neighbouring operators split their pixels,
// so that each thread finds its rows in its own cache (moving them between cores costs more than
// an uneven split, which the pool evens out); the channel blocks only when there are too few
// rows for two tasks per thread (fully connected layers).
struct GemmTaskRange {
  int64_t t0, t1, b0, b1;
};
inline GemmTaskRange SplitGemm(ThreadPool* pool, int64_t m_tiles, int64_t n_blocks, int tasks,
                               int t) {
  const int threads = pool != nullptr ? pool->num_threads() : 1;
  GemmTaskRange r{0, m_tiles, 0, n_blocks};
  if (m_tiles >= std::min<int64_t>(tasks, 2 * threads)) {
    r.t0 = m_tiles * t / tasks;
    r.t1 = m_tiles * (t + 1) / tasks;
  } else {
    r.b0 = n_blocks * t / tasks;
    r.b1 = n_blocks * (t + 1) / tasks;
  }
  return r;
}

}  // namespace wisp
