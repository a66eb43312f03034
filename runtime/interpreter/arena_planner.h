// Static memory plan: every intermediate buffer gets an offset in one arena, decided at prepare
// time from buffer lifetimes (first writer .. last reader), so invoke never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wisp {

class ArenaPlanner {
 public:
  static constexpr size_t kAlignment = 64;

  // A buffer live from step `first_use` to step `last_use` inclusive. Returns its id.
  int AddBuffer(size_t bytes, int first_use, int last_use);

  // Places the buffers: largest first, each at the lowest aligned offset that does not overlap a
  // placed buffer whose lifetime intersects (TFLite's greedy-by-size strategy).
  void Plan();

  size_t offset(int id) const { return buffers_[id].offset; }
  size_t arena_bytes() const { return arena_bytes_; }
  // What separate allocations of every buffer would cost.
  size_t naive_bytes() const;

 private:
  struct Buffer {
    size_t bytes;
    int first_use;
    int last_use;
    size_t offset = 0;
  };
  std::vector<Buffer> buffers_;
  size_t arena_bytes_ = 0;
};

}  // namespace wisp
