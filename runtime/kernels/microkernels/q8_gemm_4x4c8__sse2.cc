// Quantized GEMM on SSE2 (every x86-64), 4 rows x 4 channels per register block, 8 k per step:
// each row's 8 inputs widened to int16 meet each channel's 8 int16 weights in one pmaddwd; 16
// accumulators of partial sums are reduced to one i32 per channel at the end.
#include <emmintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

constexpr int kMr = 4, kNr = 4, kKr = 8;

template <typename T>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  (void)row_sums;  // int16 weights never need row sums
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  GemmWindow win[kMr];
  uint8_t* out[kMr];
  for (int r = 0; r < kMr; ++r) {
    const size_t rr = std::min<size_t>(r, mr - 1);
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
  }
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    const __m128i bias = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
    w += 16;
    __m128i acc[kMr][kNr];
    for (int r = 0; r < kMr; ++r) {
      for (int j = 0; j < kNr; ++j) acc[r][j] = _mm_setzero_si128();
    }
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* a[kMr];
      for (int r = 0; r < kMr; ++r) a[r] = win[r][t];
      for (size_t k = 0; k < kcp; k += kKr) {
        __m128i x[kMr];
        for (int r = 0; r < kMr; ++r) x[r] = Sse2Load8Widened<T>(a[r] + k);
        for (int j = 0; j < kNr; ++j) {
          const __m128i wj = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16 * j));
          for (int r = 0; r < kMr; ++r)
            acc[r][j] = _mm_add_epi32(acc[r][j], _mm_madd_epi16(x[r], wj));
        }
        w += 16 * kNr;
      }
    }
    const __m128 scale = _mm_loadu_ps(reinterpret_cast<const float*>(w));
    w += 16;
    const size_t n = std::min<size_t>(kNr, nc - n0);
    for (int r = kMr - 1; r >= 0; --r) {
      const __m128i sum =
          _mm_add_epi32(bias, Sse2ReduceAdd4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
      const __m128i q = Sse2Requantize4(sum, scale, *e);
      const __m128i bytes = Sse2Narrow8<T>(q, q);
      if (n == kNr) {
        const int32_t v = _mm_cvtsi128_si32(bytes);
        std::memcpy(out[r] + n0, &v, 4);
      } else {
        Sse2StorePartial(out[r] + n0, bytes, n);
      }
    }
  }
}

}  // namespace

const GemmKernelInfo kQ8Gemm4x4c8Sse2 = {
    "q8_gemm_4x4c8__sse2", GemmLayout{kMr, kNr, kKr, 2, {0, 0}}, Gemm<int8_t>, Gemm<uint8_t>};

}  // namespace wisp
