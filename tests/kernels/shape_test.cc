// Shape family: data movement (RESHAPE, SQUEEZE, CONCATENATION, PACK, UNPACK, PAD, TRANSPOSE,
// SLICE, STRIDED_SLICE, GATHER_ND) and resizing (RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR).
// Movement is checked element by element; the 8-bit bilinear resize against float math within
// one quantum and against exact outputs recorded from the reference runtime (LiteRT.js 2.5.3).
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tests/kernels/op_test_util.h"

namespace wisp {
namespace {

using testing::PerTensor;
using testing::SingleOpModel;

template <typename T>
fb::OpOptionsUnion Opts(T value) {
  fb::OpOptionsUnion u;
  u.Set(std::move(value));
  return u;
}

template <typename T>
std::vector<T> Iota(size_t n, int start = 0) {
  std::vector<T> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<T>(start + static_cast<int>(i));
  return v;
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

// A one-operator model whose first input is a graph input and the rest constants or inputs.
struct OpRun {
  SingleOpModel m;
  std::vector<int32_t> ins;
  int32_t out = -1;
};

// ---- RESHAPE / SQUEEZE ------------------------------------------------------------------------

TEST(ShapeReshape, CopiesInt8AndInt64) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::INT8, {1, 1, 1, 6}, PerTensor(0.5f, -3));
  const int32_t s = m.AddConstant("shape", DType::INT32, {2}, std::vector<int32_t>{-1, 3});
  const int32_t o = m.AddOutput("out", DType::INT8, {2, 3}, PerTensor(0.5f, -3));
  m.AddOperator(fb::OpType::RESHAPE, {a, s}, {o});
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<int8_t>{1, -2, 3, -4, 5, -128});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int8_t>(0), (std::vector<int8_t>{1, -2, 3, -4, 5, -128}));

  SingleOpModel m64;
  const int32_t b = m64.AddInput("in", DType::INT64, {1, 3});
  const int32_t o64 = m64.AddOutput("out", DType::INT64, {3});
  m64.AddOperator(fb::OpType::RESHAPE, {b}, {o64});
  ASSERT_TRUE(m64.Build().ok());
  m64.SetInput(0, std::vector<int64_t>{int64_t{1} << 40, -1, 7});
  ASSERT_TRUE(m64.Invoke().ok());
  EXPECT_EQ(m64.Output<int64_t>(0), (std::vector<int64_t>{int64_t{1} << 40, -1, 7}));
}

TEST(ShapeReshape, RejectsElementCountMismatch) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::FLOAT32, {2, 3});
  const int32_t o = m.AddOutput("wrong", DType::FLOAT32, {7});
  m.AddOperator(fb::OpType::RESHAPE, {a}, {o});
  Status s = m.Build();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("RESHAPE"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("'wrong'"), std::string::npos) << s.ToString();
}

TEST(ShapeSqueeze, ExplicitAndAllDims) {
  for (bool explicit_dims : {true, false}) {
    SingleOpModel m;
    const int32_t a = m.AddInput("in", DType::FLOAT32, {1, 3, 1, 2});
    const int32_t o =
        m.AddOutput("out", DType::FLOAT32, explicit_dims ? Shape{1, 3, 2} : Shape{3, 2});
    fb::SqueezeOptionsT opts;
    if (explicit_dims) opts.squeeze_dims = {-2};
    m.AddOperator(fb::OpType::SQUEEZE, {a}, {o}, Opts(opts));
    ASSERT_TRUE(m.Build().ok());
    m.SetInput(0, Iota<float>(6));
    ASSERT_TRUE(m.Invoke().ok());
    EXPECT_EQ(m.Output<float>(0), Iota<float>(6));
  }
  SingleOpModel bad;
  const int32_t a = bad.AddInput("in", DType::FLOAT32, {1, 3});
  const int32_t o = bad.AddOutput("out", DType::FLOAT32, {1});
  fb::SqueezeOptionsT opts;
  opts.squeeze_dims = {1};
  bad.AddOperator(fb::OpType::SQUEEZE, {a}, {o}, Opts(opts));
  EXPECT_FALSE(bad.Build().ok());
}

// ---- CONCATENATION / PACK / UNPACK ------------------------------------------------------------

TEST(ShapeConcatenation, FloatAndInt32AlongInnerAndOuterAxes) {
  SingleOpModel m;
  const int32_t a = m.AddInput("a", DType::FLOAT32, {2, 2});
  const int32_t b = m.AddInput("b", DType::FLOAT32, {2, 1});
  const int32_t o = m.AddOutput("out", DType::FLOAT32, {2, 3});
  fb::ConcatenationOptionsT opts;
  opts.axis = -1;
  m.AddOperator(fb::OpType::CONCATENATION, {a, b}, {o}, Opts(opts));
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<float>{1, 2, 3, 4});
  m.SetInput(1, std::vector<float>{5, 6});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<float>(0), (std::vector<float>{1, 2, 5, 3, 4, 6}));

  // movenet: int32 [17,3] ++ constant [17,1] along axis 1; here [2,3] ++ [2,1].
  SingleOpModel mi;
  const int32_t x = mi.AddInput("x", DType::INT32, {2, 3});
  const int32_t c = mi.AddConstant("c", DType::INT32, {2, 1}, std::vector<int32_t>{10, 11});
  const int32_t oi = mi.AddOutput("out", DType::INT32, {2, 4});
  opts.axis = 1;
  mi.AddOperator(fb::OpType::CONCATENATION, {x, c}, {oi}, Opts(opts));
  ASSERT_TRUE(mi.Build().ok());
  mi.SetInput(0, Iota<int32_t>(6));
  ASSERT_TRUE(mi.Invoke().ok());
  EXPECT_EQ(mi.Output<int32_t>(0), (std::vector<int32_t>{0, 1, 2, 10, 3, 4, 5, 11}));

  SingleOpModel m0;
  const int32_t p = m0.AddInput("p", DType::INT64, {1, 2});
  const int32_t q = m0.AddInput("q", DType::INT64, {2, 2});
  const int32_t o0 = m0.AddOutput("out", DType::INT64, {3, 2});
  opts.axis = 0;
  m0.AddOperator(fb::OpType::CONCATENATION, {p, q}, {o0}, Opts(opts));
  ASSERT_TRUE(m0.Build().ok());
  m0.SetInput(0, std::vector<int64_t>{-1, -2});
  m0.SetInput(1, std::vector<int64_t>{3, 4, 5, 6});
  ASSERT_TRUE(m0.Invoke().ok());
  EXPECT_EQ(m0.Output<int64_t>(0), (std::vector<int64_t>{-1, -2, 3, 4, 5, 6}));
}

TEST(ShapeConcatenation, Uint8DifferentScalesMatchReferenceRuntime) {
  // TFLite's ConcatenationWithScaling (XNNPACK's delegate declines differing uint8 scales).
  SingleOpModel m;
  const int32_t a = m.AddInput("a", DType::UINT8, {1, 2, 2, 3}, PerTensor(0.029f, 0));
  const int32_t b = m.AddInput("b", DType::UINT8, {1, 2, 2, 2}, PerTensor(0.05f, 100));
  const int32_t o = m.AddOutput("out", DType::UINT8, {1, 2, 2, 5}, PerTensor(0.04f, 10));
  fb::ConcatenationOptionsT opts;
  opts.axis = 3;
  m.AddOperator(fb::OpType::CONCATENATION, {a, b}, {o}, Opts(opts));
  ASSERT_TRUE(m.Build().ok());
  const std::vector<uint8_t> av = Pattern<uint8_t>(12, 0), bv = Pattern<uint8_t>(8, 1);
  m.SetInput(0, av);
  m.SetInput(1, bv);
  ASSERT_TRUE(m.Invoke().ok());
  const std::vector<uint8_t> got = m.Output<uint8_t>(0);
  EXPECT_EQ(got, (std::vector<uint8_t>{40,  93, 146, 0,  64,  13,  66, 119, 155, 0,
                                       172, 39, 92,  18, 109, 145, 12, 65,  200, 0}));
  // And within one quantum of float requantization.
  for (int p = 0; p < 4; ++p) {
    for (int c = 0; c < 5; ++c) {
      const float real = c < 3 ? av[p * 3 + c] * 0.029f : (bv[p * 2 + c - 3] - 100) * 0.05f;
      const float want = std::min(255.0f, std::max(0.0f, std::round(real / 0.04f) + 10));
      EXPECT_LE(std::abs(got[p * 5 + c] - want), 1.0f);
    }
  }
}

TEST(ShapeConcatenation, Int8SameScaleCopiesAndShapeMismatchRejected) {
  SingleOpModel m;
  const int32_t a = m.AddInput("a", DType::INT8, {1, 2}, PerTensor(0.1f, -128));
  const int32_t b = m.AddInput("b", DType::INT8, {1, 1}, PerTensor(0.1f, -128));
  const int32_t o = m.AddOutput("out", DType::INT8, {1, 3}, PerTensor(0.1f, -128));
  fb::ConcatenationOptionsT opts;
  opts.axis = 1;
  m.AddOperator(fb::OpType::CONCATENATION, {a, b}, {o}, Opts(opts));
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<int8_t>{-128, 127});
  m.SetInput(1, std::vector<int8_t>{5});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int8_t>(0), (std::vector<int8_t>{-128, 127, 5}));

  SingleOpModel bad;
  const int32_t x = bad.AddInput("x", DType::FLOAT32, {2, 2});
  const int32_t y = bad.AddInput("y", DType::FLOAT32, {3, 1});
  const int32_t ob = bad.AddOutput("out", DType::FLOAT32, {2, 3});
  bad.AddOperator(fb::OpType::CONCATENATION, {x, y}, {ob}, Opts(opts));
  Status s = bad.Build();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'y'"), std::string::npos) << s.ToString();
}

TEST(ShapePack, Int32AxisOneAndInt8LastAxis) {
  // movenet: PACK of three int32 [17] vectors along axis 1 -> [17, 3].
  SingleOpModel m;
  const int32_t z = m.AddConstant("zero", DType::INT32, {2}, std::vector<int32_t>{0, 0});
  const int32_t a = m.AddInput("a", DType::INT32, {2});
  const int32_t b = m.AddInput("b", DType::INT32, {2});
  const int32_t o = m.AddOutput("out", DType::INT32, {2, 3});
  fb::PackOptionsT opts;
  opts.axis = 1;
  opts.values_count = 3;
  m.AddOperator(fb::OpType::PACK, {z, a, b}, {o}, Opts(opts));
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<int32_t>{1, 2});
  m.SetInput(1, std::vector<int32_t>{3, 4});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int32_t>(0), (std::vector<int32_t>{0, 1, 3, 0, 2, 4}));

  SingleOpModel q;
  const int32_t x = q.AddInput("x", DType::INT8, {1, 3}, PerTensor(0.2f, -128));
  const int32_t y = q.AddInput("y", DType::INT8, {1, 3}, PerTensor(0.2f, -128));
  const int32_t oq = q.AddOutput("out", DType::INT8, {1, 3, 2}, PerTensor(0.2f, -128));
  opts.axis = 2;
  opts.values_count = 2;
  q.AddOperator(fb::OpType::PACK, {x, y}, {oq}, Opts(opts));
  ASSERT_TRUE(q.Build().ok());
  q.SetInput(0, std::vector<int8_t>{1, 2, 3});
  q.SetInput(1, std::vector<int8_t>{-1, -2, -3});
  ASSERT_TRUE(q.Invoke().ok());
  EXPECT_EQ(q.Output<int8_t>(0), (std::vector<int8_t>{1, -1, 2, -2, 3, -3}));
}

TEST(ShapeUnpack, Int8AlongLastAxis) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::INT8, {3, 2}, PerTensor(0.7f, -21));
  const int32_t o0 = m.AddOutput("x", DType::INT8, {3}, PerTensor(0.7f, -21));
  const int32_t o1 = m.AddOutput("y", DType::INT8, {3}, PerTensor(0.7f, -21));
  fb::UnpackOptionsT opts;
  opts.axis = 1;
  opts.num = 2;
  m.AddOperator(fb::OpType::UNPACK, {a}, {o0, o1}, Opts(opts));
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<int8_t>{1, -1, 2, -2, 3, -3});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int8_t>(0), (std::vector<int8_t>{1, 2, 3}));
  EXPECT_EQ(m.Output<int8_t>(1), (std::vector<int8_t>{-1, -2, -3}));
}

// ---- PAD / TRANSPOSE / SLICE / STRIDED_SLICE --------------------------------------------------

TEST(ShapePad, FloatAndInt8PadsWithZeroPoint) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::INT8, {1, 2, 2, 1}, PerTensor(0.1f, -7));
  const int32_t p =
      m.AddConstant("paddings", DType::INT32, {4, 2}, std::vector<int32_t>{0, 0, 1, 0, 0, 2, 0, 0});
  const int32_t o = m.AddOutput("out", DType::INT8, {1, 3, 4, 1}, PerTensor(0.1f, -7));
  m.AddOperator(fb::OpType::PAD, {a, p}, {o});
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, std::vector<int8_t>{1, 2, 3, 4});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int8_t>(0), (std::vector<int8_t>{-7, -7, -7, -7, 1, 2, -7, -7, 3, 4, -7, -7}));

  SingleOpModel f;
  const int32_t b = f.AddInput("in", DType::FLOAT32, {3});
  const int32_t pf = f.AddConstant("paddings", DType::INT64, {1, 2}, std::vector<int64_t>{2, 1});
  const int32_t of = f.AddOutput("out", DType::FLOAT32, {6});
  f.AddOperator(fb::OpType::PAD, {b, pf}, {of});
  ASSERT_TRUE(f.Build().ok());
  f.SetInput(0, std::vector<float>{1.5f, -2.5f, 3.5f});
  ASSERT_TRUE(f.Invoke().ok());
  EXPECT_EQ(f.Output<float>(0), (std::vector<float>{0, 0, 1.5f, -2.5f, 3.5f, 0}));
}

TEST(ShapePad, RejectsNonConstantPaddings) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::FLOAT32, {3});
  const int32_t p = m.AddInput("pads", DType::INT32, {1, 2});
  const int32_t o = m.AddOutput("out", DType::FLOAT32, {4});
  m.AddOperator(fb::OpType::PAD, {a, p}, {o});
  Status s = m.Build();
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
  EXPECT_NE(s.message().find("'pads'"), std::string::npos) << s.ToString();
}

TEST(ShapeTranspose, ThreeDimensions) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::FLOAT32, {2, 3, 4});
  const int32_t p = m.AddConstant("perm", DType::INT32, {3}, std::vector<int32_t>{2, 0, 1});
  const int32_t o = m.AddOutput("out", DType::FLOAT32, {4, 2, 3});
  m.AddOperator(fb::OpType::TRANSPOSE, {a, p}, {o});
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, Iota<float>(24));
  ASSERT_TRUE(m.Invoke().ok());
  const std::vector<float> got = m.Output<float>(0);
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) EXPECT_EQ(got[(k * 2 + i) * 3 + j], (i * 3 + j) * 4 + k);
    }
  }
  SingleOpModel bad;
  const int32_t b = bad.AddInput("in", DType::FLOAT32, {2, 3});
  const int32_t pb = bad.AddConstant("perm", DType::INT32, {2}, std::vector<int32_t>{0, 0});
  const int32_t ob = bad.AddOutput("out", DType::FLOAT32, {2, 3});
  bad.AddOperator(fb::OpType::TRANSPOSE, {b, pb}, {ob});
  EXPECT_FALSE(bad.Build().ok());
}

TEST(ShapeSlice, BeginAndSizeWithMinusOne) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::INT32, {3, 4});
  const int32_t b = m.AddConstant("begin", DType::INT32, {2}, std::vector<int32_t>{1, 1});
  const int32_t s = m.AddConstant("size", DType::INT64, {2}, std::vector<int64_t>{-1, 2});
  const int32_t o = m.AddOutput("out", DType::INT32, {2, 2});
  m.AddOperator(fb::OpType::SLICE, {a, b, s}, {o});
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, Iota<int32_t>(12));
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<int32_t>(0), (std::vector<int32_t>{5, 6, 9, 10}));

  SingleOpModel bad;
  const int32_t x = bad.AddInput("in", DType::INT32, {3, 4});
  const int32_t bb = bad.AddConstant("begin", DType::INT32, {2}, std::vector<int32_t>{2, 0});
  const int32_t sb = bad.AddConstant("size", DType::INT32, {2}, std::vector<int32_t>{2, 4});
  const int32_t ob = bad.AddOutput("out", DType::INT32, {2, 4});
  bad.AddOperator(fb::OpType::SLICE, {x, bb, sb}, {ob});
  EXPECT_FALSE(bad.Build().ok());
}

Status RunStridedSlice(const Shape& in_shape, const std::vector<int32_t>& begin,
                       const std::vector<int32_t>& end, const std::vector<int32_t>& strides,
                       const fb::StridedSliceOptionsT& opts, const Shape& out_shape,
                       std::vector<float>* out) {
  SingleOpModel m;
  const int32_t n = static_cast<int32_t>(begin.size());
  const int32_t a = m.AddInput("in", DType::FLOAT32, in_shape);
  const int32_t b = m.AddConstant("begin", DType::INT32, {n}, begin);
  const int32_t e = m.AddConstant("end", DType::INT32, {n}, end);
  const int32_t s = m.AddConstant("strides", DType::INT32, {n}, strides);
  const int32_t o = m.AddOutput("out", DType::FLOAT32, out_shape);
  m.AddOperator(fb::OpType::STRIDED_SLICE, {a, b, e, s}, {o}, Opts(opts));
  WISP_RETURN_IF_ERROR(m.Build());
  m.SetInput(0, Iota<float>(static_cast<size_t>(NumElements(in_shape))));
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<float>(0);
  return Status::Ok();
}

TEST(ShapeStridedSlice, StridesMasksAndShrink) {
  std::vector<float> out;
  fb::StridedSliceOptionsT opts;
  // [0:5:2] on 6 elements and negative indices: [-4:-1].
  ASSERT_TRUE(RunStridedSlice({6}, {0}, {5}, {2}, opts, {3}, &out).ok());
  EXPECT_EQ(out, (std::vector<float>{0, 2, 4}));
  ASSERT_TRUE(RunStridedSlice({6}, {-4}, {-1}, {1}, opts, {3}, &out).ok());
  EXPECT_EQ(out, (std::vector<float>{2, 3, 4}));
  // Reverse: [::-2] via masks.
  opts.begin_mask = 1;
  opts.end_mask = 1;
  ASSERT_TRUE(RunStridedSlice({6}, {0}, {0}, {-2}, opts, {3}, &out).ok());
  EXPECT_EQ(out, (std::vector<float>{5, 3, 1}));
  // [1, :] of a 3x4 with shrink on axis 0 -> [4]; end clamped.
  opts = {};
  opts.shrink_axis_mask = 1;
  ASSERT_TRUE(RunStridedSlice({3, 4}, {1, 0}, {2, 100}, {1, 1}, opts, {4}, &out).ok());
  EXPECT_EQ(out, (std::vector<float>{4, 5, 6, 7}));
  // Unsupported masks are refused by name.
  opts = {};
  opts.ellipsis_mask = 1;
  Status s = RunStridedSlice({3, 4}, {0, 0}, {1, 1}, {1, 1}, opts, {1, 1}, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported) << s.ToString();
}

// ---- GATHER_ND --------------------------------------------------------------------------------

TEST(ShapeGatherNd, Int8ParamsInt32AndInt64Indices) {
  // movenet: params [1, 48, 48, 34], indices [17, 3] -> [17, 34]; here [1, 3, 3, 2] and [2, 3].
  for (bool wide : {false, true}) {
    SingleOpModel m;
    const int32_t p = m.AddInput("params", DType::INT8, {1, 3, 3, 2}, PerTensor(0.2f, -9));
    const int32_t i = m.AddInput("indices", wide ? DType::INT64 : DType::INT32, {2, 3});
    const int32_t o = m.AddOutput("out", DType::INT8, {2, 2}, PerTensor(0.2f, -9));
    m.AddOperator(fb::OpType::GATHER_ND, {p, i}, {o});
    ASSERT_TRUE(m.Build().ok());
    m.SetInput(0, Iota<int8_t>(18));
    if (wide) {
      m.SetInput(1, std::vector<int64_t>{0, 2, 1, 0, 0, 0});
    } else {
      m.SetInput(1, std::vector<int32_t>{0, 2, 1, 0, 0, 0});
    }
    ASSERT_TRUE(m.Invoke().ok());
    EXPECT_EQ(m.Output<int8_t>(0), (std::vector<int8_t>{14, 15, 0, 1}));
  }
}

TEST(ShapeGatherNd, FullIndexAndOutOfRangeIsAnInvokeError) {
  SingleOpModel m;
  const int32_t p = m.AddInput("params", DType::FLOAT32, {2, 3});
  const int32_t i = m.AddInput("indices", DType::INT32, {2, 2});
  const int32_t o = m.AddOutput("out", DType::FLOAT32, {2});
  m.AddOperator(fb::OpType::GATHER_ND, {p, i}, {o});
  ASSERT_TRUE(m.Build().ok());
  m.SetInput(0, Iota<float>(6));
  m.SetInput(1, std::vector<int32_t>{1, 2, 0, 1});
  ASSERT_TRUE(m.Invoke().ok());
  EXPECT_EQ(m.Output<float>(0), (std::vector<float>{5, 1}));
  for (const std::vector<int32_t>& bad :
       {std::vector<int32_t>{2, 0, 0, 0}, std::vector<int32_t>{0, 0, 0, -1},
        std::vector<int32_t>{0, 3, 0, 0}}) {
    m.SetInput(1, bad);
    Status s = m.Invoke();
    EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.ToString();
    EXPECT_NE(s.message().find("GATHER_ND"), std::string::npos) << s.ToString();
  }
}

// ---- RESIZE -----------------------------------------------------------------------------------

template <typename T>
Status RunResize(fb::OpType op, DType dtype, const Shape& in_shape, int32_t oh, int32_t ow,
                 const QuantParams& q, bool align_corners, bool half_pixel,
                 const std::vector<T>& input, std::vector<T>* out) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", dtype, in_shape, q);
  const int32_t s = m.AddConstant("size", DType::INT32, {2}, std::vector<int32_t>{oh, ow});
  const int32_t o = m.AddOutput("out", dtype, {in_shape[0], oh, ow, in_shape[3]}, q);
  fb::ResizeOptionsT opts;
  opts.align_corners = align_corners;
  opts.half_pixel_centers = half_pixel;
  m.AddOperator(op, {a, s}, {o}, Opts(opts));
  WISP_RETURN_IF_ERROR(m.Build());
  m.SetInput(0, input);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<T>(0);
  return Status::Ok();
}

// Straightforward bilinear interpolation in double (TensorFlow's definition).
std::vector<float> FloatBilinear(const std::vector<float>& in, int h, int w, int c, int oh, int ow,
                                 bool align_corners, bool half_pixel) {
  auto src = [&](int o, int in_size, int out_size) {
    const double scale = (align_corners && out_size > 1) ? double(in_size - 1) / (out_size - 1)
                                                         : double(in_size) / out_size;
    double x = half_pixel ? (o + 0.5) * scale - 0.5 : o * scale;
    return std::min(std::max(x, 0.0), double(in_size - 1));
  };
  std::vector<float> out;
  for (int oy = 0; oy < oh; ++oy) {
    const double y = src(oy, h, oh);
    const int y0 = static_cast<int>(y), y1 = std::min(y0 + 1, h - 1);
    for (int ox = 0; ox < ow; ++ox) {
      const double x = src(ox, w, ow);
      const int x0 = static_cast<int>(x), x1 = std::min(x0 + 1, w - 1);
      for (int ch = 0; ch < c; ++ch) {
        auto at = [&](int yy, int xx) { return double(in[(yy * w + xx) * c + ch]); };
        const double top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * (x - x0);
        const double bot = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * (x - x0);
        out.push_back(static_cast<float>(top + (bot - top) * (y - y0)));
      }
    }
  }
  return out;
}

TEST(ShapeResizeBilinear, FloatAllCoordinateModes) {
  const std::vector<float> in = Iota<float>(3 * 4 * 2);
  for (int mode = 0; mode < 3; ++mode) {
    const bool ac = mode == 1, hp = mode == 2;
    std::vector<float> out;
    ASSERT_TRUE(RunResize(fb::OpType::RESIZE_BILINEAR, DType::FLOAT32, {1, 3, 4, 2}, 5, 7, {}, ac,
                          hp, in, &out)
                    .ok());
    const std::vector<float> want = FloatBilinear(in, 3, 4, 2, 5, 7, ac, hp);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-4f) << mode << " " << i;
  }
}

TEST(ShapeResizeBilinear, QuantizedMatchesReferenceRuntime) {
  std::vector<int8_t> out8;
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_BILINEAR, DType::INT8, {1, 3, 4, 2}, 5, 7,
                        PerTensor(0.2f, -3), false, true, Pattern<int8_t>(24), &out8)
                  .ok());
  EXPECT_EQ(out8, (std::vector<int8_t>{41,  114,  2,   75,  -61, 12,  4,   -51, 69,  -96, 6,   -12,
                                       -33, 40,   70,  40,  31,  38,  -32, 33,  -18, -22, 3,   -67,
                                       -1,  17,   -4,  69,  113, -70, 74,  -18, 11,  66,  -52, 21,
                                       -97, -24,  -13, 60,  39,  112, 3,   -27, 18,  -30, 43,  -34,
                                       -9,  -13,  -53, 9,   30,  4,   82,  2,   -71, 2,   -19, -37,
                                       65,  -100, 20,  -35, -25, 30,  59,  -33, 111, -72}));
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_BILINEAR, DType::INT8, {1, 3, 4, 2}, 5, 7,
                        PerTensor(0.2f, -3), false, false, Pattern<int8_t>(24), &out8)
                  .ok());
  EXPECT_EQ(out8, (std::vector<int8_t>{41,  114, -22, 51, -48, -12, 35,  -75, 46,  -64, -17, 19,
                                       -33, 40,  84,  4,  21,  29,  -27, 31,  -31, -31, -21, -21,
                                       4,   62,  10,  83, 76,  -56, 43,  -1,  2,   31,  -61, -3,
                                       -51, 7,   33,  62, 53,  75,  -34, -12, 20,  -46, 45,  -58,
                                       -18, -3,  -8,  7,  76,  -27, 97,  -35, -71, 2,   12,  -61,
                                       59,  -87, -4,  -4, 7,   7,   90,  -56, 111, -72}));
  std::vector<uint8_t> outu;
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_BILINEAR, DType::UINT8, {1, 3, 4, 2}, 5, 7,
                        PerTensor(0.2f, 30), true, false, Pattern<uint8_t>(24), &outu)
                  .ok());
  EXPECT_EQ(outu, (std::vector<uint8_t>{41,  114, 114, 59,  187, 4,   132, 77,  77,  150, 150, 95,
                                        223, 40,  77,  150, 86,  95,  95,  40,  104, 113, 113, 186,
                                        122, 131, 131, 76,  113, 186, 58,  131, 3,   76,  76,  149,
                                        149, 222, 94,  167, 39,  112, 149, 94,  94,  103, 39,  112,
                                        112, 121, 185, 130, 130, 139, 75,  148, 185, 2,   130, 75,
                                        75,  148, 148, 93,  221, 38,  166, 111, 111, 184}));
}

TEST(ShapeResizeBilinear, QuantizedWithinOneQuantumOfFloat) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> in(6 * 6 * 4);
  for (auto& v : in) v = static_cast<int8_t>(d(rng));
  for (int mode = 0; mode < 3; ++mode) {
    const bool ac = mode == 1, hp = mode == 2;
    std::vector<int8_t> out;
    ASSERT_TRUE(RunResize(fb::OpType::RESIZE_BILINEAR, DType::INT8, {1, 6, 6, 4}, 12, 11,
                          PerTensor(0.25f, 24), ac, hp, in, &out)
                    .ok());
    std::vector<float> x(in.begin(), in.end());
    const std::vector<float> want = FloatBilinear(x, 6, 6, 4, 12, 11, ac, hp);
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_LE(std::abs(out[i] - std::round(want[i])), 1.0f) << mode << " " << i;
    }
  }
}

TEST(ShapeResizeBilinear, RejectsSizeMismatch) {
  SingleOpModel m;
  const int32_t a = m.AddInput("in", DType::FLOAT32, {1, 2, 2, 1});
  const int32_t s = m.AddConstant("size", DType::INT32, {2}, std::vector<int32_t>{4, 4});
  const int32_t o = m.AddOutput("resized", DType::FLOAT32, {1, 4, 5, 1});
  m.AddOperator(fb::OpType::RESIZE_BILINEAR, {a, s}, {o}, Opts(fb::ResizeOptionsT{}));
  Status st = m.Build();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("'resized'"), std::string::npos) << st.ToString();
}

TEST(ShapeResizeNearestNeighbor, CoordinateModes) {
  const std::vector<float> in = {0, 1, 2, 3};  // 1x1x4x1 row
  std::vector<float> out;
  // Default: floor(o * 4/3) -> 0, 1, 2.
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_NEAREST_NEIGHBOR, DType::FLOAT32, {1, 1, 4, 1}, 1, 3, {},
                        false, false, in, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0, 1, 2}));
  // align_corners: round(o * 3/2) -> 0, 2 (round half away), 3.
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_NEAREST_NEIGHBOR, DType::FLOAT32, {1, 1, 4, 1}, 1, 3, {},
                        true, false, in, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0, 2, 3}));
  // half_pixel_centers: floor((o + 0.5) * 4/3) -> 0, 2, 3.
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_NEAREST_NEIGHBOR, DType::FLOAT32, {1, 1, 4, 1}, 1, 3, {},
                        false, true, in, &out)
                  .ok());
  EXPECT_EQ(out, (std::vector<float>{0, 2, 3}));
  // Upsampling uint8 2x: each pixel repeated.
  std::vector<uint8_t> outu;
  ASSERT_TRUE(RunResize(fb::OpType::RESIZE_NEAREST_NEIGHBOR, DType::UINT8, {1, 1, 2, 1}, 2, 4,
                        PerTensor(0.1f, 0), false, false, std::vector<uint8_t>{7, 9}, &outu)
                  .ok());
  EXPECT_EQ(outu, (std::vector<uint8_t>{7, 7, 9, 9, 7, 7, 9, 9}));
}

}  // namespace
}  // namespace wisp
