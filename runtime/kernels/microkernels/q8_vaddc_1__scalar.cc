// Quantized addition of a broadcast value (vadd.h, QVaddcFn), one element at a time in portable
// C++.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Vaddc(size_t n, const uint8_t* a_bytes, int32_t b_term, uint8_t* out_bytes,
           const QAddParams* p) {
  const T* a = reinterpret_cast<const T*>(a_bytes);
  T* out = reinterpret_cast<T*>(out_bytes);
  const QAddParams q = *p;
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(VaddValue(a[i], b_term, q));
}

}  // namespace

const VaddcKernelInfo kQ8Vaddc1Scalar = {"q8_vaddc_1__scalar", Vaddc<int8_t>, Vaddc<uint8_t>};

}  // namespace wisp
