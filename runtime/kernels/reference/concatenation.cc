// CONCATENATION, PACK and UNPACK. All three move blocks of `inner` elements; concatenation and
// pack may also requantize an 8-bit input whose scale or zero point differs from the output's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/core/float_to_int.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

// TFLite's reference_ops::ConcatenationWithScaling (the kernel TFLite runs for uint8 inputs with
// differing scales; XNNPACK's delegate only takes concatenations whose inputs all share the
// output's quantization). Computed in float exactly as written there:
//   q_out = clamp(int(round(q_in * scale + bias)) + zp_out), scale = s_in * (1 / s_out),
//   bias = -zp_in * scale, round half away from zero.
// TFLite refuses int8 inputs with differing scales; we apply the same formula to int8.
struct Requant {
  bool copy = true;
  float scale = 1.0f;
  float bias = 0.0f;
};

template <typename T>
void RequantizeBlock(const T* in, T* out, int64_t n, const Requant& r, int32_t out_zp) {
  const int32_t lo = std::numeric_limits<T>::min();
  const int32_t hi = std::numeric_limits<T>::max();
  for (int64_t j = 0; j < n; ++j) {
    const float x = static_cast<float>(in[j]) * r.scale + r.bias;
    const int32_t v = QuantizeSaturated(x, out_zp);
    out[j] = static_cast<T>(std::max(lo, std::min(hi, v)));
  }
}

// Concatenates `n` inputs along an axis: out[outer][input i block][inner].
class JoinKernel : public OpKernel {
 protected:
  Status PrepareJoin(KernelContext& ctx, const std::vector<int64_t>& block_elems, int64_t outer) {
    const TensorDesc& out = ctx.output(0);
    dtype_ = out.dtype;
    elem_size_ = DTypeSize(out.dtype);
    block_elems_ = block_elems;
    outer_ = outer;
    requant_.assign(block_elems.size(), Requant{});
    out_zp_ = 0;
    if (out.dtype == DType::INT8 || out.dtype == DType::UINT8) {
      if (out.quant.empty() || out.quant.per_channel()) {
        return ctx.Error(StatusCode::kUnsupported, "output '%s' needs per-tensor quantization",
                         out.name.c_str());
      }
      out_zp_ = out.quant.zero_point[0];
      const float inverse_output_scale = 1.0f / out.quant.scale[0];
      for (size_t i = 0; i < block_elems.size(); ++i) {
        const TensorDesc& in = *ctx.input(i);
        if (in.quant.empty() || in.quant.per_channel()) {
          return ctx.Error(StatusCode::kUnsupported, "input '%s' needs per-tensor quantization",
                           in.name.c_str());
        }
        if (SameQuant(in, out)) continue;
        Requant& r = requant_[i];
        r.copy = false;
        r.scale = in.quant.scale[0] * inverse_output_scale;
        r.bias = static_cast<float>(-in.quant.zero_point[0]) * r.scale;
      }
    }
    return Status::Ok();
  }

  Status CheckDTypes(const KernelContext& ctx) const {
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&out, "output",
                                         {DType::FLOAT32, DType::INT8, DType::UINT8, DType::INT16,
                                          DType::INT32, DType::INT64, DType::BOOL}));
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const TensorDesc* in = ctx.input(i);
      if (in == nullptr || in->dtype != out.dtype) {
        return ctx.Error(
            StatusCode::kInvalidModel, "input %zu%s%s%s has dtype %s; output '%s' is %s", i,
            in ? " '" : "", in ? in->name.c_str() : "", in ? "'" : "",
            in ? DTypeName(in->dtype) : "absent", out.name.c_str(), DTypeName(out.dtype));
      }
    }
    if (out.dtype == DType::INT16) {
      for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        if (!SameQuant(*ctx.input(i), out)) {
          return ctx.Error(StatusCode::kUnsupported,
                           "int16 input '%s' has a different quantization from the output",
                           ctx.input(i)->name.c_str());
        }
      }
    }
    return Status::Ok();
  }

 public:
  Status Invoke(const KernelContext& ctx) override {
    uint8_t* out = ctx.out_bytes(0);
    for (int64_t k = 0; k < outer_; ++k) {
      for (size_t i = 0; i < block_elems_.size(); ++i) {
        const int64_t n = block_elems_[i];
        const uint8_t* in = ctx.in_bytes(i) + static_cast<size_t>(k * n) * elem_size_;
        const Requant& r = requant_[i];
        if (r.copy) {
          std::memcpy(out, in, static_cast<size_t>(n) * elem_size_);
        } else if (dtype_ == DType::INT8) {
          RequantizeBlock(reinterpret_cast<const int8_t*>(in), reinterpret_cast<int8_t*>(out), n, r,
                          out_zp_);
        } else {
          RequantizeBlock(in, out, n, r, out_zp_);
        }
        out += static_cast<size_t>(n) * elem_size_;
      }
    }
    return Status::Ok();
  }

 private:
  DType dtype_ = DType::FLOAT32;
  size_t elem_size_ = 0;
  std::vector<int64_t> block_elems_;
  int64_t outer_ = 0;
  std::vector<Requant> requant_;
  int32_t out_zp_ = 0;
};

class ConcatenationKernel : public JoinKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1 << 16));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    WISP_RETURN_IF_ERROR(CheckDTypes(ctx));
    const fb::ConcatenationOptions* opts = ctx.fb_op().options_as_ConcatenationOptions();
    const int32_t raw_axis = opts ? opts->axis() : 0;
    if (opts && opts->activation() != fb::Activation::NONE) {
      return ctx.Error(StatusCode::kUnsupported, "fused activation %s is not supported",
                       fb::EnumNameActivation(opts->activation()));
    }
    const TensorDesc& out = ctx.output(0);
    const Shape& first = ctx.input(0)->shape;
    int axis;
    if (!NormalizeAxis(raw_axis, first.size(), &axis)) {
      return ctx.Error(StatusCode::kInvalidModel, "axis %d is out of range for input '%s' %s",
                       raw_axis, ctx.input(0)->name.c_str(), ShapeToString(first).c_str());
    }
    Shape expected = first;
    expected[axis] = 0;
    const int64_t inner = DimProduct(first, axis + 1, first.size());
    std::vector<int64_t> blocks;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const TensorDesc& in = *ctx.input(i);
      bool ok = in.shape.size() == first.size();
      for (size_t d = 0; ok && d < first.size(); ++d) {
        if (static_cast<int>(d) != axis && in.shape[d] != first[d]) ok = false;
      }
      if (!ok) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "input '%s' %s cannot be concatenated with '%s' %s along axis %d",
                         in.name.c_str(), ShapeToString(in.shape).c_str(),
                         ctx.input(0)->name.c_str(), ShapeToString(first).c_str(), axis);
      }
      expected[axis] += in.shape[axis];
      blocks.push_back(in.shape[axis] * inner);
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    return PrepareJoin(ctx, blocks, DimProduct(first, 0, axis));
  }
};

class PackKernel : public JoinKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1 << 16));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    WISP_RETURN_IF_ERROR(CheckDTypes(ctx));
    const fb::PackOptions* opts = ctx.fb_op().options_as_PackOptions();
    const int32_t raw_axis = opts ? opts->axis() : 0;
    const size_t n = ctx.num_inputs();
    if (opts && opts->values_count() != 0 && static_cast<size_t>(opts->values_count()) != n) {
      return ctx.Error(StatusCode::kInvalidModel, "values_count is %d but there are %zu inputs",
                       opts->values_count(), n);
    }
    const Shape& first = ctx.input(0)->shape;
    int axis;
    if (!NormalizeAxis(raw_axis, first.size() + 1, &axis)) {
      return ctx.Error(StatusCode::kInvalidModel, "axis %d is out of range for inputs of rank %zu",
                       raw_axis, first.size());
    }
    for (size_t i = 1; i < n; ++i) {
      if (ctx.input(i)->shape != first) {
        return ctx.Error(StatusCode::kInvalidModel, "input '%s' %s differs from input '%s' %s",
                         ctx.input(i)->name.c_str(), ShapeToString(ctx.input(i)->shape).c_str(),
                         ctx.input(0)->name.c_str(), ShapeToString(first).c_str());
      }
    }
    Shape expected = first;
    expected.insert(expected.begin() + axis, static_cast<int32_t>(n));
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(ctx.output(0), "output", expected));
    const int64_t inner = DimProduct(first, axis, first.size());
    return PrepareJoin(ctx, std::vector<int64_t>(n, inner), DimProduct(first, 0, axis));
  }
};

class UnpackKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    const TensorDesc& in = *ctx.input(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&in, "input",
                                         {DType::FLOAT32, DType::INT8, DType::UINT8, DType::INT16,
                                          DType::INT32, DType::INT64, DType::BOOL}));
    const fb::UnpackOptions* opts = ctx.fb_op().options_as_UnpackOptions();
    const int32_t raw_axis = opts ? opts->axis() : 0;
    int axis;
    if (in.shape.empty() || !NormalizeAxis(raw_axis, in.shape.size(), &axis)) {
      return ctx.Error(StatusCode::kInvalidModel, "axis %d is out of range for input '%s' %s",
                       raw_axis, in.name.c_str(), ShapeToString(in.shape).c_str());
    }
    const int32_t num = in.shape[axis];
    if (opts && opts->num() != 0 && opts->num() != num) {
      return ctx.Error(StatusCode::kInvalidModel, "num is %d but input '%s' has %d along axis %d",
                       opts->num(), in.name.c_str(), num, axis);
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(static_cast<size_t>(num)));
    Shape expected = in.shape;
    expected.erase(expected.begin() + axis);
    for (size_t i = 0; i < ctx.num_outputs(); ++i) {
      const TensorDesc& out = ctx.output(i);
      if (out.dtype != in.dtype) {
        return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but input '%s' is %s",
                         out.name.c_str(), DTypeName(out.dtype), in.name.c_str(),
                         DTypeName(in.dtype));
      }
      WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    }
    elem_size_ = DTypeSize(in.dtype);
    outer_ = DimProduct(in.shape, 0, axis);
    inner_ = DimProduct(in.shape, axis + 1, in.shape.size());
    num_ = num;
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const uint8_t* in = ctx.in_bytes(0);
    const size_t block = static_cast<size_t>(inner_) * elem_size_;
    for (int64_t k = 0; k < outer_; ++k) {
      for (int32_t i = 0; i < num_; ++i) {
        std::memcpy(ctx.out_bytes(i) + static_cast<size_t>(k) * block, in, block);
        in += block;
      }
    }
    return Status::Ok();
  }

 private:
  size_t elem_size_ = 0;
  int64_t outer_ = 0, inner_ = 0;
  int32_t num_ = 0;
};

}  // namespace

std::unique_ptr<OpKernel> CreateConcatenationKernel() {
  return std::make_unique<ConcatenationKernel>();
}
std::unique_ptr<OpKernel> CreatePackKernel() { return std::make_unique<PackKernel>(); }
std::unique_ptr<OpKernel> CreateUnpackKernel() { return std::make_unique<UnpackKernel>(); }

}  // namespace wisp
