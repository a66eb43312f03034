// Quantized GEMM on AVX512-VNNI, 8 rows x 32 channels per register block, 4 k per step: each
// row's four input bytes, broadcast to all 16 lanes, meet two vectors of 16 channels x 4 signed
// weights in vpdpbusd (64 multiply-adds each), so 16 accumulators take 16 instructions per step
// and 8 broadcasts plus 2 weight loads feed them. The operands are the usdot convention of
// q8_gemm_4x8c4__wasmrelaxed.cc: the input is the unsigned operand (int8 flipped by XOR 0x80,
// uint8 as it is), the packed weights (pack.h) the signed one.
//
// Small K dominates MobileNetV2's expansion layers (K = 16..32 is 4..8 steps), where the
// epilogue costs as much as the dot products, so it stays short: XNNPACK's fp32 form with
// saturating packs (avx512_helpers.h), two rows per 64-byte vector and one permute, masked
// stores for a partial block. A block with at most 16 channels left (N = 16, 144, ...) runs on
// one vector per row instead of computing padding. Fewer than 8 rows (the last row tile)
// run a 4-, 2- or 1-row copy of the loop instead of recomputing the last row.
#include "runtime/kernels/microkernels/avx512_helpers.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kMr = 8, kNr = 32, kKr = 4;

// Requantizes and stores a full block (2 x 16 channels) of MR rows. Always inlined: as a call,
// or as a lambda capturing the accumulators, GCC keeps the accumulators in memory.
template <typename T, int MR, bool kBounded>
__attribute__((always_inline)) inline void StoreBlock(const __m512i (&acc0)[MR],
                                                      const __m512i (&acc1)[MR], __m512 s0,
                                                      __m512 s1, const Avx512Requant& rq,
                                                      uint8_t* const (&out)[MR], size_t n0,
                                                      __mmask32 mask) {
  for (int r = 0; r < MR; r += 2) {
    const int r1 = MR > 1 ? r + 1 : r;
    const __m512i p0 = Avx512PackZp(Avx512Scale<kBounded>(acc0[r], s0, rq),
                                    Avx512Scale<kBounded>(acc1[r], s1, rq), rq);
    const __m512i p1 = MR > 1 ? Avx512PackZp(Avx512Scale<kBounded>(acc0[r1], s0, rq),
                                             Avx512Scale<kBounded>(acc1[r1], s1, rq), rq)
                              : p0;
    // Row r in bytes 0..31, row r + 1 in bytes 32..63.
    const __m512i bytes = Avx512Unshuffle(Avx512PackBytes<T, kBounded>(p0, p1, rq), rq);
    _mm256_mask_storeu_epi8(out[r] + n0, mask, _mm512_castsi512_si256(bytes));
    if (MR > 1) _mm256_mask_storeu_epi8(out[r1] + n0, mask, _mm512_extracti64x4_epi64(bytes, 1));
  }
}

template <typename T, bool kFlip, int MR, bool kBounded>
void GemmRows(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
              const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
              const QuantEpilogue* e) {
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const size_t values_bytes = ks * kcp * kNr;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  const Avx512Requant rq = MakeAvx512Requant<T>(*e);
  GemmWindow win[MR];
  uint8_t* out[MR];
  int32_t sums[MR];
  for (int r = 0; r < MR; ++r) {
    const size_t rr = static_cast<size_t>(r) < mr ? static_cast<size_t>(r) : mr - 1;
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
    sums[r] = row_sums != nullptr ? row_sums[rr] : 0;
  }
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    const size_t n = nc - n0 < kNr ? nc - n0 : kNr;
    const uint8_t* wk = w + kNr * 4;
    const uint8_t* tail = wk + values_bytes;  // scales, then row-sum factors
    if (n > 16) {
      __m512i acc0[MR], acc1[MR];
      const __m512i bias0 = _mm512_loadu_si512(w), bias1 = _mm512_loadu_si512(w + 64);
      for (int r = 0; r < MR; ++r) {
        acc0[r] = bias0;
        acc1[r] = bias1;
      }
      for (size_t t = 0; t < ks; ++t) {
        const uint8_t* a[MR];
        for (int r = 0; r < MR; ++r) a[r] = win[r][t];
        for (size_t k = 0; k < kcp; k += kKr, wk += 4 * kNr) {
          const __m512i w0 = _mm512_loadu_si512(wk), w1 = _mm512_loadu_si512(wk + 64);
#pragma GCC unroll 8
          for (int r = 0; r < MR; ++r) {
            const __m512i x = Broadcast4<kFlip>(a[r] + k);
            acc0[r] = DotAdd(acc0[r], x, w0);
            acc1[r] = DotAdd(acc1[r], x, w1);
          }
        }
      }
      if (row_sums != nullptr) {
        const __m512i f0 = _mm512_loadu_si512(tail + 128), f1 = _mm512_loadu_si512(tail + 192);
        for (int r = 0; r < MR; ++r) {
          const __m512i s = _mm512_set1_epi32(sums[r]);
          acc0[r] = _mm512_add_epi32(acc0[r], _mm512_mullo_epi32(f0, s));
          acc1[r] = _mm512_add_epi32(acc1[r], _mm512_mullo_epi32(f1, s));
        }
      }
      const __m512 s0 = _mm512_loadu_ps(tail), s1 = _mm512_loadu_ps(tail + 64);
      const __mmask32 mask = n == kNr ? ~__mmask32{0} : (__mmask32{1} << n) - 1;
      StoreBlock<T, MR, kBounded>(acc0, acc1, s0, s1, rq, out, n0, mask);
    } else {
      // At most 16 channels left: the second half of the block is padding.
      __m512i acc[MR];
      const __m512i bias0 = _mm512_loadu_si512(w);
      for (int r = 0; r < MR; ++r) acc[r] = bias0;
      for (size_t t = 0; t < ks; ++t) {
        const uint8_t* a[MR];
        for (int r = 0; r < MR; ++r) a[r] = win[r][t];
        for (size_t k = 0; k < kcp; k += kKr, wk += 4 * kNr) {
          const __m512i w0 = _mm512_loadu_si512(wk);
#pragma GCC unroll 8
          for (int r = 0; r < MR; ++r) acc[r] = DotAdd(acc[r], Broadcast4<kFlip>(a[r] + k), w0);
        }
      }
      if (row_sums != nullptr) {
        const __m512i f0 = _mm512_loadu_si512(tail + 128);
        for (int r = 0; r < MR; ++r) {
          acc[r] = _mm512_add_epi32(acc[r], _mm512_mullo_epi32(f0, _mm512_set1_epi32(sums[r])));
        }
      }
      const __m512 s0 = _mm512_loadu_ps(tail);
      const __mmask16 mask = n == 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
      for (int r = 0; r < MR; r += 4) {
        // Rows r..r+3 (repeating the last when MR < 4) in bytes 16j..16j+15.
        __m512i q[4];
        for (int j = 0; j < 4; ++j) {
          q[j] = Avx512Scale<kBounded>(acc[r + j < MR ? r + j : MR - 1], s0, rq);
        }
        const __m512i bytes =
            Avx512Unshuffle(Avx512PackBytes<T, kBounded>(Avx512PackZp(q[0], q[1], rq),
                                                         Avx512PackZp(q[2], q[3], rq), rq),
                            rq);
        _mm_mask_storeu_epi8(out[r] + n0, mask, _mm512_castsi512_si128(bytes));
        if (MR > 1)
          _mm_mask_storeu_epi8(out[r + 1] + n0, mask, _mm512_extracti32x4_epi32(bytes, 1));
        if (MR > 2) {
          _mm_mask_storeu_epi8(out[r + 2] + n0, mask, _mm512_extracti32x4_epi32(bytes, 2));
          _mm_mask_storeu_epi8(out[r + 3] + n0, mask, _mm512_extracti32x4_epi32(bytes, 3));
        }
      }
    }
    w = tail + kNr * 8;
  }
}

// Every block's scales below 1 (avx512_helpers.h: then the epilogue needs no float min).
inline bool AllScalesBelowOne(const void* packed_w, size_t nc, size_t kc, size_t ks) {
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const size_t values_bytes = ks * kcp * kNr;
  const uint8_t* scales = static_cast<const uint8_t*>(packed_w) + kNr * 4 + values_bytes;
  for (size_t n0 = 0; n0 < nc; n0 += kNr, scales += values_bytes + kNr * 12) {
    if (!Avx512ScalesBelowOne(_mm512_loadu_ps(scales)) ||
        !Avx512ScalesBelowOne(_mm512_loadu_ps(scales + 64))) {
      return false;
    }
  }
  return true;
}

template <typename T, bool kFlip, bool kBounded>
void GemmBounded(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
                 const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
                 const QuantEpilogue* e) {
  if (mr > 4) {
    GemmRows<T, kFlip, 8, kBounded>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else if (mr > 2) {
    GemmRows<T, kFlip, 4, kBounded>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else if (mr == 2) {
    GemmRows<T, kFlip, 2, kBounded>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else {
    GemmRows<T, kFlip, 1, kBounded>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  }
}

// Each instantiation has one epilogue: choosing per block inside the loop made GCC spill a
// weight vector out of the inner loop.
template <typename T, bool kFlip>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  if (AllScalesBelowOne(packed_w, nc, kc, ks)) {
    GemmBounded<T, kFlip, true>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else {
    GemmBounded<T, kFlip, false>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  }
}

}  // namespace

// int8 inputs flipped to unsigned bytes (+128), uint8 inputs as they are.
const GemmKernelInfo kQ8Gemm8x32c4Avx512vnni = {"q8_gemm_8x32c4__avx512vnni",
                                                GemmLayout{kMr, kNr, kKr, 1, {128, 0}},
                                                Gemm<int8_t, true>,
                                                Gemm<uint8_t, false>,
                                                kQ8RowSumsAvx2Qs8,
                                                kQ8RowSumsAvx2Qu8,
                                                Gemm<int8_t, false>,
                                                true};

}  // namespace wisp
