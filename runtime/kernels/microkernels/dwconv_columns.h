// The input columns of the 3x3 column-scheme depthwise kernels (q8_dwconv_3x3p*: taps_per_group
// 3): a column-major window's taps are three triples of consecutive pointers, one per filter
// column, and along a row of output pixels whose next window starts one or two triples further
// on (input_stride 3 or 6: stride 1 or 2) the triples it shares with this pixel were loaded and
// interleaved already.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wisp {

// Makes col[0..2] the interleaved columns of pixel p's window (its pointers at `in`), reusing the
// previous pixel's where kReuse (1: stride 1, 2: stride 2, 0: none) says they are the same.
// column(taps, v) loads and interleaves the three taps at `taps` into v[0..3].
template <int kReuse, typename V, typename Column>
inline void NextColumns(size_t p, const uint8_t* const* in, V col[3][4], const Column& column) {
  if (kReuse == 1 && p > 0) {
    for (int v = 0; v < 4; ++v) {
      col[0][v] = col[1][v];
      col[1][v] = col[2][v];
    }
    column(in + 6, col[2]);
  } else if (kReuse == 2 && p > 0) {
    for (int v = 0; v < 4; ++v) col[0][v] = col[2][v];
    column(in + 3, col[1]);
    column(in + 6, col[2]);
  } else {
    for (int j = 0; j < 3; ++j) column(in + 3 * j, col[j]);
  }
}

}  // namespace wisp
