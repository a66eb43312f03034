// Quantized elementwise multiplication (vmul.h) on WebAssembly SIMD128, 16 elements per step:
// eight bytes at a time loaded widened to int16 (v128.load8x8) minus the zero points, exact int32
// products (i32x4.extmul), then the float epilogue and narrowing. The tail runs on copies padded
// to 16.
#include <cstring>
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline v128_t Load8Minus(const uint8_t* p, v128_t zp) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_sub(wasm_i16x8_load8x8(p), zp);
  return wasm_i16x8_sub(wasm_u16x8_load8x8(p), zp);
}

template <typename T>
inline v128_t Mul16(const uint8_t* a, const uint8_t* b, const QMulParams& p, v128_t a_zp,
                    v128_t b_zp, v128_t scale) {
  const v128_t x0 = Load8Minus<T>(a, a_zp), y0 = Load8Minus<T>(b, b_zp);
  const v128_t x1 = Load8Minus<T>(a + 8, a_zp), y1 = Load8Minus<T>(b + 8, b_zp);
  const QuantEpilogue& e = p.epilogue;
  return WasmNarrow16<T>(WasmRequantize4(wasm_i32x4_extmul_low_i16x8(x0, y0), scale, e),
                         WasmRequantize4(wasm_i32x4_extmul_high_i16x8(x0, y0), scale, e),
                         WasmRequantize4(wasm_i32x4_extmul_low_i16x8(x1, y1), scale, e),
                         WasmRequantize4(wasm_i32x4_extmul_high_i16x8(x1, y1), scale, e));
}

template <typename T>
void Vmul(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* out, const QMulParams* p) {
  const v128_t a_zp = wasm_i16x8_splat(static_cast<int16_t>(p->a_zero_point));
  const v128_t b_zp = wasm_i16x8_splat(static_cast<int16_t>(p->b_zero_point));
  const v128_t scale = wasm_f32x4_splat(p->scale);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    wasm_v128_store(out + i, Mul16<T>(a + i, b + i, *p, a_zp, b_zp, scale));
  }
  if (i < n) {
    uint8_t ta[16] = {}, tb[16] = {};
    std::memcpy(ta, a + i, n - i);
    std::memcpy(tb, b + i, n - i);
    WasmStorePartial(out + i, Mul16<T>(ta, tb, *p, a_zp, b_zp, scale), n - i);
  }
}

}  // namespace

const VmulKernelInfo kQ8Vmul16Wasmsimd = {"q8_vmul_16__wasmsimd", Vmul<int8_t>, Vmul<uint8_t>};

}  // namespace wisp
