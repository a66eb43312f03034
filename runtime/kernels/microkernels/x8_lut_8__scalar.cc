// Byte lookup (lut.h) in portable C++, eight bytes per step through advancing pointers: the eight
// table loads are independent, so they overlap. In V8 this measured faster than the 16-swizzle
// SIMD lookup (x8-lut-wasmsimd style: each i8x16.swizzle lowers to two x86 instructions and a
// 256-entry table needs sixteen of them per 16 bytes), so every level uses it.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

void Lut(size_t n, const uint8_t* input, uint8_t* output, const uint8_t* table) {
  const uint8_t* end = input + (n & ~size_t{7});
  while (input != end) {
    const uint8_t y0 = table[input[0]], y1 = table[input[1]];
    const uint8_t y2 = table[input[2]], y3 = table[input[3]];
    const uint8_t y4 = table[input[4]], y5 = table[input[5]];
    const uint8_t y6 = table[input[6]], y7 = table[input[7]];
    output[0] = y0, output[1] = y1, output[2] = y2, output[3] = y3;
    output[4] = y4, output[5] = y5, output[6] = y6, output[7] = y7;
    input += 8;
    output += 8;
  }
  for (size_t i = 0; i < (n & 7); ++i) output[i] = table[input[i]];
}

}  // namespace

const LutKernelInfo kX8Lut8Scalar = {"x8_lut_8__scalar", Lut};

}  // namespace wisp
