// Register-blocked int8/uint8 GEMM for convolutions (pointwise, or over gathered patches) and
// fully connected layers: out[r][c] = requantize(folded_bias[c] + sum_k x[r][k] * w[c][k]).
//
// Weights are packed in blocks of kGemmBlockN output channels, and within a block as pairs of
// consecutive k: [k/2][channel][2] int16. A pair of inputs (x[k], x[k+1]) as two int16 lanes then
// meets the pairs of 4 channels in one 16-bit multiply-add (SSE2 pmaddwd, WebAssembly
// i32x4.dot_i16x8_s): 8 multiply-adds per instruction. Each pair sum is exact in int32
// (|x| <= 255, |w| <= 510), and the accumulators wrap like XNNPACK's int32 arithmetic, so the
// results equal the reference kernels bit for bit. Without SIMD the same pairs run in scalar code.
#include <algorithm>
#include <cstring>

#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/optimized/requantize_simd.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define WISP_GEMM_SIMD 1
#elif defined(__SSE2__)
#include <emmintrin.h>
#define WISP_GEMM_SIMD 1
#else
#define WISP_GEMM_SIMD 0
#endif

namespace wisp {

static_assert(kGemmBlockN == 8, "the SIMD kernel covers 8 channels as two vectors of 4");

void PackGemmWeights(const int16_t* filter, int32_t out_c, int32_t in_c,
                     std::vector<int16_t>* packed) {
  const int32_t blocks = (out_c + kGemmBlockN - 1) / kGemmBlockN;
  const int32_t pairs = (in_c + 1) / 2;
  packed->assign(static_cast<size_t>(blocks) * pairs * kGemmBlockN * 2, 0);
  for (int32_t c = 0; c < out_c; ++c) {
    const int32_t block = c / kGemmBlockN, j = c % kGemmBlockN;
    for (int32_t k = 0; k < in_c; ++k) {
      const size_t at =
          ((static_cast<size_t>(block) * pairs + k / 2) * kGemmBlockN + j) * 2 + k % 2;
      (*packed)[at] = filter[static_cast<size_t>(c) * in_c + k];
    }
  }
}

namespace {

// Inputs 2 * kp and 2 * kp + 1 of a widened row as two int16 lanes of one 32-bit word.
inline uint32_t InputPair(const int16_t* row, int32_t kp) {
  uint32_t pair;
  std::memcpy(&pair, row + 2 * kp, sizeof(pair));
  return pair;
}

// acc[r][j] (wrapping int32) over all k for kRows rows and the block's 8 channels. `x` holds the
// rows widened to int16, `pairs` pairs each (an odd in_c is padded with a 0).
template <int kRows>
inline void AccumulateBlock(int32_t pairs, const int16_t* x, const int16_t* w,
                            uint32_t acc[kRows][kGemmBlockN]) {
  const size_t row_stride = static_cast<size_t>(pairs) * 2;
#if WISP_GEMM_SIMD
#if defined(__wasm_simd128__)
  using V = v128_t;
  auto zero = [] { return wasm_i32x4_splat(0); };
  auto splat = [](uint32_t v) { return wasm_i32x4_splat(static_cast<int32_t>(v)); };
  auto load = [](const int16_t* p) { return wasm_v128_load(p); };
  auto madd = [](V a, V b) { return wasm_i32x4_dot_i16x8(a, b); };
  auto add = [](V a, V b) { return wasm_i32x4_add(a, b); };
  auto store = [](uint32_t* p, V v) { wasm_v128_store(p, v); };
#else
  using V = __m128i;
  auto zero = [] { return _mm_setzero_si128(); };
  auto splat = [](uint32_t v) { return _mm_set1_epi32(static_cast<int32_t>(v)); };
  auto load = [](const int16_t* p) { return _mm_loadu_si128(reinterpret_cast<const V*>(p)); };
  auto madd = [](V a, V b) { return _mm_madd_epi16(a, b); };
  auto add = [](V a, V b) { return _mm_add_epi32(a, b); };
  auto store = [](uint32_t* p, V v) { _mm_storeu_si128(reinterpret_cast<V*>(p), v); };
#endif
  V lo[kRows], hi[kRows];
  for (int r = 0; r < kRows; ++r) lo[r] = hi[r] = zero();
  for (int32_t kp = 0; kp < pairs; ++kp) {
    const int16_t* wk = w + static_cast<size_t>(kp) * kGemmBlockN * 2;
    const V w_lo = load(wk);      // channels 0..3, (k, k + 1) each
    const V w_hi = load(wk + 8);  // channels 4..7
    for (int r = 0; r < kRows; ++r) {
      const V xv = splat(InputPair(x + r * row_stride, kp));
      lo[r] = add(lo[r], madd(xv, w_lo));
      hi[r] = add(hi[r], madd(xv, w_hi));
    }
  }
  for (int r = 0; r < kRows; ++r) {
    uint32_t sums[kGemmBlockN];
    store(sums, lo[r]);
    store(sums + 4, hi[r]);
    for (int j = 0; j < kGemmBlockN; ++j) acc[r][j] += sums[j];
  }
#else
  for (int32_t kp = 0; kp < pairs; ++kp) {
    const int16_t* wk = w + static_cast<size_t>(kp) * kGemmBlockN * 2;
    for (int r = 0; r < kRows; ++r) {
      const uint32_t pair = InputPair(x + r * row_stride, kp);
      const int32_t x0 = static_cast<int16_t>(pair & 0xffff);
      const int32_t x1 = static_cast<int16_t>(pair >> 16);
      for (int j = 0; j < kGemmBlockN; ++j) {
        acc[r][j] += static_cast<uint32_t>(x0 * wk[2 * j] + x1 * wk[2 * j + 1]);
      }
    }
  }
#endif
}

template <typename T, int kRows>
inline void GemmBlock(int32_t pairs, int32_t out_c, int32_t block, const int16_t* x,
                      const int16_t* w, const QuantConvParams& p, bool vector_requantize, T* out) {
  const int32_t c0 = block * kGemmBlockN;
  const int32_t n = std::min(kGemmBlockN, out_c - c0);
  // uint32: wraps like XNNPACK's int32 arithmetic instead of overflowing (hostile models).
  uint32_t acc[kRows][kGemmBlockN];
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kGemmBlockN; ++j) {
      acc[r][j] = j < n ? static_cast<uint32_t>(p.folded_bias[c0 + j]) : 0;
    }
  }
  AccumulateBlock<kRows>(pairs, x, w, acc);
#if WISP_REQUANT_SIMD
  if (vector_requantize) {
    for (int r = 0; r < kRows; ++r) {
      Int32x4 lo, hi;
      std::memcpy(&lo, acc[r], sizeof(lo));
      std::memcpy(&hi, acc[r] + 4, sizeof(hi));
      Requantize8(lo, hi, p, c0, n, out + static_cast<size_t>(r) * out_c + c0);
    }
    return;
  }
#else
  (void)vector_requantize;  // no vector epilogue in this build
#endif
  for (int r = 0; r < kRows; ++r) {
    T* o = out + static_cast<size_t>(r) * out_c + c0;
    for (int j = 0; j < n; ++j)
      o[j] = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc[r][j]), p, c0 + j));
  }
}

// Rows [r, r + count) of `input` as int16, each padded to 2 * pairs values.
template <typename T>
void WidenRows(const T* input, int32_t r, int32_t count, int32_t in_c, int32_t pairs,
               int16_t* wide) {
  for (int32_t i = 0; i < count; ++i) {
    const T* x = input + static_cast<size_t>(r + i) * in_c;
    int16_t* w = wide + static_cast<size_t>(i) * pairs * 2;
    for (int32_t k = 0; k < in_c; ++k) w[k] = static_cast<int16_t>(x[k]);
    if (in_c % 2) w[in_c] = 0;
  }
}

template <typename T>
void QuantizedGemm(int32_t rows, int32_t in_c, int32_t out_c, const T* input, const int16_t* packed,
                   const QuantConvParams& p, T* output) {
  const int32_t blocks = (out_c + kGemmBlockN - 1) / kGemmBlockN;
  const int32_t pairs = (in_c + 1) / 2;
  const size_t block_stride = static_cast<size_t>(pairs) * kGemmBlockN * 2;
#if WISP_REQUANT_SIMD
  const bool vector_requantize = Requantize8Exact(p);
#else
  const bool vector_requantize = false;
#endif
  // Each row is widened once and then meets every channel block.
  std::vector<int16_t> wide(static_cast<size_t>(kGemmBlockM) * pairs * 2);
  int32_t r = 0;
  for (; r + kGemmBlockM <= rows; r += kGemmBlockM) {
    WidenRows(input, r, kGemmBlockM, in_c, pairs, wide.data());
    T* out = output + static_cast<size_t>(r) * out_c;
    for (int32_t b = 0; b < blocks; ++b) {
      GemmBlock<T, kGemmBlockM>(pairs, out_c, b, wide.data(), packed + b * block_stride, p,
                                vector_requantize, out);
    }
  }
  for (; r < rows; ++r) {
    WidenRows(input, r, 1, in_c, pairs, wide.data());
    T* out = output + static_cast<size_t>(r) * out_c;
    for (int32_t b = 0; b < blocks; ++b) {
      GemmBlock<T, 1>(pairs, out_c, b, wide.data(), packed + b * block_stride, p, vector_requantize,
                      out);
    }
  }
}

}  // namespace

void QuantizedGemmInt8(int32_t rows, int32_t in_c, int32_t out_c, const int8_t* input,
                       const int16_t* packed, const QuantConvParams& p, int8_t* output) {
  QuantizedGemm(rows, in_c, out_c, input, packed, p, output);
}

void QuantizedGemmUint8(int32_t rows, int32_t in_c, int32_t out_c, const uint8_t* input,
                        const int16_t* packed, const QuantConvParams& p, uint8_t* output) {
  QuantizedGemm(rows, in_c, out_c, input, packed, p, output);
}

}  // namespace wisp
