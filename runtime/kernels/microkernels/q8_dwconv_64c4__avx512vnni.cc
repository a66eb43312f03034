// Quantized depthwise convolution on AVX512-VNNI, 64 channels per tile, four taps per step: the
// scheme of q8_dwconv_16c4__wasmrelaxed.cc on 512-bit vectors. Four taps' 64 input bytes are
// interleaved by two rounds of unpacks so that each 32-bit lane holds one channel's four inputs,
// and vpdpbusd multiplies them by that channel's four weights (64 multiply-adds per instruction).
// x86 unpacks work within 128-bit lanes, so vector v of the four holds, in lane l, channels
// 16l + 4v .. 16l + 4v + 3; the weights are packed in that order (channel_lanes 4, pack.h), and
// the saturating packs of the epilogue, also per lane, put the bytes back in channel order.
//
// A tile with 32 or 16 channels left (MobileNetV2 has 32, 96 and 144 channels) runs the same
// code on 256- or 128-bit vectors, reading the first lanes of the packed vectors. A last group
// with a single tap (9 = 4 + 4 + 1, 25 = 6 * 4 + 1) takes its bytes with one in-lane shuffle per
// vector instead of interleaving three padding taps. Operands as in q8_gemm_8x32c4__avx512vnni.cc
// (int8 inputs flipped to unsigned bytes); tiles whose uint8 weights carry a row-sum factor
// (pack.h) also sum the inputs with a dot product by ones.
//
// q8_dwconv_3x3p64c4 packs a 3x3 filter a column per group (3 taps and a zero weight), so that
// along a row of stride-1 (or 2) output pixels each input column is loaded, flipped and
// interleaved once instead of for every pixel that reads it: 3 loads per pixel instead of 9,
// about 20% faster on MobileNetV2's layers. Two pixels per loop step, to overlap their
// dependency chains, ran 2.5x slower (GCC spilled the 24 column vectors).
#include "runtime/kernels/microkernels/avx512_helpers.h"
#include "runtime/kernels/microkernels/dwconv_columns.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kTile = 64, kLanes = 4;

// W bytes of vector (64: zmm, 32: ymm, 16: xmm) and the operations the kernel needs on each.
template <int W>
struct V;
template <>
struct V<64> {
  using I = __m512i;
  using F = __m512;
  static I Load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static F LoadF(const uint8_t* p) { return _mm512_loadu_ps(p); }
  static I Zero() { return _mm512_setzero_si512(); }
  static F SetF(float f) { return _mm512_set1_ps(f); }
  static I Words(int16_t h) { return _mm512_set1_epi16(h); }
  static I Bytes(int8_t b) { return _mm512_set1_epi8(b); }
  static I Xor(I a, I b) { return _mm512_xor_si512(a, b); }
  static I Lo8(I a, I b) { return _mm512_unpacklo_epi8(a, b); }
  static I Hi8(I a, I b) { return _mm512_unpackhi_epi8(a, b); }
  static I Lo16(I a, I b) { return _mm512_unpacklo_epi16(a, b); }
  static I Hi16(I a, I b) { return _mm512_unpackhi_epi16(a, b); }
  static I Shuffle(I a, I m) { return _mm512_shuffle_epi8(a, m); }
  static I Add(I a, I b) { return _mm512_add_epi32(a, b); }
  static I Mul(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static I Scale(I acc, F scale, F max) {
    const F x = _mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale), max);
    return _mm512_cvt_roundps_epi32(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static I PackZp(I a, I b, I zp) { return _mm512_adds_epi16(_mm512_packs_epi32(a, b), zp); }
  template <typename T>
  static I PackBytes(I a, I b, I qmin) {
    if constexpr (std::is_same_v<T, int8_t>) return _mm512_max_epi8(_mm512_packs_epi16(a, b), qmin);
    return _mm512_max_epu8(_mm512_packus_epi16(a, b), qmin);
  }
  static void Store(uint8_t* p, I v, size_t n) {
    _mm512_mask_storeu_epi8(p, n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1, v);
  }
};
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
  static I Scale(I acc, F scale, F max) {
    const F x = _mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale), max);
    return _mm256_cvtps_epi32(x);  // MXCSR's rounding: to nearest even
  }
  static I PackZp(I a, I b, I zp) { return _mm256_adds_epi16(_mm256_packs_epi32(a, b), zp); }
  template <typename T>
  static I PackBytes(I a, I b, I qmin) {
    if constexpr (std::is_same_v<T, int8_t>) return _mm256_max_epi8(_mm256_packs_epi16(a, b), qmin);
    return _mm256_max_epu8(_mm256_packus_epi16(a, b), qmin);
  }
  static void Store(uint8_t* p, I v, size_t n) {
    _mm256_mask_storeu_epi8(p, n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1, v);
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
    _mm_mask_storeu_epi8(p, n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1), v);
  }
};

// pshufb masks for a single tap (above); 0x80 zeroes the other three bytes of each dword.
struct SingleTapMasks {
  alignas(64) uint8_t bytes[4][64];
  constexpr SingleTapMasks() : bytes() {
    for (int j = 0; j < 4; ++j) {
      for (int b = 0; b < 64; ++b) {
        const int i = (b % 16) / 4;
        bytes[j][b] = b % 4 == 0 ? static_cast<uint8_t>(4 * j + i) : 0x80;
      }
    }
  }
};
constexpr SingleTapMasks kSingleTapTable;
constexpr const uint8_t (&kSingleTap)[4][64] = kSingleTapTable.bytes;

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

// 3x3 filters packed a column per group (taps_per_group 3): the window's taps are three triples
// of consecutive pointers, and when the next pixel's window starts one or two triples further
// on (input_stride 3 or 6: a column-major 3x3 window with stride 1 or 2), the triples it shares
// with this pixel were loaded, flipped and interleaved already. kReuse: 1, 2 or 0 (none).
template <typename T, bool kFlip, int W, bool kSums, int kReuse>
void TileColumns(size_t n, size_t c0, size_t output_width, const uint8_t* const* input,
                 size_t input_stride, const uint8_t* w, uint8_t* output, size_t channels,
                 const QuantEpilogue& e) {
  using Op = V<W>;
  using I = typename Op::I;
  using F = typename Op::F;
  const uint8_t* weights = w + kTile * 4;
  const uint8_t* tail = weights + 3 * kTile * 4;
  I factor[4];
  F scale[4];
  for (int v = 0; v < 4; ++v) {
    scale[v] = Op::LoadF(tail + kTile * v);
    factor[v] = kSums ? Op::Load(tail + kTile * (4 + v)) : Op::Zero();
  }
  const I flip = Op::Bytes(static_cast<int8_t>(0x80));
  const F max = Op::SetF(e.max);
  const I zp = Op::Words(static_cast<int16_t>(e.zero_point));
  const I qmin = Op::Bytes(static_cast<int8_t>(e.qmin));
  auto column = [&](const uint8_t* const* taps, I v[4]) {
    I x[3];
    for (int q = 0; q < 3; ++q) {
      x[q] = Op::Load(taps[q] + c0);
      if constexpr (kFlip) x[q] = Op::Xor(x[q], flip);
    }
    Interleave<W>(x[0], x[1], x[2], Op::Zero(), v);
  };
  I col[3][4];
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    NextColumns<kReuse>(p, in, col, column);
    I acc[4], sums[4];
    for (int v = 0; v < 4; ++v) {
      acc[v] = Op::Load(w + kTile * v);
      sums[v] = Op::Zero();
    }
    for (int j = 0; j < 3; ++j) {
      for (int v = 0; v < 4; ++v) {
        acc[v] = DotAdd(acc[v], col[j][v], Op::Load(weights + kTile * (4 * j + v)));
      }
      if constexpr (kSums) {
        const I ones = Op::Bytes(1);  // the fourth tap's bytes are zero
        for (int v = 0; v < 4; ++v) sums[v] = DotAdd(sums[v], col[j][v], ones);
      }
    }
    if constexpr (kSums) {
      for (int v = 0; v < 4; ++v) acc[v] = Op::Add(acc[v], Op::Mul(sums[v], factor[v]));
    }
    const I bytes = Op::template PackBytes<T>(
        Op::PackZp(Op::Scale(acc[0], scale[0], max), Op::Scale(acc[1], scale[1], max), zp),
        Op::PackZp(Op::Scale(acc[2], scale[2], max), Op::Scale(acc[3], scale[3], max), zp), qmin);
    Op::Store(output + p * channels + c0, bytes, n);
  }
}

template <typename T, bool kFlip, int W, bool kSums>
void TileColumnsAnyStride(size_t n, size_t c0, size_t output_width, const uint8_t* const* input,
                          size_t input_stride, const uint8_t* w, uint8_t* output, size_t channels,
                          const QuantEpilogue& e) {
  if (input_stride == 3) {
    TileColumns<T, kFlip, W, kSums, 1>(n, c0, output_width, input, input_stride, w, output,
                                       channels, e);
  } else if (input_stride == 6) {
    TileColumns<T, kFlip, W, kSums, 2>(n, c0, output_width, input, input_stride, w, output,
                                       channels, e);
  } else {
    TileColumns<T, kFlip, W, kSums, 0>(n, c0, output_width, input, input_stride, w, output,
                                       channels, e);
  }
}

template <typename T, bool kFlip>
void DwconvColumns(size_t channels, size_t output_width, size_t taps, const uint8_t* const* input,
                   size_t input_stride, const void* packed_w, uint8_t* output,
                   const QuantEpilogue* e) {
  (void)taps;  // 9
  const size_t tile_bytes = kTile * 4 + 3 * kTile * 4 + kTile * 8 + 16;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
    const size_t n = channels - c0 < kTile ? channels - c0 : kTile;
    int32_t needs_sums;
    std::memcpy(&needs_sums, w + tile_bytes - 16, 4);
    if (needs_sums != 0) {
      if (n > 32) {
        TileColumnsAnyStride<T, kFlip, 64, true>(n, c0, output_width, input, input_stride, w,
                                                 output, channels, *e);
      } else if (n > 16) {
        TileColumnsAnyStride<T, kFlip, 32, true>(n, c0, output_width, input, input_stride, w,
                                                 output, channels, *e);
      } else {
        TileColumnsAnyStride<T, kFlip, 16, true>(n, c0, output_width, input, input_stride, w,
                                                 output, channels, *e);
      }
    } else if (n > 32) {
      TileColumnsAnyStride<T, kFlip, 64, false>(n, c0, output_width, input, input_stride, w, output,
                                                channels, *e);
    } else if (n > 16) {
      TileColumnsAnyStride<T, kFlip, 32, false>(n, c0, output_width, input, input_stride, w, output,
                                                channels, *e);
    } else {
      TileColumnsAnyStride<T, kFlip, 16, false>(n, c0, output_width, input, input_stride, w, output,
                                                channels, *e);
    }
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
    // The tile's remaining channels pick the vector width: 16, 32 or all 64 lanes.
    if (needs_sums != 0) {
      if (n > 32) {
        Tile<T, kFlip, 64, true>(n, c0, output_width, taps, input, input_stride, w, output,
                                 channels, *e);
      } else if (n > 16) {
        Tile<T, kFlip, 32, true>(n, c0, output_width, taps, input, input_stride, w, output,
                                 channels, *e);
      } else {
        Tile<T, kFlip, 16, true>(n, c0, output_width, taps, input, input_stride, w, output,
                                 channels, *e);
      }
    } else if (n > 32) {
      Tile<T, kFlip, 64, false>(n, c0, output_width, taps, input, input_stride, w, output, channels,
                                *e);
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
const DwconvKernelInfo kQ8Dwconv3x3p64c4Avx512vnni = {
    "q8_dwconv_3x3p64c4__avx512vnni", kTile,  9, 4, {128, 0}, DwconvColumns<int8_t, true>,
    DwconvColumns<uint8_t, false>,    kLanes, 3};
const DwconvKernelInfo kQ8Dwconv9p64c4Avx512vnni = {
    "q8_dwconv_9p64c4__avx512vnni", kTile, 9, 4, {128, 0}, Dwconv<int8_t, true, 9>,
    Dwconv<uint8_t, false, 9>,      kLanes};
const DwconvKernelInfo kQ8Dwconv25p64c4Avx512vnni = {
    "q8_dwconv_25p64c4__avx512vnni", kTile, 25, 4, {128, 0}, Dwconv<int8_t, true, 25>,
    Dwconv<uint8_t, false, 25>,      kLanes};
const DwconvKernelInfo kQ8DwconvUp64c4Avx512vnni = {
    "q8_dwconv_up64c4__avx512vnni", kTile, 0, 4, {128, 0}, Dwconv<int8_t, true, 0>,
    Dwconv<uint8_t, false, 0>,      kLanes};

}  // namespace wisp
