// Quantized elementwise multiplication (vmul.h), one element at a time in portable C++.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Vmul(size_t n, const uint8_t* a_bytes, const uint8_t* b_bytes, uint8_t* out_bytes,
          const QMulParams* p) {
  const T* a = reinterpret_cast<const T*>(a_bytes);
  const T* b = reinterpret_cast<const T*>(b_bytes);
  T* out = reinterpret_cast<T*>(out_bytes);
  const QMulParams q = *p;
  for (size_t i = 0; i < n; ++i) {
    const int32_t acc = (static_cast<int32_t>(a[i]) - q.a_zero_point) *
                        (static_cast<int32_t>(b[i]) - q.b_zero_point);
    out[i] = static_cast<T>(RequantizeMagic(acc, q.scale, q.epilogue));
  }
}

}  // namespace

const VmulKernelInfo kQ8Vmul1Scalar = {"q8_vmul_1__scalar", Vmul<int8_t>, Vmul<uint8_t>};

}  // namespace wisp
