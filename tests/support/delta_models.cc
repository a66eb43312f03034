#include "tests/support/delta_models.h"

#include <cstdint>
#include <random>
#include <vector>

#include "runtime/format/model_builder.h"

namespace wisp::testing {

namespace {

std::vector<int8_t> RandomInt8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  return v;
}

fb::OpOptionsUnion FullyConnected() {
  fb::OpOptionsUnion u;
  u.Set(fb::FullyConnectedOptionsT{});
  return u;
}

}  // namespace

std::string DeltaTestModel(int version) {
  constexpr int kWidth = 1024, kHidden = 4, kClasses = 100;
  ModelBuilder b;
  b.SetName("delta-classifier");
  b.ReserveData(size_t{kWidth} * kWidth * kHidden + size_t{kClasses} * kWidth + 64 * 1024);
  const QuantParams act{{0.05f}, {0}};
  int32_t x = b.AddTensor("input", DType::INT8, {1, kWidth}, act);
  const int32_t input = x;
  for (int layer = 0; layer <= kHidden; ++layer) {
    const bool head = layer == kHidden;
    const int out = head ? kClasses : kWidth;
    const std::string n = head ? "classifier" : "dense" + std::to_string(layer);
    // Only the classifier's weights depend on the version.
    const uint32_t seed = head ? 1000u + static_cast<uint32_t>(version) : 1u + layer;
    int32_t w = b.AddConstant(n + "/weights", DType::INT8, {out, kWidth},
                              RandomInt8(size_t{static_cast<size_t>(out)} * kWidth, seed),
                              QuantParams{{0.002f}, {0}});
    int32_t bias = b.AddConstant(n + "/bias", DType::INT32, {out},
                                 std::vector<int32_t>(static_cast<size_t>(out), 0),
                                 QuantParams{{0.05f * 0.002f}, {0}});
    int32_t y = b.AddTensor(n + "/out", DType::INT8, {1, out}, QuantParams{{0.1f}, {0}});
    b.AddOperator(fb::OpType::FULLY_CONNECTED, {x, w, bias}, {y}, FullyConnected());
    x = y;
  }
  b.SetInputs({input});
  b.SetOutputs({x});
  std::vector<uint8_t> bytes = std::move(b).Finish();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace wisp::testing
