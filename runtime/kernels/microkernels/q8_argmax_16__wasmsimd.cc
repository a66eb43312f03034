// ARG_MAX over the last axis of 8-bit rows (reduce.h) on WebAssembly SIMD128: 16 values per step;
// the step's maximum is reduced across lanes, and only when it beats the running maximum is its
// first position found (bitmask of the equal lanes, count trailing zeros). int8 is compared as
// unsigned after flipping the sign bit, which keeps the order. Lanes past the row are masked to
// the smallest value, which cannot beat a real one (a tie keeps the earlier index).
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

inline uint8_t MaxU8(v128_t v) {
  v = wasm_u8x16_max(
      v, wasm_i8x16_shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  v = wasm_u8x16_max(v, wasm_i8x16_shuffle(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  v = wasm_u8x16_max(v, wasm_i8x16_shuffle(v, v, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  v = wasm_u8x16_max(v, wasm_i8x16_shuffle(v, v, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return static_cast<uint8_t>(wasm_u8x16_extract_lane(v, 0));
}

template <bool kSigned>
void Argmax(size_t rows, size_t channels, const uint8_t* input, void* output, bool out64) {
  static const uint8_t kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const v128_t iota = wasm_v128_load(kIota);
  const v128_t flip = wasm_i8x16_splat(kSigned ? static_cast<int8_t>(0x80) : 0);
  for (size_t r = 0; r < rows; ++r, input += channels) {
    int best = -1;
    uint32_t index = 0;
    for (size_t c0 = 0; c0 < channels; c0 += 16) {
      v128_t v = wasm_v128_xor(wasm_v128_load(input + c0), flip);
      if (channels - c0 < 16) {
        const v128_t valid =
            wasm_u8x16_lt(iota, wasm_i8x16_splat(static_cast<int8_t>(channels - c0)));
        v = wasm_v128_and(v, valid);
      }
      const int m = MaxU8(v);
      if (m > best) {
        best = m;
        const uint32_t eq =
            wasm_i8x16_bitmask(wasm_i8x16_eq(v, wasm_i8x16_splat(static_cast<int8_t>(m))));
        index = static_cast<uint32_t>(c0) + static_cast<uint32_t>(__builtin_ctz(eq));
      }
    }
    if (out64) {
      static_cast<int64_t*>(output)[r] = index;
    } else {
      static_cast<int32_t*>(output)[r] = static_cast<int32_t>(index);
    }
  }
}

}  // namespace

const ArgmaxKernelInfo kQ8Argmax16Wasmsimd = {"q8_argmax_16__wasmsimd", Argmax<true>,
                                              Argmax<false>};

}  // namespace wisp
