// Quantized bilinear interpolation of one output row (ibilinear.h) in portable C++.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Ibilinear(size_t width, size_t channels, const uint8_t* top, const uint8_t* bottom,
               const IbilinearColumn* columns, int32_t alpha_v, uint8_t* output) {
  T* out = reinterpret_cast<T*>(output);
  for (size_t p = 0; p < width; ++p) {
    const IbilinearColumn& col = columns[p];
    const T* tl = reinterpret_cast<const T*>(top + col.left);
    const T* tr = reinterpret_cast<const T*>(top + col.right);
    const T* bl = reinterpret_cast<const T*>(bottom + col.left);
    const T* br = reinterpret_cast<const T*>(bottom + col.right);
    for (size_t c = 0; c < channels; ++c) {
      *out++ = static_cast<T>(IbilinearValue(tl[c], tr[c], bl[c], br[c], col.alpha, alpha_v));
    }
  }
}

}  // namespace

const IbilinearKernelInfo kQ8Ibilinear1cScalar = {"q8_ibilinear_1c__scalar", Ibilinear<int8_t>,
                                                  Ibilinear<uint8_t>};

}  // namespace wisp
