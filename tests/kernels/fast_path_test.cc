// The fast paths Prepare picks for 8-bit elementwise, pooling and resize operators (lookup tables
// for a constant operand, the vmul / quantize / dequantize / average-pool / bilinear microkernels,
// CAST to float)
// against the readable reference kernels (KernelOptions::reference_only) on the same single-op
// models: outputs must be identical bit for bit, over random data, shapes, broadcast patterns,
// quantization and activations.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/kernels/counting_pool.h"
#include "tests/kernels/op_test_util.h"

namespace wisp {
namespace {

using testing::PerTensor;
using testing::SingleOpModel;

std::vector<uint8_t> RandomBytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng() & 0xFF);
  return v;
}

fb::OpOptionsUnion BinaryOptions(fb::Activation act) {
  fb::BinaryOptionsT o;
  o.activation = act;
  fb::OpOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// One binary operator with input `const_side` (0 or 1) a constant; returns the output bytes and
// the implementation Prepare chose.
struct BinaryCase {
  fb::OpType op;
  DType dtype;
  Shape var_shape, const_shape, out_shape;
  int const_side;
  float s_var, s_const, s_out;
  int32_t z_var, z_const, z_out;
  fb::Activation act;
};

Status RunConstantBinary(const BinaryCase& c, const std::vector<uint8_t>& var,
                         const std::vector<uint8_t>& constant, bool reference_only,
                         std::vector<uint8_t>* out, std::string* impl) {
  SingleOpModel m;
  const int32_t iv = m.AddInput("v", c.dtype, c.var_shape, PerTensor(c.s_var, c.z_var));
  const int32_t ic =
      m.AddConstant("c", c.dtype, c.const_shape, constant, PerTensor(c.s_const, c.z_const));
  const int32_t io = m.AddOutput("out", c.dtype, c.out_shape, PerTensor(c.s_out, c.z_out));
  if (c.const_side == 0) {
    m.AddOperator(c.op, {ic, iv}, {io}, BinaryOptions(c.act));
  } else {
    m.AddOperator(c.op, {iv, ic}, {io}, BinaryOptions(c.act));
  }
  WISP_RETURN_IF_ERROR(m.Build(reference_only));
  m.SetInput(0, var);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<uint8_t>(0);
  *impl = m.interpreter().kernel_implementation(0);
  return Status::Ok();
}

TEST(FastPath, BinaryWithConstantOperandIsALookupTable) {
  std::mt19937 rng(2024);
  const fb::OpType ops[] = {fb::OpType::ADD, fb::OpType::SUB, fb::OpType::MUL, fb::OpType::MAXIMUM,
                            fb::OpType::MINIMUM};
  const fb::Activation acts[] = {fb::Activation::NONE, fb::Activation::RELU, fb::Activation::RELU6};
  // Variable [2, 5, 4, 3]; the constant broadcast along different dimensions: a scalar, per
  // channel (innermost: the per-channel kernel), per row, per (row, channel), and one of the
  // variable's own shape (every element its own table).
  const Shape var_shape = {2, 5, 4, 3};
  const std::vector<Shape> const_shapes = {{},           {1},          {3},         {1, 1, 1, 3},
                                           {1, 5, 1, 1}, {1, 5, 1, 3}, {2, 1, 1, 1}};
  int cases = 0, lut_cases = 0;
  for (const fb::OpType op : ops) {
    for (const DType dt : {DType::INT8, DType::UINT8}) {
      for (const Shape& cs : const_shapes) {
        for (int side = 0; side < 2; ++side) {
          for (int variant = 0; variant < 3; ++variant) {
            const int32_t lo = dt == DType::INT8 ? -128 : 0;
            std::uniform_int_distribution<int32_t> zp(lo, lo + 255);
            BinaryCase c;
            c.op = op;
            c.dtype = dt;
            c.var_shape = var_shape;
            c.const_shape = cs;
            c.out_shape = var_shape;
            c.const_side = side;
            c.act = acts[variant];
            c.s_var = std::uniform_real_distribution<float>(0.01f, 0.2f)(rng);
            // variant 2: a constant scale far outside XNNPACK's ratio range (TFLite's ADD/SUB and
            // MUL kernels), as MoveNet's x - mean with a 1e-6 scale.
            c.s_const =
                variant == 2 ? 1e-6f : std::uniform_real_distribution<float>(0.01f, 0.2f)(rng);
            c.s_out = std::uniform_real_distribution<float>(0.02f, 0.3f)(rng);
            c.z_var = zp(rng);
            c.z_const = zp(rng);
            c.z_out = zp(rng);
            if (op == fb::OpType::MAXIMUM || op == fb::OpType::MINIMUM) {
              c.s_const = c.s_out = c.s_var;  // TFLite compares raw values of one quantization
              c.z_const = c.z_out = c.z_var;
            }
            SCOPED_TRACE(std::string(fb::EnumNameOpType(op)) + " " + DTypeName(dt) + " const " +
                         ShapeToString(cs) + " on side " + std::to_string(side) + " variant " +
                         std::to_string(variant));
            const std::vector<uint8_t> var = RandomBytes(NumElements(var_shape), rng);
            const std::vector<uint8_t> constant = RandomBytes(NumElements(cs), rng);
            std::vector<uint8_t> fast, ref;
            std::string fast_impl, ref_impl;
            ASSERT_TRUE(RunConstantBinary(c, var, constant, false, &fast, &fast_impl).ok());
            ASSERT_TRUE(RunConstantBinary(c, var, constant, true, &ref, &ref_impl).ok());
            ASSERT_EQ(fast, ref) << fast_impl << " vs " << ref_impl;
            if (fast_impl.rfind("x8_lut", 0) == 0) ++lut_cases;
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(lut_cases, cases) << "every case has a small constant: all should use the tables";
}

TEST(FastPath, LargeConstantOperandRunsOnVaddVmulAndVaddc) {
  // More constant elements than tables are kept for: the arithmetic microkernels, whether the
  // constant has the output's shape (vadd / vmul) or is broadcast (vaddc).
  std::mt19937 rng(17);
  const Shape var_shape = {2, 5, 8, 3};
  for (const fb::OpType op : {fb::OpType::ADD, fb::OpType::SUB, fb::OpType::MUL}) {
    for (const Shape& cs : {Shape{2, 5, 8, 3}, Shape{2, 5, 8, 1}}) {  // 240 and 80 elements
      BinaryCase c{op,   DType::INT8, var_shape, cs, var_shape,           0, 0.05f, 0.07f,
                   0.1f, 3,           -9,        1,  fb::Activation::NONE};
      if (op == fb::OpType::MUL && cs.back() == 1) continue;  // broadcast MUL: reference
      const std::vector<uint8_t> var = RandomBytes(NumElements(var_shape), rng);
      const std::vector<uint8_t> constant = RandomBytes(NumElements(cs), rng);
      std::vector<uint8_t> fast, ref;
      std::string impl, ref_impl;
      ASSERT_TRUE(RunConstantBinary(c, var, constant, false, &fast, &impl).ok());
      ASSERT_TRUE(RunConstantBinary(c, var, constant, true, &ref, &ref_impl).ok());
      EXPECT_EQ(fast, ref) << impl;
      const char* want =
          op == fb::OpType::MUL ? "q8_vmul_" : (cs.back() == 1 ? "q8_vaddc_" : "q8_vadd_");
      EXPECT_EQ(impl.rfind(want, 0), 0u) << impl;
    }
  }
}

TEST(FastPath, BinaryLookupNeedsAnUnbroadcastVariable) {
  // The variable operand broadcast against the constant: no tables (each output byte would not
  // read its own input byte); the reference arithmetic runs and agrees with itself.
  std::mt19937 rng(7);
  BinaryCase c{fb::OpType::ADD,
               DType::INT8,
               {1, 1, 4, 1},
               {1, 3, 1, 2},
               {1, 3, 4, 2},
               1,
               0.05f,
               0.07f,
               0.1f,
               3,
               -9,
               1,
               fb::Activation::NONE};
  const std::vector<uint8_t> var = RandomBytes(4, rng), constant = RandomBytes(6, rng);
  std::vector<uint8_t> fast, ref;
  std::string impl, ref_impl;
  ASSERT_TRUE(RunConstantBinary(c, var, constant, false, &fast, &impl).ok());
  ASSERT_TRUE(RunConstantBinary(c, var, constant, true, &ref, &ref_impl).ok());
  EXPECT_EQ(fast, ref);
  EXPECT_EQ(impl.rfind("x8_lut", 0), std::string::npos) << impl;
}

TEST(FastPath, BroadcastAddRunsOnVaddAndVaddc) {
  // Both operands variable (or a large constant), broadcast along different dimensions: runs where
  // both advance (vadd) and runs with one single value on either side (vaddc).
  std::mt19937 rng(31);
  struct Shapes {
    Shape a, b, out;
  };
  const Shapes cases[] = {{{48, 48, 1}, {1, 17}, {48, 48, 17}},  // MoveNet's keypoint distances
                          {{1, 17}, {48, 48, 1}, {48, 48, 17}},
                          {{2, 3, 40}, {1, 3, 40}, {2, 3, 40}},
                          {{2, 1, 33}, {2, 5, 1}, {2, 5, 33}},
                          {{7, 1}, {1, 1}, {7, 1}}};
  for (const Shapes& c : cases) {
    for (const fb::OpType op : {fb::OpType::ADD, fb::OpType::SUB}) {
      for (const DType dt : {DType::INT8, DType::UINT8}) {
        const int32_t lo = dt == DType::INT8 ? -128 : 0;
        std::uniform_int_distribution<int32_t> zp(lo, lo + 255);
        std::uniform_real_distribution<float> s(0.05f, 0.3f);
        const QuantParams qa = PerTensor(s(rng), zp(rng)), qb = PerTensor(s(rng), zp(rng));
        const QuantParams qo = PerTensor(s(rng), zp(rng));
        const std::vector<uint8_t> a = RandomBytes(NumElements(c.a), rng);
        const std::vector<uint8_t> b = RandomBytes(NumElements(c.b), rng);
        std::vector<uint8_t> outs[2];
        std::string impls[2];
        for (int ref = 0; ref < 2; ++ref) {
          SingleOpModel m;
          const int32_t ia = m.AddInput("a", dt, c.a, qa);
          const int32_t ib = m.AddInput("b", dt, c.b, qb);
          const int32_t io = m.AddOutput("out", dt, c.out, qo);
          m.AddOperator(op, {ia, ib}, {io}, BinaryOptions(fb::Activation::RELU6));
          ASSERT_TRUE(m.Build(ref == 1).ok());
          m.SetInput(0, a);
          m.SetInput(1, b);
          ASSERT_TRUE(m.Invoke().ok());
          outs[ref] = m.Output<uint8_t>(0);
          impls[ref] = m.interpreter().kernel_implementation(0);
        }
        EXPECT_EQ(outs[0], outs[1])
            << impls[0] << " " << ShapeToString(c.a) << " " << ShapeToString(c.b);
        EXPECT_EQ(impls[0].rfind("q8_vaddc_", 0), 0u) << impls[0];
      }
    }
  }
}

TEST(FastPath, TfliteAddWithVariableOperandsUsesPerInputTables) {
  // Input scales outside XNNPACK's ratio range: TFLite's ADD/SUB, both operands variable.
  std::mt19937 rng(41);
  for (const fb::OpType op : {fb::OpType::ADD, fb::OpType::SUB}) {
    for (const DType dt : {DType::INT8, DType::UINT8}) {
      for (const Shape& sb : {Shape{2, 4, 5, 3}, Shape{1, 1, 5, 3}, Shape{3}}) {
        const Shape sa = {2, 4, 5, 3};
        const int32_t lo = dt == DType::INT8 ? -128 : 0;
        std::uniform_int_distribution<int32_t> zp(lo, lo + 255);
        const QuantParams qa = PerTensor(0.02f, zp(rng)), qb = PerTensor(3e-6f, zp(rng));
        const QuantParams qo = PerTensor(0.03f, zp(rng));
        const std::vector<uint8_t> a = RandomBytes(NumElements(sa), rng);
        const std::vector<uint8_t> b = RandomBytes(NumElements(sb), rng);
        std::vector<uint8_t> outs[2];
        std::string impls[2];
        for (int ref = 0; ref < 2; ++ref) {
          SingleOpModel m;
          const int32_t ia = m.AddInput("a", dt, sa, qa);
          const int32_t ib = m.AddInput("b", dt, sb, qb);
          const int32_t io = m.AddOutput("out", dt, sa, qo);
          m.AddOperator(op, {ia, ib}, {io}, BinaryOptions(fb::Activation::RELU));
          ASSERT_TRUE(m.Build(ref == 1).ok());
          m.SetInput(0, a);
          m.SetInput(1, b);
          ASSERT_TRUE(m.Invoke().ok());
          outs[ref] = m.Output<uint8_t>(0);
          impls[ref] = m.interpreter().kernel_implementation(0);
        }
        EXPECT_EQ(outs[0], outs[1]) << impls[0];
        EXPECT_EQ(impls[0], "tflite-add-lut");
        EXPECT_EQ(impls[1], "tflite-add");
      }
    }
  }
}

Status RunFlatMul(DType dt, const Shape& shape, const QuantParams& qa, const QuantParams& qb,
                  const QuantParams& qo, fb::Activation act, const std::vector<uint8_t>& a,
                  const std::vector<uint8_t>& b, bool reference_only, std::vector<uint8_t>* out,
                  std::string* impl) {
  SingleOpModel m;
  const int32_t ia = m.AddInput("a", dt, shape, qa);
  const int32_t ib = m.AddInput("b", dt, shape, qb);
  const int32_t io = m.AddOutput("out", dt, shape, qo);
  m.AddOperator(fb::OpType::MUL, {ia, ib}, {io}, BinaryOptions(act));
  WISP_RETURN_IF_ERROR(m.Build(reference_only));
  m.SetInput(0, a);
  m.SetInput(1, b);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<uint8_t>(0);
  *impl = m.interpreter().kernel_implementation(0);
  return Status::Ok();
}

TEST(FastPath, SameShapeMulIsTheVmulMicrokernel) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 24; ++trial) {
    const DType dt = trial % 2 ? DType::UINT8 : DType::INT8;
    const int32_t lo = dt == DType::INT8 ? -128 : 0;
    std::uniform_int_distribution<int32_t> zp(lo, lo + 255);
    const Shape shape = {1, 1 + static_cast<int32_t>(rng() % 9), 7,
                         1 + static_cast<int32_t>(rng() % 19)};
    const fb::Activation act = trial % 3 == 0 ? fb::Activation::RELU : fb::Activation::NONE;
    std::uniform_real_distribution<float> s(0.005f, 0.5f);
    const QuantParams qa = PerTensor(s(rng), zp(rng)), qb = PerTensor(s(rng), zp(rng));
    const QuantParams qo = PerTensor(s(rng), zp(rng));
    const std::vector<uint8_t> a = RandomBytes(NumElements(shape), rng);
    const std::vector<uint8_t> b = RandomBytes(NumElements(shape), rng);
    std::vector<uint8_t> fast, ref;
    std::string impl, ref_impl;
    ASSERT_TRUE(RunFlatMul(dt, shape, qa, qb, qo, act, a, b, false, &fast, &impl).ok());
    ASSERT_TRUE(RunFlatMul(dt, shape, qa, qb, qo, act, a, b, true, &ref, &ref_impl).ok());
    EXPECT_EQ(fast, ref) << impl << " trial " << trial;
    EXPECT_EQ(impl.rfind("q8_vmul_", 0), 0u) << impl;
  }
}

template <typename TO, typename TI>
Status RunUnary(fb::OpType op, DType in_dt, const QuantParams& qi, DType out_dt,
                const QuantParams& qo, const Shape& shape, const std::vector<TI>& in,
                bool reference_only, std::vector<TO>* out, std::string* impl) {
  SingleOpModel m;
  const int32_t ii = m.AddInput("in", in_dt, shape, qi);
  const int32_t io = m.AddOutput("out", out_dt, shape, qo);
  m.AddOperator(op, {ii}, {io});
  WISP_RETURN_IF_ERROR(m.Build(reference_only));
  m.SetInput(0, in);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<TO>(0);
  *impl = m.interpreter().kernel_implementation(0);
  return Status::Ok();
}

TEST(FastPath, QuantizeFloatMatchesReferenceIncludingTiesNanAndInfinity) {
  std::mt19937 rng(5);
  for (const DType dt : {DType::INT8, DType::UINT8}) {
    for (int trial = 0; trial < 8; ++trial) {
      const float scale = std::uniform_real_distribution<float>(0.003f, 0.7f)(rng);
      const int32_t lo = dt == DType::INT8 ? -128 : 0;
      const int32_t zp = std::uniform_int_distribution<int32_t>(lo, lo + 255)(rng);
      const Shape shape = {1, 3 + trial, 11, 3};
      std::vector<float> in(static_cast<size_t>(NumElements(shape)));
      for (size_t i = 0; i < in.size(); ++i) {
        switch (i % 7) {
          case 0:  // exact ties of x * (1 / scale)
            in[i] = (static_cast<float>(static_cast<int32_t>(rng() % 400) - 200) + 0.5f) * scale;
            break;
          case 1:
            in[i] = i % 14 == 1 ? std::numeric_limits<float>::quiet_NaN()
                                : (i % 21 == 1 ? std::numeric_limits<float>::infinity()
                                               : -std::numeric_limits<float>::infinity());
            break;
          default:
            in[i] = std::uniform_real_distribution<float>(-300.0f, 300.0f)(rng) * scale;
        }
      }
      std::vector<uint8_t> fast, ref;
      std::string impl, ref_impl;
      ASSERT_TRUE((RunUnary<uint8_t, float>(fb::OpType::QUANTIZE, DType::FLOAT32, {}, dt,
                                            PerTensor(scale, zp), shape, in, false, &fast, &impl)
                       .ok()));
      ASSERT_TRUE((RunUnary<uint8_t, float>(fb::OpType::QUANTIZE, DType::FLOAT32, {}, dt,
                                            PerTensor(scale, zp), shape, in, true, &ref, &ref_impl)
                       .ok()));
      EXPECT_EQ(fast, ref) << impl;
      EXPECT_EQ(impl.rfind("f32_q8_cvt_", 0), 0u) << impl;
    }
  }
}

TEST(FastPath, DequantizeAndCastToFloatMatchReferenceBitForBit) {
  std::mt19937 rng(6);
  for (const DType dt : {DType::INT8, DType::UINT8}) {
    const Shape shape = {1, 7, 9, 5};
    const std::vector<uint8_t> in = RandomBytes(NumElements(shape), rng);
    const QuantParams q = PerTensor(0.0371f, dt == DType::INT8 ? -17 : 133);
    for (const fb::OpType op : {fb::OpType::DEQUANTIZE, fb::OpType::CAST}) {
      const QuantParams& qi = op == fb::OpType::CAST ? QuantParams{} : q;
      std::vector<float> fast, ref;
      std::string impl, ref_impl;
      ASSERT_TRUE(
          (RunUnary<float, uint8_t>(op, dt, qi, DType::FLOAT32, {}, shape, in, false, &fast, &impl)
               .ok()));
      ASSERT_TRUE((
          RunUnary<float, uint8_t>(op, dt, qi, DType::FLOAT32, {}, shape, in, true, &ref, &ref_impl)
              .ok()));
      ASSERT_EQ(fast.size(), ref.size());
      EXPECT_EQ(std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(float)), 0) << impl;
      EXPECT_EQ(impl.rfind("q8_f32_cvt_", 0), 0u) << impl;
    }
  }
}

TEST(FastPath, RequantizeAndLogisticUseTheLookupKernel) {
  std::mt19937 rng(8);
  const Shape shape = {1, 13, 7, 3};
  const std::vector<uint8_t> in = RandomBytes(NumElements(shape), rng);
  struct Case {
    fb::OpType op;
    QuantParams qi, qo;
  };
  const Case cases[] = {{fb::OpType::QUANTIZE, PerTensor(0.05f, 3), PerTensor(0.07f, -5)},
                        {fb::OpType::LOGISTIC, PerTensor(0.08f, 10), PerTensor(1.0f / 256, -128)},
                        {fb::OpType::TANH, PerTensor(0.03f, -2), PerTensor(1.0f / 128, 0)},
                        {fb::OpType::RELU6, PerTensor(0.05f, -100), PerTensor(0.03f, -128)}};
  for (const Case& c : cases) {
    std::vector<uint8_t> fast, ref;
    std::string impl, ref_impl;
    ASSERT_TRUE((RunUnary<uint8_t, uint8_t>(c.op, DType::INT8, c.qi, DType::INT8, c.qo, shape, in,
                                            false, &fast, &impl)
                     .ok()));
    ASSERT_TRUE((RunUnary<uint8_t, uint8_t>(c.op, DType::INT8, c.qi, DType::INT8, c.qo, shape, in,
                                            true, &ref, &ref_impl)
                     .ok()));
    EXPECT_EQ(fast, ref) << fb::EnumNameOpType(c.op) << " " << impl;
  }
}

// uint8 <-> int8 requantization whose table is x ^ 0x80 (the same scale, zero points 128 apart:
// a TF2 model's uint8 image input) takes the XOR path, in both directions and on a length that
// is not a multiple of the vector; the same scale with zero points 127 apart stays a lookup.
TEST(FastPath, RequantizeBetweenUint8AndInt8ByFlippingTheTopBit) {
  std::mt19937 rng(12);
  const Shape shape = {1, 37, 41, 3};
  std::vector<uint8_t> in = RandomBytes(NumElements(shape), rng);
  for (int v = 0; v < 256; ++v) in[static_cast<size_t>(v)] = static_cast<uint8_t>(v);
  struct Case {
    DType from, to;
    QuantParams qi, qo;
    bool flips;
  };
  const float s = 0.00784313772f;
  const Case cases[] = {{DType::UINT8, DType::INT8, PerTensor(s, 127), PerTensor(s, -1), true},
                        {DType::INT8, DType::UINT8, PerTensor(s, -3), PerTensor(s, 125), true},
                        {DType::UINT8, DType::INT8, PerTensor(s, 127), PerTensor(s, 0), false}};
  for (const Case& c : cases) {
    std::vector<uint8_t> fast, ref;
    std::string impl, ref_impl;
    ASSERT_TRUE((RunUnary<uint8_t, uint8_t>(fb::OpType::QUANTIZE, c.from, c.qi, c.to, c.qo, shape,
                                            in, false, &fast, &impl)
                     .ok()));
    ASSERT_TRUE((RunUnary<uint8_t, uint8_t>(fb::OpType::QUANTIZE, c.from, c.qi, c.to, c.qo, shape,
                                            in, true, &ref, &ref_impl)
                     .ok()));
    EXPECT_EQ(fast, ref) << impl;
    EXPECT_EQ(impl == "requantize-as-xor-0x80", c.flips) << impl;
    if (c.flips) {
      for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(fast[i], in[i] ^ 0x80) << i;
    }
  }
}

Status RunAvgPool(DType dt, const Shape& in_shape, const Shape& out_shape, fb::Padding padding,
                  int32_t stride, int32_t fh, int32_t fw, fb::Activation act,
                  const std::vector<uint8_t>& in, bool reference_only, std::vector<uint8_t>* out,
                  std::string* impl) {
  SingleOpModel m;
  const QuantParams q = PerTensor(0.05f, dt == DType::INT8 ? -3 : 120);
  const int32_t ii = m.AddInput("in", dt, in_shape, q);
  const int32_t io = m.AddOutput("out", dt, out_shape, q);
  fb::Pool2DOptionsT o;
  o.padding = padding;
  o.stride_h = o.stride_w = stride;
  o.filter_h = fh;
  o.filter_w = fw;
  o.activation = act;
  fb::OpOptionsUnion u;
  u.Set(std::move(o));
  m.AddOperator(fb::OpType::AVERAGE_POOL_2D, {ii}, {io}, std::move(u));
  WISP_RETURN_IF_ERROR(m.Build(reference_only));
  m.SetInput(0, in);
  WISP_RETURN_IF_ERROR(m.Invoke());
  *out = m.Output<uint8_t>(0);
  *impl = m.interpreter().kernel_implementation(0);
  return Status::Ok();
}

TEST(FastPath, AveragePoolMatchesReferenceWithPaddingAndActivations) {
  std::mt19937 rng(11);
  struct Geometry {
    int32_t h, w, c, f, stride;
    fb::Padding padding;
  };
  const Geometry geometries[] = {
      {5, 7, 3, 3, 2, fb::Padding::SAME},     {5, 7, 19, 3, 2, fb::Padding::VALID},
      {25, 5, 64, 25, 1, fb::Padding::VALID},  // KWS global pool (5 wide)
      {3, 3, 256, 3, 1, fb::Padding::VALID},   // VWW global pool
      {8, 8, 33, 2, 2, fb::Padding::SAME},    {6, 9, 16, 4, 3, fb::Padding::SAME}};
  for (const Geometry& g : geometries) {
    for (const DType dt : {DType::INT8, DType::UINT8}) {
      for (const fb::Activation act : {fb::Activation::NONE, fb::Activation::RELU6}) {
        const int32_t fh = g.f, fw = g.h == 25 ? 5 : g.f;
        auto out_size = [&](int32_t size, int32_t filter) {
          return g.padding == fb::Padding::SAME ? (size + g.stride - 1) / g.stride
                                                : (size - filter + g.stride) / g.stride;
        };
        const Shape in_shape = {2, g.h, g.w, g.c};
        const Shape out_shape = {2, out_size(g.h, fh), out_size(g.w, fw), g.c};
        // Extremes half of the time, so that sums and ties reach the ends of the range.
        std::vector<uint8_t> in = RandomBytes(NumElements(in_shape), rng);
        if (rng() % 2) {
          for (uint8_t& b : in)
            b = (b & 1) ? (dt == DType::INT8 ? 0x80 : 0) : (dt == DType::INT8 ? 0x7F : 0xFF);
        }
        std::vector<uint8_t> fast, ref;
        std::string impl, ref_impl;
        ASSERT_TRUE(RunAvgPool(dt, in_shape, out_shape, g.padding, g.stride, fh, fw, act, in, false,
                               &fast, &impl)
                        .ok());
        ASSERT_TRUE(RunAvgPool(dt, in_shape, out_shape, g.padding, g.stride, fh, fw, act, in, true,
                               &ref, &ref_impl)
                        .ok());
        EXPECT_EQ(fast, ref) << impl << " " << ShapeToString(in_shape) << " filter " << fh << "x"
                             << fw;
        EXPECT_EQ(impl.rfind("q8_avgpool_", 0), 0u) << impl;
        EXPECT_EQ(ref_impl, "reference");
      }
    }
  }
}

TEST(FastPath, ResizeBilinearMatchesReference) {
  std::mt19937 rng(13);
  struct Case {
    Shape in;
    int32_t oh, ow;
    bool align_corners, half_pixel;
  };
  const Case cases[] = {{{1, 6, 6, 64}, 12, 12, false, true},  // MoveNet's upsampling
                        {{2, 5, 7, 3}, 9, 4, false, true},
                        {{1, 4, 3, 24}, 7, 8, true, false},
                        {{1, 3, 5, 17}, 6, 10, false, false},
                        {{1, 1, 1, 9}, 3, 2, false, true}};
  for (const Case& c : cases) {
    for (const DType dt : {DType::INT8, DType::UINT8}) {
      std::vector<uint8_t> outs[2];
      std::string impls[2];
      const std::vector<uint8_t> in = RandomBytes(NumElements(c.in), rng);
      for (int ref = 0; ref < 2; ++ref) {
        SingleOpModel m;
        const QuantParams q = PerTensor(0.1f, dt == DType::INT8 ? 2 : 128);
        const int32_t ii = m.AddInput("in", dt, c.in, q);
        const int32_t is =
            m.AddConstant("size", DType::INT32, {2}, std::vector<int32_t>{c.oh, c.ow});
        const int32_t io = m.AddOutput("out", dt, {c.in[0], c.oh, c.ow, c.in[3]}, q);
        fb::ResizeOptionsT o;
        o.align_corners = c.align_corners;
        o.half_pixel_centers = c.half_pixel;
        fb::OpOptionsUnion u;
        u.Set(std::move(o));
        m.AddOperator(fb::OpType::RESIZE_BILINEAR, {ii, is}, {io}, std::move(u));
        ASSERT_TRUE(m.Build(ref == 1).ok());
        m.SetInput(0, in);
        ASSERT_TRUE(m.Invoke().ok());
        outs[ref] = m.Output<uint8_t>(0);
        impls[ref] = m.interpreter().kernel_implementation(0);
      }
      EXPECT_EQ(outs[0], outs[1]) << impls[0] << " " << ShapeToString(c.in);
      EXPECT_EQ(impls[0].rfind("q8_ibilinear_", 0), 0u) << impls[0];
    }
  }
}

// A segmentation head's final operators, RESIZE_BILINEAR up to the input size and ARG_MAX over
// the classes, split their rows over the pool: the result must equal one thread's, bit for bit.
TEST(FastPath, ResizeBilinearAndArgMaxSplitOverThreadsExactly) {
  std::mt19937 rng(17);
  const Shape in_shape = {2, 9, 9, 21}, up_shape = {2, 65, 65, 21}, map_shape = {2, 65, 65};
  for (const DType dt : {DType::INT8, DType::UINT8}) {
    for (const DType index : {DType::INT32, DType::INT64}) {
      const std::vector<uint8_t> in = RandomBytes(NumElements(in_shape), rng);
      testing::CountingPool pool(3);
      std::vector<uint8_t> up[2], map[2];
      for (int threaded = 0; threaded < 2; ++threaded) {
        SingleOpModel m;
        const QuantParams q = PerTensor(0.1f, dt == DType::INT8 ? 2 : 128);
        const int32_t ii = m.AddInput("in", dt, in_shape, q);
        const int32_t is = m.AddConstant("size", DType::INT32, {2}, std::vector<int32_t>{65, 65});
        const int32_t iu = m.AddOutput("up", dt, up_shape, q);
        const int32_t ia = m.AddConstant("axis", DType::INT32, {1}, std::vector<int32_t>{3});
        const int32_t io = m.AddOutput("map", index, map_shape);
        fb::ResizeOptionsT o;
        o.half_pixel_centers = true;
        fb::OpOptionsUnion u;
        u.Set(std::move(o));
        m.AddOperator(fb::OpType::RESIZE_BILINEAR, {ii, is}, {iu}, std::move(u));
        fb::OpOptionsUnion a;
        a.Set(fb::ArgMaxOptionsT{});
        m.AddOperator(fb::OpType::ARG_MAX, {iu, ia}, {io}, std::move(a));
        InterpreterOptions options;
        if (threaded) options.thread_pool = &pool;
        ASSERT_TRUE(m.Build(options).ok());
        m.SetInput(0, in);
        ASSERT_TRUE(m.Invoke().ok());
        up[threaded] = m.Output<uint8_t>(0);
        map[threaded] = m.Output<uint8_t>(1);
      }
      EXPECT_GT(pool.max_tasks(), 2) << "the work was not split";
      EXPECT_EQ(up[0], up[1]);
      EXPECT_EQ(map[0], map[1]);
    }
  }
}

// Elementwise operators on a large tensor split it into runs over the pool: QUANTIZE (float32 ->
// 8-bit), ADD and MUL of same-shaped tensors, ADD of a constant (a lookup table), LOGISTIC (a
// table) and DEQUANTIZE must equal one thread's results bit for bit, on a length that is not a
// multiple of the runs' 64-element alignment; so must the broadcast forms, which split their
// innermost runs: ADD of a per-channel and of a per-pixel variable, SUB of a per-channel constant
// (a table per channel) and ADD of a constant varying along the width (a table per run).
TEST(FastPath, ElementwiseOperatorsSplitOverThreadsExactly) {
  std::mt19937 rng(19);
  const Shape shape = {1, 97, 61, 23};
  const Shape channel_shape = {1, 1, 1, 23}, pixel_shape = {1, 97, 61, 1};
  std::vector<float> x(NumElements(shape)), y(x.size()), zc(23), zp_values(97 * 61);
  std::uniform_real_distribution<float> d(-3.0f, 3.0f);
  for (float& v : x) v = d(rng);
  for (float& v : y) v = d(rng);
  for (float& v : zc) v = d(rng);
  for (float& v : zp_values) v = d(rng);
  const std::vector<uint8_t> per_channel = RandomBytes(23, rng), per_column = RandomBytes(61, rng);
  for (const DType dt : {DType::INT8, DType::UINT8}) {
    const int32_t zp = dt == DType::INT8 ? -3 : 125;
    testing::CountingPool pool(3);
    std::vector<uint8_t> bytes[2];
    std::vector<float> floats[2];
    for (int threaded = 0; threaded < 2; ++threaded) {
      SingleOpModel m;
      const QuantParams q = PerTensor(0.03f, zp), q2 = PerTensor(0.05f, zp / 2);
      const int32_t ix = m.AddInput("x", DType::FLOAT32, shape);
      const int32_t iy = m.AddInput("y", DType::FLOAT32, shape);
      const int32_t qx = m.AddOutput("qx", dt, shape, q);
      const int32_t qy = m.AddOutput("qy", dt, shape, q2);
      const int32_t sum = m.AddOutput("sum", dt, shape, q2);
      const int32_t prod = m.AddOutput("prod", dt, shape, q2);
      const int32_t one = m.AddConstant("one", dt, {1}, std::vector<uint8_t>{40}, q);
      const int32_t shifted = m.AddOutput("shifted", dt, shape, q);
      const QuantParams sig = PerTensor(1.0f / 256, dt == DType::INT8 ? -128 : 0);
      const int32_t logistic = m.AddOutput("logistic", dt, shape, sig);
      const int32_t back = m.AddOutput("back", DType::FLOAT32, shape);
      m.AddOperator(fb::OpType::QUANTIZE, {ix}, {qx}, fb::OpOptionsUnion());
      m.AddOperator(fb::OpType::QUANTIZE, {iy}, {qy}, fb::OpOptionsUnion());
      m.AddOperator(fb::OpType::ADD, {qx, qy}, {sum}, BinaryOptions(fb::Activation::NONE));
      m.AddOperator(fb::OpType::MUL, {qx, qy}, {prod}, BinaryOptions(fb::Activation::NONE));
      m.AddOperator(fb::OpType::ADD, {qx, one}, {shifted}, BinaryOptions(fb::Activation::RELU));
      m.AddOperator(fb::OpType::LOGISTIC, {sum}, {logistic}, fb::OpOptionsUnion());
      m.AddOperator(fb::OpType::DEQUANTIZE, {prod}, {back}, fb::OpOptionsUnion());
      // Broadcast forms.
      const int32_t ic = m.AddInput("c", DType::FLOAT32, channel_shape);
      const int32_t ip = m.AddInput("p", DType::FLOAT32, pixel_shape);
      const int32_t qc = m.AddOutput("qc", dt, channel_shape, q2);
      const int32_t qp = m.AddOutput("qp", dt, pixel_shape, q2);
      const int32_t by_channel = m.AddOutput("by_channel", dt, shape, q2);
      const int32_t by_pixel = m.AddOutput("by_pixel", dt, shape, q2);
      const int32_t means = m.AddConstant("means", dt, channel_shape, per_channel, q);
      const int32_t centered = m.AddOutput("centered", dt, shape, q);
      const int32_t columns = m.AddConstant("columns", dt, {1, 1, 61, 1}, per_column, q);
      const int32_t by_column = m.AddOutput("by_column", dt, shape, q2);
      m.AddOperator(fb::OpType::QUANTIZE, {ic}, {qc}, fb::OpOptionsUnion());
      m.AddOperator(fb::OpType::QUANTIZE, {ip}, {qp}, fb::OpOptionsUnion());
      m.AddOperator(fb::OpType::ADD, {qx, qc}, {by_channel}, BinaryOptions(fb::Activation::NONE));
      m.AddOperator(fb::OpType::ADD, {qp, qx}, {by_pixel}, BinaryOptions(fb::Activation::RELU6));
      m.AddOperator(fb::OpType::SUB, {qx, means}, {centered}, BinaryOptions(fb::Activation::NONE));
      m.AddOperator(fb::OpType::ADD, {columns, qx}, {by_column},
                    BinaryOptions(fb::Activation::NONE));
      InterpreterOptions options;
      if (threaded) options.thread_pool = &pool;
      Status st = m.Build(options);
      ASSERT_TRUE(st.ok()) << st.ToString();
      m.SetInput(0, x);
      m.SetInput(1, y);
      m.SetInput(2, zc);
      m.SetInput(3, zp_values);
      ASSERT_TRUE(m.Invoke().ok());
      for (int o = 0; o < 13; ++o) {
        if (o == 6) continue;  // the float output
        const std::vector<uint8_t> out = m.Output<uint8_t>(o);
        bytes[threaded].insert(bytes[threaded].end(), out.begin(), out.end());
      }
      floats[threaded] = m.Output<float>(6);
      if (threaded) {
        // The paths under test (a fallback to the reference would not split).
        const Interpreter& it = m.interpreter();
        EXPECT_EQ(std::string(it.kernel_implementation(9)).rfind("q8_vadd", 0), 0u)
            << it.kernel_implementation(9);
        EXPECT_EQ(std::string(it.kernel_implementation(10)).rfind("q8_vaddc", 0), 0u)
            << it.kernel_implementation(10);
        EXPECT_EQ(std::string(it.kernel_implementation(11)).rfind("x8_lutc", 0), 0u)
            << it.kernel_implementation(11);
        EXPECT_EQ(std::string(it.kernel_implementation(12)).rfind("x8_lut", 0), 0u)
            << it.kernel_implementation(12);
      }
    }
    EXPECT_GT(pool.max_tasks(), 2) << "the work was not split";
    EXPECT_EQ(bytes[0], bytes[1]);
    EXPECT_EQ(floats[0], floats[1]);
  }
}

}  // namespace
}  // namespace wisp
