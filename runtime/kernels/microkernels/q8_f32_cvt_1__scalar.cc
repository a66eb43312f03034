// 8-bit -> float32 dequantization (convert.h) in portable C++.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Dequantize(size_t n, const uint8_t* input, float* output, int32_t zero_point, float scale) {
  const T* in = reinterpret_cast<const T*>(input);
  for (size_t i = 0; i < n; ++i) {
    output[i] = static_cast<float>(static_cast<int32_t>(in[i]) - zero_point) * scale;
  }
}

}  // namespace

const DequantizeKernelInfo kQ8F32Cvt1Scalar = {"q8_f32_cvt_1__scalar", Dequantize<int8_t>,
                                               Dequantize<uint8_t>};

}  // namespace wisp
