// CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on tiny single-operator models.
//
// Every case is checked twice: against a plain double-precision computation on dequantized
// values (quantized outputs within one quantum), and, for quantized paths, exactly against the
// XNNPACK integer formula the reference runtime uses (docs/arithmetic.md, section 2):
//   out = clamp(rne(f32(acc) * f32(f32(s_in * s_w[c]) / s_out)) + zp_out, qmin, qmax).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#ifndef __EMSCRIPTEN__
#include "tests/kernels/counting_pool.h"
#endif
#include "op_test_util.h"
#include "runtime/interpreter/thread_pool.h"
#include "runtime/kernels/microkernels/config.h"

namespace wisp {
namespace {

using testing::PerChannel;
using testing::PerTensor;
using testing::SingleOpModel;

// testing::Options passes a const reference to OpOptionsUnion::Set, which then fails to compile
// (it deduces a const type); moving a copy in works.
template <typename OptionsT>
fb::OpOptionsUnion Options(OptionsT value) {
  fb::OpOptionsUnion u;
  u.Set(std::move(value));
  return u;
}

enum class Kind { kConv, kDepthwise, kFullyConnected };

struct Spec {
  Kind kind = Kind::kConv;
  int n = 1, h = 1, w = 1, ic = 1, oc = 1, kh = 1, kw = 1;
  int sh = 1, sw = 1, dh = 1, dw = 1;
  fb::Padding padding = fb::Padding::VALID;
  fb::Activation act = fb::Activation::NONE;
  bool has_bias = true;
  // FULLY_CONNECTED: input shape (any rank) and keep_num_dims.
  Shape fc_input_shape;
  bool keep_num_dims = false;
};

int OutSize(const Spec& s, int in, int k, int stride, int dil) {
  const int eff = (k - 1) * dil + 1;
  if (s.padding == fb::Padding::SAME) return (in + stride - 1) / stride;
  return (in - eff + stride) / stride;
}
int PadBefore(int in, int k, int stride, int dil, int out) {
  const int eff = (k - 1) * dil + 1;
  return std::max(0, ((out - 1) * stride + eff - in) / 2);
}

Shape InputShape(const Spec& s) {
  if (s.kind == Kind::kFullyConnected) return s.fc_input_shape;
  return {s.n, s.h, s.w, s.ic};
}
Shape FilterShape(const Spec& s) {
  switch (s.kind) {
    case Kind::kConv:
      return {s.oc, s.kh, s.kw, s.ic};
    case Kind::kDepthwise:
      return {1, s.kh, s.kw, s.oc};
    case Kind::kFullyConnected:
      return {s.oc, s.ic};
  }
  return {};
}
int FcBatch(const Spec& s) { return static_cast<int>(NumElements(s.fc_input_shape) / s.ic); }
Shape OutputShape(const Spec& s) {
  if (s.kind == Kind::kFullyConnected) {
    if (s.keep_num_dims) {
      Shape out = s.fc_input_shape;
      out.back() = s.oc;
      return out;
    }
    return {FcBatch(s), s.oc};
  }
  return {s.n, OutSize(s, s.h, s.kh, s.sh, s.dh), OutSize(s, s.w, s.kw, s.sw, s.dw), s.oc};
}
// Output channel of filter element i.
int FilterChannel(const Spec& s, size_t i) {
  if (s.kind == Kind::kDepthwise) return static_cast<int>(i % s.oc);
  return static_cast<int>(i / (NumElements(FilterShape(s)) / s.oc));
}

// Straightforward convolution over already zero-point-corrected values (T = double for the float
// check, int64_t for the exact integer accumulator). Padded taps are skipped.
template <typename T>
std::vector<T> Reference(const Spec& s, const std::vector<T>& x, const std::vector<T>& w,
                         const std::vector<T>& bias) {
  std::vector<T> out;
  if (s.kind == Kind::kFullyConnected) {
    for (int b = 0; b < FcBatch(s); ++b) {
      for (int o = 0; o < s.oc; ++o) {
        T acc = bias[o];
        for (int k = 0; k < s.ic; ++k) acc += x[b * s.ic + k] * w[o * s.ic + k];
        out.push_back(acc);
      }
    }
    return out;
  }
  const Shape os = OutputShape(s);
  const int pt = PadBefore(s.h, s.kh, s.sh, s.dh, os[1]);
  const int pl = PadBefore(s.w, s.kw, s.sw, s.dw, os[2]);
  const int mult = s.oc / s.ic;
  for (int b = 0; b < s.n; ++b) {
    for (int oy = 0; oy < os[1]; ++oy) {
      for (int ox = 0; ox < os[2]; ++ox) {
        for (int o = 0; o < s.oc; ++o) {
          T acc = bias[o];
          for (int ky = 0; ky < s.kh; ++ky) {
            for (int kx = 0; kx < s.kw; ++kx) {
              const int iy = oy * s.sh - pt + ky * s.dh;
              const int ix = ox * s.sw - pl + kx * s.dw;
              if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
              const size_t pix = ((static_cast<size_t>(b) * s.h + iy) * s.w + ix) * s.ic;
              if (s.kind == Kind::kConv) {
                for (int c = 0; c < s.ic; ++c) {
                  acc +=
                      x[pix + c] * w[((static_cast<size_t>(o) * s.kh + ky) * s.kw + kx) * s.ic + c];
                }
              } else {
                acc += x[pix + o / mult] * w[(static_cast<size_t>(ky) * s.kw + kx) * s.oc + o];
              }
            }
          }
          out.push_back(acc);
        }
      }
    }
  }
  return out;
}

fb::OpType OpTypeOf(const Spec& s) {
  switch (s.kind) {
    case Kind::kConv:
      return fb::OpType::CONV_2D;
    case Kind::kDepthwise:
      return fb::OpType::DEPTHWISE_CONV_2D;
    case Kind::kFullyConnected:
      return fb::OpType::FULLY_CONNECTED;
  }
  return fb::OpType::CONV_2D;
}

fb::OpOptionsUnion OptionsOf(const Spec& s) {
  switch (s.kind) {
    case Kind::kConv: {
      fb::Conv2DOptionsT o;
      o.padding = s.padding;
      o.stride_h = s.sh;
      o.stride_w = s.sw;
      o.dilation_h = s.dh;
      o.dilation_w = s.dw;
      o.activation = s.act;
      return Options(o);
    }
    case Kind::kDepthwise: {
      fb::DepthwiseConv2DOptionsT o;
      o.padding = s.padding;
      o.stride_h = s.sh;
      o.stride_w = s.sw;
      o.dilation_h = s.dh;
      o.dilation_w = s.dw;
      o.depth_multiplier = s.oc / s.ic;
      o.activation = s.act;
      return Options(o);
    }
    case Kind::kFullyConnected: {
      fb::FullyConnectedOptionsT o;
      o.activation = s.act;
      o.keep_num_dims = s.keep_num_dims;
      return Options(o);
    }
  }
  return {};
}

// ---- float -------------------------------------------------------------------------------------

// The range a fused activation clamps to (the reference's outputs are unclamped).
std::pair<double, double> ActivationBounds(fb::Activation act) {
  if (act == fb::Activation::RELU) return {0, INFINITY};
  if (act == fb::Activation::RELU6) return {0, 6};
  if (act == fb::Activation::RELU_N1_TO_1) return {-1, 1};
  return {-INFINITY, INFINITY};
}

// The float convolution of `s` as a one-operator model (bias only if s.has_bias); not built.
void AddFloatConv(SingleOpModel* m, const Spec& s, const std::vector<float>& w,
                  const std::vector<float>& bias) {
  const int32_t in = m->AddInput("input", DType::FLOAT32, InputShape(s));
  const int32_t f = m->AddConstant("filter", DType::FLOAT32, FilterShape(s), w);
  const int32_t b = s.has_bias ? m->AddConstant("bias", DType::FLOAT32, {s.oc}, bias) : -1;
  const int32_t out = m->AddOutput("output", DType::FLOAT32, OutputShape(s));
  m->AddOperator(OpTypeOf(s), {in, f, b}, {out}, OptionsOf(s));
}

void RunFloat(const Spec& s, uint32_t seed, bool reference_only = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(NumElements(InputShape(s))), w(NumElements(FilterShape(s))),
      bias(s.oc, 0.0f);
  for (float& v : x) v = dist(rng);
  for (float& v : w) v = dist(rng);
  if (s.has_bias)
    for (float& v : bias) v = dist(rng);

  SingleOpModel m;
  AddFloatConv(&m, s, w, bias);
  Status st = m.Build(reference_only);
  ASSERT_TRUE(st.ok()) << st.ToString();
  m.SetInput(0, x);
  st = m.Invoke();
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::vector<float> got = m.Output<float>(0);

  std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(bias.begin(), bias.end());
  const std::vector<double> want = Reference(s, xd, wd, bd);
  ASSERT_EQ(got.size(), want.size());
  const auto [lo, hi] = ActivationBounds(s.act);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], std::min(std::max(want[i], lo), hi), 1e-5) << "at " << i;
  }
}

TEST(ConvolutionConv2D, FloatValidStride1) {
  Spec s;
  s.n = 2, s.h = 5, s.w = 6, s.ic = 3, s.oc = 4, s.kh = 3, s.kw = 2;
  RunFloat(s, 1);
}

TEST(ConvolutionConv2D, FloatSameStride2DilationRelu) {
  Spec s;
  s.h = 7, s.w = 8, s.ic = 5, s.oc = 3, s.kh = 3, s.kw = 3, s.sh = 2, s.sw = 2;
  s.padding = fb::Padding::SAME;
  s.act = fb::Activation::RELU;
  RunFloat(s, 2);
  s.sh = 1, s.sw = 1, s.dh = 2, s.dw = 3;
  s.act = fb::Activation::RELU6;
  s.has_bias = false;
  RunFloat(s, 3);
}

// Float 3x3 stride-1 layers with 8+ channels run as Winograd F(2x2, 3x3) (float_winograd.h):
// not the reference's bits, so compared with the double-precision reference within a tolerance
// scaled by the terms summed; odd output sizes give partial tiles, SAME padding tiles reaching
// into it, two batch entries a tile sequence that crosses images.
TEST(ConvolutionConv2D, FloatWinogradMatchesReferenceWithinRounding) {
  struct Case {
    int n, h, w, ic, oc;
    fb::Padding padding;
    fb::Activation act;
  };
  const Case cases[] = {
      {1, 8, 8, 8, 8, fb::Padding::SAME, fb::Activation::NONE},
      {2, 7, 9, 16, 13, fb::Padding::SAME, fb::Activation::RELU},
      {1, 11, 6, 13, 16, fb::Padding::VALID, fb::Activation::RELU6},
      {1, 5, 5, 33, 40, fb::Padding::SAME, fb::Activation::RELU_N1_TO_1},
      {1, 4, 4, 64, 64, fb::Padding::VALID, fb::Activation::NONE},
      {1, 21, 18, 8, 9, fb::Padding::SAME, fb::Activation::NONE},  // more tiles than one pass
  };
  uint32_t seed = 100;
  for (const Case& c : cases) {
    Spec s;
    s.n = c.n, s.h = c.h, s.w = c.w, s.ic = c.ic, s.oc = c.oc, s.kh = 3, s.kw = 3;
    s.padding = c.padding;
    s.act = c.act;
    std::mt19937 rng(seed++);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> x(NumElements(InputShape(s))), w(NumElements(FilterShape(s))), bias(s.oc);
    for (float& v : x) v = dist(rng);
    for (float& v : w) v = dist(rng);
    for (float& v : bias) v = dist(rng);
    for (bool winograd : {true, false}) {
      SingleOpModel m;
      AddFloatConv(&m, s, w, bias);
      InterpreterOptions options;
      options.kernels.float_winograd = winograd;
      Status st = m.Build(options);
      ASSERT_TRUE(st.ok()) << st.ToString();
      const std::string impl = m.interpreter().kernel_implementation(0);
      EXPECT_EQ(impl.find("winograd") != std::string::npos, winograd) << impl;
      m.SetInput(0, x);
      st = m.Invoke();
      ASSERT_TRUE(st.ok()) << st.ToString();
      const std::vector<float> got = m.Output<float>(0);
      std::vector<double> xd(x.begin(), x.end()), wd(w.begin(), w.end()),
          bd(bias.begin(), bias.end());
      const std::vector<double> want = Reference(s, xd, wd, bd);
      // The same sums over |x| |w|: what the rounding errors scale with.
      std::vector<double> xa(xd.size()), wa(wd.size()), ba(bd.size());
      std::transform(xd.begin(), xd.end(), xa.begin(), [](double v) { return std::fabs(v); });
      std::transform(wd.begin(), wd.end(), wa.begin(), [](double v) { return std::fabs(v); });
      std::transform(bd.begin(), bd.end(), ba.begin(), [](double v) { return std::fabs(v); });
      const std::vector<double> magnitude = Reference(s, xa, wa, ba);
      ASSERT_EQ(got.size(), want.size());
      const auto [lo, hi] = ActivationBounds(s.act);
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        const double err = std::fabs(got[i] - std::min(std::max(want[i], lo), hi));
        worst = std::max(worst, err / (1 + magnitude[i]));
      }
      // float epsilon is 1.2e-7; the transforms' additions cost a few of it.
      EXPECT_LT(worst, 1e-6) << impl << " on " << c.n << "x" << c.h << "x" << c.w << "x" << c.ic
                             << " -> " << c.oc;
    }
  }
}

TEST(ConvolutionDepthwiseConv2D, Float) {
  Spec s;
  s.kind = Kind::kDepthwise;
  s.h = 6, s.w = 5, s.ic = 4, s.oc = 4, s.kh = 3, s.kw = 3;
  s.padding = fb::Padding::SAME;
  RunFloat(s, 4);
  s.oc = 8;  // depth multiplier 2
  s.sh = 2, s.sw = 2;
  s.act = fb::Activation::RELU_N1_TO_1;
  s.has_bias = false;
  RunFloat(s, 5);
  s.padding = fb::Padding::VALID, s.sh = 1, s.sw = 1, s.dh = 2, s.dw = 2;
  RunFloat(s, 6);
}

TEST(ConvolutionFullyConnected, Float) {
  Spec s;
  s.kind = Kind::kFullyConnected;
  s.ic = 6, s.oc = 5;
  s.fc_input_shape = {2, 3, 6};
  RunFloat(s, 7);  // flattened to [6, 6]
  s.keep_num_dims = true;
  s.has_bias = false;
  s.act = fb::Activation::RELU;
  RunFloat(s, 8);
  s.keep_num_dims = false;
  s.fc_input_shape = {3, 2, 2, 3};  // last dim != in_c: rows of 6 span two dimensions
  RunFloat(s, 9);
}

// Hybrid models (float activations, int8 weights with per-channel scales): the weights are
// dequantized once and the float kernel runs.
TEST(ConvolutionConv2D, FloatWithInt8Filter) {
  Spec s;
  s.h = 5, s.w = 5, s.ic = 3, s.oc = 2, s.kh = 3, s.kw = 3;
  s.padding = fb::Padding::SAME;
  const std::vector<float> scales = {0.01f, 0.02f};
  std::mt19937 rng(30);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::uniform_int_distribution<int> wdist(-127, 127);
  std::vector<float> x(NumElements(InputShape(s))), bias = {0.5f, -0.25f};
  std::vector<int8_t> w(NumElements(FilterShape(s)));
  for (float& v : x) v = dist(rng);
  for (int8_t& v : w) v = static_cast<int8_t>(wdist(rng));

  SingleOpModel m;
  const int32_t in = m.AddInput("input", DType::FLOAT32, InputShape(s));
  const int32_t f = m.AddConstant("filter", DType::INT8, FilterShape(s), w, PerChannel(scales, 0));
  const int32_t b = m.AddConstant("bias", DType::FLOAT32, {s.oc}, bias);
  const int32_t out = m.AddOutput("output", DType::FLOAT32, OutputShape(s));
  m.AddOperator(OpTypeOf(s), {in, f, b}, {out}, OptionsOf(s));
  Status st = m.Build();
  ASSERT_TRUE(st.ok()) << st.ToString();
  m.SetInput(0, x);
  ASSERT_TRUE(m.Invoke().ok());
  const std::vector<float> got = m.Output<float>(0);
  std::vector<double> xd(x.begin(), x.end()), wd(w.size()), bd(bias.begin(), bias.end());
  for (size_t i = 0; i < w.size(); ++i)
    wd[i] = w[i] * static_cast<double>(scales[FilterChannel(s, i)]);
  const std::vector<double> want = Reference(s, xd, wd, bd);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "at " << i;
}

// ---- quantized ---------------------------------------------------------------------------------

struct QuantSpec {
  float in_scale = 0.05f;
  int32_t in_zp = 3;
  std::vector<float> w_scales = {0.01f};  // one entry: per tensor
  int32_t w_zp = 0;                       // uint8 only
  float out_scale = 0.1f;
  int32_t out_zp = -5;
  int32_t bias_range = 2000;
};

// How many outputs landed on the lower/upper bound (activation or dtype), to prove that a case
// really exercises clamping.
struct ClampCounts {
  int at_min = 0;
  int at_max = 0;
};

template <typename T>
void RunQuantized(const Spec& s, const QuantSpec& qs, uint32_t seed,
                  ClampCounts* counts = nullptr) {
  const DType dt = std::is_same<T, int8_t>::value ? DType::INT8 : DType::UINT8;
  const int32_t tmin = std::numeric_limits<T>::min(), tmax = std::numeric_limits<T>::max();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> qdist(tmin, tmax);
  std::uniform_int_distribution<int32_t> bdist(-qs.bias_range, qs.bias_range);
  std::vector<T> x(NumElements(InputShape(s))), w(NumElements(FilterShape(s)));
  std::vector<int32_t> bias(s.oc, 0);
  for (T& v : x) v = static_cast<T>(qdist(rng));
  for (T& v : w) v = static_cast<T>(qdist(rng));
  if (s.has_bias)
    for (int32_t& v : bias) v = bdist(rng);

  const bool per_channel = qs.w_scales.size() > 1;
  const int axis = s.kind == Kind::kDepthwise ? 3 : 0;
  QuantParams wq = per_channel ? PerChannel(qs.w_scales, axis) : PerTensor(qs.w_scales[0], qs.w_zp);
  auto w_scale = [&](int c) { return qs.w_scales[per_channel ? c : 0]; };

  SingleOpModel m;
  const int32_t in = m.AddInput("input", dt, InputShape(s), PerTensor(qs.in_scale, qs.in_zp));
  const int32_t f = m.AddConstant("filter", dt, FilterShape(s), w, wq);
  const int32_t b = s.has_bias ? m.AddConstant("bias", DType::INT32, {s.oc}, bias) : -1;
  const int32_t out = m.AddOutput("output", dt, OutputShape(s), PerTensor(qs.out_scale, qs.out_zp));
  m.AddOperator(OpTypeOf(s), {in, f, b}, {out}, OptionsOf(s));
  Status st = m.Build();
  ASSERT_TRUE(st.ok()) << st.ToString();
  m.SetInput(0, x);
  st = m.Invoke();
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::vector<T> got = m.Output<T>(0);

  // Exact: integer accumulator, then XNNPACK's fp32 requantization.
  std::vector<int64_t> xi(x.size()), wi(w.size()), bi(bias.begin(), bias.end());
  for (size_t i = 0; i < x.size(); ++i) xi[i] = int64_t{x[i]} - qs.in_zp;
  for (size_t i = 0; i < w.size(); ++i) wi[i] = int64_t{w[i]} - (per_channel ? 0 : qs.w_zp);
  const std::vector<int64_t> acc = Reference(s, xi, wi, bi);
  // Float: dequantized values in double.
  std::vector<double> xd(x.size()), wd(w.size()), bd(s.oc);
  for (size_t i = 0; i < x.size(); ++i) xd[i] = static_cast<double>(xi[i]) * qs.in_scale;
  for (size_t i = 0; i < w.size(); ++i)
    wd[i] = static_cast<double>(wi[i]) * w_scale(FilterChannel(s, i));
  for (int c = 0; c < s.oc; ++c) bd[c] = bias[c] * static_cast<double>(qs.in_scale) * w_scale(c);
  const std::vector<double> real = Reference(s, xd, wd, bd);

  const auto [lo, hi] = ActivationBounds(s.act);
  auto xnn_quantize = [&](float v) {  // xnn_qs8_quantize / xnn_qu8_quantize
    return static_cast<int32_t>(std::lrintf(std::fmin(
        std::fmax(v / qs.out_scale + static_cast<float>(qs.out_zp), static_cast<float>(tmin)),
        static_cast<float>(tmax))));
  };
  const int32_t qmin = std::isinf(lo) ? tmin : xnn_quantize(static_cast<float>(lo));
  const int32_t qmax = std::isinf(hi) ? tmax : xnn_quantize(static_cast<float>(hi));

  ASSERT_EQ(got.size(), acc.size());
  const int oc = s.oc;
  for (size_t i = 0; i < got.size(); ++i) {
    const int c = static_cast<int>(i % oc);
    const float scale = (qs.in_scale * w_scale(c)) / qs.out_scale;
    const float y = static_cast<float>(static_cast<int32_t>(acc[i])) * scale;
    const int32_t exact =
        std::min(std::max(static_cast<int32_t>(std::nearbyint(y)) + qs.out_zp, qmin), qmax);
    EXPECT_EQ(static_cast<int32_t>(got[i]), exact) << "at " << i << " acc " << acc[i];
    const double r = std::min(std::max(real[i], lo), hi);
    const double q =
        std::min(std::max(std::round(r / qs.out_scale) + qs.out_zp, double(tmin)), double(tmax));
    EXPECT_NEAR(static_cast<double>(got[i]), q, 1.0) << "at " << i;
    if (counts != nullptr && got[i] == qmin) ++counts->at_min;
    if (counts != nullptr && got[i] == qmax) ++counts->at_max;
  }
}

QuantSpec PerChannelSpec(int oc, uint32_t seed) {
  QuantSpec q;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.002f, 0.02f);
  q.w_scales.resize(oc);
  for (float& v : q.w_scales) v = d(rng);
  return q;
}

TEST(ConvolutionConv2D, Int8PerChannelSameStride2) {
  Spec s;
  s.n = 2, s.h = 7, s.w = 6, s.ic = 5, s.oc = 4, s.kh = 3, s.kw = 3, s.sh = 2, s.sw = 2;
  s.padding = fb::Padding::SAME;
  QuantSpec q = PerChannelSpec(s.oc, 11);
  q.out_scale = 0.6f;
  RunQuantized<int8_t>(s, q, 12);
}

TEST(ConvolutionConv2D, Int8PerChannelDilationRelu6) {
  Spec s;
  s.h = 9, s.w = 8, s.ic = 3, s.oc = 6, s.kh = 3, s.kw = 2, s.dh = 2, s.dw = 3;
  s.padding = fb::Padding::SAME;
  s.act = fb::Activation::RELU6;
  QuantSpec q = PerChannelSpec(s.oc, 13);
  q.out_scale = 0.03f;  // so RELU6 clamps inside the int8 range
  q.out_zp = -100;
  ClampCounts counts;
  RunQuantized<int8_t>(s, q, 14, &counts);
  EXPECT_GT(counts.at_min, 0);
  EXPECT_GT(counts.at_max, 0);
  s.act = fb::Activation::RELU;
  s.padding = fb::Padding::VALID;
  s.has_bias = false;
  RunQuantized<int8_t>(s, q, 15);
}

TEST(ConvolutionConv2D, Int8PerTensorSaturates) {
  Spec s;
  s.h = 4, s.w = 4, s.ic = 8, s.oc = 3, s.kh = 1, s.kw = 1;
  QuantSpec q;
  q.w_scales = {0.02f};
  q.out_scale = 0.02f;  // many outputs saturate at -128/127
  q.bias_range = 100000;
  ClampCounts counts;
  RunQuantized<int8_t>(s, q, 16, &counts);
  EXPECT_GT(counts.at_min, 0);
  EXPECT_GT(counts.at_max, 0);
}

TEST(ConvolutionConv2D, Uint8WithFilterZeroPoint) {
  Spec s;
  s.h = 6, s.w = 5, s.ic = 4, s.oc = 5, s.kh = 3, s.kw = 3, s.sh = 2, s.sw = 1;
  s.padding = fb::Padding::SAME;
  s.act = fb::Activation::RELU6;
  QuantSpec q;
  q.in_scale = 0.02f, q.in_zp = 128;
  q.w_scales = {0.015f}, q.w_zp = 119;
  q.out_scale = 0.05f, q.out_zp = 10;
  ClampCounts counts;
  RunQuantized<uint8_t>(s, q, 17, &counts);
  EXPECT_GT(counts.at_min, 0);
  EXPECT_GT(counts.at_max, 0);
  s.act = fb::Activation::NONE;
  s.padding = fb::Padding::VALID;
  s.has_bias = false;
  RunQuantized<uint8_t>(s, q, 18);
}

TEST(ConvolutionDepthwiseConv2D, Int8PerChannel) {
  Spec s;
  s.kind = Kind::kDepthwise;
  s.n = 2, s.h = 7, s.w = 7, s.ic = 6, s.oc = 6, s.kh = 3, s.kw = 3, s.sh = 2, s.sw = 2;
  s.padding = fb::Padding::SAME;
  QuantSpec q = PerChannelSpec(s.oc, 19);
  q.out_scale = 0.05f;
  RunQuantized<int8_t>(s, q, 20);
  // depth multiplier 3 with dilation and RELU6
  s.n = 1, s.ic = 2, s.oc = 6, s.sh = 1, s.sw = 1, s.dh = 2, s.dw = 2;
  s.act = fb::Activation::RELU6;
  q = PerChannelSpec(s.oc, 21);
  q.out_scale = 0.03f, q.out_zp = -90;
  ClampCounts counts;
  RunQuantized<int8_t>(s, q, 22, &counts);
  EXPECT_GT(counts.at_min, 0);
  EXPECT_GT(counts.at_max, 0);
}

TEST(ConvolutionDepthwiseConv2D, Uint8) {
  Spec s;
  s.kind = Kind::kDepthwise;
  s.h = 5, s.w = 6, s.ic = 3, s.oc = 6, s.kh = 3, s.kw = 3;
  s.padding = fb::Padding::SAME;
  QuantSpec q;
  q.in_scale = 0.02f, q.in_zp = 128;
  q.w_scales = {0.01f}, q.w_zp = 130;
  q.out_scale = 0.04f, q.out_zp = 120;
  RunQuantized<uint8_t>(s, q, 23);
}

TEST(ConvolutionFullyConnected, Int8PerChannelAndPerTensor) {
  Spec s;
  s.kind = Kind::kFullyConnected;
  s.ic = 20, s.oc = 7;
  s.fc_input_shape = {3, 20};
  QuantSpec q = PerChannelSpec(s.oc, 24);
  q.out_scale = 0.4f;
  RunQuantized<int8_t>(s, q, 25);
  s.fc_input_shape = {2, 2, 20};
  s.keep_num_dims = true;
  s.has_bias = false;
  s.act = fb::Activation::RELU;
  q.w_scales = {0.01f};
  RunQuantized<int8_t>(s, q, 26);
}

TEST(ConvolutionFullyConnected, Uint8) {
  Spec s;
  s.kind = Kind::kFullyConnected;
  s.ic = 16, s.oc = 10;
  s.fc_input_shape = {1, 4, 4};  // flattened to [1, 16]
  QuantSpec q;
  q.in_scale = 0.02f, q.in_zp = 100;
  q.w_scales = {0.005f}, q.w_zp = 140;
  q.out_scale = 0.1f, q.out_zp = 128;
  RunQuantized<uint8_t>(s, q, 27);
}

// XNNPACK rounds half to even where TFLite's fixed point rounds half away from zero.
TEST(ConvolutionFullyConnected, Int8RoundsHalfToEven) {
  SingleOpModel m;
  const int32_t in = m.AddInput("input", DType::INT8, {4, 1}, PerTensor(0.5f, 0));
  const int32_t f =
      m.AddConstant("filter", DType::INT8, {1, 1}, std::vector<int8_t>{1}, PerChannel({1.0f}, 0));
  const int32_t b = m.AddConstant("bias", DType::INT32, {1}, std::vector<int32_t>{0});
  const int32_t out = m.AddOutput("output", DType::INT8, {4, 1}, PerTensor(1.0f, 0));
  m.AddOperator(fb::OpType::FULLY_CONNECTED, {in, f, b}, {out},
                Options(fb::FullyConnectedOptionsT()));
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<int8_t>{5, 7, -5, -3});  // 2.5, 3.5, -2.5, -1.5
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int8_t>(0), (std::vector<int8_t>{2, 4, -2, -2}));
}

// ---- rejected models ---------------------------------------------------------------------------

Status BuildConv(DType in_dt, DType w_dt, DType bias_dt, Shape out_shape, QuantParams wq,
                 Shape filter_shape = {2, 3, 3, 4}, int32_t dilation = 1) {
  SingleOpModel m;
  const bool q = in_dt != DType::FLOAT32;
  const QuantParams aq = q ? PerTensor(0.1f, 0) : QuantParams{};
  const int32_t in = m.AddInput("the_input", in_dt, {1, 5, 5, 4}, aq);
  std::vector<uint8_t> wbytes(NumElements(filter_shape) * DTypeSize(w_dt), 0);
  const int32_t f = m.AddConstant("the_filter", w_dt, filter_shape, wbytes, wq);
  std::vector<uint8_t> bbytes(2 * DTypeSize(bias_dt), 0);
  const int32_t b = m.AddConstant("the_bias", bias_dt, {2}, bbytes);
  const int32_t out = m.AddOutput("the_output", in_dt, out_shape, aq);
  fb::Conv2DOptionsT options;
  options.dilation_h = options.dilation_w = dilation;
  m.AddOperator(fb::OpType::CONV_2D, {in, f, b}, {out}, Options(options));
  return m.Build();
}

TEST(ConvolutionConv2D, RejectsBadModels) {
  // SAME padding, stride 1: output [1, 5, 5, 2].
  Status ok =
      BuildConv(DType::INT8, DType::INT8, DType::INT32, {1, 5, 5, 2}, PerChannel({0.1f, 0.2f}, 0));
  EXPECT_TRUE(ok.ok()) << ok.ToString();

  Status s = BuildConv(DType::INT8, DType::UINT8, DType::INT32, {1, 5, 5, 2}, PerTensor(0.1f, 0));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("the_filter"), std::string::npos) << s.ToString();

  s = BuildConv(DType::INT8, DType::INT8, DType::FLOAT32, {1, 5, 5, 2}, PerTensor(0.1f, 0));
  EXPECT_NE(s.message().find("the_bias"), std::string::npos) << s.ToString();

  s = BuildConv(DType::INT8, DType::INT8, DType::INT32, {1, 3, 3, 2}, PerTensor(0.1f, 0));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the_output"), std::string::npos) << s.ToString();

  s = BuildConv(DType::INT8, DType::INT8, DType::INT32, {1, 5, 5, 2}, PerChannel({0.1f, 0.2f}, 3));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the_filter"), std::string::npos) << s.ToString();

  s = BuildConv(DType::INT8, DType::INT8, DType::INT32, {1, 5, 5, 2},
                PerChannel({0.1f, 0.2f, 0.3f}, 0));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the_filter"), std::string::npos) << s.ToString();

  s = BuildConv(DType::FLOAT32, DType::FLOAT32, DType::FLOAT32, {1, 5, 5, 2}, {}, {2, 3, 3, 3});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the_filter"), std::string::npos) << s.ToString();

  s = BuildConv(DType::INT16, DType::INT8, DType::INT64, {1, 5, 5, 2}, PerTensor(0.1f, 0));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("the_input"), std::string::npos) << s.ToString();

  // A dilation whose taps leave int32 coordinates (invoke_fuzzer: 2 x 1459617793), SAME padding.
  s = BuildConv(DType::INT8, DType::INT8, DType::INT32, {1, 5, 5, 2}, PerTensor(0.1f, 0),
                {2, 3, 3, 4}, 1459617793);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel) << s.ToString();
  EXPECT_NE(s.message().find("the_filter' spans"), std::string::npos) << s.ToString();
}

TEST(ConvolutionFullyConnected, RejectsBadShapes) {
  SingleOpModel m;
  const int32_t in = m.AddInput("fc_in", DType::FLOAT32, {2, 7});
  const int32_t f = m.AddConstant("fc_w", DType::FLOAT32, {3, 4}, std::vector<float>(12, 0.0f));
  const int32_t out = m.AddOutput("fc_out", DType::FLOAT32, {2, 3});
  m.AddOperator(fb::OpType::FULLY_CONNECTED, {in, f, -1}, {out},
                Options(fb::FullyConnectedOptionsT()));
  Status s = m.Build();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fc_in"), std::string::npos) << s.ToString();
}

TEST(ConvolutionDepthwiseConv2D, RejectsBadMultiplier) {
  SingleOpModel m;
  const int32_t in = m.AddInput("dw_in", DType::FLOAT32, {1, 4, 4, 3});
  const int32_t f =
      m.AddConstant("dw_w", DType::FLOAT32, {1, 3, 3, 4}, std::vector<float>(36, 0.0f));
  const int32_t out = m.AddOutput("dw_out", DType::FLOAT32, {1, 4, 4, 4});
  m.AddOperator(fb::OpType::DEPTHWISE_CONV_2D, {in, f, -1}, {out},
                Options(fb::DepthwiseConv2DOptionsT()));
  Status s = m.Build();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("dw_w"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace wisp

namespace wisp {
namespace {

// Runs `cases` once per microkernel ISA level (scalar, sse2, ...), then restores the default.
template <typename Fn>
void ForEachIsaLevel(const Fn& cases) {
  for (const std::string& isa : MicrokernelIsaLevels()) {
    SCOPED_TRACE("ISA level " + isa);
    ASSERT_TRUE(SetMicrokernelIsaLimit(isa));
    cases();
  }
  SetMicrokernelIsaLimit("");
}

// Whether the float kernels the current ISA level picked use a fused multiply-add (the relaxed
// WebAssembly level on an engine that fuses relaxed_madd, f32_conv.h).
bool SelectedF32KernelsFuse() {
  const MicrokernelConfig& k = Microkernels();
  return (k.f32_gemm->fuses != nullptr && k.f32_gemm->fuses()) ||
         (k.f32_dwconv->fuses != nullptr && k.f32_dwconv->fuses());
}

// The microkernel paths (CONV_2D as a GEMM over pixels or through row windows, FULLY_CONNECTED,
// DEPTHWISE_CONV_2D) must equal the reference bit for bit, with every ISA level this build and
// machine offer (microkernels/config.h): `family` is the microkernel name's prefix. T = float
// runs the float32 microkernels, which must add in the reference's order.
template <typename T>
void CompareOptimizedWithReference(const Spec& s, uint32_t seed, const char* family = "q8_gemm_") {
  constexpr bool kFloat = std::is_same<T, float>::value;
  const DType dt = kFloat                           ? DType::FLOAT32
                   : std::is_same<T, int8_t>::value ? DType::INT8
                                                    : DType::UINT8;
  std::mt19937 rng(seed);
  // The 8-bit range (float inputs are drawn below instead).
  using Q = typename std::conditional<kFloat, int8_t, T>::type;
  std::uniform_int_distribution<int32_t> qdist(std::numeric_limits<Q>::min(),
                                               std::numeric_limits<Q>::max());
  std::uniform_int_distribution<int32_t> bdist(-5000, 5000);
  std::uniform_real_distribution<float> sdist(0.002f, 0.02f);
  std::vector<T> x(NumElements(InputShape(s))), w(NumElements(FilterShape(s)));
  std::vector<int32_t> bias(s.oc);
  std::vector<float> fbias(s.oc);
  std::vector<float> scales(s.oc);
  if constexpr (kFloat) {
    // Magnitudes over several binades and some signed zeros, so that any change in the order
    // of the additions would show in the low bits.
    std::uniform_real_distribution<float> fdist(-1.0f, 1.0f);
    std::uniform_int_distribution<int> e(-8, 8), pick(0, 19);
    auto value = [&] {
      const int p = pick(rng);
      if (p == 0) return 0.0f;
      if (p == 1) return -0.0f;
      return std::ldexp(fdist(rng), e(rng));
    };
    for (float& v : x) v = value();
    for (float& v : w) v = value();
    for (float& v : fbias) v = value();
  } else {
    for (T& v : x) v = static_cast<T>(qdist(rng));
    for (T& v : w) v = static_cast<T>(qdist(rng));
  }
  for (int32_t& v : bias) v = bdist(rng);
  for (float& v : scales) v = sdist(rng);
  const QuantParams wq = dt == DType::INT8 ? PerChannel(scales, s.kind == Kind::kDepthwise ? 3 : 0)
                                           : PerTensor(scales[0], 131);
  const int32_t zp = dt == DType::INT8 ? -7 : 121;

  // One interpreter (reference kernels or the optimized ones) run on each of `inputs` in turn.
  auto run = [&](bool reference_only, std::initializer_list<const std::vector<T>*> inputs,
                 std::vector<std::vector<T>>* results) {
    SingleOpModel m;
    const int32_t in =
        m.AddInput("input", dt, InputShape(s), kFloat ? QuantParams() : PerTensor(0.05f, zp));
    const int32_t f = m.AddConstant("filter", dt, FilterShape(s), w, kFloat ? QuantParams() : wq);
    const int32_t b = !s.has_bias ? -1
                      : kFloat    ? m.AddConstant("bias", DType::FLOAT32, {s.oc}, fbias)
                                  : m.AddConstant("bias", DType::INT32, {s.oc}, bias);
    const int32_t out = m.AddOutput("output", dt, OutputShape(s),
                                    kFloat ? QuantParams() : PerTensor(0.25f, zp / 2));
    m.AddOperator(OpTypeOf(s), {in, f, b}, {out}, OptionsOf(s));
    Status st = m.Build(reference_only);
    ASSERT_TRUE(st.ok()) << st.ToString();
    const std::string impl = m.interpreter().kernel_implementation(0);
    if (reference_only) {
      EXPECT_EQ(impl, "reference");
    } else {
      EXPECT_EQ(impl.rfind(family, 0), 0u) << impl;
    }
    for (const std::vector<T>* input : inputs) {
      m.SetInput(0, *input);
      ASSERT_TRUE(m.Invoke().ok());
      results->push_back(m.Output<T>(0));
    }
  };
  // A second input for a second run: plans may keep what the first run built (window tables)
  // while the input tensor stays in place; the values they read must be the new ones, so the
  // second run must give what a fresh interpreter gives on that input, bit for bit.
  const std::vector<T> x2(x.rbegin(), x.rend());
  std::vector<std::vector<T>> optimized, reference, fresh;
  run(false, {&x, &x2}, &optimized);
  run(true, {&x, &x2}, &reference);
  run(false, {&x2}, &fresh);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(optimized[1].size(), fresh[0].size());
  EXPECT_EQ(0, std::memcmp(optimized[1].data(), fresh[0].data(), fresh[0].size() * sizeof(T)))
      << "the second run differs from a first run on the same input";
  for (size_t r = 0; r < 2; ++r) {
    SCOPED_TRACE(r == 0 ? "first run" : "second run, another input");
    const std::vector<T>& o = optimized[r];
    const std::vector<T>& ref = reference[r];
    ASSERT_EQ(o.size(), ref.size());
    if constexpr (kFloat) {
      if (SelectedF32KernelsFuse()) {
        // A fused multiply-add rounds once where the reference rounds twice: the same sums to
        // within a few units in the last place of the largest partial sums (a wrong tap, channel
        // or order would be off by whole terms). The bound below is drawn for the first input's
        // outputs; the second run is held to the fresh run above instead.
        if (r == 1) continue;
        double scale = 1.0;
        for (float v : ref) scale = std::max(scale, static_cast<double>(std::fabs(v)));
        for (size_t i = 0; i < o.size(); ++i) {
          ASSERT_NEAR(o[i], ref[i], 1e-4 * scale) << "output " << i;
        }
        continue;
      }
    }
    // Bytes, not values: -0.0f == 0.0f, and a NaN differs from itself.
    EXPECT_EQ(0, std::memcmp(o.data(), ref.data(), o.size() * sizeof(T)));
  }
}

void PointwiseCases() {
  std::mt19937 rng(40);
  std::uniform_int_distribution<int> small(1, 7), channels(1, 45);
  for (int i = 0; i < 12; ++i) {
    Spec s;
    s.n = small(rng) % 3 + 1, s.h = small(rng), s.w = small(rng);
    s.ic = channels(rng), s.oc = channels(rng);
    s.padding = i % 2 ? fb::Padding::SAME : fb::Padding::VALID;
    s.act = i % 3 == 0 ? fb::Activation::RELU6 : fb::Activation::NONE;
    s.has_bias = i % 4 != 1;
    if (i % 2) {
      CompareOptimizedWithReference<int8_t>(s, 100 + i);
    } else {
      CompareOptimizedWithReference<uint8_t>(s, 100 + i);
    }
  }
}

TEST(ConvolutionConv2D, PointwiseGemmMatchesReference) { ForEachIsaLevel(PointwiseCases); }

constexpr fb::Activation kActivations[] = {fb::Activation::NONE, fb::Activation::RELU,
                                           fb::Activation::RELU6, fb::Activation::RELU_N1_TO_1};

// Random spatial geometries (batch, kernel, stride, dilation, padding, activation, bias) for
// `kind`, each compared with the reference on int8 and uint8 in turn.
void CompareRandomSpatialWithReference(Kind kind, uint32_t seed, const char* family,
                                       bool float32 = false) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> size(1, 12), kernel(1, 5), stride(1, 3), channels(1, 37);
  for (int i = 0; i < 24; ++i) {
    Spec s;
    s.kind = kind;
    s.n = i % 3 + 1, s.h = size(rng), s.w = size(rng);
    s.ic = channels(rng);
    s.oc = kind == Kind::kDepthwise ? s.ic : channels(rng);
    s.kh = kernel(rng), s.kw = kernel(rng);
    s.sh = stride(rng), s.sw = stride(rng);
    s.dh = i % 4 == 0 ? 2 : 1, s.dw = i % 5 == 0 ? 2 : 1;
    s.padding = i % 2 ? fb::Padding::SAME : fb::Padding::VALID;
    if (s.padding == fb::Padding::VALID) {
      s.h = std::max(s.h, (s.kh - 1) * s.dh + 1);
      s.w = std::max(s.w, (s.kw - 1) * s.dw + 1);
    }
    // A pointwise CONV_2D takes the plain GEMM, tested above.
    if (kind == Kind::kConv && s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1) s.kh = 2;
    s.act = i % 3 == 0 ? fb::Activation::RELU6 : fb::Activation::NONE;
    s.has_bias = i % 4 != 1;
    if (float32) {
      s.act = kActivations[i % 4];
      CompareOptimizedWithReference<float>(s, seed * 10 + i, family);
    } else if (i % 2) {
      CompareOptimizedWithReference<int8_t>(s, seed * 10 + i, family);
    } else {
      CompareOptimizedWithReference<uint8_t>(s, seed * 10 + i, family);
    }
  }
}

// First layers with few input channels (each filter row one tap into the image, or a gathered
// patch): a mono 10x4 stride-2 filter (keyword spotting) and RGB / RGBA 3x3 ones at stride 2 and
// 1, with padding on every side, int8 and uint8.
void FirstLayerCases() {
  uint32_t seed = 600;
  for (int ic : {1, 3, 4}) {
    for (int stride : {2, 1}) {
      Spec s;
      s.n = 2, s.h = 13, s.w = 11, s.ic = ic, s.oc = ic == 3 ? 8 : 19;
      s.kh = ic == 1 ? 10 : 3, s.kw = ic == 1 ? 4 : 3, s.sh = s.sw = stride;
      s.padding = fb::Padding::SAME;
      s.act = fb::Activation::RELU6;
      CompareOptimizedWithReference<int8_t>(s, ++seed, "q8_gemm_");
      CompareOptimizedWithReference<uint8_t>(s, ++seed, "q8_gemm_");
    }
  }
}

// Kernels taller than the tap rows BuildRowWindows holds on the stack (its checked path), with
// padding on every side (3 columns wide, so there is some on the left): a filter over time, as
// audio models have them.
void TallKernelCases(Kind kind, const char* family) {
  Spec s;
  s.kind = kind;
  s.n = 1, s.h = 24, s.w = 5, s.ic = 3, s.oc = kind == Kind::kDepthwise ? 3 : 5;
  s.kh = 20, s.kw = 3, s.sh = s.sw = 1;
  s.padding = fb::Padding::SAME;
  CompareOptimizedWithReference<int8_t>(s, 700, family);
  CompareOptimizedWithReference<uint8_t>(s, 701, family);
}

TEST(ConvolutionConv2D, WindowedGemmMatchesReference) {
  ForEachIsaLevel([] {
    CompareRandomSpatialWithReference(Kind::kConv, 42, "q8_gemm_");
    FirstLayerCases();
    TallKernelCases(Kind::kConv, "q8_gemm_");
  });
}

TEST(ConvolutionDepthwiseConv2D, MicrokernelsMatchReference) {
  ForEachIsaLevel([] {
    CompareRandomSpatialWithReference(Kind::kDepthwise, 43, "q8_dwconv_");
    TallKernelCases(Kind::kDepthwise, "q8_dwconv_");
  });
}

void FullyConnectedCases() {
  std::mt19937 rng(41);
  std::uniform_int_distribution<int> batch(1, 9), channels(1, 70);
  for (int i = 0; i < 12; ++i) {
    Spec s;
    s.kind = Kind::kFullyConnected;
    s.ic = channels(rng), s.oc = channels(rng);
    s.fc_input_shape = {batch(rng), s.ic};
    s.act = i % 3 == 0 ? fb::Activation::RELU : fb::Activation::NONE;
    s.has_bias = i % 4 != 1;
    if (i % 2) {
      CompareOptimizedWithReference<int8_t>(s, 200 + i);
    } else {
      CompareOptimizedWithReference<uint8_t>(s, 200 + i);
    }
  }
}

TEST(ConvolutionFullyConnected, GemmMatchesReference) { ForEachIsaLevel(FullyConnectedCases); }

// Float32: pointwise and windowed CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on the f32
// microkernels, bit for bit equal to the reference at every ISA level.
void FloatGemmCases() {
  std::mt19937 rng(44);
  std::uniform_int_distribution<int> small(1, 7), channels(1, 45), batch(1, 9);
  for (int i = 0; i < 12; ++i) {
    Spec s;
    s.n = small(rng) % 3 + 1, s.h = small(rng), s.w = small(rng);
    s.ic = channels(rng), s.oc = channels(rng);
    s.act = kActivations[i % 4];
    s.has_bias = i % 4 != 1;
    CompareOptimizedWithReference<float>(s, 300 + i, "f32_gemm_");
    s.kind = Kind::kFullyConnected;
    s.fc_input_shape = {batch(rng), s.ic};
    CompareOptimizedWithReference<float>(s, 400 + i, "f32_gemm_");
  }
  CompareRandomSpatialWithReference(Kind::kConv, 45, "f32_gemm_", true);
  // First layers with few input channels, which gather each pixel's patch into one row: a mono
  // 10x4 stride-2 filter (keyword spotting) and an RGB 3x3 stride-2 one, with padding.
  for (int ic : {1, 3, 4}) {
    Spec s;
    s.n = 2, s.h = 13, s.w = 9, s.ic = ic, s.oc = 19;
    s.kh = ic == 1 ? 10 : 3, s.kw = ic == 1 ? 4 : 3, s.sh = s.sw = 2;
    s.padding = fb::Padding::SAME;
    s.act = fb::Activation::RELU6;
    CompareOptimizedWithReference<float>(s, 500 + ic, "f32_gemm_");
  }
}

TEST(ConvolutionConv2D, FloatMicrokernelsMatchReference) { ForEachIsaLevel(FloatGemmCases); }

TEST(ConvolutionDepthwiseConv2D, FloatMicrokernelsMatchReference) {
  ForEachIsaLevel(
      [] { CompareRandomSpatialWithReference(Kind::kDepthwise, 46, "f32_dwconv_", true); });
}

}  // namespace
}  // namespace wisp

// The thread tests need the native pool; the rest also runs as WebAssembly (tests/wasm), where
// the plans meet the WebAssembly microkernels.
#ifndef __EMSCRIPTEN__
namespace wisp {
namespace {

using testing::CountingPool;

// Splitting a convolution over threads (bands of output rows, or of GEMM rows) must give the
// single-threaded result bit for bit, for every path.
template <typename T>
void CompareThreadedWithSingle(const Spec& s, uint32_t seed, bool reference_only) {
  const DType dt = std::is_same<T, float>::value    ? DType::FLOAT32
                   : std::is_same<T, int8_t>::value ? DType::INT8
                                                    : DType::UINT8;
  std::mt19937 rng(seed);
  std::vector<T> x(NumElements(InputShape(s))), w(NumElements(FilterShape(s)));
  std::vector<float> fbias(s.oc);
  std::vector<int32_t> qbias(s.oc);
  if constexpr (std::is_same<T, float>::value) {
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& v : x) v = d(rng);
    for (float& v : w) v = d(rng);
    for (float& v : fbias) v = d(rng);
  } else {
    std::uniform_int_distribution<int32_t> q(std::numeric_limits<T>::min(),
                                             std::numeric_limits<T>::max());
    std::uniform_int_distribution<int32_t> b(-5000, 5000);
    for (T& v : x) v = static_cast<T>(q(rng));
    for (T& v : w) v = static_cast<T>(q(rng));
    for (int32_t& v : qbias) v = b(rng);
  }
  const int32_t zp = dt == DType::UINT8 ? 121 : -7;
  CountingPool pool(3);
  std::vector<T> outputs[2];
  for (int threaded = 0; threaded < 2; ++threaded) {
    SingleOpModel m;
    const bool quant = dt != DType::FLOAT32;
    const int32_t in =
        m.AddInput("input", dt, InputShape(s), quant ? PerTensor(0.05f, zp) : QuantParams());
    const int32_t f =
        m.AddConstant("filter", dt, FilterShape(s), w,
                      quant ? PerTensor(0.01f, dt == DType::UINT8 ? 131 : 0) : QuantParams());
    const int32_t b = quant ? m.AddConstant("bias", DType::INT32, {s.oc}, qbias)
                            : m.AddConstant("bias", DType::FLOAT32, {s.oc}, fbias);
    const int32_t out =
        m.AddOutput("output", dt, OutputShape(s), quant ? PerTensor(0.25f, zp / 2) : QuantParams());
    m.AddOperator(OpTypeOf(s), {in, f, b}, {out}, OptionsOf(s));
    InterpreterOptions options;
    options.kernels.reference_only = reference_only;
    if (threaded) options.thread_pool = &pool;
    Status st = m.Build(options);
    ASSERT_TRUE(st.ok()) << st.ToString();
    m.SetInput(0, x);
    ASSERT_TRUE(m.Invoke().ok());
    outputs[threaded] = m.Output<T>(0);
  }
  EXPECT_GT(pool.max_tasks(), 1) << "the work was not split";
  EXPECT_EQ(outputs[0], outputs[1]);
}

Spec Big(Kind kind, int k, int stride, int dilation, int ic, int oc, fb::Padding padding) {
  Spec s;
  s.kind = kind;
  s.h = 37, s.w = 29, s.ic = ic, s.oc = oc;
  s.kh = s.kw = k;
  s.sh = s.sw = stride;
  s.dh = s.dw = dilation;
  s.padding = padding;
  s.act = fb::Activation::RELU6;
  return s;
}

TEST(ConvolutionThreads, Conv2DSplitsOutputRowsExactly) {
  for (bool reference_only : {false, true}) {
    const Spec s = Big(Kind::kConv, 3, 2, 1, 16, 48, fb::Padding::SAME);
    CompareThreadedWithSingle<int8_t>(s, 1, reference_only);
    CompareThreadedWithSingle<uint8_t>(Big(Kind::kConv, 3, 1, 2, 5, 16, fb::Padding::VALID), 2,
                                       reference_only);
    CompareThreadedWithSingle<float>(s, 3, reference_only);
    // 3x3 stride 1, float: Winograd passes split over the threads unless reference_only.
    CompareThreadedWithSingle<float>(Big(Kind::kConv, 3, 1, 1, 8, 12, fb::Padding::SAME), 5,
                                     reference_only);
    // 1x1 stride 1: the packed GEMM unless reference_only.
    CompareThreadedWithSingle<int8_t>(Big(Kind::kConv, 1, 1, 1, 32, 40, fb::Padding::VALID), 4,
                                      reference_only);
  }
}

TEST(ConvolutionThreads, DepthwiseSplitsOutputRowsExactly) {
  CompareThreadedWithSingle<int8_t>(Big(Kind::kDepthwise, 3, 1, 1, 64, 64, fb::Padding::SAME), 5,
                                    false);
  CompareThreadedWithSingle<uint8_t>(Big(Kind::kDepthwise, 3, 2, 1, 48, 96, fb::Padding::SAME), 6,
                                     false);
  CompareThreadedWithSingle<float>(Big(Kind::kDepthwise, 5, 1, 2, 64, 64, fb::Padding::VALID), 7,
                                   false);
}

TEST(ConvolutionThreads, FullyConnectedSplitsRowsExactly) {
  Spec s;
  s.kind = Kind::kFullyConnected;
  s.ic = 96, s.oc = 80;
  s.fc_input_shape = {200, s.ic};
  CompareThreadedWithSingle<int8_t>(s, 8, false);
  CompareThreadedWithSingle<uint8_t>(s, 9, false);
  CompareThreadedWithSingle<float>(s, 10, false);
}

}  // namespace
}  // namespace wisp
#endif  // __EMSCRIPTEN__
