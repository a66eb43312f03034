// Quantized depthwise convolution on AVX2, 16 channels per tile, two taps per step: the two
// taps' inputs, widened to int16, are interleaved word by word (one unpack per half) so that each
// 32-bit lane holds one channel's pair, and vpmaddwd multiplies them by that channel's pair of
// int16 weights (w - w_zp): 16 multiply-adds an instruction, exact, no row sums. The unpacks
// work within 128-bit lanes, so accumulator v holds channels 8l + 4v .. 8l + 4v + 3 in lane l;
// the weights are packed in that order (tap_group 2, channel_lanes 2, pack.h) and the
// saturating packs of the epilogue put the bytes back in channel order. An odd last tap pairs
// with zeros. Channels past the last multiple of 16 are computed on over-read input (the zero
// buffer and the arena have the slack) and stored through a buffer.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kTile = 16;

template <typename T>
inline __m256i Widen16(const uint8_t* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (std::is_same_v<T, int8_t>) return _mm256_cvtepi8_epi16(bytes);
  return _mm256_cvtepu8_epi16(bytes);
}

inline __m256i Load(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

template <typename T, int kTaps>
void Dwconv(size_t channels, size_t output_width, size_t taps_arg, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t taps = kTaps ? static_cast<size_t>(kTaps) : taps_arg;
  const size_t pairs = taps / 2, odd = taps % 2;
  const size_t tile_bytes = kTile * 4 + (pairs + odd) * kTile * 4 + kTile * 4;
  const __m256 max = _mm256_set1_ps(e->max);
  const __m256i zp = _mm256_set1_epi16(static_cast<int16_t>(e->zero_point));
  const __m256i qmin = _mm256_set1_epi8(static_cast<char>(e->qmin));
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
    const size_t n = channels - c0 < kTile ? channels - c0 : kTile;
    const __m256i bias0 = Load(w), bias1 = Load(w + 32);
    const uint8_t* weights = w + kTile * 4;
    const uint8_t* scales = weights + (pairs + odd) * kTile * 4;
    const __m256 s0 = _mm256_loadu_ps(reinterpret_cast<const float*>(scales));
    const __m256 s1 = _mm256_loadu_ps(reinterpret_cast<const float*>(scales + 32));
    for (size_t p = 0; p < output_width; ++p) {
      const uint8_t* const* in = input + p * input_stride;
      __m256i acc0 = bias0, acc1 = bias1;
      const uint8_t* wp = weights;
      for (size_t q = 0; q < pairs; ++q, wp += kTile * 4) {
        const __m256i a = Widen16<T>(in[2 * q] + c0), b = Widen16<T>(in[2 * q + 1] + c0);
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), Load(wp)));
        acc1 =
            _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), Load(wp + 32)));
      }
      if (odd != 0) {
        const __m256i a = Widen16<T>(in[taps - 1] + c0), z = _mm256_setzero_si256();
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, z), Load(wp)));
        acc1 =
            _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, z), Load(wp + 32)));
      }
      // XNNPACK's fp32 epilogue (avx512_helpers.h): min, round to nearest even (MXCSR's default),
      // saturating packs with the zero point, qmin clamp.
      const __m256i q0 =
          _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc0), s0), max));
      const __m256i q1 =
          _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc1), s1), max));
      // Lane l: channels 8l .. 8l + 7 in order, as int16 plus the zero point.
      const __m256i words = _mm256_adds_epi16(_mm256_packs_epi32(q0, q1), zp);
      const __m128i lo = _mm256_castsi256_si128(words), hi = _mm256_extracti128_si256(words, 1);
      const __m128i bytes =
          std::is_same_v<T, int8_t>
              ? _mm_max_epi8(_mm_packs_epi16(lo, hi), _mm256_castsi256_si128(qmin))
              : _mm_max_epu8(_mm_packus_epi16(lo, hi), _mm256_castsi256_si128(qmin));
      uint8_t* out = output + p * channels + c0;
      if (n == kTile) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
      } else {
        alignas(16) uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
        std::memcpy(out, tmp, n);
      }
    }
  }
}

}  // namespace

const DwconvKernelInfo kQ8Dwconv9p16c2Avx2 = {
    "q8_dwconv_9p16c2__avx2", kTile, 9, 2, {0, 0}, Dwconv<int8_t, 9>, Dwconv<uint8_t, 9>, 2};
const DwconvKernelInfo kQ8Dwconv25p16c2Avx2 = {
    "q8_dwconv_25p16c2__avx2", kTile, 25, 2, {0, 0}, Dwconv<int8_t, 25>, Dwconv<uint8_t, 25>, 2};
const DwconvKernelInfo kQ8DwconvUp16c2Avx2 = {
    "q8_dwconv_up16c2__avx2", kTile, 0, 2, {0, 0}, Dwconv<int8_t, 0>, Dwconv<uint8_t, 0>, 2};

}  // namespace wisp
