// Quantized depthwise convolution on AVX-VNNI (256-bit vpdpbusd without AVX-512), 32 channels
// per tile, four taps per step: q8_dwconv_64c4__avx512vnni.cc on 256-bit vectors (channel_lanes
// 2), with a 128-bit path for a tile with at most 16 channels left. Without mask registers a
// partial tile is stored through a buffer.
#include <type_traits>

#include "runtime/kernels/microkernels/avxvnni_helpers.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kTile = 32, kLanes = 2;

// W bytes of vector (32: ymm, 16: xmm) and the operations the kernel needs on each.
template <int W>
struct V;
template <>
struct V<32> {
  using I = __m256i;
  using F = __m256;
  static I Load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const I*>(p)); }
  static F LoadF(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static I Zero() { return _mm256_setzero_si256(); }
  static F SetF(float f) { return _mm256_set1_ps(f); }
  static I Words(int16_t h) { return _mm256_set1_epi16(h); }
  static I Bytes(int8_t b) { return _mm256_set1_epi8(b); }
  static I Xor(I a, I b) { return _mm256_xor_si256(a, b); }
  static I Lo8(I a, I b) { return _mm256_unpacklo_epi8(a, b); }
  static I Hi8(I a, I b) { return _mm256_unpackhi_epi8(a, b); }
  static I Lo16(I a, I b) { return _mm256_unpacklo_epi16(a, b); }
  static I Hi16(I a, I b) { return _mm256_unpackhi_epi16(a, b); }
  static I Shuffle(I a, I m) { return _mm256_shuffle_epi8(a, m); }
  static I Add(I a, I b) { return _mm256_add_epi32(a, b); }
  static I Mul(I a, I b) { return _mm256_mullo_epi32(a, b); }
  // XNNPACK's fp32 epilogue (avx512_helpers.h), rounding with MXCSR's default: to nearest even.
  static I Scale(I acc, F scale, F max) {
    const F x = _mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale), max);
    return _mm256_cvtps_epi32(x);
  }
  static I PackZp(I a, I b, I zp) { return _mm256_adds_epi16(_mm256_packs_epi32(a, b), zp); }
  template <typename T>
  static I PackBytes(I a, I b, I qmin) {
    if constexpr (std::is_same_v<T, int8_t>) return _mm256_max_epi8(_mm256_packs_epi16(a, b), qmin);
    return _mm256_max_epu8(_mm256_packus_epi16(a, b), qmin);
  }
  static void Store(uint8_t* p, I v, size_t n) {
    if (n >= 32) {
      _mm256_storeu_si256(reinterpret_cast<I*>(p), v);
      return;
    }
    alignas(32) uint8_t tmp[32];
    _mm256_store_si256(reinterpret_cast<I*>(tmp), v);
    std::memcpy(p, tmp, n);
  }
};
template <>
struct V<16> {
  using I = __m128i;
  using F = __m128;
  static I Load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const I*>(p)); }
  static F LoadF(const uint8_t* p) { return _mm_loadu_ps(reinterpret_cast<const float*>(p)); }
  static I Zero() { return _mm_setzero_si128(); }
  static F SetF(float f) { return _mm_set1_ps(f); }
  static I Words(int16_t h) { return _mm_set1_epi16(h); }
  static I Bytes(int8_t b) { return _mm_set1_epi8(b); }
  static I Xor(I a, I b) { return _mm_xor_si128(a, b); }
  static I Lo8(I a, I b) { return _mm_unpacklo_epi8(a, b); }
  static I Hi8(I a, I b) { return _mm_unpackhi_epi8(a, b); }
  static I Lo16(I a, I b) { return _mm_unpacklo_epi16(a, b); }
  static I Hi16(I a, I b) { return _mm_unpackhi_epi16(a, b); }
  static I Shuffle(I a, I m) { return _mm_shuffle_epi8(a, m); }
  static I Add(I a, I b) { return _mm_add_epi32(a, b); }
  static I Mul(I a, I b) { return _mm_mullo_epi32(a, b); }
  static I Scale(I acc, F scale, F max) {
    const F x = _mm_min_ps(_mm_mul_ps(_mm_cvtepi32_ps(acc), scale), max);
    return _mm_cvtps_epi32(x);  // MXCSR's rounding: to nearest even
  }
  static I PackZp(I a, I b, I zp) { return _mm_adds_epi16(_mm_packs_epi32(a, b), zp); }
  template <typename T>
  static I PackBytes(I a, I b, I qmin) {
    if constexpr (std::is_same_v<T, int8_t>) return _mm_max_epi8(_mm_packs_epi16(a, b), qmin);
    return _mm_max_epu8(_mm_packus_epi16(a, b), qmin);
  }
  static void Store(uint8_t* p, I v, size_t n) {
    if (n >= 16) {
      _mm_storeu_si128(reinterpret_cast<I*>(p), v);
      return;
    }
    alignas(16) uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<I*>(tmp), v);
    std::memcpy(p, tmp, n);
  }
};

// pshufb masks for a single tap (above); 0x80 zeroes the other three bytes of each dword.
struct SingleTapMasks {
  alignas(32) uint8_t bytes[4][32];
  constexpr SingleTapMasks() : bytes() {
    for (int j = 0; j < 4; ++j) {
      for (int b = 0; b < 32; ++b) {
        const int i = (b % 16) / 4;
        bytes[j][b] = b % 4 == 0 ? static_cast<uint8_t>(4 * j + i) : 0x80;
      }
    }
  }
};
constexpr SingleTapMasks kSingleTapTable;
constexpr const uint8_t (&kSingleTap)[4][32] = kSingleTapTable.bytes;

// Interleaves four taps' input vectors: v[j] holds, per lane, channels 4j..4j+3 of the lane's 16,
// each as four bytes (tap 0..3).
template <int W>
inline void Interleave(typename V<W>::I x0, typename V<W>::I x1, typename V<W>::I x2,
                       typename V<W>::I x3, typename V<W>::I v[4]) {
  using Op = V<W>;
  const auto lo01 = Op::Lo8(x0, x1), hi01 = Op::Hi8(x0, x1);
  const auto lo23 = Op::Lo8(x2, x3), hi23 = Op::Hi8(x2, x3);
  v[0] = Op::Lo16(lo01, lo23);
  v[1] = Op::Hi16(lo01, lo23);
  v[2] = Op::Lo16(hi01, hi23);
  v[3] = Op::Hi16(hi01, hi23);
}

// One tile (its first n <= W channels) for every output pixel. kSums: the tile's weights need
// the input sums (pack.h).
template <typename T, bool kFlip, int W, bool kSums>
void Tile(size_t n, size_t c0, size_t output_width, size_t taps, const uint8_t* const* input,
          size_t input_stride, const uint8_t* w, uint8_t* output, size_t channels,
          const QuantEpilogue& e) {
  using Op = V<W>;
  using I = typename Op::I;
  using F = typename Op::F;
  const size_t full = taps / 4, last = taps % 4;
  const uint8_t* weights = w + kTile * 4;
  const uint8_t* tail = weights + (full + (last ? 1 : 0)) * kTile * 4;
  I bias[4], factor[4];
  F scale[4];
  for (int v = 0; v < 4; ++v) {
    bias[v] = Op::Load(w + kTile * v);
    scale[v] = Op::LoadF(tail + kTile * v);
    factor[v] = kSums ? Op::Load(tail + kTile * (4 + v)) : Op::Zero();
  }
  const I flip = Op::Bytes(static_cast<int8_t>(0x80));
  const F max = Op::SetF(e.max);
  const I zp = Op::Words(static_cast<int16_t>(e.zero_point));
  const I qmin = Op::Bytes(static_cast<int8_t>(e.qmin));
  // A single last tap: vector j takes byte 4j + i of each lane into byte 0 of its dword i.
  I single[4];
  for (int j = 0; j < 4; ++j) single[j] = Op::Load(kSingleTap[j]);
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    I acc[4] = {bias[0], bias[1], bias[2], bias[3]};
    I sums[4] = {Op::Zero(), Op::Zero(), Op::Zero(), Op::Zero()};
    const uint8_t* wg = weights;
    for (size_t g = 0; g < full; ++g, wg += kTile * 4) {
      I x[4];
      for (int q = 0; q < 4; ++q) {
        x[q] = Op::Load(in[4 * g + q] + c0);
        if constexpr (kFlip) x[q] = Op::Xor(x[q], flip);
      }
      I v[4];
      Interleave<W>(x[0], x[1], x[2], x[3], v);
      for (int j = 0; j < 4; ++j) acc[j] = DotAdd(acc[j], v[j], Op::Load(wg + kTile * j));
      if constexpr (kSums) {
        const I ones = Op::Bytes(1);
        for (int j = 0; j < 4; ++j) sums[j] = DotAdd(sums[j], v[j], ones);
      }
    }
    if (last == 1) {
      I x = Op::Load(in[4 * full] + c0);
      if constexpr (kFlip) x = Op::Xor(x, flip);
      I v[4];
      for (int j = 0; j < 4; ++j) v[j] = Op::Shuffle(x, single[j]);
      for (int j = 0; j < 4; ++j) acc[j] = DotAdd(acc[j], v[j], Op::Load(wg + kTile * j));
      if constexpr (kSums) {
        const I ones = Op::Bytes(1);
        for (int j = 0; j < 4; ++j) sums[j] = DotAdd(sums[j], v[j], ones);
      }
    } else if (last != 0) {
      I x[4];
      for (int q = 0; q < 4; ++q) {
        x[q] = Op::Zero();
        if (static_cast<size_t>(q) < last) {
          x[q] = Op::Load(in[4 * full + q] + c0);
          if constexpr (kFlip) x[q] = Op::Xor(x[q], flip);
        }
      }
      I v[4];
      Interleave<W>(x[0], x[1], x[2], x[3], v);
      for (int j = 0; j < 4; ++j) acc[j] = DotAdd(acc[j], v[j], Op::Load(wg + kTile * j));
      if constexpr (kSums) {
        const I ones = Op::Bytes(1);  // the padding taps' bytes are zero
        for (int j = 0; j < 4; ++j) sums[j] = DotAdd(sums[j], v[j], ones);
      }
    }
    if constexpr (kSums) {
      for (int j = 0; j < 4; ++j) acc[j] = Op::Add(acc[j], Op::Mul(sums[j], factor[j]));
    }
    const I bytes = Op::template PackBytes<T>(
        Op::PackZp(Op::Scale(acc[0], scale[0], max), Op::Scale(acc[1], scale[1], max), zp),
        Op::PackZp(Op::Scale(acc[2], scale[2], max), Op::Scale(acc[3], scale[3], max), zp), qmin);
    Op::Store(output + p * channels + c0, bytes, n);
  }
}

template <typename T, bool kFlip, int kTaps>
void Dwconv(size_t channels, size_t output_width, size_t taps_arg, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t taps = kTaps ? static_cast<size_t>(kTaps) : taps_arg;
  const size_t groups = (taps + 3) / 4;
  const size_t tile_bytes = kTile * 4 + groups * kTile * 4 + kTile * 8 + 16;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
    const size_t n = channels - c0 < kTile ? channels - c0 : kTile;
    int32_t needs_sums;
    std::memcpy(&needs_sums, w + tile_bytes - 16, 4);
    // The tile's remaining channels pick the vector width: 16 or all 32 lanes.
    if (needs_sums != 0) {
      if (n > 16) {
        Tile<T, kFlip, 32, true>(n, c0, output_width, taps, input, input_stride, w, output,
                                 channels, *e);
      } else {
        Tile<T, kFlip, 16, true>(n, c0, output_width, taps, input, input_stride, w, output,
                                 channels, *e);
      }
    } else if (n > 16) {
      Tile<T, kFlip, 32, false>(n, c0, output_width, taps, input, input_stride, w, output, channels,
                                *e);
    } else {
      Tile<T, kFlip, 16, false>(n, c0, output_width, taps, input, input_stride, w, output, channels,
                                *e);
    }
  }
}

}  // namespace

// int8 inputs flipped to unsigned bytes (+128), uint8 inputs as they are.
const DwconvKernelInfo kQ8Dwconv9p32c4Avxvnni = {
    "q8_dwconv_9p32c4__avxvnni", kTile, 9, 4, {128, 0}, Dwconv<int8_t, true, 9>,
    Dwconv<uint8_t, false, 9>,   kLanes};
const DwconvKernelInfo kQ8Dwconv25p32c4Avxvnni = {
    "q8_dwconv_25p32c4__avxvnni", kTile, 25, 4, {128, 0}, Dwconv<int8_t, true, 25>,
    Dwconv<uint8_t, false, 25>,   kLanes};
const DwconvKernelInfo kQ8DwconvUp32c4Avxvnni = {
    "q8_dwconv_up32c4__avxvnni", kTile, 0, 4, {128, 0}, Dwconv<int8_t, true, 0>,
    Dwconv<uint8_t, false, 0>,   kLanes};

}  // namespace wisp
