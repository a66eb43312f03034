// Quantized bilinear interpolation of one output row (ibilinear.h) on WebAssembly SIMD128, eight
// channels per step: bytes loaded widened to int16 (v128.load8x8), the horizontal pass as exact
// int16 x int16 -> int32 products (i32x4.extmul with 2^11 and alpha_h), the vertical pass in int32.
// The results are within the 8-bit range, so the saturating narrowing is exact. The last channels
// (fewer than 8) take the scalar formula.
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline v128_t Load8(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

template <typename T>
void Ibilinear(size_t width, size_t channels, const uint8_t* top, const uint8_t* bottom,
               const IbilinearColumn* columns, int32_t alpha_v, uint8_t* output) {
  const v128_t one = wasm_i16x8_splat(2048);
  const v128_t av = wasm_i32x4_splat(alpha_v);
  const v128_t rounding = wasm_i32x4_splat(1 << 21);
  for (size_t p = 0; p < width; ++p) {
    const IbilinearColumn& col = columns[p];
    const v128_t ah = wasm_i16x8_splat(static_cast<int16_t>(col.alpha));
    const uint8_t* tl = top + col.left;
    const uint8_t* tr = top + col.right;
    const uint8_t* bl = bottom + col.left;
    const uint8_t* br = bottom + col.right;
    size_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      const v128_t vtl = Load8<T>(tl + c), vtr = Load8<T>(tr + c);
      const v128_t vbl = Load8<T>(bl + c), vbr = Load8<T>(br + c);
      const v128_t dt = wasm_i16x8_sub(vtr, vtl), db = wasm_i16x8_sub(vbr, vbl);
      const v128_t t_lo = wasm_i32x4_add(wasm_i32x4_extmul_low_i16x8(vtl, one),
                                         wasm_i32x4_extmul_low_i16x8(dt, ah));
      const v128_t t_hi = wasm_i32x4_add(wasm_i32x4_extmul_high_i16x8(vtl, one),
                                         wasm_i32x4_extmul_high_i16x8(dt, ah));
      const v128_t b_lo = wasm_i32x4_add(wasm_i32x4_extmul_low_i16x8(vbl, one),
                                         wasm_i32x4_extmul_low_i16x8(db, ah));
      const v128_t b_hi = wasm_i32x4_add(wasm_i32x4_extmul_high_i16x8(vbl, one),
                                         wasm_i32x4_extmul_high_i16x8(db, ah));
      auto vertical = [&](v128_t t, v128_t b) {
        const v128_t acc =
            wasm_i32x4_add(wasm_i32x4_shl(t, 11), wasm_i32x4_mul(wasm_i32x4_sub(b, t), av));
        return wasm_i32x4_shr(wasm_i32x4_add(acc, rounding), 22);
      };
      const v128_t bytes = WasmNarrow8<T>(vertical(t_lo, b_lo), vertical(t_hi, b_hi));
      wasm_v128_store64_lane(output, bytes, 0);
      output += 8;
    }
    output = IbilinearChannels<T>(c, channels, tl, tr, bl, br, col.alpha, alpha_v, output);
  }
}

}  // namespace

const IbilinearKernelInfo kQ8Ibilinear8cWasmsimd = {"q8_ibilinear_8c__wasmsimd", Ibilinear<int8_t>,
                                                    Ibilinear<uint8_t>};

}  // namespace wisp
