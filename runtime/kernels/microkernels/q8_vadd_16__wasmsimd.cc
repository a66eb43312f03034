// Quantized elementwise addition (vadd.h) on WebAssembly SIMD128, 16 elements per step: inputs
// widened to int16 minus their zero points, multiplied in int32, shifted, narrowed with
// saturation (which cannot change a result: saturated values still clamp to the same bound), plus
// the output zero point, clamped. The tail runs on copies padded to 16, so nothing is read or
// written past n.
#include <algorithm>
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline v128_t Add16(v128_t a, v128_t b, const QAddParams& p) {
  const v128_t a_zp = wasm_i16x8_splat(static_cast<int16_t>(p.a_zero_point));
  const v128_t b_zp = wasm_i16x8_splat(static_cast<int16_t>(p.b_zero_point));
  const v128_t a_mult = wasm_i32x4_splat(p.a_multiplier);
  const v128_t b_mult = wasm_i32x4_splat(p.b_multiplier);
  const v128_t rounding = wasm_i32x4_splat(p.rounding);
  v128_t a_lo, a_hi, b_lo, b_hi;
  if constexpr (std::is_same_v<T, int8_t>) {
    a_lo = wasm_i16x8_extend_low_i8x16(a), a_hi = wasm_i16x8_extend_high_i8x16(a);
    b_lo = wasm_i16x8_extend_low_i8x16(b), b_hi = wasm_i16x8_extend_high_i8x16(b);
  } else {
    a_lo = wasm_u16x8_extend_low_u8x16(a), a_hi = wasm_u16x8_extend_high_u8x16(a);
    b_lo = wasm_u16x8_extend_low_u8x16(b), b_hi = wasm_u16x8_extend_high_u8x16(b);
  }
  a_lo = wasm_i16x8_sub(a_lo, a_zp), a_hi = wasm_i16x8_sub(a_hi, a_zp);
  b_lo = wasm_i16x8_sub(b_lo, b_zp), b_hi = wasm_i16x8_sub(b_hi, b_zp);
  auto sum = [&](v128_t x, v128_t y) {
    return wasm_i32x4_shr(
        wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_mul(x, a_mult), wasm_i32x4_mul(y, b_mult)),
                       rounding),
        p.shift);
  };
  const v128_t q0 = sum(wasm_i32x4_extend_low_i16x8(a_lo), wasm_i32x4_extend_low_i16x8(b_lo));
  const v128_t q1 = sum(wasm_i32x4_extend_high_i16x8(a_lo), wasm_i32x4_extend_high_i16x8(b_lo));
  const v128_t q2 = sum(wasm_i32x4_extend_low_i16x8(a_hi), wasm_i32x4_extend_low_i16x8(b_hi));
  const v128_t q3 = sum(wasm_i32x4_extend_high_i16x8(a_hi), wasm_i32x4_extend_high_i16x8(b_hi));
  const v128_t out_zp = wasm_i16x8_splat(static_cast<int16_t>(p.output_zero_point));
  const v128_t lo = wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(q0, q1), out_zp);
  const v128_t hi = wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(q2, q3), out_zp);
  if constexpr (std::is_same_v<T, int8_t>) {
    const v128_t v = wasm_i8x16_narrow_i16x8(lo, hi);
    return wasm_i8x16_min(wasm_i8x16_max(v, wasm_i8x16_splat(static_cast<int8_t>(p.qmin))),
                          wasm_i8x16_splat(static_cast<int8_t>(p.qmax)));
  } else {
    const v128_t v = wasm_u8x16_narrow_i16x8(lo, hi);
    return wasm_u8x16_min(wasm_u8x16_max(v, wasm_u8x16_splat(static_cast<uint8_t>(p.qmin))),
                          wasm_u8x16_splat(static_cast<uint8_t>(p.qmax)));
  }
}

template <typename T>
void Vadd(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out, const QAddParams* p) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    wasm_v128_store(out + i, Add16<T>(wasm_v128_load(a + i), wasm_v128_load(b + i), *p));
  }
  if (i < n) {
    uint8_t ta[16] = {}, tb[16] = {};
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    WasmStorePartial(out + i, Add16<T>(wasm_v128_load(ta), wasm_v128_load(tb), *p), n - i);
  }
}

}  // namespace

const VaddKernelInfo kQ8Vadd16Wasmsimd = {"q8_vadd_16__wasmsimd", Vadd<int8_t>, Vadd<uint8_t>};

}  // namespace wisp
