// Row sums (gemm.h, RowSumsFn) on WebAssembly SIMD128: 16 bytes per step, pairwise-widened to
// int32 lanes; the last partial step masks the bytes past kc (which may be read, not counted).
#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline v128_t Widen4(v128_t bytes) {
  if constexpr (std::is_same_v<T, int8_t>) {
    return wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_extadd_pairwise_i8x16(bytes));
  }
  return wasm_i32x4_extadd_pairwise_i16x8(wasm_u16x8_extadd_pairwise_u8x16(bytes));
}

template <typename T>
void RowSums(size_t mr, size_t kc, size_t ks, const GemmWindow* windows, int32_t shift,
             int32_t* row_sums) {
  static const uint8_t kOnes[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  // kc % 16 leading bytes set: the mask of the last partial step.
  const v128_t tail_mask = wasm_v128_load(kOnes + 16 - kc % 16);
  const size_t full = kc / 16 * 16;
  for (size_t r = 0; r < mr; ++r) {
    v128_t acc = wasm_i32x4_splat(0);
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* x = windows[r][t];
      for (size_t k = 0; k < full; k += 16)
        acc = wasm_i32x4_add(acc, Widen4<T>(wasm_v128_load(x + k)));
      if (full < kc) {
        acc = wasm_i32x4_add(acc, Widen4<T>(wasm_v128_and(wasm_v128_load(x + full), tail_mask)));
      }
    }
    const uint32_t sum = static_cast<uint32_t>(wasm_i32x4_extract_lane(acc, 0)) +
                         static_cast<uint32_t>(wasm_i32x4_extract_lane(acc, 1)) +
                         static_cast<uint32_t>(wasm_i32x4_extract_lane(acc, 2)) +
                         static_cast<uint32_t>(wasm_i32x4_extract_lane(acc, 3));
    row_sums[r] =
        static_cast<int32_t>(sum + static_cast<uint32_t>(shift) * static_cast<uint32_t>(kc * ks));
  }
}

}  // namespace

const RowSumsFn kQ8RowSumsWasmsimdQs8 = RowSums<int8_t>;
const RowSumsFn kQ8RowSumsWasmsimdQu8 = RowSums<uint8_t>;

}  // namespace wisp
