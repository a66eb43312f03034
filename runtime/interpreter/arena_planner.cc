#include "runtime/interpreter/arena_planner.h"

#include <algorithm>
#include <numeric>

namespace wisp {
namespace {
size_t AlignUp(size_t v, size_t a) { return (v + a - 1) / a * a; }
}  // namespace

int ArenaPlanner::AddBuffer(size_t bytes, int first_use, int last_use) {
  buffers_.push_back(Buffer{bytes, first_use, last_use});
  return static_cast<int>(buffers_.size() - 1);
}

size_t ArenaPlanner::naive_bytes() const {
  size_t total = 0;
  for (const Buffer& b : buffers_) total += AlignUp(b.bytes, kAlignment);
  return total;
}

void ArenaPlanner::Plan() {
  std::vector<int> order(buffers_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (buffers_[a].bytes != buffers_[b].bytes) return buffers_[a].bytes > buffers_[b].bytes;
    return buffers_[a].first_use < buffers_[b].first_use;
  });

  std::vector<int> placed;
  arena_bytes_ = 0;
  for (int id : order) {
    Buffer& buf = buffers_[id];
    const size_t size = AlignUp(std::max<size_t>(buf.bytes, 1), kAlignment);
    // Live neighbours sorted by offset; take the first gap that fits.
    std::vector<int> live;
    for (int other : placed) {
      const Buffer& o = buffers_[other];
      if (o.first_use <= buf.last_use && buf.first_use <= o.last_use) live.push_back(other);
    }
    std::sort(live.begin(), live.end(),
              [&](int a, int b) { return buffers_[a].offset < buffers_[b].offset; });
    size_t candidate = 0;
    for (int other : live) {
      const Buffer& o = buffers_[other];
      if (o.offset >= candidate + size) break;
      candidate = std::max(candidate, AlignUp(o.offset + std::max<size_t>(o.bytes, 1), kAlignment));
    }
    buf.offset = candidate;
    arena_bytes_ = std::max(arena_bytes_, candidate + size);
    placed.push_back(id);
  }
}

}  // namespace wisp
