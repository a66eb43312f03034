// Row sums for 8-bit GEMM kernels whose packed uint8 weights keep a zero point (pack.h).
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

template <typename T>
void RowSums(size_t mr, size_t kc, size_t ks, const GemmWindow* windows, int32_t shift,
             int32_t* row_sums) {
  for (size_t r = 0; r < mr; ++r) {
    uint32_t sum = static_cast<uint32_t>(shift) * static_cast<uint32_t>(kc * ks);
    for (size_t t = 0; t < ks; ++t) {
      const T* x = reinterpret_cast<const T*>(windows[r][t]);
      for (size_t k = 0; k < kc; ++k) sum += static_cast<uint32_t>(static_cast<int32_t>(x[k]));
    }
    row_sums[r] = static_cast<int32_t>(sum);
  }
}

}  // namespace

const RowSumsFn kQ8RowSumsScalarQs8 = RowSums<int8_t>;
const RowSumsFn kQ8RowSumsScalarQu8 = RowSums<uint8_t>;

}  // namespace wisp
