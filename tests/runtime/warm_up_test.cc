#include "runtime/api/warm_up.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "runtime/format/model_builder.h"

namespace wisp {
namespace {

// The synthetic networks are valid models whose every operator prepares and runs; a change that
// breaks one (a kernel's validation, the builder) fails here instead of silently at cold start.
TEST(WarmUp, SyntheticNetworksPrepareAndRun) {
  const Status s = WarmUpKernels(2);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

struct Layer {
  fb::OpType type;
  DType dt;
};

// A model of the given operators, each on its own graph input of dtype `dt` (the weights of a
// convolution or fully connected layer in the same dtype).
std::shared_ptr<const Model> ModelOf(const std::vector<Layer>& layers) {
  ModelBuilder b;
  std::vector<int32_t> inputs, outputs;
  for (const Layer& l : layers) {
    const QuantParams quant = l.dt == DType::FLOAT32 ? QuantParams() : QuantParams{{0.5f}, {0}, 0};
    const bool fc = l.type == fb::OpType::FULLY_CONNECTED;
    const Shape shape = fc ? Shape{1, 4} : Shape{1, 2, 2, 4};
    const int32_t in = b.AddTensor("in", l.dt, shape, quant);
    const int32_t out = b.AddTensor("out", l.dt, shape, quant);
    if (l.type == fb::OpType::ADD) {
      b.AddOperator(l.type, {in, in}, {out});
    } else {
      const std::vector<uint8_t> w(16 * DTypeSize(l.dt), 1);
      const int32_t f =
          b.AddConstant("w", l.dt, fc ? Shape{4, 4} : Shape{4, 1, 1, 4}, w.data(), w.size(), quant);
      b.AddOperator(l.type, {in, f, -1}, {out});
    }
    inputs.push_back(in);
    outputs.push_back(out);
  }
  b.SetInputs(inputs);
  b.SetOutputs(outputs);
  auto model = Model::Load(std::move(b).Finish(false), LoadOptions{false});
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? *model : nullptr;
}

// The load-time warm-up runs exactly the networks of the dtypes entering the model's
// convolutions and fully connected layers (elementwise operators are not what they warm).
TEST(WarmUp, DtypesForAModelAreThoseOfItsConvolutionsAndFullyConnectedLayers) {
  using fb::OpType;
  const struct {
    std::vector<Layer> layers;
    unsigned expected;
  } cases[] = {
      {{{OpType::CONV_2D, DType::INT8}, {OpType::ADD, DType::UINT8}}, kWarmUpInt8},
      {{{OpType::DEPTHWISE_CONV_2D, DType::UINT8}, {OpType::ADD, DType::INT8}}, kWarmUpUint8},
      {{{OpType::FULLY_CONNECTED, DType::FLOAT32}, {OpType::ADD, DType::INT8}}, kWarmUpFloat32},
      {{{OpType::FULLY_CONNECTED, DType::INT8}, {OpType::CONV_2D, DType::FLOAT32}},
       kWarmUpInt8 | kWarmUpFloat32},
      {{{OpType::ADD, DType::INT8}, {OpType::ADD, DType::FLOAT32}}, 0u},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto model = ModelOf(cases[i].layers);
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(WarmUpDtypesFor(*model), cases[i].expected) << "case " << i;
  }
}

}  // namespace
}  // namespace wisp
