// Reduction family: AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, SOFTMAX, ARG_MAX on tiny single-op models.
// Each is checked against float math (quantized: within one quantum) and, for the 8-bit paths,
// against exact outputs recorded from the reference runtime (LiteRT.js 2.5.3) on the same inputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/kernels/op_test_util.h"

namespace wisp {
namespace {

using testing::PerTensor;
using testing::SingleOpModel;

// testing::Options(const T&) cannot be used (OpOptionsUnion::Set deduces a const type).
template <typename T>
fb::OpOptionsUnion Opts(T value) {
  fb::OpOptionsUnion u;
  u.Set(std::move(value));
  return u;
}

// The input pattern the reference outputs below were recorded with.
template <typename T>
std::vector<T> Pattern(size_t n, int k = 0) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<T>(static_cast<uint8_t>((i * 73 + 41 + 29 * k) % 256));
  }
  return v;
}

template <typename T>
std::vector<T> Random(size_t n, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

std::vector<float> RandomFloat(size_t n, uint32_t seed, float lo = -4.0f, float hi = 4.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

template <typename T>
void ExpectWithinOneQuantum(const std::vector<T>& got, const std::vector<float>& want, float scale,
                            int32_t zp) {
  ASSERT_EQ(got.size(), want.size());
  const std::vector<T> q = testing::Quantize<T>(want, scale, zp);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LE(std::abs(static_cast<int>(got[i]) - static_cast<int>(q[i])), 1) << "at " << i;
  }
}

// ---- pooling ----------------------------------------------------------------------------------

fb::Pool2DOptionsT PoolOptions(fb::Padding padding, int stride, int filter_h, int filter_w,
                               fb::Activation act = fb::Activation::NONE) {
  fb::Pool2DOptionsT o;
  o.padding = padding;
  o.stride_h = o.stride_w = stride;
  o.filter_h = filter_h;
  o.filter_w = filter_w;
  o.activation = act;
  return o;
}

template <typename T>
Status RunPool(fb::OpType op, DType dtype, const Shape& in_shape, const Shape& out_shape,
               const QuantParams& in_q, const QuantParams& out_q, const fb::Pool2DOptionsT& opts,
               const std::vector<T>& input, std::vector<T>* out) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", dtype, in_shape, in_q);
  const int32_t o = m.AddOutput("out", dtype, out_shape, out_q);
  m.AddOperator(op, {a}, {o}, Opts(opts));
  WISP_RETURN_IF_ERROR(m.Build());
  m.SetInput(0, input);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<T>(0);
  return Status::Ok();
}

// Float average / max pooling with TFLite's SAME padding (padding taps excluded).
std::vector<float> FloatPool(bool average, const std::vector<float>& in, int h, int w, int c,
                             int oh, int ow, int stride, int fh, int fw, int pad_t, int pad_l) {
  std::vector<float> out;
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      for (int ch = 0; ch < c; ++ch) {
        double acc = average ? 0.0 : -1e30;
        int n = 0;
        for (int fy = 0; fy < fh; ++fy) {
          for (int fx = 0; fx < fw; ++fx) {
            const int y = oy * stride - pad_t + fy, x = ox * stride - pad_l + fx;
            if (y < 0 || y >= h || x < 0 || x >= w) continue;
            const double v = in[(y * w + x) * c + ch];
            acc = average ? acc + v : std::max(acc, v);
            ++n;
          }
        }
        out.push_back(static_cast<float>(average ? acc / n : acc));
      }
    }
  }
  return out;
}

TEST(ReductionAveragePool, FloatValidAndSame) {
  const std::vector<float> in = RandomFloat(5 * 7 * 3, 1);
  std::vector<float> out;
  ASSERT_TRUE(RunPool(fb::OpType::AVERAGE_POOL_2D, DType::FLOAT32, {1, 5, 7, 3}, {1, 2, 3, 3}, {},
                      {}, PoolOptions(fb::Padding::VALID, 2, 2, 2), in, &out)
                  .ok());
  std::vector<float> want = FloatPool(true, in, 5, 7, 3, 2, 3, 2, 2, 2, 0, 0);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-5f);
  // SAME, 3x3 stride 2 on 5x7: out 3x4, total padding 2 / 2 -> one pixel each side.
  ASSERT_TRUE(RunPool(fb::OpType::AVERAGE_POOL_2D, DType::FLOAT32, {1, 5, 7, 3}, {1, 3, 4, 3}, {},
                      {}, PoolOptions(fb::Padding::SAME, 2, 3, 3), in, &out)
                  .ok());
  want = FloatPool(true, in, 5, 7, 3, 3, 4, 2, 3, 3, 1, 1);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-5f);
}

// The float pooling path (channels innermost) against the reference kernel on random shapes,
// paddings, strides, filters and activations: bit for bit, average and max.
TEST(ReductionPool, FloatMatchesReferenceBitForBit) {
  std::mt19937 rng(77);
  std::uniform_int_distribution<int> size(1, 13), filt(1, 5), stride(1, 3), chan(1, 40), act(0, 2);
  std::uniform_real_distribution<float> val(-4.0f, 4.0f);
  const fb::Activation acts[] = {fb::Activation::NONE, fb::Activation::RELU, fb::Activation::RELU6};
  for (int i = 0; i < 40; ++i) {
    const bool average = i % 2 == 0;
    const fb::Padding padding = (i / 2) % 2 ? fb::Padding::SAME : fb::Padding::VALID;
    const int h = size(rng), w = size(rng), c = chan(rng), s = stride(rng);
    const int fh = std::min(filt(rng), h), fw = std::min(filt(rng), w);
    const int oh = padding == fb::Padding::SAME ? (h + s - 1) / s : (h - fh + s) / s;
    const int ow = padding == fb::Padding::SAME ? (w + s - 1) / s : (w - fw + s) / s;
    std::vector<float> in(static_cast<size_t>(2 * h * w * c));
    for (float& v : in) v = val(rng);
    const fb::Pool2DOptionsT opts = PoolOptions(padding, s, fh, fw, acts[act(rng)]);
    const fb::OpType op = average ? fb::OpType::AVERAGE_POOL_2D : fb::OpType::MAX_POOL_2D;
    std::vector<float> out[2];
    for (int reference = 0; reference < 2; ++reference) {
      SingleOpModel m;
      const int32_t a = m.AddInput("in", DType::FLOAT32, {2, h, w, c});
      const int32_t o = m.AddOutput("out", DType::FLOAT32, {2, oh, ow, c});
      m.AddOperator(op, {a}, {o}, Opts(opts));
      ASSERT_TRUE(m.Build(reference != 0).ok());
      EXPECT_STREQ(m.interpreter().kernel_implementation(0),
                   reference ? "reference" : "f32_pool_channels_inner");
      m.SetInput(0, in);
      ASSERT_TRUE(m.Invoke().ok());
      out[reference] = m.Output<float>(0);
    }
    SCOPED_TRACE(::testing::Message() << "case " << i << " h" << h << " w" << w << " c" << c);
    ASSERT_EQ(out[0].size(), out[1].size());
    EXPECT_EQ(0, std::memcmp(out[0].data(), out[1].data(), out[0].size() * sizeof(float)));
  }
}

TEST(ReductionAveragePool, Int8MatchesReferenceRuntime) {
  // LiteRT.js 2.5.3 output for Pattern input, SAME 3x3 stride 2 (not delegated: TFLite kernel).
  const std::vector<int8_t> expected = {-33, 40, -27, 3,   21,  -34, -5,  -17, 1,
                                        -11, 7,  -6,  -19, -10, 29,  -26, 35,  -20};
  std::vector<int8_t> out;
  ASSERT_TRUE(RunPool(fb::OpType::AVERAGE_POOL_2D, DType::INT8, {1, 5, 5, 2}, {1, 3, 3, 2},
                      PerTensor(0.08f, 3), PerTensor(0.08f, 3),
                      PoolOptions(fb::Padding::SAME, 2, 3, 3), Pattern<int8_t>(50), &out)
                  .ok());
  EXPECT_EQ(out, expected);
}

TEST(ReductionAveragePool, Uint8Relu6MatchesReferenceRuntime) {
  const std::vector<uint8_t> expected = {100, 104, 143, 100, 149, 100, 123, 111, 115,
                                         131, 135, 122, 109, 118, 115, 145, 163, 108};
  std::vector<uint8_t> out;
  ASSERT_TRUE(RunPool(fb::OpType::AVERAGE_POOL_2D, DType::UINT8, {1, 5, 5, 2}, {1, 3, 3, 2},
                      PerTensor(0.05f, 100), PerTensor(0.05f, 100),
                      PoolOptions(fb::Padding::SAME, 2, 3, 3, fb::Activation::RELU6),
                      Pattern<uint8_t>(50), &out)
                  .ok());
  EXPECT_EQ(out, expected);
}

TEST(ReductionAveragePool, Int8RoundsHalfAwayFromZero) {
  // Global 1x2 windows: sums -3 and 3 over 2 taps -> -2 and 2 (not -1 / half-to-even 2).
  std::vector<int8_t> out;
  ASSERT_TRUE(RunPool(fb::OpType::AVERAGE_POOL_2D, DType::INT8, {1, 1, 2, 2}, {1, 1, 1, 2},
                      PerTensor(0.1f, 0), PerTensor(0.1f, 0),
                      PoolOptions(fb::Padding::VALID, 1, 1, 2), std::vector<int8_t>{-1, 1, -2, 2},
                      &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<int8_t>{-2, 2}));
}

TEST(ReductionAveragePool, Int8GlobalWithinOneQuantumOfFloat) {
  // mlperf_tiny_kws_dscnn: 25x5 global average.
  const float s = 0.08023615926504135f;
  const std::vector<int8_t> in = Random<int8_t>(25 * 5 * 64, 3, -128, 127);
  std::vector<int8_t> out;
  ASSERT_TRUE(RunPool(fb::OpType::AVERAGE_POOL_2D, DType::INT8, {1, 25, 5, 64}, {1, 1, 1, 64},
                      PerTensor(s, -128), PerTensor(s, -128),
                      PoolOptions(fb::Padding::VALID, 1, 25, 5), in, &out)
                  .ok());
  const std::vector<float> want =
      FloatPool(true, testing::Dequantize(in, s, -128), 25, 5, 64, 1, 1, 1, 25, 5, 0, 0);
  ExpectWithinOneQuantum(out, want, s, -128);
}

TEST(ReductionAveragePool, RejectsBadModels) {
  std::vector<int8_t> out;
  Status s = RunPool(fb::OpType::AVERAGE_POOL_2D, DType::INT8, {1, 4, 4, 1}, {1, 2, 2, 1},
                     PerTensor(0.1f, 0), PerTensor(0.2f, 0),
                     PoolOptions(fb::Padding::VALID, 2, 2, 2), std::vector<int8_t>(16), &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("AVERAGE_POOL_2D"), std::string::npos) << s.ToString();
  s = RunPool(fb::OpType::AVERAGE_POOL_2D, DType::INT8, {1, 4, 4, 1}, {1, 3, 2, 1},
              PerTensor(0.1f, 0), PerTensor(0.1f, 0), PoolOptions(fb::Padding::VALID, 2, 2, 2),
              std::vector<int8_t>(16), &out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'out'"), std::string::npos) << s.ToString();
}

TEST(ReductionMaxPool, FloatSame) {
  const std::vector<float> in = RandomFloat(6 * 5 * 2, 4);
  std::vector<float> out;
  ASSERT_TRUE(RunPool(fb::OpType::MAX_POOL_2D, DType::FLOAT32, {1, 6, 5, 2}, {1, 3, 3, 2}, {}, {},
                      PoolOptions(fb::Padding::SAME, 2, 2, 2), in, &out)
                  .ok());
  // SAME 2x2 stride 2 on 6x5: out 3x3, padding 0 rows, width total 1 -> 0 before.
  const std::vector<float> want = FloatPool(false, in, 6, 5, 2, 3, 3, 2, 2, 2, 0, 0);
  EXPECT_EQ(out, want);
}

TEST(ReductionMaxPool, Int8Relu6MatchesReferenceRuntime) {
  const std::vector<int8_t> expected = {41, 78, 77, 78, 78, 40, 78, 76, 78,
                                        78, 78, 78, 73, 78, 78, 78, 78, 72};
  std::vector<int8_t> out;
  ASSERT_TRUE(RunPool(fb::OpType::MAX_POOL_2D, DType::INT8, {1, 5, 5, 2}, {1, 3, 3, 2},
                      PerTensor(0.08f, 3), PerTensor(0.08f, 3),
                      PoolOptions(fb::Padding::SAME, 2, 3, 3, fb::Activation::RELU6),
                      Pattern<int8_t>(50), &out)
                  .ok());
  EXPECT_EQ(out, expected);
}

// ---- MEAN -------------------------------------------------------------------------------------

template <typename T>
Status RunMean(DType dtype, const Shape& in_shape, const std::vector<int32_t>& axes,
               const Shape& out_shape, const QuantParams& in_q, const QuantParams& out_q,
               bool keep_dims, const std::vector<T>& input, std::vector<T>* out,
               bool constant_axes = true) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", dtype, in_shape, in_q);
  const int32_t ax =
      constant_axes ? m.AddConstant("axes", DType::INT32, {static_cast<int32_t>(axes.size())}, axes)
                    : m.AddInput("axes", DType::INT32, {static_cast<int32_t>(axes.size())});
  const int32_t o = m.AddOutput("out", dtype, out_shape, out_q);
  fb::ReducerOptionsT opts;
  opts.keep_dims = keep_dims;
  m.AddOperator(fb::OpType::MEAN, {a, ax}, {o}, Opts(opts));
  WISP_RETURN_IF_ERROR(m.Build());
  m.SetInput(0, input);
  if (!constant_axes) m.SetInput(1, axes);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<T>(0);
  return Status::Ok();
}

TEST(ReductionMean, FloatAxes) {
  const std::vector<float> in = RandomFloat(2 * 3 * 4, 5);
  std::vector<float> out;
  ASSERT_TRUE(
      RunMean<float>(DType::FLOAT32, {2, 3, 4}, {1, -1}, {2, 1, 1}, {}, {}, true, in, &out).ok());
  for (int b = 0; b < 2; ++b) {
    double sum = 0;
    for (int i = 0; i < 12; ++i) sum += in[b * 12 + i];
    EXPECT_NEAR(out[b], sum / 12, 1e-5);
  }
  ASSERT_TRUE(RunMean<float>(DType::FLOAT32, {2, 3, 4}, {0}, {3, 4}, {}, {}, false, in, &out).ok());
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(out[i], (in[i] + in[12 + i]) / 2, 1e-6);
}

TEST(ReductionMean, Int8MatchesReferenceRuntime) {
  // tf2_mobilenet_v2's MEAN parameters; XNNPACK arithmetic (delegated).
  std::vector<int8_t> out;
  ASSERT_TRUE(RunMean<int8_t>(DType::INT8, {1, 3, 4, 5}, {1, 2}, {1, 1, 1, 5},
                              PerTensor(0.0235294122248888f, -128),
                              PerTensor(0.019077831879258156f, -128), true, Pattern<int8_t>(60),
                              &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<int8_t>{30, 42, 26, 37, 22}));
}

TEST(ReductionMean, Uint8MatchesReferenceRuntime) {
  std::vector<uint8_t> out;
  ASSERT_TRUE(RunMean<uint8_t>(DType::UINT8, {1, 3, 4, 5}, {1, 2}, {1, 5}, PerTensor(0.05f, 100),
                               PerTensor(0.031f, 90), false, Pattern<uint8_t>(60), &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{136, 116, 131, 145, 125}));
}

TEST(ReductionMean, Int8WithinOneQuantumOfFloat) {
  const float si = 0.0235294122248888f, so = 0.019077831879258156f;
  const std::vector<int8_t> in = Random<int8_t>(7 * 7 * 64, 6, -128, 127);
  std::vector<int8_t> out;
  ASSERT_TRUE(RunMean<int8_t>(DType::INT8, {1, 7, 7, 64}, {1, 2}, {1, 1, 1, 64},
                              PerTensor(si, -128), PerTensor(so, -128), true, in, &out)
                  .ok());
  const std::vector<float> x = testing::Dequantize(in, si, -128);
  std::vector<float> want(64, 0.0f);
  for (int p = 0; p < 49; ++p) {
    for (int c = 0; c < 64; ++c) want[c] += x[p * 64 + c] / 49.0f;
  }
  ExpectWithinOneQuantum(out, want, so, -128);
}

TEST(ReductionMean, RejectsNonConstantAxes) {
  std::vector<float> out;
  Status s = RunMean<float>(DType::FLOAT32, {1, 2, 2, 1}, {1, 2}, {1, 1, 1, 1}, {}, {}, true,
                            std::vector<float>(4), &out, /*constant_axes=*/false);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("axes"), std::string::npos) << s.ToString();
}

// ---- SOFTMAX ----------------------------------------------------------------------------------

template <typename T>
Status RunSoftmax(DType dtype, const Shape& shape, const QuantParams& in_q,
                  const QuantParams& out_q, const std::vector<T>& input, std::vector<T>* out,
                  float beta = 1.0f) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", dtype, shape, in_q);
  const int32_t o = m.AddOutput("out", dtype, shape, out_q);
  fb::SoftmaxOptionsT opts;
  opts.beta = beta;
  m.AddOperator(fb::OpType::SOFTMAX, {a}, {o}, Opts(opts));
  WISP_RETURN_IF_ERROR(m.Build());
  m.SetInput(0, input);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<T>(0);
  return Status::Ok();
}

std::vector<float> FloatSoftmax(const std::vector<float>& x, int depth, float beta = 1.0f) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / depth; ++r) {
    double m = -1e30, sum = 0;
    for (int j = 0; j < depth; ++j) m = std::max<double>(m, x[r * depth + j]);
    for (int j = 0; j < depth; ++j) sum += std::exp(beta * (x[r * depth + j] - m));
    for (int j = 0; j < depth; ++j) {
      y[r * depth + j] = static_cast<float>(std::exp(beta * (x[r * depth + j] - m)) / sum);
    }
  }
  return y;
}

// Hostile quantization (found by invoke_fuzzer): a beta whose table overflows is refused in
// Prepare with a message naming the input; an output scale so small that probabilities leave
// int32 saturates (the sanitizer build checks there is no undefined float-to-int cast).
TEST(ReductionSoftmax, HostileBetaAndScalesFailOrSaturate) {
  const std::vector<int8_t> in = {-128, -3, 0, 5, 127, 64, -64, 1};
  std::vector<int8_t> out;
  Status s = RunSoftmax<int8_t>(DType::INT8, {1, 8}, PerTensor(0.1f, 0),
                                PerTensor(1.0f / 256, -128), in, &out, -1e30f);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.ToString();
  EXPECT_NE(s.message().find("'in'"), std::string::npos) << s.ToString();
  s = RunSoftmax<int8_t>(DType::INT8, {1, 8}, PerTensor(0.1f, 0), PerTensor(1e-37f, 0), in, &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out[4], 127);  // the largest input's probability, far past the output range
  std::vector<uint8_t> out_u8;
  const std::vector<uint8_t> in_u8 = {0, 3, 200, 255};
  s = RunSoftmax<uint8_t>(DType::UINT8, {1, 4}, PerTensor(0.1f, 0), PerTensor(1e-37f, 0), in_u8,
                          &out_u8);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out_u8[3], 255);
}

TEST(ReductionSoftmax, Float) {
  const std::vector<float> in = RandomFloat(3 * 7, 7);
  std::vector<float> out;
  ASSERT_TRUE(RunSoftmax<float>(DType::FLOAT32, {3, 7}, {}, {}, in, &out).ok());
  const std::vector<float> want = FloatSoftmax(in, 7);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-6f);
  ASSERT_TRUE(RunSoftmax<float>(DType::FLOAT32, {3, 7}, {}, {}, in, &out, 0.5f).ok());
  const std::vector<float> want_beta = FloatSoftmax(in, 7, 0.5f);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want_beta[i], 1e-6f);
}

TEST(ReductionSoftmax, Int8MatchesReferenceRuntime) {
  // Includes a certain class: round(256 * 1.0) - 128 = 128 saturates to 127.
  const std::vector<int8_t> expected = {-128, 11,   -128, -128, -128, -128, -128, -128, -11,  -128,
                                        -128, -127, -128, -128, -128, 127,  -128, -128, -128, -128,
                                        -128, -128, 11,   -128, -128, -128, -128, -128, -128, -11};
  std::vector<int8_t> out;
  ASSERT_TRUE(RunSoftmax(DType::INT8, {3, 10}, PerTensor(0.17185351252555847f, 24),
                         PerTensor(1.0f / 256, -128), Pattern<int8_t>(30), &out)
                  .ok());
  EXPECT_EQ(out, expected);
}

TEST(ReductionSoftmax, Uint8MatchesReferenceRuntime) {
  const std::vector<uint8_t> expected = {0, 0, 7, 0, 0, 0,   243, 0, 0, 6, 0, 0, 0,   249, 0,
                                         0, 6, 0, 0, 0, 132, 0,   0, 3, 0, 0, 0, 120, 0,   0};
  std::vector<uint8_t> out;
  ASSERT_TRUE(RunSoftmax(DType::UINT8, {3, 10}, PerTensor(0.09889253973960876f, 58),
                         PerTensor(1.0f / 256, 0), Pattern<uint8_t>(30), &out)
                  .ok());
  EXPECT_EQ(out, expected);
}

TEST(ReductionSoftmax, QuantizedWithinOneQuantumOfFloat) {
  const float si = 0.06336501985788345f;
  const std::vector<int8_t> in = Random<int8_t>(4 * 1001, 8, -128, 127);
  std::vector<int8_t> out;
  ASSERT_TRUE(
      RunSoftmax(DType::INT8, {4, 1001}, PerTensor(si, -53), PerTensor(1.0f / 256, -128), in, &out)
          .ok());
  ExpectWithinOneQuantum(out, FloatSoftmax(testing::Dequantize(in, si, -53), 1001), 1.0f / 256,
                         -128);
  const std::vector<uint8_t> in8 = Random<uint8_t>(5 * 12, 9, 0, 255);
  std::vector<uint8_t> out8;
  ASSERT_TRUE(
      RunSoftmax(DType::UINT8, {5, 12}, PerTensor(0.1f, 58), PerTensor(1.0f / 256, 0), in8, &out8)
          .ok());
  ExpectWithinOneQuantum(out8, FloatSoftmax(testing::Dequantize(in8, 0.1f, 58), 12), 1.0f / 256, 0);
}

TEST(ReductionSoftmax, RejectsMixedDTypes) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::INT8, {1, 4}, PerTensor(0.1f, 0));
  const int32_t o = m.AddOutput("probs", DType::UINT8, {1, 4}, PerTensor(1.0f / 256, 0));
  m.AddOperator(fb::OpType::SOFTMAX, {a}, {o}, Opts(fb::SoftmaxOptionsT{}));
  Status s = m.Build();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("probs"), std::string::npos) << s.ToString();
}

// ---- ARG_MAX ----------------------------------------------------------------------------------

template <typename TI, typename TO>
Status RunArgMax(DType in_dtype, const Shape& in_shape, int32_t axis, DType out_dtype,
                 const Shape& out_shape, const std::vector<TI>& input, std::vector<TO>* out) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", in_dtype, in_shape,
                               IsQuantizedInteger(in_dtype) ? PerTensor(0.1f, 3) : QuantParams{});
  const int32_t ax = m.AddConstant("axis", DType::INT32, {}, std::vector<int32_t>{axis});
  const int32_t o = m.AddOutput("out", out_dtype, out_shape);
  m.AddOperator(fb::OpType::ARG_MAX, {a, ax}, {o}, Opts(fb::ArgMaxOptionsT{}));
  WISP_RETURN_IF_ERROR(m.Build());
  m.SetInput(0, input);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<TO>(0);
  return Status::Ok();
}

TEST(ReductionArgMax, FloatLastAxisTiesPickLowestIndex) {
  std::vector<int32_t> out;
  ASSERT_TRUE((RunArgMax<float, int32_t>(DType::FLOAT32, {2, 4}, -1, DType::INT32, {2},
                                         {1.0f, 3.0f, 3.0f, 2.0f, -5.0f, -5.0f, -7.0f, -5.0f}, &out)
                   .ok()));
  EXPECT_EQ(out, (std::vector<int32_t>{1, 0}));
}

TEST(ReductionArgMax, Int8MiddleAxisInt32) {
  // movenet: [1, 2304, 17] along axis 1 -> [1, 17]; here [1, 3, 2].
  std::vector<int32_t> out;
  ASSERT_TRUE((RunArgMax<int8_t, int32_t>(DType::INT8, {1, 3, 2}, 1, DType::INT32, {1, 2},
                                          {-128, 5, 7, 5, 7, -3}, &out)
                   .ok()));
  EXPECT_EQ(out, (std::vector<int32_t>{1, 0}));
}

TEST(ReductionArgMax, Uint8Int64Output) {
  // deeplab: uint8 [1, H, W, 21] along axis 3 -> int64 [1, H, W].
  const std::vector<uint8_t> in = Random<uint8_t>(2 * 3 * 21, 10, 250, 255);
  std::vector<int64_t> out;
  ASSERT_TRUE((
      RunArgMax<uint8_t, int64_t>(DType::UINT8, {1, 2, 3, 21}, 3, DType::INT64, {1, 2, 3}, in, &out)
          .ok()));
  for (int p = 0; p < 6; ++p) {
    const auto* row = &in[p * 21];
    EXPECT_EQ(out[p], std::max_element(row, row + 21) - row) << p;  // first maximum
  }
}

TEST(ReductionArgMax, RejectsBadOutputs) {
  std::vector<float> out;
  Status s = RunArgMax<float, float>(DType::FLOAT32, {2, 4}, 1, DType::FLOAT32, {2},
                                     std::vector<float>(8), &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  std::vector<int32_t> out32;
  s = RunArgMax<float, int32_t>(DType::FLOAT32, {2, 4}, 2, DType::INT32, {2}, std::vector<float>(8),
                                &out32);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ARG_MAX"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace wisp
