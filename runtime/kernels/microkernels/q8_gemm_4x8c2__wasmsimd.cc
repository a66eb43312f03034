// Quantized GEMM on WebAssembly SIMD128, 4 rows x 8 channels per register block, 2 k per step:
// the call first widens its rows' inputs to int16 once (all taps, so the work is shared by every
// block of channels), then each step splats one row's pair of inputs (x[k], x[k+1]) to all four
// 32-bit lanes and meets the weights of 4 channels x 2 k in one i32x4.dot_i16x8_s (x86 pmaddwd).
// The accumulators hold finished per-channel sums, so no reduction is needed before the epilogue.
// Measured in Chromium against a 3x4c8 kernel (8 inputs x 1 channel per dot, reduced at the
// end): 1.2x on large K, 1.7x on the K = 16 expansion layers of MobileNetV2
// (bench/microkernels). Rows too long for the stack buffer are widened chunk by chunk.
//
// Two packings of the same weights, as on AVX2: int16 (w - w_zp), and int8
// (q8_gemm_4x8c2w8__wasmsimd), sign-extended by the loads themselves (v128.load8x8_s: one
// pmovsxbw with a memory operand on x64, so the loop has as many instructions). QuantGemmPlan
// takes the int8 one for layers with a single row tile (fully connected layers: their weights
// stream from memory once per invoke), where it reads half the bytes, and packing writes half as
// many at load time (config.h, streamed_weight_bytes, says why not for large layers too).
// Its uint8 channels whose weights spread wider than a signed byte around their zero point are
// packed as w - 128 and corrected by the rows' input sums (pack.h).
#include <algorithm>

#include "runtime/core/noinline.h"
#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kMr = 4, kNr = 8, kKr = 2;
constexpr size_t kChunk = 2048;  // int16 values per row widened at a time (16 KiB for 4 rows)

template <typename T>
inline v128_t Load8Widened(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

// A step's weights for 4 channels x 2 k (int16 pairs), the packing having WB bytes per weight:
// `half` 0 or 1 picks the block's first or last 4 channels.
template <int WB>
inline v128_t StepWeights(const uint8_t* w, int half) {
  if constexpr (WB == 2) return wasm_v128_load(w + 16 * half);
  return wasm_i16x8_load8x8(w + 8 * half);
}
constexpr size_t StepBytes(int wb) { return 16 * static_cast<size_t>(wb); }

// The end of a block: with 8-bit weights, the uint8 channels packed around 128 add factor x the
// row's input sum (pack.h; factors follow the scales); then requantize and store. Returns the
// bytes of the block's tail (scales, and factors for 8-bit weights).
template <typename T, int R, int WB>
inline size_t FinishBlock(v128_t* lo, v128_t* hi, const uint8_t* w, const int32_t* row_sums,
                          size_t mr, const WasmIntClamp& clamp, uint8_t* const* out, size_t n0,
                          size_t n) {
  if constexpr (WB == 1) {
    if (row_sums != nullptr) WasmAddRowSumFactors<R>(lo, hi, w + 32, row_sums, mr);
  }
  WasmStoreGemmBlock8<T, R>(lo, hi, w, clamp, out, n0, n);
  return WB == 1 ? 64 : 32;
}

// Widens k values [k0, k0 + count) of the window's taps (kcp per tap, zero past kc) to int16, tap
// by tap: one division per call (a division per 8 values, as before, cost more than the
// multiply-adds of a 3x3 layer with 16 input channels).
template <typename T>
inline void WidenRow(GemmWindow window, size_t kc, size_t kcp, size_t k0, size_t count,
                     int16_t* out) {
  size_t t = k0 / kcp, kk = k0 % kcp;
  for (size_t i = 0; i < count; ++t, kk = 0) {
    const uint8_t* x = window[t];
    const size_t n = std::min(kcp - kk, count - i);
    size_t j = 0;
    for (; j + 8 <= n && kk + j + 8 <= kc; j += 8) {
      wasm_v128_store(out + i + j, Load8Widened<T>(x + kk + j));
    }
    for (; j < n; ++j) {
      out[i + j] = kk + j < kc ? static_cast<int16_t>(reinterpret_cast<const T*>(x)[kk + j]) : 0;
    }
    i += n;
  }
}

// The R rows of a call widened. One copy of the loops above, not one per row (clang unrolls a
// loop over a constant R). V8 recompiles a function whole, in time that grows faster than its
// size, and runs its baseline code meanwhile: with four copies, the row tails' partial stores
// and the one-row path inlined, the int8 entry was 6.1 KB and took 30-45 ms of background
// TurboFan work on a cold page (3.3 KB: 13-27 ms). An out-of-line call per row tile instead of
// the loop cost 1.5-3% in steady state on small models (vww, mobilenet_v1_0.25).
template <typename T, int R>
inline void WidenRows(const GemmWindow* win, size_t kc, size_t kcp, size_t k0, size_t count,
                      int16_t (*wide)[kChunk]) {
#pragma clang loop unroll(disable)
  for (int r = 0; r < R; ++r) WidenRow<T>(win[r], kc, kcp, k0, count, wide[r]);
}

// The windows and output rows of the register block's R rows; rows past mr repeat the last one
// (computed again, stored to the same place).
template <int R>
inline void RowsOf(size_t mr, const GemmWindow* windows, uint8_t* c, size_t c_stride,
                   GemmWindow* win, uint8_t** out) {
  for (int r = 0; r < R; ++r) {
    const size_t rr = std::min<size_t>(r, mr - 1);
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
  }
}

// Every row's accumulators start at the block's packed bias (8 channels at `w`).
template <int R>
inline void LoadBias(const uint8_t* w, v128_t* lo, v128_t* hi) {
  const v128_t bias_lo = wasm_v128_load(w), bias_hi = wasm_v128_load(w + 16);
  for (int r = 0; r < R; ++r) {
    lo[r] = bias_lo;
    hi[r] = bias_hi;
  }
}

// R rows are computed (the register block's rows, or 1: a fully connected layer of batch 1 would
// otherwise compute its one row four times). With one row, alternate k steps go to a second pair
// of accumulators so that the adds do not all wait on each other.
template <typename T, int R, int WB>
void GemmRows(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
              const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
              const QuantEpilogue* e) {
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const size_t k_all = ks * kcp;
  const size_t chunk = std::min(k_all, kChunk);
  alignas(16) int16_t wide[R][kChunk];
  GemmWindow win[R];
  uint8_t* out[R];
  RowsOf<R>(mr, windows, c, c_stride, win, out);
  const bool one_chunk = k_all <= kChunk;
  if (one_chunk) {
    WidenRows<T, R>(win, kc, kcp, 0, k_all, wide);
  }
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    v128_t lo[R], hi[R];
    LoadBias<R>(w, lo, hi);
    w += 32;
    v128_t lo2 = wasm_i32x4_splat(0), hi2 = wasm_i32x4_splat(0);  // R == 1 only
    for (size_t k0 = 0; k0 < k_all; k0 += chunk) {
      const size_t count = std::min(chunk, k_all - k0);
      if (!one_chunk) {
        WidenRows<T, R>(win, kc, kcp, k0, count, wide);
      }
      size_t k = 0;
      if constexpr (R == 1) {
        for (; k + 2 * kKr <= count; k += 2 * kKr) {
          const v128_t x0 = wasm_v128_load32_splat(wide[0] + k);
          const v128_t x1 = wasm_v128_load32_splat(wide[0] + k + kKr);
          const uint8_t* w1 = w + StepBytes(WB);
          lo[0] = wasm_i32x4_add(lo[0], wasm_i32x4_dot_i16x8(x0, StepWeights<WB>(w, 0)));
          hi[0] = wasm_i32x4_add(hi[0], wasm_i32x4_dot_i16x8(x0, StepWeights<WB>(w, 1)));
          lo2 = wasm_i32x4_add(lo2, wasm_i32x4_dot_i16x8(x1, StepWeights<WB>(w1, 0)));
          hi2 = wasm_i32x4_add(hi2, wasm_i32x4_dot_i16x8(x1, StepWeights<WB>(w1, 1)));
          w += 2 * StepBytes(WB);
        }
      }
      for (; k < count; k += kKr) {
        const v128_t w_lo = StepWeights<WB>(w, 0), w_hi = StepWeights<WB>(w, 1);
        w += StepBytes(WB);
        for (int r = 0; r < R; ++r) {
          const v128_t x = wasm_v128_load32_splat(wide[r] + k);
          lo[r] = wasm_i32x4_add(lo[r], wasm_i32x4_dot_i16x8(x, w_lo));
          hi[r] = wasm_i32x4_add(hi[r], wasm_i32x4_dot_i16x8(x, w_hi));
        }
      }
    }
    if constexpr (R == 1) {
      lo[0] = wasm_i32x4_add(lo[0], lo2);
      hi[0] = wasm_i32x4_add(hi[0], hi2);
    }
    w += FinishBlock<T, R, WB>(lo, hi, w, row_sums, mr, clamp, out, n0,
                               std::min<size_t>(kNr, nc - n0));
  }
}

// The int16-input entry (GemmKernelInfo::qs8_int16_input): the caller widened the whole image
// once per invoke, so each tap of a window is read where it lies. GemmRows widens a window's taps
// in every call, i.e. every input value once per tap it falls in (nine times in a 3x3 layer);
// with 16-32 channels per pixel that was a fifth of the layer. kc is rounded up to a pair: the
// odd value past a tap meets a zero weight (the caller's buffers have slack after the last tap).
template <typename T, int R>
void GemmRowsInt16Input(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
                        const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
                        const QuantEpilogue* e) {
  (void)row_sums;  // int16 weights never need row sums
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  GemmWindow win[R];
  uint8_t* out[R];
  RowsOf<R>(mr, windows, c, c_stride, win, out);
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    v128_t lo[R], hi[R];
    LoadBias<R>(w, lo, hi);
    w += 32;
    for (size_t t = 0; t < ks; ++t) {
      const int16_t* x[R];
      for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const int16_t*>(win[r][t]);
      for (size_t k = 0; k < kcp; k += kKr) {
        const v128_t w_lo = wasm_v128_load(w), w_hi = wasm_v128_load(w + 16);
        w += 32;
        for (int r = 0; r < R; ++r) {
          const v128_t xk = wasm_v128_load32_splat(x[r] + k);
          lo[r] = wasm_i32x4_add(lo[r], wasm_i32x4_dot_i16x8(xk, w_lo));
          hi[r] = wasm_i32x4_add(hi[r], wasm_i32x4_dot_i16x8(xk, w_hi));
        }
      }
    }
    WasmStoreGemmBlock8<T, R>(lo, hi, w, clamp, out, n0, std::min<size_t>(kNr, nc - n0));
    w += 32;
  }
}

// The one-row paths of the int16-weight entries, out of line: each entry then holds the 4-row
// path alone (size for V8's recompilation, see WidenRows), and a call per row tile is only paid
// by single rows.
template <typename T>
WISP_NOINLINE void GemmOneRow(size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
                              const void* packed_w, uint8_t* c, size_t c_stride,
                              const QuantEpilogue* e) {
  GemmRows<T, 1, 2>(1, nc, kc, ks, windows, packed_w, c, c_stride, nullptr, e);
}
template <typename T>
WISP_NOINLINE void GemmOneRowInt16Input(size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
                                        const void* packed_w, uint8_t* c, size_t c_stride,
                                        const QuantEpilogue* e) {
  GemmRowsInt16Input<T, 1>(1, nc, kc, ks, windows, packed_w, c, c_stride, nullptr, e);
}

// kInt16Input: the int16-input entry (int16 weights only). One row runs alone (a fully
// connected layer of batch 1 would otherwise compute its row four times).
template <typename T, bool kInt16Input, int WB = 2>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  if constexpr (kInt16Input) {
    static_assert(WB == 2, "the int16-input entry reads int16 weights");
    if (mr == 1) {
      GemmOneRowInt16Input<T>(nc, kc, ks, windows, packed_w, c, c_stride, e);
    } else {
      GemmRowsInt16Input<T, kMr>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
    }
  } else if (mr == 1) {
    if constexpr (WB == 2) {
      GemmOneRow<T>(nc, kc, ks, windows, packed_w, c, c_stride, e);
    } else {
      GemmRows<T, 1, WB>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
    }
  } else if constexpr (WB == 1) {
    // 8-bit weights serve layers of a single row tile (config.h, streamed_weight_bytes), mostly
    // one row: those few rows run one at a time, which spares every .wasm variant a 4-row copy
    // of the loop per input type.
    for (size_t r = 0; r < mr; ++r) {
      GemmRows<T, 1, WB>(1, nc, kc, ks, windows + r, packed_w, c + r * c_stride, c_stride,
                         row_sums != nullptr ? row_sums + r : nullptr, e);
    }
  } else {
    GemmRows<T, kMr, WB>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  }
}

}  // namespace

const GemmKernelInfo kQ8Gemm4x8c2Wasmsimd = {"q8_gemm_4x8c2__wasmsimd",
                                             GemmLayout{kMr, kNr, kKr, 2, {0, 0}},
                                             Gemm<int8_t, false>,
                                             Gemm<uint8_t, false>,
                                             nullptr,
                                             nullptr,
                                             nullptr,
                                             false,
                                             Gemm<int8_t, true>,
                                             Gemm<uint8_t, true>};

// 8-bit weights: no int16-input entry (the plan widens nothing for it).
const GemmKernelInfo kQ8Gemm4x8c2w8Wasmsimd = {
    "q8_gemm_4x8c2w8__wasmsimd", GemmLayout{kMr, kNr, kKr, 1, {0, 0}},
    Gemm<int8_t, false, 1>,      Gemm<uint8_t, false, 1>,
    kQ8RowSumsWasmsimdQs8,       kQ8RowSumsWasmsimdQu8};

}  // namespace wisp
