// Quantized GEMM on AVX2, 4 rows x 16 channels per register block, 2 k per step: vpmaddwd
// multiplies a row's pair of int16 inputs, broadcast to every 32-bit lane, by 8 channels' pairs
// of int16 weights (w - w_zp) and leaves each channel's sum in its own lane, so 8 accumulators
// take two instructions per 16 multiply-adds and the epilogue needs no horizontal reduction
// (XNNPACK's c8 layout spends most of a small-K layer there). vpmaddwd on exact int16 operands
// cannot saturate, unlike vpmaddubsw on full-range bytes.
//
// The broadcast needs the inputs as int16 in memory: each call widens its rows once into a
// stack buffer (sign- or zero-extending 16 bytes per instruction) and every block of channels
// reads them from there. A window longer than the buffer is widened again per block, a tap (or
// a buffer's worth of it) at a time. Fewer than 4 rows run a 2- or 1-row copy of the loop, and
// a block with at most 8 channels left multiplies only the first 8.
//
// Two packings of the same weights: int16 (w - w_zp), read straight into vpmaddwd, and int8
// (q8_gemm_4x16c2w8__avx2), sign-extended in the loop by two more instructions per step. The
// int16 kernel is ~8% faster while the weights stay in cache; the int8 one reads half the bytes,
// which is what counts where each weight is used by few row tiles and arrives from memory: a
// fully connected layer with one row (1280x1001: 107 -> 31 us) or a 7x7 layer's 400 KB of
// weights (QuantGemmPlan picks it by those conditions). Its uint8 channels whose weights spread
// wider than a signed byte around their zero point are packed as w - 128 and corrected by the
// rows' input sums (pack.h); the inputs are multiplied as they are, so there is no input shift.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/avx2_gemm_epilogue.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kMr = 4, kNr = kAvx2GemmNr, kKr = 2;
constexpr size_t kBufValues = 1024;  // int16 inputs per row held at once (2 KiB)
constexpr size_t kBufSlack = 16;     // the last 16-value store may run past a tap

// dst[0..n) (n rounded up to 16) = src[0..n) widened to int16.
template <typename T>
inline void Widen(const uint8_t* src, size_t n, int16_t* dst) {
  for (size_t i = 0; i < n; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i words =
        std::is_same_v<T, int8_t> ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), words);
  }
}

// The int16 weights of 8 channels' pairs: 32 bytes as they are (WB 2) or 16 sign-extended (WB 1).
template <int WB>
inline __m256i LoadWeights(const uint8_t* w) {
  if constexpr (WB == 1) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
  } else {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  }
}

// acc += pairs [0, n) of the widened rows times the packed weights w (n even, 32 * WB bytes a
// pair). kHalf: at most 8 channels are left (N = 24, 40, ...), the second vector is padding.
template <int WB, int MR, bool kHalf>
inline void Accumulate(const int16_t* const* x, size_t n, const uint8_t* w, __m256i* acc0,
                       __m256i* acc1) {
  for (size_t k = 0; k < n; k += 2, w += kNr * 2 * WB) {
    const __m256i w0 = LoadWeights<WB>(w);
    const __m256i w1 = kHalf ? w0 : LoadWeights<WB>(w + 16 * WB);
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, x[r] + k, 4);
      const __m256i a = _mm256_set1_epi32(pair);
      acc0[r] = _mm256_add_epi32(acc0[r], _mm256_madd_epi16(a, w0));
      if (!kHalf) acc1[r] = _mm256_add_epi32(acc1[r], _mm256_madd_epi16(a, w1));
    }
  }
}

template <int WB, int MR>
inline void AccumulateBlock(bool half, const int16_t* const* x, size_t n, const uint8_t* w,
                            __m256i* acc0, __m256i* acc1) {
  if (half) {
    Accumulate<WB, MR, true>(x, n, w, acc0, acc1);
  } else {
    Accumulate<WB, MR, false>(x, n, w, acc0, acc1);
  }
}

// kInt16Input: the int16-input entry (GemmKernelInfo::qs8_int16_input): the caller widened the
// image once per invoke and each tap is read where it lies, kc rounded up to a pair (the odd
// value past a tap meets a zero weight; the caller's buffers have slack).
template <typename T, int WB, int MR, bool kInt16Input>
void GemmRows(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
              const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
              const QuantEpilogue* e) {
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const size_t total = ks * kcp;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  alignas(32) int16_t x[MR][kBufValues + kBufSlack];
  const int16_t* rows[MR];
  GemmWindow win[MR];
  uint8_t* out[MR];
  int32_t sums[MR];
  for (int r = 0; r < MR; ++r) {
    const size_t rr = static_cast<size_t>(r) < mr ? static_cast<size_t>(r) : mr - 1;
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
    sums[r] = row_sums != nullptr ? row_sums[rr] : 0;
  }
  // Whole windows that fit are widened once for all blocks (taps back to back, kcp apart).
  const bool once = !kInt16Input && total <= kBufValues;
  if (once) {
    for (int r = 0; r < MR; ++r) {
      for (size_t t = 0; t < ks; ++t) Widen<T>(win[r][t], kcp, x[r] + t * kcp);
      rows[r] = x[r];
    }
  }
  const Avx2GemmEpilogue epilogue(*e);
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    __m256i acc0[MR], acc1[MR];
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
    for (int r = 0; r < MR; ++r) {
      acc0[r] = b0;
      acc1[r] = b1;
    }
    const uint8_t* values = w + kNr * 4;
    const bool half = nc - n0 <= kNr / 2;
    if constexpr (kInt16Input) {
      for (size_t t = 0; t < ks; ++t) {
        for (int r = 0; r < MR; ++r) rows[r] = reinterpret_cast<const int16_t*>(win[r][t]);
        AccumulateBlock<WB, MR>(half, rows, kcp, values + t * kcp * kNr * WB, acc0, acc1);
      }
    } else if (once) {
      AccumulateBlock<WB, MR>(half, rows, total, values, acc0, acc1);
    } else {
      for (size_t t = 0; t < ks; ++t) {
        for (size_t k0 = 0; k0 < kcp; k0 += kBufValues) {
          const size_t len = kcp - k0 < kBufValues ? kcp - k0 : kBufValues;
          for (int r = 0; r < MR; ++r) {
            Widen<T>(win[r][t] + k0, len, x[r]);
            rows[r] = x[r];
          }
          AccumulateBlock<WB, MR>(half, rows, len, values + (t * kcp + k0) * kNr * WB, acc0, acc1);
        }
      }
    }
    const uint8_t* scales = values + total * kNr * WB;
    if (WB == 1 && row_sums != nullptr) AddRowSums<MR>(scales + 64, sums, acc0, acc1);
    StoreRows<T, MR>(acc0, acc1, scales, epilogue, out, n0, nc - n0 < kNr ? nc - n0 : kNr);
    w = scales + kNr * (WB == 1 ? 8 : 4);  // the 8-bit layout's row-sum factors follow
  }
}

template <typename T, int WB, bool kInt16Input = false>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  if (mr > 2) {
    GemmRows<T, WB, 4, kInt16Input>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else if (mr == 2) {
    GemmRows<T, WB, 2, kInt16Input>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else {
    GemmRows<T, WB, 1, kInt16Input>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  }
}

}  // namespace

// int16 weights never need row sums.
const GemmKernelInfo kQ8Gemm4x16c2Avx2 = {"q8_gemm_4x16c2__avx2",
                                          GemmLayout{kMr, kNr, kKr, 2, {0, 0}},
                                          Gemm<int8_t, 2>,
                                          Gemm<uint8_t, 2>,
                                          nullptr,
                                          nullptr,
                                          nullptr,
                                          false,
                                          Gemm<int8_t, 2, true>,
                                          Gemm<uint8_t, 2, true>};
const GemmKernelInfo kQ8Gemm4x16c2w8Avx2 = {
    "q8_gemm_4x16c2w8__avx2", GemmLayout{kMr, kNr, kKr, 1, {0, 0}},
    Gemm<int8_t, 1>,          Gemm<uint8_t, 1>,
    kQ8RowSumsAvx2Qs8,        kQ8RowSumsAvx2Qu8};

}  // namespace wisp
