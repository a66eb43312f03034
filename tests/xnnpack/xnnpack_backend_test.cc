// The XNNPACK backend (native/xnnpack) on random single-operator models: every operator it takes
// must equal Wisp's reference kernel bit for bit, and every case it cannot run exactly must be
// declined (Wisp's kernel runs it) with a reason.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "native/xnnpack/xnnpack_provider.h"
#include "runtime/kernels/convolution_params.h"
#include "tests/kernels/op_test_util.h"

namespace wisp {
namespace {

using testing::Options;
using testing::PerChannel;
using testing::PerTensor;
using testing::SingleOpModel;

enum class Kind { kConv, kDepthwise, kFullyConnected };

struct Case {
  Kind kind = Kind::kConv;
  int n = 1, h = 5, w = 5, ic = 3, oc = 4, kh = 3, kw = 3, sh = 1, sw = 1, dh = 1, dw = 1;
  fb::Padding padding = fb::Padding::SAME;
  fb::Activation act = fb::Activation::NONE;
  bool bias = true;
  bool per_channel = true;  // int8 only
  bool allow_minus_128 = false;
};

Shape InputShape(const Case& c) {
  return c.kind == Kind::kFullyConnected ? Shape{c.n, c.ic} : Shape{c.n, c.h, c.w, c.ic};
}
Shape FilterShape(const Case& c) {
  switch (c.kind) {
    case Kind::kConv:
      return {c.oc, c.kh, c.kw, c.ic};
    case Kind::kDepthwise:
      return {1, c.kh, c.kw, c.oc};
    case Kind::kFullyConnected:
      return {c.oc, c.ic};
  }
  return {};
}
Shape OutputShape(const Case& c) {
  if (c.kind == Kind::kFullyConnected) return {c.n, c.oc};
  return {c.n, ConvOutputSize(c.padding, c.h, c.kh, c.sh, c.dh),
          ConvOutputSize(c.padding, c.w, c.kw, c.sw, c.dw), c.oc};
}

fb::OpOptionsUnion OptionsOf(const Case& c) {
  if (c.kind == Kind::kConv) {
    fb::Conv2DOptionsT o;
    o.padding = c.padding, o.stride_h = c.sh, o.stride_w = c.sw;
    o.dilation_h = c.dh, o.dilation_w = c.dw, o.activation = c.act;
    return Options(o);
  }
  if (c.kind == Kind::kDepthwise) {
    fb::DepthwiseConv2DOptionsT o;
    o.padding = c.padding, o.stride_h = c.sh, o.stride_w = c.sw;
    o.dilation_h = c.dh, o.dilation_w = c.dw, o.activation = c.act;
    o.depth_multiplier = c.oc / c.ic;
    return Options(o);
  }
  fb::FullyConnectedOptionsT o;
  o.activation = c.act;
  return Options(o);
}

fb::OpType TypeOf(const Case& c) {
  return c.kind == Kind::kConv        ? fb::OpType::CONV_2D
         : c.kind == Kind::kDepthwise ? fb::OpType::DEPTHWISE_CONV_2D
                                      : fb::OpType::FULLY_CONNECTED;
}

XnnpackProvider& Provider() {
  static XnnpackProvider* p = [] {
    auto created = XnnpackProvider::Create(1);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? created->release() : nullptr;
  }();
  return *p;
}

struct Outcome {
  std::string backend;       // of the operator, with the provider offered
  std::string declined_why;  // the provider's reason when it declined
  bool equal = false;        // provider run == reference run, byte for byte
};

// Builds the case twice (reference kernels; provider offered first) on the same random data.
template <typename T>
Outcome RunCase(const Case& c, uint32_t seed) {
  constexpr bool kInt8 = std::is_same<T, int8_t>::value;
  const DType dt = kInt8 ? DType::INT8 : DType::UINT8;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> qdist(std::numeric_limits<T>::min(),
                                               std::numeric_limits<T>::max());
  std::uniform_int_distribution<int32_t> wdist(c.allow_minus_128 || !kInt8 ? -128 : -127, 127);
  std::uniform_int_distribution<int32_t> bdist(-5000, 5000);
  std::uniform_real_distribution<float> sdist(0.002f, 0.02f);
  std::vector<T> x(static_cast<size_t>(NumElements(InputShape(c))));
  std::vector<T> w(static_cast<size_t>(NumElements(FilterShape(c))));
  for (T& v : x) v = static_cast<T>(qdist(rng));
  for (T& v : w) v = static_cast<T>(kInt8 ? wdist(rng) : qdist(rng));
  std::vector<int32_t> bias(static_cast<size_t>(c.oc));
  for (int32_t& v : bias) v = bdist(rng);
  std::vector<float> scales(static_cast<size_t>(c.oc));
  for (float& v : scales) v = sdist(rng);
  const int axis = c.kind == Kind::kDepthwise ? 3 : 0;
  const QuantParams wq = kInt8 && c.per_channel ? PerChannel(scales, axis)
                         : kInt8                ? PerTensor(scales[0], 0)
                                                : PerTensor(scales[0], 131);
  const int32_t zp = kInt8 ? -7 : 121;

  Outcome outcome;
  std::vector<T> out[2];
  for (int with_provider = 0; with_provider < 2; ++with_provider) {
    SingleOpModel m;
    const int32_t in = m.AddInput("input", dt, InputShape(c), PerTensor(0.05f, zp));
    const int32_t f = m.AddConstant("filter", dt, FilterShape(c), w, wq);
    const int32_t b = c.bias ? m.AddConstant("bias", DType::INT32, {c.oc}, bias) : -1;
    const int32_t o = m.AddOutput("output", dt, OutputShape(c), PerTensor(0.25f, zp / 2));
    m.AddOperator(TypeOf(c), {in, f, b}, {o}, OptionsOf(c));
    InterpreterOptions options;
    options.kernels.reference_only = with_provider == 0;
    options.kernels.provider = with_provider ? &Provider() : nullptr;
    Status st = m.Build(options);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return outcome;
    if (with_provider) {
      outcome.backend = m.interpreter().kernel_backend(0);
      outcome.declined_why = Provider().decline_reason(0);
    }
    m.SetInput(0, x);
    st = m.Invoke();
    EXPECT_TRUE(st.ok()) << st.ToString();
    out[with_provider] = m.Output<T>(0);
  }
  outcome.equal = out[0].size() == out[1].size() &&
                  std::memcmp(out[0].data(), out[1].data(), out[0].size()) == 0;
  return outcome;
}

constexpr fb::Activation kActivations[] = {fb::Activation::NONE, fb::Activation::RELU,
                                           fb::Activation::RELU6, fb::Activation::RELU_N1_TO_1};

// Random geometry for `kind`: batch, kernel, stride, dilation, padding, activation, bias.
Case RandomCase(Kind kind, std::mt19937& rng, int i) {
  std::uniform_int_distribution<int> size(1, 12), kernel(1, 5), stride(1, 3), channels(1, 37);
  Case c;
  c.kind = kind;
  c.n = i % 3 + 1;
  c.ic = channels(rng);
  c.oc = kind == Kind::kDepthwise ? c.ic * (i % 5 == 4 ? 2 : 1) : channels(rng);
  c.act = kActivations[i % 4];
  c.bias = i % 4 != 1;
  c.per_channel = i % 3 != 2;
  if (kind == Kind::kFullyConnected) return c;
  c.h = size(rng), c.w = size(rng);
  c.kh = kernel(rng), c.kw = kernel(rng);
  c.sh = stride(rng), c.sw = stride(rng);
  c.dh = i % 4 == 0 ? 2 : 1, c.dw = i % 5 == 0 ? 2 : 1;
  c.padding = i % 2 ? fb::Padding::SAME : fb::Padding::VALID;
  if (c.padding == fb::Padding::VALID) {
    c.h = std::max(c.h, (c.kh - 1) * c.dh + 1);
    c.w = std::max(c.w, (c.kw - 1) * c.dw + 1);
  }
  return c;
}

std::string Describe(const Case& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "n%d h%d w%d ic%d oc%d k%dx%d s%dx%d d%dx%d %s act %s bias %d per_channel %d", c.n,
                c.h, c.w, c.ic, c.oc, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw,
                c.padding == fb::Padding::SAME ? "SAME" : "VALID", fb::EnumNameActivation(c.act),
                c.bias, c.per_channel);
  return buf;
}

// Every random case: bit-exact with the reference whoever ran it; `taken` counts XNNPACK's.
template <typename T>
void RandomCases(Kind kind, uint32_t seed, int* taken, int* declined) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 30; ++i) {
    const Case c = RandomCase(kind, rng, i);
    SCOPED_TRACE(Describe(c));
    const Outcome o = RunCase<T>(c, seed * 100 + static_cast<uint32_t>(i));
    EXPECT_TRUE(o.equal);
    if (o.backend == "xnnpack") {
      ++*taken;
    } else {
      EXPECT_EQ(o.backend, "wisp");
      EXPECT_FALSE(o.declined_why.empty()) << "declined without a reason";
      ++*declined;
    }
  }
}

// Nothing in the random cases is outside XNNPACK's exact subset: it must take all 30 of each.
template <typename T>
void ExpectAllTaken(Kind kind, uint32_t seed) {
  int taken = 0, declined = 0;
  RandomCases<T>(kind, seed, &taken, &declined);
  EXPECT_EQ(taken, 30) << declined << " declined";
}

TEST(XnnpackBackend, Int8ConvolutionsMatchReference) { ExpectAllTaken<int8_t>(Kind::kConv, 1); }
TEST(XnnpackBackend, Int8DepthwiseMatchesReference) { ExpectAllTaken<int8_t>(Kind::kDepthwise, 2); }
TEST(XnnpackBackend, Int8FullyConnectedMatchesReference) {
  ExpectAllTaken<int8_t>(Kind::kFullyConnected, 3);
}
TEST(XnnpackBackend, Uint8ConvolutionsMatchReference) { ExpectAllTaken<uint8_t>(Kind::kConv, 4); }
TEST(XnnpackBackend, Uint8DepthwiseMatchesReference) {
  ExpectAllTaken<uint8_t>(Kind::kDepthwise, 5);
}
TEST(XnnpackBackend, Uint8FullyConnectedMatchesReference) {
  ExpectAllTaken<uint8_t>(Kind::kFullyConnected, 6);
}

TEST(XnnpackBackend, DeclinesDepthwiseFilterHoldingMinus128) {
  Case c;
  c.kind = Kind::kDepthwise;
  c.ic = c.oc = 64;
  c.allow_minus_128 = true;  // 64*9 draws from [-128, 127]: -128 is all but certain
  const Outcome o = RunCase<int8_t>(c, 7);
  EXPECT_TRUE(o.equal);
  EXPECT_EQ(o.backend, "wisp");
  EXPECT_NE(o.declined_why.find("-128"), std::string::npos) << o.declined_why;
}

TEST(XnnpackBackend, DeclinesFloatAndNamesWhy) {
  SingleOpModel m;
  const int32_t in = m.AddInput("input", DType::FLOAT32, {1, 4});
  const int32_t f = m.AddConstant("filter", DType::FLOAT32, {2, 4}, std::vector<float>(8, 0.5f));
  const int32_t o = m.AddOutput("output", DType::FLOAT32, {1, 2});
  m.AddOperator(fb::OpType::FULLY_CONNECTED, {in, f, -1}, {o});
  InterpreterOptions options;
  options.kernels.provider = &Provider();
  Status st = m.Build(options);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_STREQ(m.interpreter().kernel_backend(0), "wisp");
  EXPECT_NE(Provider().decline_reason(0).find("int8"), std::string::npos)
      << Provider().decline_reason(0);
  m.SetInput(0, std::vector<float>{1, 2, 3, 4});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<float>(0), (std::vector<float>{5, 5}));
}

// A malformed operator is Wisp's to report: the provider declines, Wisp's kernel names the error.
TEST(XnnpackBackend, MalformedOperatorFailsWithWispsError) {
  SingleOpModel m;
  const int32_t in = m.AddInput("input", DType::INT8, {1, 4, 4, 3}, PerTensor(0.1f, 0));
  const int32_t f = m.AddConstant("conv_w", DType::INT8, {2, 3, 3, 5}, std::vector<int8_t>(90, 1),
                                  PerTensor(0.1f, 0));
  const int32_t o = m.AddOutput("output", DType::INT8, {1, 4, 4, 2}, PerTensor(0.1f, 0));
  m.AddOperator(fb::OpType::CONV_2D, {in, f, -1}, {o}, OptionsOf(Case{}));
  InterpreterOptions options;
  options.kernels.provider = &Provider();
  Status st = m.Build(options);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("conv_w"), std::string::npos) << st.ToString();
}

// Two threads in XNNPACK's own pool give the same bytes as one.
TEST(XnnpackBackend, ThreadedProviderMatchesReference) {
  auto two = XnnpackProvider::Create(2);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  Case c;
  c.h = c.w = 17, c.ic = 24, c.oc = 40;
  std::mt19937 rng(9);
  std::vector<int8_t> x(static_cast<size_t>(NumElements(InputShape(c))));
  std::vector<int8_t> w(static_cast<size_t>(NumElements(FilterShape(c))));
  std::uniform_int_distribution<int> d(-127, 127);
  for (int8_t& v : x) v = static_cast<int8_t>(d(rng));
  for (int8_t& v : w) v = static_cast<int8_t>(d(rng));
  std::vector<int8_t> out[2];
  for (int i = 0; i < 2; ++i) {
    SingleOpModel m;
    const int32_t in = m.AddInput("input", DType::INT8, InputShape(c), PerTensor(0.05f, 3));
    const int32_t f = m.AddConstant("filter", DType::INT8, FilterShape(c), w,
                                    PerChannel(std::vector<float>(40, 0.01f), 0));
    const int32_t o = m.AddOutput("output", DType::INT8, OutputShape(c), PerTensor(0.2f, -4));
    m.AddOperator(fb::OpType::CONV_2D, {in, f, -1}, {o}, OptionsOf(c));
    InterpreterOptions options;
    options.kernels.reference_only = i == 0;
    options.kernels.provider = i == 1 ? two->get() : nullptr;
    ASSERT_TRUE(m.Build(options).ok());
    if (i == 1) {
      ASSERT_STREQ(m.interpreter().kernel_backend(0), "xnnpack");
    }
    m.SetInput(0, x);
    ASSERT_TRUE(m.Invoke().ok());
    out[i] = m.Output<int8_t>(0);
  }
  EXPECT_EQ(out[0], out[1]);
}

}  // namespace
}  // namespace wisp
