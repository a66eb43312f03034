// Weights packed once at Prepare in the layout a microkernel reads, with every zero-point
// correction folded in, so the kernels only multiply, add and requantize.
//
// GEMM (gemm.h), per block of nr output channels:
//   int32 bias'[nr] | ks taps x ceil(kc / kr) groups x nr channels x kr values | float scale[nr]
//   | int32 row_sum_factor[nr] (8-bit layouts only)
// with the values int16 (w - w_zp), or int8 w' = w - s[n] for 8-bit layouts. For input x with zero
// point x_zp the reference accumulator is
//   bias + sum (x - x_zp)(w - w_zp) = bias' + sum x' w' + row_sum_factor[n] * row_sum[r]
// with x' = x + (the kernel's input shift), w_zp'[n] = w_zp[n] - s[n], and
//   bias'[n]            = bias[n] - (x_zp + input shift) * sum_k (w[n][k] - w_zp[n])
//   row_sum_factor[n]   = -w_zp'[n]
//   row_sum[r]          = sum over taps and k < kc of x'[r][t][k]
// The shift s[n] is w_zp[n] when every w - w_zp of the channel fits a signed byte (then the
// factor is 0), else 128 for uint8 weights (0 for int8), so uint8 models need row sums only for
// the channels whose weights spread wider than a byte around their zero point. All of it wraps
// in int32 like the reference, so the results are bit-exact.
//
// Depthwise (dwconv.h), per tile of channel_tile channels, for tap_group 1:
//   int32 bias'[tile] | taps x tile int16 (w - w_zp) | float scale[tile]
// and for the 8-bit dot-product layout (tap_group 4, taps in groups of four slots, the padding
// slots with zero weights; taps_per_group real taps per group, 4 unless the kernel says 3):
//   int32 bias'[tile] | groups x tile x 4 int8 w' | float scale[tile] | int32 factor[tile]
//   | int32 needs_sums, 12 bytes of padding
// with w' = w - s[c] and factor[c] = -(w_zp[c] - s[c]) chosen as for GEMM: the kernel adds
// factor[c] * (sum over the pixel's real taps of x'[t][c]) when the tile's needs_sums is set.
// tap_group 2 (taps rounded up to pairs, the padding tap with zero weight) is
//   int32 bias'[tile] | pairs x tile x 2 int16 (w - w_zp) | float scale[tile]
//
// Every per-channel array above is in slot order. With channel_lanes L = 1 slot = channel; with
// L > 1 the tile is L runs of G = tile / L channels, one per 128-bit lane, and slot
// 4 * L * (q / 4) + 4 * l + q % 4 holds channel G * l + q: vector v of four-channel groups then
// has, in lane l, the channels G * l + 4v .. G * l + 4v + 3, which is where interleaving the
// taps' inputs by unpacks within each lane puts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "runtime/kernels/microkernels/dwconv.h"
#include "runtime/kernels/microkernels/gemm.h"

namespace wisp {

// Packed weights start on a 64-byte boundary: kernels read them in vectors of up to 64 bytes, and
// a load that straddles two cache lines costs two (AVX-512 kernels read every weight vector once
// per output pixel or row tile).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}  // NOLINT: rebinding, like std::allocator
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const {
    return false;
  }
};
using PackedBytes = std::vector<uint8_t, CacheLineAllocator<uint8_t>>;

struct GemmWeightsSource {
  int32_t n = 0;                       // output channels
  int32_t ks = 1;                      // taps per output row
  int32_t kc = 0;                      // values per tap
  const uint8_t* weights = nullptr;    // [n][filter tap][kc] raw int8 or uint8 values
  const int32_t* tap_order = nullptr;  // window tap t reads filter tap tap_order[t]; null: same
  const int32_t* w_zp = nullptr;       // [n]
  bool weights_uint8 = false;
  const int32_t* bias = nullptr;  // [n], or null for zeros
  const float* scale = nullptr;   // [n], f32(f32(s_in * s_w[n]) / s_out)
  int32_t input_zero_point = 0;
  bool input_uint8 = false;
};

struct PackedGemm {
  PackedBytes data;
  size_t block_bytes = 0;
  // Some row_sum_factor is nonzero: the caller passes row sums (RowSums) to the kernel.
  bool needs_row_sums = false;
};

PackedGemm PackGemm(const GemmLayout& layout, const GemmWeightsSource& src);

struct DwconvWeightsSource {
  int32_t channels = 0;
  int32_t taps = 0;
  const uint8_t* weights = nullptr;    // [filter tap][channels] raw int8 or uint8 values
  const int32_t* tap_order = nullptr;  // as for GEMM
  const int32_t* w_zp = nullptr;       // [channels]
  bool weights_uint8 = false;
  const int32_t* bias = nullptr;  // [channels], or null
  const float* scale = nullptr;   // [channels]
  int32_t input_zero_point = 0;
  bool input_uint8 = false;
};

// Packs for `kernel`'s layout (channel tile, tap group, input shift).
PackedBytes PackDwconv(const DwconvKernelInfo& kernel, const DwconvWeightsSource& src);

}  // namespace wisp
