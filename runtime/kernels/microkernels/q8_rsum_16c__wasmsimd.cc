// Quantized row reduction (reduce.h) on WebAssembly SIMD128: 16 channels per step, widened to
// int16 and added pairwise-free into four int32x4 accumulators per row. The channels past the
// last multiple of 16 take the same path on a copy padded with zeros, so nothing is read past
// a row.
#include <algorithm>
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline void Accumulate16(v128_t x, v128_t* a0, v128_t* a1, v128_t* a2, v128_t* a3) {
  v128_t lo, hi;
  if constexpr (std::is_same_v<T, int8_t>) {
    lo = wasm_i16x8_extend_low_i8x16(x);
    hi = wasm_i16x8_extend_high_i8x16(x);
    *a0 = wasm_i32x4_add(*a0, wasm_i32x4_extend_low_i16x8(lo));
    *a1 = wasm_i32x4_add(*a1, wasm_i32x4_extend_high_i16x8(lo));
    *a2 = wasm_i32x4_add(*a2, wasm_i32x4_extend_low_i16x8(hi));
    *a3 = wasm_i32x4_add(*a3, wasm_i32x4_extend_high_i16x8(hi));
  } else {
    lo = wasm_u16x8_extend_low_u8x16(x);
    hi = wasm_u16x8_extend_high_u8x16(x);
    *a0 = wasm_i32x4_add(*a0, wasm_u32x4_extend_low_u16x8(lo));
    *a1 = wasm_i32x4_add(*a1, wasm_u32x4_extend_high_u16x8(lo));
    *a2 = wasm_i32x4_add(*a2, wasm_u32x4_extend_low_u16x8(hi));
    *a3 = wasm_i32x4_add(*a3, wasm_u32x4_extend_high_u16x8(hi));
  }
}

template <typename T>
void Rsum(size_t rows, size_t channels, const uint8_t* input, size_t input_stride, int32_t bias,
          float scale, uint8_t* output, const QuantEpilogue* e) {
  const v128_t vscale = wasm_f32x4_splat(scale);
  for (size_t c0 = 0; c0 < channels; c0 += 16) {
    const size_t n = std::min<size_t>(16, channels - c0);
    v128_t a0 = wasm_i32x4_splat(bias), a1 = a0, a2 = a0, a3 = a0;
    for (size_t r = 0; r < rows; ++r) {
      const uint8_t* x = input + r * input_stride + c0;
      v128_t v;
      if (n == 16) {
        v = wasm_v128_load(x);
      } else {
        uint8_t padded[16] = {};
        std::memcpy(padded, x, n);
        v = wasm_v128_load(padded);
      }
      Accumulate16<T>(v, &a0, &a1, &a2, &a3);
    }
    const v128_t bytes =
        WasmNarrow16<T>(WasmRequantize4(a0, vscale, *e), WasmRequantize4(a1, vscale, *e),
                        WasmRequantize4(a2, vscale, *e), WasmRequantize4(a3, vscale, *e));
    if (n == 16) {
      wasm_v128_store(output + c0, bytes);
    } else {
      WasmStorePartial(output + c0, bytes, n);
    }
  }
}

}  // namespace

const RsumKernelInfo kQ8Rsum16cWasmsimd = {"q8_rsum_16c__wasmsimd", Rsum<int8_t>, Rsum<uint8_t>};

}  // namespace wisp
