// float32 -> 8-bit quantization (convert.h) in portable C++, one value at a time with the
// magic-bias rounding (no libm call).
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Quantize(size_t n, const float* input, uint8_t* output, float inv_scale,
              const QuantEpilogue* e) {
  T* out = reinterpret_cast<T*>(output);
  const QuantEpilogue ep = *e;
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(QuantizeMagic(input[i], inv_scale, ep));
}

}  // namespace

const QuantizeKernelInfo kF32Q8Cvt1Scalar = {"f32_q8_cvt_1__scalar", Quantize<int8_t>,
                                             Quantize<uint8_t>};

}  // namespace wisp
