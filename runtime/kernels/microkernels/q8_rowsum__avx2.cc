// Row sums for 8-bit GEMM kernels whose packed uint8 weights keep a zero point (gemm.h, pack.h)
// on AVX2: vpsadbw against zero adds 32 unsigned bytes into four 64-bit lanes per instruction.
// int8 inputs are summed as x + 128 (the sign bit flipped), uint8 as they are, and the
// difference to the requested shift is added once per row. Bytes past kc are loaded (rows have
// slack) but masked off.
#include <immintrin.h>

#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

// 0xFF for the first n (< 32) bytes.
inline __m256i FirstBytes(size_t n) {
  const __m256i index =
      _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                       22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
  return _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(n)), index);
}

template <typename T>
void RowSums(size_t mr, size_t kc, size_t ks, const GemmWindow* windows, int32_t shift,
             int32_t* row_sums) {
  const __m256i flip = _mm256_set1_epi8(std::is_same_v<T, int8_t> ? static_cast<char>(0x80) : 0);
  const __m256i tail_mask = FirstBytes(kc % 32);
  const size_t full = kc / 32 * 32;
  // What the sums of bytes (x + 128 for int8) are missing from sum(x + shift).
  const int32_t per_value = std::is_same_v<T, int8_t> ? shift - 128 : shift;
  for (size_t r = 0; r < mr; ++r) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* x = windows[r][t];
      for (size_t k = 0; k < full; k += 32) {
        const __m256i v =
            _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k)), flip);
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, _mm256_setzero_si256()));
      }
      if (full < kc) {
        const __m256i v = _mm256_and_si256(
            _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + full)), flip),
            tail_mask);
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(v, _mm256_setzero_si256()));
      }
    }
    const __m128i sum2 =
        _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    const uint64_t sum = static_cast<uint64_t>(_mm_cvtsi128_si64(sum2)) +
                         static_cast<uint64_t>(_mm_extract_epi64(sum2, 1));
    // Wraps in 32 bits like the scalar reference.
    row_sums[r] =
        static_cast<int32_t>(static_cast<uint32_t>(sum) +
                             static_cast<uint32_t>(per_value) * static_cast<uint32_t>(kc * ks));
  }
}

}  // namespace

const RowSumsFn kQ8RowSumsAvx2Qs8 = RowSums<int8_t>;
const RowSumsFn kQ8RowSumsAvx2Qu8 = RowSums<uint8_t>;

}  // namespace wisp
