// RESHAPE and SQUEEZE: the bytes do not change, only the shape, so both are a copy. The output
// shape is the model's output tensor shape (shapes are static in Wisp).
#include <cstring>

#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

Status CheckSameData(const KernelContext& ctx) {
  const TensorDesc& in = *ctx.input(0);
  const TensorDesc& out = ctx.output(0);
  if (in.dtype != out.dtype) {
    return ctx.Error(StatusCode::kInvalidModel, "input '%s' is %s but output '%s' is %s",
                     in.name.c_str(), DTypeName(in.dtype), out.name.c_str(), DTypeName(out.dtype));
  }
  if (in.num_elements != out.num_elements) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "input '%s' %s has %lld elements but output '%s' %s has %lld", in.name.c_str(),
                     ShapeToString(in.shape).c_str(), static_cast<long long>(in.num_elements),
                     out.name.c_str(), ShapeToString(out.shape).c_str(),
                     static_cast<long long>(out.num_elements));
  }
  // Quantization is not compared: TFLite's RESHAPE copies bytes whatever the parameters say.
  return Status::Ok();
}

class ReshapeKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    WISP_RETURN_IF_ERROR(CheckSameData(ctx));
    // The optional shape operand must agree with the output tensor when it is known.
    const TensorDesc* shape = ctx.input(1);
    if (shape != nullptr && shape->is_constant()) {
      std::vector<int64_t> dims;
      WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "shape", &dims));
      const Shape& out = ctx.output(0).shape;
      bool ok = dims.size() == out.size();
      int unknown = 0;
      for (size_t i = 0; ok && i < dims.size(); ++i) {
        if (dims[i] == -1) {
          ++unknown;
        } else if (dims[i] != out[i]) {
          ok = false;
        }
      }
      // A scalar output is sometimes written with shape [0] or [] by converters.
      if (!ok && !(out.empty() && dims.size() <= 1)) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "shape operand '%s' does not match output '%s' %s", shape->name.c_str(),
                         ctx.output(0).name.c_str(), ShapeToString(out).c_str());
      }
      if (unknown > 1) {
        return ctx.Error(StatusCode::kInvalidModel, "shape operand '%s' has more than one -1",
                         shape->name.c_str());
      }
    }
    bytes_ = ctx.output(0).bytes;
    return Status::Ok();
  }
  Status Invoke(const KernelContext& ctx) override {
    if (ctx.in_bytes(0) != ctx.out_bytes(0)) std::memcpy(ctx.out_bytes(0), ctx.in_bytes(0), bytes_);
    return Status::Ok();
  }

 private:
  size_t bytes_ = 0;
};

class SqueezeKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    WISP_RETURN_IF_ERROR(CheckSameData(ctx));
    const Shape& in = ctx.input(0)->shape;
    std::vector<bool> squeeze(in.size(), false);
    const fb::SqueezeOptions* opts = ctx.fb_op().options_as_SqueezeOptions();
    if (opts != nullptr && opts->squeeze_dims() != nullptr && opts->squeeze_dims()->size() > 0) {
      for (int32_t d : *opts->squeeze_dims()) {
        int axis;
        if (!NormalizeAxis(d, in.size(), &axis) || in[axis] != 1) {
          return ctx.Error(StatusCode::kInvalidModel,
                           "squeeze dimension %d is not a size-1 dimension of input '%s' %s", d,
                           ctx.input(0)->name.c_str(), ShapeToString(in).c_str());
        }
        squeeze[axis] = true;
      }
    } else {
      for (size_t i = 0; i < in.size(); ++i) squeeze[i] = in[i] == 1;
    }
    Shape expected;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!squeeze[i]) expected.push_back(in[i]);
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(ctx.output(0), "output", expected));
    bytes_ = ctx.output(0).bytes;
    return Status::Ok();
  }
  Status Invoke(const KernelContext& ctx) override {
    if (ctx.in_bytes(0) != ctx.out_bytes(0)) std::memcpy(ctx.out_bytes(0), ctx.in_bytes(0), bytes_);
    return Status::Ok();
  }

 private:
  size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<OpKernel> CreateReshapeKernel() { return std::make_unique<ReshapeKernel>(); }
std::unique_ptr<OpKernel> CreateSqueezeKernel() { return std::make_unique<SqueezeKernel>(); }

}  // namespace wisp
