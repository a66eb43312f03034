// The predict JSON parser with the input specs of typical models: one float32 image input, and
// two named inputs of other dtypes (object instances keyed by name).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "native/server/predict_json.h"

namespace {

using wisp::server::TensorSpec;

const std::vector<std::vector<TensorSpec>>& SpecSets() {
  static const auto* sets = new std::vector<std::vector<TensorSpec>>{
      {TensorSpec{"x", "float32", {1, 2, 2, 3}, {}, {}}},
      {TensorSpec{"ids", "int32", {1, 4}, {}, {}}, TensorSpec{"mask", "uint8", {1, 4}, {}, {}},
       TensorSpec{"q", "int8", {1, 2}, {0.5f}, {3}}},
      {TensorSpec{"dyn", "float32", {1, -1}, {}, {}}},
  };
  return *sets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the model; the rest is the body.
  const auto& specs = SpecSets()[data[0] % SpecSets().size()];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)wisp::server::ParsePredictJson(body, specs, 4);
  return 0;
}
