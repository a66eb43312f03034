// The .wisp loader and verifier: arbitrary bytes must load or fail with a status, never crash.
// The content hash is not checked, so mutations reach the structural verifier instead of stopping
// at a digest mismatch.
#include <cstddef>
#include <cstdint>

#include "runtime/format/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = wisp::Model::Load(data, size, nullptr, wisp::LoadOptions{false});
  if (model.ok()) {
    // Touch what a caller would: names and descriptions read strings out of the buffer.
    const wisp::Model& m = *model.value();
    (void)m.name();
    for (size_t i = 0; i < m.tensors().size(); ++i) (void)m.DescribeTensor(static_cast<int32_t>(i));
    for (size_t i = 0; i < m.operators().size(); ++i) {
      (void)m.DescribeOperator(static_cast<int32_t>(i));
    }
  }
  return 0;
}
