#include "runtime/api/warm_up.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "runtime/format/model.h"
#include "runtime/format/model_builder.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp {
namespace {

template <typename OptionsT>
fb::OpOptionsUnion Options(OptionsT value) {
  fb::OpOptionsUnion u;
  u.Set(std::move(value));
  return u;
}

QuantParams Quant(std::vector<float> scales, std::vector<int32_t> zero_points, int32_t axis = 0) {
  QuantParams q;
  q.scale = std::move(scales);
  q.zero_point = std::move(zero_points);
  q.axis = axis;
  return q;
}

// Deterministic filler: any values do; a simple LCG keeps the weights varied.
class Filler {
 public:
  std::vector<uint8_t> Bytes(size_t n) {
    std::vector<uint8_t> v(n);
    for (uint8_t& b : v) b = static_cast<uint8_t>(Next() >> 24);
    return v;
  }
  std::vector<int32_t> Ints(size_t n, int32_t range) {
    std::vector<int32_t> v(n);
    for (int32_t& x : v) x = static_cast<int32_t>(Next() % (2 * range + 1)) - range;
    return v;
  }
  std::vector<float> Floats(size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = static_cast<float>(static_cast<int32_t>(Next() >> 16) - 32768) / 65536.f;
    return v;
  }

 private:
  uint32_t Next() { return state_ = state_ * 1664525u + 1013904223u; }
  uint32_t state_ = 12345;
};

// The MobileNet-like network: a 3-channel first layer, depthwise 3x3 (stride 1 and 2), pointwise
// and windowed convolutions, a residual add, average pooling, fully connected and softmax.
std::vector<uint8_t> SyntheticNetwork(DType dt) {
  const bool q = dt != DType::FLOAT32;
  const bool u8 = dt == DType::UINT8;
  const int32_t zp = u8 ? 128 : 0;
  const size_t elem = q ? 1 : 4;
  ModelBuilder b;
  Filler fill;
  auto act_quant = [&](float scale, int32_t z) { return q ? Quant({scale}, {z}) : QuantParams(); };
  auto tensor = [&](const char* name, const Shape& shape) {
    return b.AddTensor(name, dt, shape, act_quant(0.05f, zp + 3));
  };
  // Filter [oc, kh, kw, ic] (depthwise: [1, kh, kw, oc]) and bias, per-channel int8 or
  // per-tensor uint8 quantized.
  auto filter = [&](const char* name, const Shape& shape, int32_t channels, int32_t axis) {
    size_t n = 1;
    for (int32_t d : shape) n *= static_cast<size_t>(d);
    QuantParams fq;
    if (u8) {
      fq = Quant({0.01f}, {127});
    } else if (q) {
      fq = Quant(std::vector<float>(static_cast<size_t>(channels), 0.01f),
                 std::vector<int32_t>(static_cast<size_t>(channels), 0), axis);
    }
    std::vector<uint8_t> bytes = q ? fill.Bytes(n) : std::vector<uint8_t>(n * elem);
    if (!q) {
      const std::vector<float> f = fill.Floats(n);
      std::memcpy(bytes.data(), f.data(), bytes.size());
    } else if (!u8) {
      for (uint8_t& v : bytes) v = v == 0x80 ? 0x81 : v;  // symmetric int8: no -128
    }
    return b.AddConstant(name, dt, shape, bytes.data(), bytes.size(), fq);
  };
  auto bias = [&](const char* name, int32_t channels) {
    if (q) return b.AddConstant(name, DType::INT32, {channels}, fill.Ints(channels, 500));
    return b.AddConstant(name, DType::FLOAT32, {channels}, fill.Floats(channels));
  };
  auto conv = [&](int32_t in, int32_t out, int32_t k, int32_t stride, int32_t ic, int32_t oc,
                  const char* name) {
    fb::Conv2DOptionsT o;
    o.padding = fb::Padding::SAME;
    o.stride_h = o.stride_w = stride;
    o.activation = fb::Activation::RELU6;
    const int32_t f = filter(name, {oc, k, k, ic}, oc, 0);
    b.AddOperator(fb::OpType::CONV_2D, {in, f, bias("b", oc)}, {out}, Options(o));
  };
  auto dwconv = [&](int32_t in, int32_t out, int32_t stride, int32_t c, const char* name) {
    fb::DepthwiseConv2DOptionsT o;
    o.padding = fb::Padding::SAME;
    o.stride_h = o.stride_w = stride;
    o.activation = fb::Activation::RELU6;
    const int32_t f = filter(name, {1, 3, 3, c}, c, 3);
    b.AddOperator(fb::OpType::DEPTHWISE_CONV_2D, {in, f, bias("b", c)}, {out}, Options(o));
  };

  // An inverted residual block as MobileNetV2 has them: the pointwise convolutions carry most of
  // a real model's work, so they get most of the warm-up's too (an expansion to 96 channels).
  const int32_t input = tensor("input", {1, 16, 16, 3});
  const int32_t t1 = tensor("t1", {1, 8, 8, 16});
  const int32_t t2 = tensor("t2", {1, 8, 8, 16});
  const int32_t t3 = tensor("t3", {1, 8, 8, 96});
  const int32_t t4 = tensor("t4", {1, 4, 4, 96});
  const int32_t t5 = tensor("t5", {1, 4, 4, 24});
  const int32_t t6 = tensor("t6", {1, 4, 4, 24});
  const int32_t t6b = tensor("t6b", {1, 4, 4, 24});
  const int32_t t7 = tensor("t7", {1, 4, 4, 16});
  const int32_t t8 = tensor("t8", {1, 1, 1, 16});
  const int32_t t9 = tensor("t9", {1, 10});
  const int32_t output = b.AddTensor("output", dt, {1, 10}, act_quant(1.0f / 256, u8 ? 0 : -128));
  conv(input, t1, 3, 2, 3, 16, "first");
  dwconv(t1, t2, 1, 16, "dw1");
  conv(t2, t3, 1, 1, 16, 96, "pw1");
  dwconv(t3, t4, 2, 96, "dw2");
  conv(t4, t5, 1, 1, 96, 24, "pw2");
  conv(t5, t6, 1, 1, 24, 24, "pw3");
  fb::BinaryOptionsT add;
  b.AddOperator(fb::OpType::ADD, {t5, t6}, {t6b}, Options(add));
  conv(t6b, t7, 3, 1, 24, 16, "conv3x3");
  fb::Pool2DOptionsT pool;
  pool.filter_h = pool.filter_w = 4;
  pool.stride_h = pool.stride_w = 4;
  pool.padding = fb::Padding::VALID;
  b.AddOperator(fb::OpType::AVERAGE_POOL_2D, {t7}, {t8}, Options(pool));
  fb::FullyConnectedOptionsT fc;
  b.AddOperator(fb::OpType::FULLY_CONNECTED, {t8, filter("fc", {10, 16}, 10, 0), bias("b", 10)},
                {t9}, Options(fc));
  fb::SoftmaxOptionsT softmax;
  b.AddOperator(fb::OpType::SOFTMAX, {t9}, {output}, Options(softmax));
  // A wide, thin branch: 1024 pixels of 16 channels through a pointwise convolution, a depthwise
  // one and an add. The operators' drivers work per pixel row or tile of rows, and V8 counts their
  // baseline code per function, like the kernels' (it optimizes a function once it has run
  // enough): on the 8x8 and 4x4 layers above alone they were still baseline code in the first
  // inference of a 224x224 model. Few multiply-adds: 0.4 M per invoke.
  const int32_t wide = tensor("wide", {1, 32, 32, 16});
  const int32_t w1 = tensor("w1", {1, 32, 32, 16});
  const int32_t w2 = tensor("w2", {1, 32, 32, 16});
  const int32_t w3 = tensor("w3", {1, 32, 32, 16});
  conv(wide, w1, 1, 1, 16, 16, "wide_pw");
  dwconv(w1, w2, 1, 16, "wide_dw");
  fb::BinaryOptionsT wide_add;
  b.AddOperator(fb::OpType::ADD, {w1, w2}, {w3}, Options(wide_add));
  std::vector<int32_t> inputs = {input, wide}, outputs = {output, w3};
  // An int8 image model's input layers as TF2 converters write them: a QUANTIZE from uint8 pixels,
  // the 3-channel first convolution on 256 output pixels, and a MEAN (global pooling). The 64
  // pixels of "first" above did not get V8 to optimize that convolution's kernel and driver: the
  // first inference of tf2_mobilenet_v2 after a cold load spent 2.3 ms in its first layer (0.54
  // ms later), 0.34 ms in MEAN (0.01) and 0.30 in QUANTIZE (0.06). int8 only: the int8 network
  // is the one warmed while a model downloads; the others run at load, where more work shows.
  if (dt == DType::INT8) {
    const int32_t pixels =
        b.AddTensor("pixels", DType::UINT8, {1, 32, 32, 3}, Quant({0.05f}, {128 + 3}));
    const int32_t image = tensor("image", {1, 32, 32, 3});
    b.AddOperator(fb::OpType::QUANTIZE, {pixels}, {image}, fb::OpOptionsUnion());
    const int32_t stem = tensor("stem", {1, 16, 16, 16});
    conv(image, stem, 3, 2, 3, 16, "stem");
    const int32_t axes = b.AddConstant("axes", DType::INT32, {2}, std::vector<int32_t>{1, 2});
    const int32_t pooled = tensor("pooled", {1, 1, 1, 16});
    fb::ReducerOptionsT mean;
    mean.keep_dims = true;
    b.AddOperator(fb::OpType::MEAN, {stem, axes}, {pooled}, Options(mean));
    inputs.push_back(pixels);
    outputs.push_back(pooled);
  }
  b.SetInputs(inputs);
  b.SetOutputs(outputs);
  b.SetName("wisp-warm-up");
  return std::move(b).Finish(/*record_sha256=*/false);
}

}  // namespace

Status WarmUpKernels(int invokes, unsigned dtypes) {
  const std::pair<unsigned, DType> all[] = {
      {kWarmUpInt8, DType::INT8}, {kWarmUpUint8, DType::UINT8}, {kWarmUpFloat32, DType::FLOAT32}};
  for (const auto& [bit, dt] : all) {
    if ((dtypes & bit) == 0) continue;
    WISP_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model,
                          Model::Load(SyntheticNetwork(dt), LoadOptions{false}));
    WISP_ASSIGN_OR_RETURN(std::unique_ptr<Interpreter> interp,
                          Interpreter::Create(model, InterpreterOptions()));
    for (int i = 0; i < invokes; ++i) WISP_RETURN_IF_ERROR(interp->Invoke());
  }
  return Status::Ok();
}

unsigned WarmUpDtypesFor(const Model& model) {
  unsigned dtypes = 0;
  for (const OperatorDesc& op : model.operators()) {
    if (op.type != fb::OpType::CONV_2D && op.type != fb::OpType::DEPTHWISE_CONV_2D &&
        op.type != fb::OpType::FULLY_CONNECTED) {
      continue;
    }
    if (op.inputs.empty() || op.inputs[0] < 0) continue;
    switch (model.tensors()[static_cast<size_t>(op.inputs[0])].dtype) {
      case DType::INT8:
        dtypes |= kWarmUpInt8;
        break;
      case DType::UINT8:
        dtypes |= kWarmUpUint8;
        break;
      case DType::FLOAT32:
        dtypes |= kWarmUpFloat32;
        break;
      default:
        break;
    }
  }
  return dtypes;
}

}  // namespace wisp
