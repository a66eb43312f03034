// ARG_MAX along one constant axis (never delegated): TFLite's reference_ops::ArgMinMax with
// std::greater, so the running maximum only moves on a strictly greater value and ties keep the
// lowest index. Quantized inputs are compared as raw values (the scale is positive).
#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

class ArgMaxKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(
        &in, "input", {DType::FLOAT32, DType::INT8, DType::UINT8, DType::INT16, DType::INT32}));
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&out, "output", {DType::INT32, DType::INT64}));
    std::vector<int64_t> axis_values;
    WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "axis", &axis_values));
    int axis;
    if (axis_values.size() != 1 || !NormalizeAxis(axis_values[0], in.shape.size(), &axis)) {
      return ctx.Error(StatusCode::kInvalidModel, "axis '%s' must hold one axis of input '%s' %s",
                       ctx.input(1)->name.c_str(), in.name.c_str(),
                       ShapeToString(in.shape).c_str());
    }
    Shape expected = in.shape;
    expected.erase(expected.begin() + axis);
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", expected));
    if (in.shape[axis] < 1) {
      return ctx.Error(StatusCode::kInvalidModel, "input '%s' is empty along axis %d",
                       in.name.c_str(), axis);
    }
    in_dtype_ = in.dtype;
    out64_ = out.dtype == DType::INT64;
    outer_ = DimProduct(in.shape, 0, axis);
    axis_size_ = in.shape[axis];
    inner_ = DimProduct(in.shape, axis + 1, in.shape.size());
    // 8-bit values along the last axis (per-pixel classes of a segmentation map): a microkernel.
    if (inner_ == 1 && (in_dtype_ == DType::INT8 || in_dtype_ == DType::UINT8) &&
        !ctx.options().reference_only && !in.is_constant()) {
      const ArgmaxKernelInfo* k = Microkernels().argmax;
      argmax_ = in_dtype_ == DType::INT8 ? k->qs8 : k->qu8;
      argmax_name_ = k->name;
    }
    return Status::Ok();
  }

  const char* implementation() const override { return argmax_ ? argmax_name_ : "reference"; }

  Status Invoke(const KernelContext& ctx) override {
    if (argmax_ != nullptr) {
      // Rows (a segmentation map's pixels) are independent: split over the pool.
      const size_t row_bytes = static_cast<size_t>(axis_size_);
      const size_t out_bytes = out64_ ? sizeof(int64_t) : sizeof(int32_t);
      ParallelRanges(ctx, outer_, axis_size_, [&](int64_t r0, int64_t r1) {
        argmax_(static_cast<size_t>(r1 - r0), row_bytes,
                ctx.in_bytes(0) + static_cast<size_t>(r0) * row_bytes,
                ctx.out_bytes(0) + static_cast<size_t>(r0) * out_bytes, out64_);
      });
      return Status::Ok();
    }
    switch (in_dtype_) {
      case DType::FLOAT32:
        Dispatch<float>(ctx);
        break;
      case DType::INT8:
        Dispatch<int8_t>(ctx);
        break;
      case DType::UINT8:
        Dispatch<uint8_t>(ctx);
        break;
      case DType::INT16:
        Dispatch<int16_t>(ctx);
        break;
      default:
        Dispatch<int32_t>(ctx);
        break;
    }
    return Status::Ok();
  }

 private:
  template <typename T>
  void Dispatch(const KernelContext& ctx) const {
    if (out64_) {
      Run(ctx.in<T>(0), ctx.out<int64_t>(0));
    } else {
      Run(ctx.in<T>(0), ctx.out<int32_t>(0));
    }
  }

  // Walks each block in memory order (axis outer, inner positions inner), keeping the index of
  // the running maximum per inner position in the output: the same comparisons in the same order
  // per position as a loop over the axis for each position, without striding through the block
  // inner_ elements at a time.
  template <typename T, typename Index>
  void Run(const T* in, Index* out) const {
    for (int64_t o = 0; o < outer_; ++o, out += inner_) {
      const T* block = in + o * axis_size_ * inner_;
      for (int64_t i = 0; i < inner_; ++i) out[i] = 0;
      for (int32_t a = 1; a < axis_size_; ++a) {
        const T* row = block + a * inner_;
        for (int64_t i = 0; i < inner_; ++i) {
          if (row[i] > block[static_cast<int64_t>(out[i]) * inner_ + i])
            out[i] = static_cast<Index>(a);
        }
      }
    }
  }

  DType in_dtype_ = DType::FLOAT32;
  bool out64_ = false;
  int64_t outer_ = 0, inner_ = 0;
  int32_t axis_size_ = 0;
  Q8ArgmaxFn argmax_ = nullptr;
  const char* argmax_name_ = "";
};

}  // namespace

std::unique_ptr<OpKernel> CreateArgMaxKernel() { return std::make_unique<ArgMaxKernel>(); }

}  // namespace wisp
