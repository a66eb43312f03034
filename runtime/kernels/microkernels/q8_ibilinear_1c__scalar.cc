// Quantized bilinear interpolation of one output row (ibilinear.h) in portable C++.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Ibilinear(size_t width, size_t channels, const uint8_t* top, const uint8_t* bottom,
               const IbilinearColumn* columns, int32_t alpha_v, uint8_t* output) {
  for (size_t p = 0; p < width; ++p) {
    const IbilinearColumn& col = columns[p];
    output = IbilinearChannels<T>(0, channels, top + col.left, top + col.right, bottom + col.left,
                                  bottom + col.right, col.alpha, alpha_v, output);
  }
}

}  // namespace

const IbilinearKernelInfo kQ8Ibilinear1cScalar = {"q8_ibilinear_1c__scalar", Ibilinear<int8_t>,
                                                  Ibilinear<uint8_t>};

}  // namespace wisp
