// Quantized row reduction (reduce.h), 4 channels at a time in portable C++.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Rsum(size_t rows, size_t channels, const uint8_t* input, size_t input_stride, int32_t bias,
          float scale, uint8_t* output, const QuantEpilogue* e) {
  for (size_t c0 = 0; c0 < channels; c0 += 4) {
    const size_t n = std::min<size_t>(4, channels - c0);
    uint32_t acc[4] = {static_cast<uint32_t>(bias), static_cast<uint32_t>(bias),
                       static_cast<uint32_t>(bias), static_cast<uint32_t>(bias)};
    for (size_t r = 0; r < rows; ++r) {
      const T* x = reinterpret_cast<const T*>(input + r * input_stride) + c0;
      for (size_t j = 0; j < n; ++j) acc[j] += static_cast<uint32_t>(static_cast<int32_t>(x[j]));
    }
    T* out = reinterpret_cast<T*>(output) + c0;
    for (size_t j = 0; j < n; ++j) {
      out[j] = static_cast<T>(RequantizeMagic(static_cast<int32_t>(acc[j]), scale, *e));
    }
  }
}

}  // namespace

const RsumKernelInfo kQ8Rsum4cScalar = {"q8_rsum_4c__scalar", Rsum<int8_t>, Rsum<uint8_t>};

}  // namespace wisp
