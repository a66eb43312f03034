// Quantized addition of a broadcast value (vadd.h, QVaddcFn) on WebAssembly SIMD128, 16 elements
// per step: the vadd kernel's scheme with the broadcast operand's term added as a constant. The
// last elements (fewer than 16) take the scalar formula: broadcast runs are often short (a
// per-row value over a few channels), where padded copies would cost more than they save.
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
void Vaddc(size_t n, const uint8_t* a, int32_t b_term, uint8_t* out, const QAddParams* p) {
  const v128_t a_zp = wasm_i16x8_splat(static_cast<int16_t>(p->a_zero_point));
  const v128_t a_mult = wasm_i32x4_splat(p->a_multiplier);
  const v128_t bias = wasm_i32x4_splat(b_term);
  const v128_t out_zp = wasm_i16x8_splat(static_cast<int16_t>(p->output_zero_point));
  const uint32_t shift = p->shift;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t lo, hi;
    if constexpr (std::is_same_v<T, int8_t>) {
      lo = wasm_i16x8_load8x8(a + i), hi = wasm_i16x8_load8x8(a + i + 8);
    } else {
      lo = wasm_u16x8_load8x8(a + i), hi = wasm_u16x8_load8x8(a + i + 8);
    }
    lo = wasm_i16x8_sub(lo, a_zp);
    hi = wasm_i16x8_sub(hi, a_zp);
    auto term = [&](v128_t x) {
      return wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_mul(x, a_mult), bias), shift);
    };
    // Saturating narrowing cannot change a result: saturated values still clamp to the bound.
    const v128_t q_lo =
        wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(term(wasm_i32x4_extend_low_i16x8(lo)),
                                                   term(wasm_i32x4_extend_high_i16x8(lo))),
                           out_zp);
    const v128_t q_hi =
        wasm_i16x8_add_sat(wasm_i16x8_narrow_i32x4(term(wasm_i32x4_extend_low_i16x8(hi)),
                                                   term(wasm_i32x4_extend_high_i16x8(hi))),
                           out_zp);
    v128_t v;
    if constexpr (std::is_same_v<T, int8_t>) {
      v = wasm_i8x16_narrow_i16x8(q_lo, q_hi);
      v = wasm_i8x16_min(wasm_i8x16_max(v, wasm_i8x16_splat(static_cast<int8_t>(p->qmin))),
                         wasm_i8x16_splat(static_cast<int8_t>(p->qmax)));
    } else {
      v = wasm_u8x16_narrow_i16x8(q_lo, q_hi);
      v = wasm_u8x16_min(wasm_u8x16_max(v, wasm_u8x16_splat(static_cast<uint8_t>(p->qmin))),
                         wasm_u8x16_splat(static_cast<uint8_t>(p->qmax)));
    }
    wasm_v128_store(out + i, v);
  }
  const T* as = reinterpret_cast<const T*>(a);
  for (; i < n; ++i) reinterpret_cast<T*>(out)[i] = static_cast<T>(VaddValue(as[i], b_term, *p));
}

}  // namespace

const VaddcKernelInfo kQ8Vaddc16Wasmsimd = {"q8_vaddc_16__wasmsimd", Vaddc<int8_t>, Vaddc<uint8_t>};

}  // namespace wisp
