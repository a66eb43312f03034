// Quantized average pooling of one window (avgpool.h) in portable C++, one channel at a time.
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void AvgPool(size_t window_h, size_t window_w, size_t channels, const uint8_t* input,
             size_t row_stride, uint8_t* output, const AvgPoolParams* p) {
  T* out = reinterpret_cast<T*>(output);
  for (size_t c = 0; c < channels; ++c) {
    const int32_t acc = AvgPoolChannelSum<T>(window_h, window_w, channels, input, row_stride, c);
    out[c] = static_cast<T>(AvgPoolRound(acc, *p));
  }
}

}  // namespace

const AvgPoolKernelInfo kQ8Avgpool1cScalar = {"q8_avgpool_1c__scalar", AvgPool<int8_t>,
                                              AvgPool<uint8_t>};

}  // namespace wisp
