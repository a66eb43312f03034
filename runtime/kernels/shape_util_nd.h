// N-dimensional index helpers for the data-movement kernels (pad, transpose, slice).
#pragma once

#include <cstdint>

#include "runtime/core/shape.h"

namespace wisp {

constexpr int kMaxMoveRank = 8;

// Row-major element strides of `shape`.
inline void RowMajorStrides(const Shape& shape, int64_t* strides) {
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
}

// Advances a multi-index over `dims` (row-major); false after the last element.
inline bool NextIndex(int rank, const int32_t* dims, int32_t* index) {
  for (int d = rank - 1; d >= 0; --d) {
    if (++index[d] < dims[d]) return true;
    index[d] = 0;
  }
  return false;
}

}  // namespace wisp
