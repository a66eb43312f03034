// A whole run of any model that loads: load (either format) -> prepare -> invoke on zero inputs.
// Models whose graph or activations are large are skipped, so each input costs milliseconds and
// the fuzzer explores kernel preparation rather than spending its time in big convolutions.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "runtime/api/load_model.h"
#include "runtime/interpreter/interpreter.h"

namespace {

constexpr size_t kMaxOperators = 64;
constexpr size_t kMaxTensorBytes = 4u << 20;   // any one tensor
constexpr size_t kMaxActivationBytes = 16u << 20;  // all non-constant tensors together

bool SmallEnough(const wisp::Model& m) {
  if (m.operators().size() > kMaxOperators) return false;
  size_t activations = 0;
  for (const wisp::TensorDesc& t : m.tensors()) {
    if (t.bytes > kMaxTensorBytes) return false;
    if (!t.is_constant()) activations += t.bytes;
    if (activations > kMaxActivationBytes) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = wisp::LoadModelBytes(data, size, nullptr);
  if (!model.ok() || !SmallEnough(*model.value())) return 0;
  auto interpreter = wisp::Interpreter::Create(model.value());
  if (!interpreter.ok()) return 0;
  wisp::Interpreter& in = *interpreter.value();
  for (size_t i = 0; i < in.num_inputs(); ++i) {
    if (in.input_data(i) != nullptr) std::memset(in.input_data(i), 0, in.input(i).bytes);
  }
  (void)in.Invoke();
  return 0;
}
