// Byte lookup (lut.h) with AVX2, 32 bytes per step. vpshufb looks an index up in a 16-byte row of
// the table (per 128-bit lane, the row broadcast to both), giving zero where the index's top bit
// is set. Rows are chained by XOR (row k holds T[16k..16k+15] ^ T[16k-16..16k-1]), and the index
// is lowered by 16 per row: for x in row j of the lower half, rows 0..j see x - 16k >= 0 and
// their XOR is T[x]; rows above j see a negative index and add nothing. The upper half runs the
// same chain on x ^ 0x80, and a blend on x's top bit picks the half. 16 shuffles per 32 bytes
// where the scalar kernel does a load and a store per byte. Short runs (under 64 bytes: the
// runs of a broadcast operator) stay scalar, as the table setup would cost more than it saves;
// the tail runs on a padded copy, so nothing past n is read or written (in place works too).
#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

inline __m256i Row(const uint8_t* table, int k) {
  return _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * k)));
}

inline __m256i Lookup(__m256i x, const __m256i* lo, const __m256i* hi) {
  const __m256i sixteen = _mm256_set1_epi8(16);
  __m256i v = x;
  __m256i u = _mm256_xor_si256(x, _mm256_set1_epi8(static_cast<char>(0x80)));
  __m256i y_lo = _mm256_shuffle_epi8(lo[0], v);
  __m256i y_hi = _mm256_shuffle_epi8(hi[0], u);
  for (int k = 1; k < 8; ++k) {
    v = _mm256_sub_epi8(v, sixteen);
    u = _mm256_sub_epi8(u, sixteen);
    y_lo = _mm256_xor_si256(y_lo, _mm256_shuffle_epi8(lo[k], v));
    y_hi = _mm256_xor_si256(y_hi, _mm256_shuffle_epi8(hi[k], u));
  }
  return _mm256_blendv_epi8(y_lo, y_hi, x);
}

void Lut(size_t n, const uint8_t* input, uint8_t* output, const uint8_t* table) {
  if (n < 64) {
    for (size_t i = 0; i < n; ++i) output[i] = table[input[i]];
    return;
  }
  __m256i lo[8], hi[8];
  lo[0] = Row(table, 0);
  hi[0] = Row(table, 8);
  for (int k = 1; k < 8; ++k) {
    lo[k] = _mm256_xor_si256(Row(table, k), Row(table, k - 1));
    hi[k] = _mm256_xor_si256(Row(table, 8 + k), Row(table, 7 + k));
  }
  for (; n >= 32; n -= 32, input += 32, output += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(input));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(output), Lookup(x, lo, hi));
  }
  if (n != 0) {
    alignas(32) uint8_t buf[32] = {};
    std::memcpy(buf, input, n);
    const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(buf));
    _mm256_store_si256(reinterpret_cast<__m256i*>(buf), Lookup(x, lo, hi));
    std::memcpy(output, buf, n);
  }
}

}  // namespace

const LutKernelInfo kX8Lut32Avx2 = {"x8_lut_32__avx2", Lut};

}  // namespace wisp
