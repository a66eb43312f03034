// Quantized GEMM on AVX-VNNI (256-bit vpdpbusd without AVX-512), 6 rows x 16 channels per
// register block, 4 k per step: the scheme of q8_gemm_8x32c4__avx512vnni.cc on the 16 vector
// registers these CPUs have (12 accumulators, two weight vectors, the broadcast). Operands in
// the usdot convention (int8 inputs flipped to unsigned bytes, the packed weights signed). VEX
// has no broadcast memory operands, so the flip is a separate instruction per row and step, and
// callers with contiguous rows flip each row tile once instead (qs8_flipped_input). The
// epilogue is the AVX2 kernel's (avx2_gemm_epilogue.h); fewer than 6 rows run a 4-, 2- or
// 1-row copy of the loop.
#include <immintrin.h>

#include <type_traits>

#include "runtime/kernels/microkernels/avx2_gemm_epilogue.h"
#include "runtime/kernels/microkernels/avxvnni_helpers.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kMr = 6, kNr = kAvx2GemmNr, kKr = 4;

template <typename T, bool kFlip, int MR>
void GemmRows(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
              const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
              const QuantEpilogue* e) {
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  GemmWindow win[MR];
  uint8_t* out[MR];
  int32_t sums[MR];
  for (int r = 0; r < MR; ++r) {
    const size_t rr = static_cast<size_t>(r) < mr ? static_cast<size_t>(r) : mr - 1;
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
    sums[r] = row_sums != nullptr ? row_sums[rr] : 0;
  }
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const Avx2GemmEpilogue epilogue(*e);
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    __m256i acc0[MR], acc1[MR];
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
    for (int r = 0; r < MR; ++r) {
      acc0[r] = b0;
      acc1[r] = b1;
    }
    const uint8_t* wk = w + kNr * 4;
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* a[MR];
      for (int r = 0; r < MR; ++r) a[r] = win[r][t];
      for (size_t k = 0; k < kcp; k += kKr, wk += 4 * kNr) {
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk));
        const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wk + 32));
        for (int r = 0; r < MR; ++r) {
          int32_t v;
          std::memcpy(&v, a[r] + k, 4);
          __m256i x = _mm256_set1_epi32(v);
          if constexpr (kFlip) x = _mm256_xor_si256(x, flip);
          acc0[r] = DotAdd(acc0[r], x, w0);
          acc1[r] = DotAdd(acc1[r], x, w1);
        }
      }
    }
    if (row_sums != nullptr) AddRowSums<MR>(wk + 64, sums, acc0, acc1);
    StoreRows<T, MR>(acc0, acc1, wk, epilogue, out, n0, nc - n0 < kNr ? nc - n0 : kNr);
    w = wk + kNr * 8;
  }
}

template <typename T, bool kFlip>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  if (mr > 4) {
    GemmRows<T, kFlip, 6>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else if (mr > 2) {
    GemmRows<T, kFlip, 4>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else if (mr == 2) {
    GemmRows<T, kFlip, 2>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else {
    GemmRows<T, kFlip, 1>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  }
}

}  // namespace

// int8 inputs flipped to unsigned bytes (+128), uint8 inputs as they are.
const GemmKernelInfo kQ8Gemm6x16c4Avxvnni = {
    "q8_gemm_6x16c4__avxvnni", GemmLayout{kMr, kNr, kKr, 1, {128, 0}},
    Gemm<int8_t, true>,        Gemm<uint8_t, false>,
    kQ8RowSumsAvx2Qs8,         kQ8RowSumsAvx2Qu8,
    Gemm<int8_t, false>};

}  // namespace wisp
