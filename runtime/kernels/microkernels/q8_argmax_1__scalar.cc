// ARG_MAX over the last axis of 8-bit rows (reduce.h), one value at a time in portable C++.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void Argmax(size_t rows, size_t channels, const uint8_t* input, void* output, bool out64) {
  const T* in = reinterpret_cast<const T*>(input);
  for (size_t r = 0; r < rows; ++r, in += channels) {
    T best = in[0];
    uint32_t index = 0;
    for (size_t c = 1; c < channels; ++c) {
      if (in[c] > best) {
        best = in[c];
        index = static_cast<uint32_t>(c);
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

const ArgmaxKernelInfo kQ8Argmax1Scalar = {"q8_argmax_1__scalar", Argmax<int8_t>, Argmax<uint8_t>};

}  // namespace wisp
