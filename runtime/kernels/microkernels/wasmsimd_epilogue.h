// The requantization epilogue (quant_epilogue.h) on WebAssembly SIMD128 lanes, shared by the
// wasmsimd and wasmrelaxed microkernels.
#pragma once

#include <wasm_simd128.h>

#include <cstdint>
#include <type_traits>

#include "runtime/core/noinline.h"
#include "runtime/kernels/microkernels/quant_epilogue.h"

namespace wisp {

// Four int32 accumulators and their float scales -> four requantized int32 values.
inline v128_t WasmRequantize4(v128_t acc, v128_t scale, const QuantEpilogue& e) {
  v128_t x = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), scale);
  x = wasm_f32x4_pmax(wasm_f32x4_splat(e.min), x);
  x = wasm_f32x4_pmin(wasm_f32x4_splat(e.max), x);
  x = wasm_f32x4_add(x, wasm_f32x4_splat(kMagicBias));
  return wasm_i32x4_sub(x, wasm_i32x4_splat(e.magic_minus_zero_point));
}

// The requantization of quant_epilogue.h with both clamps moved to the integer domain (XNNPACK's
// fp32 "magic" epilogue for SIMD128): the biased float's bits are clamped below at those of
// magic + (qmin - zp), which equals clamping the float first, since the bits of positive floats
// grow with their value and anything below that bound (a negative sum included) maps to it; the
// saturating narrowing and one byte min do the upper clamp. One i32x4.max instead of an f32x4
// min and max per four values.
struct WasmIntClamp {
  v128_t magic, magic_min, magic_minus_zp, qmax;
};

template <typename T>
WasmIntClamp MakeWasmIntClamp(const QuantEpilogue& e) {
  return {wasm_f32x4_splat(kMagicBias), wasm_i32x4_splat(0x4B400000 + static_cast<int32_t>(e.min)),
          wasm_i32x4_splat(e.magic_minus_zero_point),
          std::is_same_v<T, int8_t> ? wasm_i8x16_splat(static_cast<int8_t>(e.qmax))
                                    : wasm_u8x16_splat(static_cast<uint8_t>(e.qmax))};
}

inline v128_t WasmRequantizeIntClamp4(v128_t acc, v128_t scale, const WasmIntClamp& c) {
  const v128_t biased =
      wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc), scale), c.magic);
  return wasm_i32x4_sub(wasm_i32x4_max(biased, c.magic_min), c.magic_minus_zp);
}

template <typename T>
inline v128_t WasmNarrowClamp16(v128_t q0, v128_t q1, v128_t q2, v128_t q3, const WasmIntClamp& c) {
  const v128_t lo = wasm_i16x8_narrow_i32x4(q0, q1), hi = wasm_i16x8_narrow_i32x4(q2, q3);
  if constexpr (std::is_same_v<T, int8_t>) {
    return wasm_i8x16_min(wasm_i8x16_narrow_i16x8(lo, hi), c.qmax);
  }
  return wasm_u8x16_min(wasm_u8x16_narrow_i16x8(lo, hi), c.qmax);
}

// Sixteen requantized int32 values (already within [qmin, qmax]) -> sixteen bytes of T.
template <typename T>
inline v128_t WasmNarrow16(v128_t q0, v128_t q1, v128_t q2, v128_t q3) {
  const v128_t lo = wasm_i16x8_narrow_i32x4(q0, q1);
  const v128_t hi = wasm_i16x8_narrow_i32x4(q2, q3);
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i8x16_narrow_i16x8(lo, hi);
  return wasm_u8x16_narrow_i16x8(lo, hi);
}

template <typename T>
inline v128_t WasmNarrow8(v128_t q0, v128_t q1) {
  const v128_t lo = wasm_i16x8_narrow_i32x4(q0, q1);
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i8x16_narrow_i16x8(lo, lo);
  return wasm_u8x16_narrow_i16x8(lo, lo);
}

// Stores the first n (< 16) bytes of v.
inline void WasmStorePartial(uint8_t* out, v128_t v, size_t n) {
  if (n & 8) {
    wasm_v128_store64_lane(out, v, 0);
    v = wasm_i64x2_shuffle(v, v, 1, 1);
    out += 8;
  }
  if (n & 4) {
    wasm_v128_store32_lane(out, v, 0);
    v = wasm_u64x2_shr(v, 32);
    out += 4;
  }
  if (n & 2) {
    wasm_v128_store16_lane(out, v, 0);
    v = wasm_u32x4_shr(v, 16);
    out += 2;
  }
  if (n & 1) wasm_v128_store8_lane(out, v, 0);
}

// A GEMM block's last channels (n < 8) for a pair of rows (row r in bytes 0-7, row r + 1, unless
// null, in 8-15). Out of line: only a layer's last block takes it, and inlined for every pair of
// rows it made the GEMMs' bodies larger, which V8 recompiles whole (see WidenRows in
// q8_gemm_4x8c2__wasmsimd.cc). The depthwise kernels keep their tails inline: a tile of 8
// channels (vww, mobilenet_v1_0.25) takes it at every pixel.
WISP_NOINLINE inline void WasmStoreRowPairPartial(uint8_t* row, uint8_t* next_row, v128_t bytes,
                                                  size_t n) {
  WasmStorePartial(row, bytes, n);
  if (next_row != nullptr) WasmStorePartial(next_row, wasm_i64x2_shuffle(bytes, bytes, 1, 1), n);
}

// For GEMMs on 8-bit packed weights (pack.h): the uint8 channels packed around 128 instead of
// their zero point add factor x the row's input sum, the block's 8 int32 factors at `factors`.
// Rows past mr use the last row's sum.
template <int R>
inline void WasmAddRowSumFactors(v128_t* lo, v128_t* hi, const uint8_t* factors,
                                 const int32_t* row_sums, size_t mr) {
  const v128_t f_lo = wasm_v128_load(factors), f_hi = wasm_v128_load(factors + 16);
  for (int r = 0; r < R; ++r) {
    const v128_t sum = wasm_i32x4_splat(row_sums[static_cast<size_t>(r) < mr ? r : mr - 1]);
    lo[r] = wasm_i32x4_add(lo[r], wasm_i32x4_mul(f_lo, sum));
    hi[r] = wasm_i32x4_add(hi[r], wasm_i32x4_mul(f_hi, sum));
  }
}

// The end of a GEMM block of R rows x 8 channels (the wasmsimd and wasmrelaxed GEMMs):
// requantizes the accumulators (lo: channels 0-3, hi: 4-7; float scales at `scales`) and stores
// the first n channels of each row at out[r] + n0. Rows go in pairs, both narrowed into one
// vector (row r in bytes 0-7, row r + 1 in 8-15): half the narrowing and clamping of one row at
// a time. Duplicate rows (out[r] equal for r >= mr) store the same bytes twice.
template <typename T, int R>
inline void WasmStoreGemmBlock8(const v128_t* lo, const v128_t* hi, const uint8_t* scales,
                                const WasmIntClamp& clamp, uint8_t* const* out, size_t n0,
                                size_t n) {
  const v128_t scale_lo = wasm_v128_load(scales), scale_hi = wasm_v128_load(scales + 16);
  for (int r = 0; r < R; r += 2) {
    const int r1 = r + 1 < R ? r + 1 : r;
    const v128_t bytes =
        WasmNarrowClamp16<T>(WasmRequantizeIntClamp4(lo[r], scale_lo, clamp),
                             WasmRequantizeIntClamp4(hi[r], scale_hi, clamp),
                             WasmRequantizeIntClamp4(lo[r1], scale_lo, clamp),
                             WasmRequantizeIntClamp4(hi[r1], scale_hi, clamp), clamp);
    if (n == 8) {
      wasm_v128_store64_lane(out[r] + n0, bytes, 0);
      if (r1 != r) wasm_v128_store64_lane(out[r1] + n0, bytes, 1);
    } else {
      WasmStoreRowPairPartial(out[r] + n0, r1 != r ? out[r1] + n0 : nullptr, bytes, n);
    }
  }
}

// The end of a 16-channel depthwise tile (the wasmrelaxed dwconv kernels): acc[v] holds channels
// 4v..4v+3; requantized with the float scales at `scales` and stored as the first n (all 16 when
// n >= 16) bytes at out. kHalf: at most 8 channels are left, only acc[0] and acc[1] were computed.
template <typename T, bool kHalf = false>
inline void WasmStoreDwconvTile16(const v128_t* acc, const uint8_t* scales,
                                  const WasmIntClamp& clamp, uint8_t* out, size_t n) {
  const v128_t q0 = WasmRequantizeIntClamp4(acc[0], wasm_v128_load(scales), clamp);
  const v128_t q1 = WasmRequantizeIntClamp4(acc[1], wasm_v128_load(scales + 16), clamp);
  const v128_t q2 =
      kHalf ? q0 : WasmRequantizeIntClamp4(acc[2], wasm_v128_load(scales + 32), clamp);
  const v128_t q3 =
      kHalf ? q1 : WasmRequantizeIntClamp4(acc[3], wasm_v128_load(scales + 48), clamp);
  const v128_t bytes = WasmNarrowClamp16<T>(q0, q1, q2, q3, clamp);
  if (n >= 16) {
    wasm_v128_store(out, bytes);
  } else {
    WasmStorePartial(out, bytes, n);
  }
}

// Float32 kernels (f32_conv.h): min(max(acc, lo), hi) exactly as std::min / std::max compute it.
// pmax(acc, lo) is `acc < lo ? lo : acc` (std::max(acc, lo), a NaN accumulator passes) and
// pmin(v, hi) is `hi < v ? hi : v` (std::min(v, hi)).
inline v128_t WasmClampF32(v128_t acc, v128_t lo, v128_t hi) {
  return wasm_f32x4_pmin(wasm_f32x4_pmax(acc, lo), hi);
}

}  // namespace wisp
