// Elementwise family: each operator on tiny single-op models, checked against float math
// (quantized: within one quantum) and, where the reference runtime's integer formula is known,
// exact values that distinguish it from the alternatives (half-even vs half-away, XNNPACK vs
// TFLite).
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/kernels/op_test_util.h"

namespace wisp {
namespace {

using testing::PerChannel;
using testing::PerTensor;
using testing::SingleOpModel;

struct Spec {
  DType dtype;
  Shape shape;
  QuantParams quant = {};
};

fb::OpOptionsUnion BinaryOpts(fb::Activation act) {
  fb::BinaryOptionsT o;
  o.activation = act;
  // testing::Options(const T&) does not compile (OpOptionsUnion::Set deduces a const type), so
  // hand the union an rvalue.
  fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Runs a two-input operator; both inputs are graph inputs.
template <typename TO, typename TA, typename TB>
Status RunBinary(fb::OpType op, const Spec& a, const std::vector<TA>& av, const Spec& b,
                 const std::vector<TB>& bv, const Spec& out, std::vector<TO>* result,
                 fb::Activation act = fb::Activation::NONE, bool reference_only = false) {
  SingleOpModel m;
  const int32_t ia = m.AddInput("a", a.dtype, a.shape, a.quant);
  const int32_t ib = m.AddInput("b", b.dtype, b.shape, b.quant);
  const int32_t io = m.AddOutput("out", out.dtype, out.shape, out.quant);
  m.AddOperator(op, {ia, ib}, {io}, BinaryOpts(act));
  Status s = m.Build(reference_only);
  if (!s.ok()) return s;
  m.SetInput(0, av);
  m.SetInput(1, bv);
  s = m.Invoke();
  if (!s.ok()) return s;
  *result = m.Output<TO>(0);
  return Status::Ok();
}

template <typename TO, typename TI>
Status RunUnary(fb::OpType op, const Spec& in, const std::vector<TI>& iv, const Spec& out,
                std::vector<TO>* result, fb::OpOptionsUnion options = {},
                bool reference_only = false) {
  SingleOpModel m;
  const int32_t ii = m.AddInput("in", in.dtype, in.shape, in.quant);
  const int32_t io = m.AddOutput("out", out.dtype, out.shape, out.quant);
  m.AddOperator(op, {ii}, {io}, std::move(options));
  Status s = m.Build(reference_only);
  if (!s.ok()) return s;
  m.SetInput(0, iv);
  s = m.Invoke();
  if (!s.ok()) return s;
  *result = m.Output<TO>(0);
  return Status::Ok();
}

template <typename T>
std::vector<T> AllValues() {
  std::vector<T> v;
  for (int32_t i = std::numeric_limits<T>::min(); i <= std::numeric_limits<T>::max(); ++i) {
    v.push_back(static_cast<T>(i));
  }
  return v;
}

template <typename T>
std::vector<T> RandomValues(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(std::numeric_limits<T>::min(),
                                           std::numeric_limits<T>::max());
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

// Quantizes a real value the straightforward way (double, half away) for expectations.
template <typename T>
int32_t QuantizeRef(double x, float scale, int32_t zp) {
  const double q = std::round(x / scale) + zp;
  return static_cast<int32_t>(std::min<double>(std::max<double>(q, std::numeric_limits<T>::min()),
                                               std::numeric_limits<T>::max()));
}

// Broadcast index helper for expectations: NumPy semantics computed naively.
int64_t BroadcastIndex(const Shape& in, const Shape& out, int64_t flat) {
  std::vector<int64_t> idx(out.size());
  for (size_t d = out.size(); d-- > 0;) {
    idx[d] = flat % out[d];
    flat /= out[d];
  }
  int64_t r = 0;
  const size_t off = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) r = r * in[d] + (in[d] == 1 ? 0 : idx[d + off]);
  return r;
}

// Generic quantized binary check against double math, within one quantum.
template <typename T, typename F>
void CheckQuantizedBinary(fb::OpType op, const Shape& sa, float qa, int32_t za, const Shape& sb,
                          float qb, int32_t zb, const Shape& so, float qo, int32_t zo, DType dt,
                          F real_fn, fb::Activation act = fb::Activation::NONE,
                          int* exact_count = nullptr) {
  const auto av = RandomValues<T>(NumElements(sa), 1);
  const auto bv = RandomValues<T>(NumElements(sb), 2);
  std::vector<T> out;
  Status s = RunBinary<T>(op, {dt, sa, PerTensor(qa, za)}, av, {dt, sb, PerTensor(qb, zb)}, bv,
                          {dt, so, PerTensor(qo, zo)}, &out, act);
  ASSERT_TRUE(s.ok()) << s.ToString();
  int exact = 0;
  for (int64_t i = 0; i < NumElements(so); ++i) {
    const double x = (static_cast<double>(av[BroadcastIndex(sa, so, i)]) - za) * qa;
    const double y = (static_cast<double>(bv[BroadcastIndex(sb, so, i)]) - zb) * qb;
    double r = real_fn(x, y);
    if (act == fb::Activation::RELU) r = std::max(r, 0.0);
    if (act == fb::Activation::RELU6) r = std::min(std::max(r, 0.0), 6.0);
    const int32_t want = QuantizeRef<T>(r, qo, zo);
    EXPECT_NEAR(static_cast<int32_t>(out[i]), want, 1)
        << "element " << i << " a=" << x << " b=" << y;
    exact += static_cast<int32_t>(out[i]) == want;
  }
  if (exact_count) *exact_count = exact;
}

// ---- ADD -------------------------------------------------------------------------------------

TEST(ElementwiseAdd, FloatSameShapeAndActivation) {
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, {2, 2}},
                               std::vector<float>{1, -2, 3, 4.5f}, {DType::FLOAT32, {2, 2}},
                               std::vector<float>{0.5f, -1, 4, 2}, {DType::FLOAT32, {2, 2}}, &out,
                               fb::Activation::RELU6)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{1.5f, 0.0f, 6.0f, 6.0f}));
}

TEST(ElementwiseAdd, FloatBroadcastRank4PerChannelAndScalar) {
  std::vector<float> a(2 * 3 * 2 * 3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, {2, 3, 2, 3}}, a,
                               {DType::FLOAT32, {3}}, std::vector<float>{100, 200, 300},
                               {DType::FLOAT32, {2, 3, 2, 3}}, &out)
                  .ok());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(out[i], a[i] + 100.0f * (1 + i % 3));
  ASSERT_TRUE(RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, {}}, std::vector<float>{0.5f},
                               {DType::FLOAT32, {2, 3, 2, 3}}, a, {DType::FLOAT32, {2, 3, 2, 3}},
                               &out)
                  .ok());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(out[i], a[i] + 0.5f);
}

TEST(ElementwiseAdd, FloatBroadcastBothSidesRank6) {
  const Shape sa = {2, 1, 3, 1, 2, 1}, sb = {1, 2, 1, 2, 1, 3}, so = {2, 2, 3, 2, 2, 3};
  std::vector<float> a(NumElements(sa)), b(NumElements(sb));
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i) * 1000.0f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i);
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, sa}, a, {DType::FLOAT32, sb}, b,
                               {DType::FLOAT32, so}, &out)
                  .ok());
  ASSERT_EQ(out.size(), static_cast<size_t>(NumElements(so)));
  for (int64_t i = 0; i < NumElements(so); ++i) {
    EXPECT_EQ(out[i], a[BroadcastIndex(sa, so, i)] + b[BroadcastIndex(sb, so, i)]) << i;
  }
}

TEST(ElementwiseAdd, Int8XnnpackRoundsHalfUp) {
  // ratio 0.5 -> shift 21, multiplier 2^20: +-1.5 -> 2 / -1 and +-0.5 -> 1 / 0 (half toward +inf,
  // where TFLite's kernel would round half away from zero).
  std::vector<int8_t> out;
  ASSERT_TRUE(RunBinary<int8_t>(
                  fb::OpType::ADD, {DType::INT8, {4}, PerTensor(0.5f, 0)},
                  std::vector<int8_t>{3, -3, 1, -1}, {DType::INT8, {4}, PerTensor(0.5f, 0)},
                  std::vector<int8_t>{0, 0, 0, 0}, {DType::INT8, {4}, PerTensor(1.0f, 0)}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<int8_t>{2, -1, 1, 0}));
}

TEST(ElementwiseAdd, Int8ResidualMatchesFloat) {
  // Scales from a MoveNet residual add.
  int exact = 0;
  CheckQuantizedBinary<int8_t>(
      fb::OpType::ADD, {1, 6, 6, 16}, 0.0393688f, 12, {1, 6, 6, 16}, 0.0374003f, -5, {1, 6, 6, 16},
      0.0410074f, 7, DType::INT8, [](double x, double y) { return x + y; }, fb::Activation::NONE,
      &exact);
  EXPECT_GT(exact, 6 * 6 * 16 * 9 / 10);
}

TEST(ElementwiseAdd, Uint8ResidualAndRelu) {
  CheckQuantizedBinary<uint8_t>(fb::OpType::ADD, {1, 5, 5, 24}, 0.40149f, 136, {1, 5, 5, 24},
                                0.27583f, 119, {1, 5, 5, 24}, 0.43217f, 133, DType::UINT8,
                                [](double x, double y) { return x + y; });
  CheckQuantizedBinary<int8_t>(
      fb::OpType::ADD, {1, 4, 4, 16}, 0.0394f, -128, {1, 4, 4, 16}, 0.1042f, 4, {1, 4, 4, 16},
      0.0509f, -128, DType::INT8, [](double x, double y) { return x + y; }, fb::Activation::RELU);
}

TEST(ElementwiseAdd, Int8Broadcast) {
  CheckQuantizedBinary<int8_t>(fb::OpType::ADD, {1, 1}, 0.102f, -128, {17}, 0.688f, -21, {1, 17},
                               0.21f, -128, DType::INT8, [](double x, double y) { return x + y; });
  CheckQuantizedBinary<int8_t>(fb::OpType::ADD, {3, 4, 5}, 0.24f, -128, {}, 0.00706f, -128,
                               {3, 4, 5}, 0.2496f, -128, DType::INT8,
                               [](double x, double y) { return x + y; });
}

TEST(ElementwiseAdd, Int32AndInt64) {
  std::vector<int32_t> out;
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::ADD, {DType::INT32, {2, 2}},
                                 std::vector<int32_t>{1, -5, 7, 2147483647}, {DType::INT32, {2}},
                                 std::vector<int32_t>{10, 1}, {DType::INT32, {2, 2}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<int32_t>{11, -4, 17, std::numeric_limits<int32_t>::min()}));
  std::vector<int64_t> out64;
  ASSERT_TRUE(RunBinary<int64_t>(fb::OpType::ADD, {DType::INT64, {2}},
                                 std::vector<int64_t>{1, -(int64_t{1} << 40)}, {DType::INT64, {2}},
                                 std::vector<int64_t>{2, 5}, {DType::INT64, {2}}, &out64,
                                 fb::Activation::RELU)
                  .ok());
  EXPECT_EQ(out64, (std::vector<int64_t>{3, 0}));
}

TEST(ElementwiseAdd, RejectsBadShapesAndDtypes) {
  std::vector<float> out;
  Status s = RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, {2, 3}}, std::vector<float>(6),
                              {DType::FLOAT32, {2}}, std::vector<float>(2),
                              {DType::FLOAT32, {2, 3}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("ADD"), std::string::npos) << s.ToString();
  s = RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, {2, 3}}, std::vector<float>(6),
                       {DType::FLOAT32, {3}}, std::vector<float>(3), {DType::FLOAT32, {3, 2}},
                       &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'out'"), std::string::npos) << s.ToString();
  s = RunBinary<float>(fb::OpType::ADD, {DType::FLOAT32, {3}}, std::vector<float>(3),
                       {DType::INT32, {3}}, std::vector<int32_t>(3), {DType::FLOAT32, {3}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("'b'"), std::string::npos) << s.ToString();
  std::vector<int8_t> q;
  s = RunBinary<int8_t>(fb::OpType::ADD, {DType::INT8, {3}, PerChannel({1, 1, 1}, 0)},
                        std::vector<int8_t>(3), {DType::INT8, {3}, PerTensor(1, 0)},
                        std::vector<int8_t>(3), {DType::INT8, {3}, PerTensor(1, 0)}, &q);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'a'"), std::string::npos) << s.ToString();
}

TEST(ElementwiseAdd, Int16SymmetricUsesTfliteGeneralKernel) {
  CheckQuantizedBinary<int16_t>(fb::OpType::ADD, {4, 64}, 0.0003f, 0, {64}, 0.0005f, 0, {4, 64},
                                0.0007f, 0, DType::INT16, [](double x, double y) { return x + y; });
  CheckQuantizedBinary<int16_t>(fb::OpType::SUB, {128}, 0.0003f, 0, {128}, 0.0005f, 0, {128},
                                0.0006f, 0, DType::INT16, [](double x, double y) { return x - y; });
  CheckQuantizedBinary<int16_t>(fb::OpType::MUL, {128}, 0.0003f, 0, {128}, 0.0005f, 0, {128},
                                0.00001f, 0, DType::INT16,
                                [](double x, double y) { return x * y; });
  // Power-of-two scales select TFLite's separate POT kernel, which is not implemented.
  std::vector<int16_t> out;
  Status s =
      RunBinary<int16_t>(fb::OpType::ADD, {DType::INT16, {2}, PerTensor(0.5f, 0)},
                         std::vector<int16_t>(2), {DType::INT16, {2}, PerTensor(0.25f, 0)},
                         std::vector<int16_t>(2), {DType::INT16, {2}, PerTensor(1.0f, 0)}, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  s = RunBinary<int16_t>(fb::OpType::ADD, {DType::INT16, {2}, PerTensor(0.3f, 1)},
                         std::vector<int16_t>(2), {DType::INT16, {2}, PerTensor(0.3f, 0)},
                         std::vector<int16_t>(2), {DType::INT16, {2}, PerTensor(0.3f, 0)}, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
}

// ---- SUB -------------------------------------------------------------------------------------

TEST(ElementwiseSub, FloatAndInt32) {
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::SUB, {DType::FLOAT32, {3}}, std::vector<float>{1, 2, 3},
                               {DType::FLOAT32, {1}}, std::vector<float>{0.5f},
                               {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0.5f, 1.5f, 2.5f}));
  std::vector<int32_t> oi;
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::SUB, {DType::INT32, {1, 3}},
                                 std::vector<int32_t>{5, 7, 9}, {DType::INT32, {1, 3}},
                                 std::vector<int32_t>{6, 7, 1}, {DType::INT32, {1, 3}}, &oi)
                  .ok());
  EXPECT_EQ(oi, (std::vector<int32_t>{-1, 0, 8}));
}

TEST(ElementwiseSub, Int8XnnpackAndBroadcast) {
  CheckQuantizedBinary<int8_t>(fb::OpType::SUB, {6, 6, 1}, 0.1843f, -128, {1, 17}, 0.2101f, -128,
                               {6, 6, 17}, 0.3882f, 10, DType::INT8,
                               [](double x, double y) { return x - y; });
  CheckQuantizedBinary<uint8_t>(fb::OpType::SUB, {2, 8}, 0.05f, 128, {2, 8}, 0.07f, 100, {2, 8},
                                0.1f, 120, DType::UINT8, [](double x, double y) { return x - y; });
}

TEST(ElementwiseSub, Int8OutsideXnnpackScaleRangeUsesTflite) {
  // MoveNet's normalisation SUB: b/out = 1e-6 < 2^-10, which the delegate refuses.
  CheckQuantizedBinary<int8_t>(fb::OpType::SUB, {1, 4, 4, 3}, 1.0f, -128, {1, 1, 1, 3}, 1e-6f, 0,
                               {1, 4, 4, 3}, 1.0f, -128, DType::INT8,
                               [](double x, double y) { return x - y; });
  // Exactly representable case: output equals a (b is ~0), TFLite arithmetic keeps it exact.
  std::vector<int8_t> out;
  ASSERT_TRUE(RunBinary<int8_t>(fb::OpType::SUB, {DType::INT8, {4}, PerTensor(1.0f, -128)},
                                std::vector<int8_t>{-128, -1, 0, 127},
                                {DType::INT8, {1}, PerTensor(1e-6f, 0)}, std::vector<int8_t>{100},
                                {DType::INT8, {4}, PerTensor(1.0f, -128)}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<int8_t>{-128, -1, 0, 127}));
}

// ---- MUL -------------------------------------------------------------------------------------

TEST(ElementwiseMul, FloatInt32) {
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::MUL, {DType::FLOAT32, {2, 2}},
                               std::vector<float>{1, -2, 3, 4}, {DType::FLOAT32, {2, 1}},
                               std::vector<float>{2, -1}, {DType::FLOAT32, {2, 2}}, &out,
                               fb::Activation::RELU)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{2, 0, 0, 0}));
  std::vector<int32_t> oi;
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::MUL, {DType::INT32, {1, 3}},
                                 std::vector<int32_t>{5, -7, 9}, {DType::INT32, {}},
                                 std::vector<int32_t>{48}, {DType::INT32, {1, 3}}, &oi)
                  .ok());
  EXPECT_EQ(oi, (std::vector<int32_t>{240, -336, 432}));
}

TEST(ElementwiseMul, Int8XnnpackRoundsHalfToEven) {
  std::vector<int8_t> out;
  ASSERT_TRUE(RunBinary<int8_t>(fb::OpType::MUL, {DType::INT8, {4}, PerTensor(1.0f, 0)},
                                std::vector<int8_t>{1, 3, 5, -1},
                                {DType::INT8, {1}, PerTensor(1.0f, 0)}, std::vector<int8_t>{1},
                                {DType::INT8, {4}, PerTensor(2.0f, 0)}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<int8_t>{0, 2, 2, 0}));
}

TEST(ElementwiseMul, QuantizedMatchesFloat) {
  CheckQuantizedBinary<int8_t>(fb::OpType::MUL, {6, 6, 17}, 0.3882f, 10, {6, 6, 17}, 0.3882f, 10,
                               {6, 6, 17}, 11.256f, -128, DType::INT8,
                               [](double x, double y) { return x * y; });
  CheckQuantizedBinary<int8_t>(fb::OpType::MUL, {1, 4, 4, 3}, 1.0f, -128, {}, 3.0757e-5f, -128,
                               {1, 4, 4, 3}, 0.0078431f, -128, DType::INT8,
                               [](double x, double y) { return x * y; });
  CheckQuantizedBinary<uint8_t>(
      fb::OpType::MUL, {3, 5}, 0.02f, 128, {5}, 0.03f, 10, {3, 5}, 0.01f, 100, DType::UINT8,
      [](double x, double y) { return x * y; }, fb::Activation::RELU6);
  // product/out ratio 2^-20 is below XNNPACK's range: TFLite's fixed-point path.
  CheckQuantizedBinary<int8_t>(fb::OpType::MUL, {16}, 0.001f, 0, {16}, 0.001f, 0, {16}, 1.048576f,
                               0, DType::INT8, [](double x, double y) { return x * y; });
}

// ---- DIV / FLOOR_DIV -------------------------------------------------------------------------

TEST(ElementwiseDiv, FloatAndInt32) {
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::DIV, {DType::FLOAT32, {1, 2, 2}},
                               std::vector<float>{1, -3, 6, 9}, {DType::FLOAT32, {2, 1}},
                               std::vector<float>{2, 3}, {DType::FLOAT32, {1, 2, 2}}, &out,
                               fb::Activation::RELU_N1_TO_1)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0.5f, -1.0f, 1.0f, 1.0f}));
  std::vector<int32_t> oi;
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::DIV, {DType::INT32, {4}},
                                 std::vector<int32_t>{7, -7, 7, -7}, {DType::INT32, {4}},
                                 std::vector<int32_t>{2, 2, -2, -2}, {DType::INT32, {4}}, &oi)
                  .ok());
  EXPECT_EQ(oi, (std::vector<int32_t>{3, -3, -3, 3}));
}

TEST(ElementwiseDiv, Int32DivisionByZeroIsAnError) {
  std::vector<int32_t> oi;
  Status s =
      RunBinary<int32_t>(fb::OpType::DIV, {DType::INT32, {2}}, std::vector<int32_t>{1, 2},
                         {DType::INT32, {2}}, std::vector<int32_t>{1, 0}, {DType::INT32, {2}}, &oi);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("DIV"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("zero"), std::string::npos) << s.ToString();
}

TEST(ElementwiseFloorDiv, Int32RoundsTowardMinusInfinity) {
  std::vector<int32_t> oi;
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::FLOOR_DIV, {DType::INT32, {1, 6}},
                                 std::vector<int32_t>{7, -7, 7, -7, 6, -6}, {DType::INT32, {1, 6}},
                                 std::vector<int32_t>{2, 2, -2, -2, 3, 3}, {DType::INT32, {1, 6}},
                                 &oi)
                  .ok());
  EXPECT_EQ(oi, (std::vector<int32_t>{3, -4, -4, 3, 2, -2}));
  // MoveNet: [1,1] / scalar.
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::FLOOR_DIV, {DType::INT32, {1, 17}},
                                 std::vector<int32_t>(17, 1000), {DType::INT32, {}},
                                 std::vector<int32_t>{48}, {DType::INT32, {1, 17}}, &oi)
                  .ok());
  EXPECT_EQ(oi, std::vector<int32_t>(17, 20));
}

TEST(ElementwiseFloorDiv, FloatAndZeroDivisor) {
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::FLOOR_DIV, {DType::FLOAT32, {3}},
                               std::vector<float>{7, -7, 7.5f}, {DType::FLOAT32, {3}},
                               std::vector<float>{2, 2, -2.5f}, {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{3, -4, -3}));
  std::vector<int32_t> oi;
  Status s =
      RunBinary<int32_t>(fb::OpType::FLOOR_DIV, {DType::INT32, {2}}, std::vector<int32_t>{1, 2},
                         {DType::INT32, {}}, std::vector<int32_t>{0}, {DType::INT32, {2}}, &oi);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("FLOOR_DIV"), std::string::npos) << s.ToString();
}

// ---- MAXIMUM / MINIMUM -----------------------------------------------------------------------

TEST(ElementwiseMaxMin, FloatInt8Int32) {
  std::vector<float> out;
  ASSERT_TRUE(RunBinary<float>(fb::OpType::MAXIMUM, {DType::FLOAT32, {2, 2}},
                               std::vector<float>{1, -2, 3, 4}, {DType::FLOAT32, {2}},
                               std::vector<float>{2, -3}, {DType::FLOAT32, {2, 2}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{2, -2, 3, 4}));
  ASSERT_TRUE(RunBinary<float>(fb::OpType::MINIMUM, {DType::FLOAT32, {2, 2}},
                               std::vector<float>{1, -2, 3, 4}, {DType::FLOAT32, {2}},
                               std::vector<float>{2, -3}, {DType::FLOAT32, {2, 2}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{1, -3, 2, -3}));
  std::vector<int8_t> o8;
  ASSERT_TRUE(RunBinary<int8_t>(fb::OpType::MAXIMUM, {DType::INT8, {3}, PerTensor(0.5f, 1)},
                                std::vector<int8_t>{-128, 5, 127},
                                {DType::INT8, {}, PerTensor(0.5f, 1)}, std::vector<int8_t>{0},
                                {DType::INT8, {3}, PerTensor(0.5f, 1)}, &o8)
                  .ok());
  EXPECT_EQ(o8, (std::vector<int8_t>{0, 5, 127}));
  std::vector<int32_t> o32;
  ASSERT_TRUE(RunBinary<int32_t>(fb::OpType::MINIMUM, {DType::INT32, {3}},
                                 std::vector<int32_t>{-1, 5, 9}, {DType::INT32, {3}},
                                 std::vector<int32_t>{0, 0, 10}, {DType::INT32, {3}}, &o32)
                  .ok());
  EXPECT_EQ(o32, (std::vector<int32_t>{-1, 0, 9}));
}

// ---- Unary -----------------------------------------------------------------------------------

fb::OpOptionsUnion LeakyOpts(float alpha) {
  fb::LeakyReluOptionsT o;
  o.alpha = alpha;
  fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

TEST(ElementwiseSqrt, Float) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::SQRT, {DType::FLOAT32, {4}},
                              std::vector<float>{0, 1, 2, 16}, {DType::FLOAT32, {4}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0, 1, std::sqrt(2.0f), 4}));
  std::vector<int8_t> o8;
  Status s = RunUnary<int8_t>(fb::OpType::SQRT, {DType::INT8, {1}, PerTensor(1, 0)},
                              std::vector<int8_t>{1}, {DType::INT8, {1}, PerTensor(1, 0)}, &o8);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
}

// Runs every input value of a quantized unary op and checks it against f within one quantum;
// also checks that the reference-only (no table) path agrees bit for bit.
template <typename T>
void CheckQuantizedUnary(fb::OpType op, float si, int32_t zi, float so, int32_t zo,
                         double (*f)(double, double), double alpha = 0.0,
                         std::vector<T>* result = nullptr) {
  const DType dt = std::is_same<T, int8_t>::value ? DType::INT8 : DType::UINT8;
  const auto in = AllValues<T>();
  const Shape shape = {static_cast<int32_t>(in.size())};
  std::vector<T> out, out_ref;
  auto opts = [&]() {
    return op == fb::OpType::LEAKY_RELU ? LeakyOpts(static_cast<float>(alpha))
                                        : fb::OpOptionsUnion{};
  };
  Status s = RunUnary<T>(op, {dt, shape, PerTensor(si, zi)}, in, {dt, shape, PerTensor(so, zo)},
                         &out, opts());
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = RunUnary<T>(op, {dt, shape, PerTensor(si, zi)}, in, {dt, shape, PerTensor(so, zo)}, &out_ref,
                  opts(), /*reference_only=*/true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out, out_ref);
  for (size_t i = 0; i < in.size(); ++i) {
    const double x = (static_cast<double>(in[i]) - zi) * si;
    EXPECT_NEAR(static_cast<int32_t>(out[i]), QuantizeRef<T>(f(x, alpha), so, zo), 1)
        << "input " << static_cast<int32_t>(in[i]);
  }
  if (result) *result = out;
}

TEST(ElementwiseRelu, FloatAndQuantized) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::RELU, {DType::FLOAT32, {3}},
                              std::vector<float>{-1, 0.5f, 9}, {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0, 0.5f, 9}));
  CheckQuantizedUnary<int8_t>(fb::OpType::RELU, 0.1f, 3, 0.05f, -100,
                              [](double x, double) { return std::max(x, 0.0); });
  CheckQuantizedUnary<uint8_t>(fb::OpType::RELU, 0.1f, 128, 0.1f, 0,
                               [](double x, double) { return std::max(x, 0.0); });
}

TEST(ElementwiseRelu6, FloatAndQuantized) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::RELU6, {DType::FLOAT32, {3}},
                              std::vector<float>{-1, 0.5f, 9}, {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0, 0.5f, 6}));
  auto relu6 = [](double x, double) { return std::min(std::max(x, 0.0), 6.0); };
  CheckQuantizedUnary<int8_t>(fb::OpType::RELU6, 0.1f, 3, 0.03f, -128, relu6);
  CheckQuantizedUnary<uint8_t>(fb::OpType::RELU6, 0.05f, 100, 6.0f / 255.0f, 0, relu6);
}

TEST(ElementwiseLeakyRelu, FloatAndQuantized) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::LEAKY_RELU, {DType::FLOAT32, {3}},
                              std::vector<float>{-2, 0, 3}, {DType::FLOAT32, {3}}, &out,
                              LeakyOpts(0.25f))
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{-0.5f, 0, 3}));
  auto lrelu = [](double x, double a) { return x > 0 ? x : x * a; };
  CheckQuantizedUnary<int8_t>(fb::OpType::LEAKY_RELU, 0.1f, 3, 0.08f, -20, lrelu, 0.2);
  CheckQuantizedUnary<uint8_t>(fb::OpType::LEAKY_RELU, 0.1f, 128, 0.07f, 90, lrelu, 0.3);
  // XNNPACK's Q8 form: -1.5 -> -1 and -0.5 -> 0 (half up), not TFLite's -2 / -1.
  std::vector<int8_t> q;
  ASSERT_TRUE(RunUnary<int8_t>(fb::OpType::LEAKY_RELU, {DType::INT8, {3}, PerTensor(1, 0)},
                               std::vector<int8_t>{-3, -1, 5}, {DType::INT8, {3}, PerTensor(1, 0)},
                               &q, LeakyOpts(0.5f))
                  .ok());
  EXPECT_EQ(q, (std::vector<int8_t>{-1, 0, 5}));
}

TEST(ElementwiseHardSwish, FloatAndQuantized) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::HARD_SWISH, {DType::FLOAT32, {4}},
                              std::vector<float>{-4, -1, 1, 4}, {DType::FLOAT32, {4}}, &out)
                  .ok());
  EXPECT_NEAR(out[0], 0.0f, 1e-6f);
  EXPECT_NEAR(out[1], -1.0f / 3.0f, 1e-6f);
  EXPECT_NEAR(out[2], 2.0f / 3.0f, 1e-6f);
  EXPECT_NEAR(out[3], 4.0f, 1e-6f);
  auto hswish = [](double x, double) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; };
  CheckQuantizedUnary<int8_t>(fb::OpType::HARD_SWISH, 0.05f, -10, 0.04f, -60, hswish);
  CheckQuantizedUnary<uint8_t>(fb::OpType::HARD_SWISH, 0.1f, 128, 0.06f, 20, hswish);
}

TEST(ElementwiseTanh, FloatAndQuantized) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::TANH, {DType::FLOAT32, {3}}, std::vector<float>{-1, 0, 2},
                              {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_NEAR(out[0], std::tanh(-1.0), 1e-6);
  EXPECT_NEAR(out[2], std::tanh(2.0), 1e-6);
  auto t = [](double x, double) { return std::tanh(x); };
  CheckQuantizedUnary<int8_t>(fb::OpType::TANH, 0.03f, 5, 1.0f / 128, 0, t);
  CheckQuantizedUnary<uint8_t>(fb::OpType::TANH, 0.03f, 128, 1.0f / 128, 128, t);
}

TEST(ElementwiseLogistic, FloatAndQuantized) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::LOGISTIC, {DType::FLOAT32, {3}},
                              std::vector<float>{-1, 0, 2}, {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_NEAR(out[0], 1 / (1 + std::exp(1.0)), 1e-6);
  EXPECT_EQ(out[1], 0.5f);
  auto sig = [](double x, double) { return 1 / (1 + std::exp(-x)); };
  std::vector<int8_t> q;
  // MoveNet heatmap LOGISTIC.
  CheckQuantizedUnary<int8_t>(fb::OpType::LOGISTIC, 0.2822169f, 114, 1.0f / 256, -128, sig, 0, &q);
  EXPECT_EQ(q[114 + 128], 0);  // x = 0 -> 0.5 * 256 - 128
  CheckQuantizedUnary<uint8_t>(fb::OpType::LOGISTIC, 0.1f, 128, 1.0f / 256, 0, sig);
}

TEST(ElementwiseUnary, RejectsShapeMismatch) {
  std::vector<float> out;
  Status s = RunUnary<float>(fb::OpType::RELU, {DType::FLOAT32, {3}}, std::vector<float>(3),
                             {DType::FLOAT32, {4}}, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'out'"), std::string::npos) << s.ToString();
}

// ---- QUANTIZE --------------------------------------------------------------------------------

TEST(ElementwiseQuantize, FloatToInt8IsXnnpackHalfEven) {
  std::vector<int8_t> q;
  ASSERT_TRUE(RunUnary<int8_t>(fb::OpType::QUANTIZE, {DType::FLOAT32, {6}},
                               std::vector<float>{0.25f, 0.75f, -0.25f, 1.25f, 1000.0f, -1000.0f},
                               {DType::INT8, {6}, PerTensor(0.5f, 0)}, &q)
                  .ok());
  EXPECT_EQ(q, (std::vector<int8_t>{0, 2, 0, 2, 127, -128}));
  std::vector<uint8_t> u;
  ASSERT_TRUE(RunUnary<uint8_t>(fb::OpType::QUANTIZE, {DType::FLOAT32, {4}},
                                std::vector<float>{0.0f, 0.25f, -1.0f, 0.1f},
                                {DType::UINT8, {4}, PerTensor(0.5f, 10)}, &u)
                  .ok());
  EXPECT_EQ(u, (std::vector<uint8_t>{10, 10, 8, 10}));
}

TEST(ElementwiseQuantize, FloatToInt16IsTfliteHalfAway) {
  std::vector<int16_t> q;
  ASSERT_TRUE(RunUnary<int16_t>(fb::OpType::QUANTIZE, {DType::FLOAT32, {4}},
                                std::vector<float>{0.25f, 1.25f, -0.25f, 1e9f},
                                {DType::INT16, {4}, PerTensor(0.5f, 0)}, &q)
                  .ok());
  EXPECT_EQ(q, (std::vector<int16_t>{1, 3, -1, 32767}));
}

TEST(ElementwiseQuantize, Requantize) {
  // int8 -> int8 in XNNPACK's range: Q8 multiplier, half up.
  std::vector<int8_t> q;
  ASSERT_TRUE(RunUnary<int8_t>(fb::OpType::QUANTIZE, {DType::INT8, {4}, PerTensor(1.0f, 0)},
                               std::vector<int8_t>{1, -1, 3, -3},
                               {DType::INT8, {4}, PerTensor(2.0f, 0)}, &q)
                  .ok());
  EXPECT_EQ(q, (std::vector<int8_t>{1, 0, 2, -1}));
  // MoveNet: int8 (1/256, -128) -> int8 (0.0040969, -128) over every value.
  const auto all = AllValues<int8_t>();
  ASSERT_TRUE(RunUnary<int8_t>(fb::OpType::QUANTIZE,
                               {DType::INT8, {256}, PerTensor(0.00390625f, -128)}, all,
                               {DType::INT8, {256}, PerTensor(0.0040968540f, -128)}, &q)
                  .ok());
  for (int i = 0; i < 256; ++i) {
    EXPECT_NEAR(q[i], QuantizeRef<int8_t>((all[i] + 128) * 0.00390625, 0.0040968540f, -128), 1);
  }
  // uint8 -> int8 with equal scales and zero points 128 apart (MobileNet input): exact shift.
  const auto allu = AllValues<uint8_t>();
  ASSERT_TRUE(RunUnary<int8_t>(fb::OpType::QUANTIZE,
                               {DType::UINT8, {256}, PerTensor(0.0078431f, 127)}, allu,
                               {DType::INT8, {256}, PerTensor(0.0078431f, -1)}, &q)
                  .ok());
  for (int i = 0; i < 256; ++i) EXPECT_EQ(q[i], i - 128);
  // int8 -> uint8 (LSTM output).
  std::vector<uint8_t> u;
  ASSERT_TRUE(RunUnary<uint8_t>(fb::OpType::QUANTIZE,
                                {DType::INT8, {256}, PerTensor(0.00390625f, -128)}, all,
                                {DType::UINT8, {256}, PerTensor(0.00390625f, 0)}, &u)
                  .ok());
  for (int i = 0; i < 256; ++i) EXPECT_EQ(u[i], i);
  // uint8 -> uint8 with a scale change; TFLite path for an out-of-range ratio (1000x).
  ASSERT_TRUE(RunUnary<uint8_t>(fb::OpType::QUANTIZE, {DType::UINT8, {256}, PerTensor(1.0f, 128)},
                                allu, {DType::UINT8, {256}, PerTensor(0.001f, 128)}, &u)
                  .ok());
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(u[i], QuantizeRef<uint8_t>((i - 128) * 1.0, 0.001f, 128));
  }
}

TEST(ElementwiseQuantize, RejectsPerChannelOutput) {
  std::vector<int8_t> q;
  Status s = RunUnary<int8_t>(fb::OpType::QUANTIZE, {DType::FLOAT32, {2}}, std::vector<float>(2),
                              {DType::INT8, {2}, PerChannel({1, 2}, 0)}, &q);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'out'"), std::string::npos) << s.ToString();
}

// ---- DEQUANTIZE ------------------------------------------------------------------------------

TEST(ElementwiseDequantize, AllInputTypes) {
  std::vector<float> out;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::DEQUANTIZE,
                              {DType::INT8, {3}, PerTensor(14.999096f, -128)},
                              std::vector<int8_t>{-128, 0, 127}, {DType::FLOAT32, {3}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0.0f, 128 * 14.999096f, 255 * 14.999096f}));
  ASSERT_TRUE(RunUnary<float>(fb::OpType::DEQUANTIZE, {DType::UINT8, {2}, PerTensor(0.5f, 128)},
                              std::vector<uint8_t>{0, 255}, {DType::FLOAT32, {2}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{-64.0f, 63.5f}));
  ASSERT_TRUE(RunUnary<float>(fb::OpType::DEQUANTIZE, {DType::INT16, {2}, PerTensor(0.25f, 0)},
                              std::vector<int16_t>{-32768, 3}, {DType::FLOAT32, {2}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{-8192.0f, 0.75f}));
  // float16: 1.0, -2.0, 65504, smallest subnormal.
  ASSERT_TRUE(RunUnary<float>(fb::OpType::DEQUANTIZE, {DType::FLOAT16, {4}},
                              std::vector<uint16_t>{0x3c00, 0xc000, 0x7bff, 0x0001},
                              {DType::FLOAT32, {4}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)}));
  // Per-channel along axis 1.
  QuantParams pc = PerChannel({1.0f, 0.5f}, 1);
  ASSERT_TRUE(RunUnary<float>(fb::OpType::DEQUANTIZE, {DType::INT8, {2, 2}, pc},
                              std::vector<int8_t>{2, 2, 4, 4}, {DType::FLOAT32, {2, 2}}, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{2, 1, 4, 2}));
}

// ---- CAST ------------------------------------------------------------------------------------

TEST(ElementwiseCast, Conversions) {
  std::vector<int32_t> i32;
  ASSERT_TRUE(RunUnary<int32_t>(fb::OpType::CAST, {DType::FLOAT32, {4}},
                                std::vector<float>{1.9f, -1.9f, 0.0f, 3e9f}, {DType::INT32, {4}},
                                &i32)
                  .ok());
  EXPECT_EQ(i32, (std::vector<int32_t>{1, -1, 0, std::numeric_limits<int32_t>::max()}));
  std::vector<float> f;
  ASSERT_TRUE(RunUnary<float>(fb::OpType::CAST, {DType::UINT8, {3}},
                              std::vector<uint8_t>{0, 128, 255}, {DType::FLOAT32, {3}}, &f)
                  .ok());
  EXPECT_EQ(f, (std::vector<float>{0, 128, 255}));
  ASSERT_TRUE(RunUnary<float>(fb::OpType::CAST, {DType::INT32, {2}},
                              std::vector<int32_t>{-7, 16777217}, {DType::FLOAT32, {2}}, &f)
                  .ok());
  EXPECT_EQ(f, (std::vector<float>{-7.0f, 16777216.0f}));
  std::vector<uint8_t> b;  // bool is one byte
  ASSERT_TRUE(RunUnary<uint8_t>(fb::OpType::CAST, {DType::FLOAT32, {3}},
                                std::vector<float>{0.0f, -0.5f, 2.0f}, {DType::BOOL, {3}}, &b)
                  .ok());
  EXPECT_EQ(b, (std::vector<uint8_t>{0, 1, 1}));
  std::vector<int64_t> i64;
  ASSERT_TRUE(RunUnary<int64_t>(fb::OpType::CAST, {DType::BOOL, {2}}, std::vector<uint8_t>{1, 0},
                                {DType::INT64, {2}}, &i64)
                  .ok());
  EXPECT_EQ(i64, (std::vector<int64_t>{1, 0}));
  std::vector<int8_t> i8;
  ASSERT_TRUE(RunUnary<int8_t>(fb::OpType::CAST, {DType::INT32, {3}},
                               std::vector<int32_t>{5, -3, 300}, {DType::INT8, {3}}, &i8)
                  .ok());
  EXPECT_EQ(i8, (std::vector<int8_t>{5, -3, 44}));
  Status s = RunUnary<float>(fb::OpType::CAST, {DType::FLOAT16, {1}}, std::vector<uint16_t>{0},
                             {DType::FLOAT32, {1}}, &f);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'in'"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace wisp
