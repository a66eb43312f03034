// Quantized elementwise addition (vadd.h), one element at a time in portable C++.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Vadd(size_t n, const uint8_t* a_bytes, const uint8_t* b_bytes, uint8_t* out_bytes,
          const QAddParams* p) {
  const T* a = reinterpret_cast<const T*>(a_bytes);
  const T* b = reinterpret_cast<const T*>(b_bytes);
  T* out = reinterpret_cast<T*>(out_bytes);
  for (size_t i = 0; i < n; ++i) {
    const int32_t acc = p->a_multiplier * (static_cast<int32_t>(a[i]) - p->a_zero_point) +
                        p->b_multiplier * (static_cast<int32_t>(b[i]) - p->b_zero_point) +
                        p->rounding;
    const int32_t v = (acc >> p->shift) + p->output_zero_point;
    out[i] = static_cast<T>(std::min(std::max(v, p->qmin), p->qmax));
  }
}

}  // namespace

const VaddKernelInfo kQ8Vadd1Scalar = {"q8_vadd_1__scalar", Vadd<int8_t>, Vadd<uint8_t>};

}  // namespace wisp
