// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over NHWC tensors.
//
// RESIZE_BILINEAR is taken by XNNPACK's delegate in the reference runtime (float32, int8 and
// uint8; the output size is static), so we follow XNNPACK: source coordinates and weights from
// xnn_indirection_init_resize_bilinear2d_hwc_{f32,q11} (src/indirection.c) and the f32 / s8 / u8
// ibilinear microkernels. The 8-bit path interpolates raw values with Q11 weights, horizontal
// first, then vertical, and rounds once: (acc + 2^21) >> 22.
// RESIZE_NEAREST_NEIGHBOR is not delegated: TFLite's reference_ops::ResizeNearestNeighbor.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

struct Tap {
  int32_t lo = 0;      // first source row/column
  int32_t hi = 0;      // second source row/column
  float alpha = 0.0f;  // weight of `hi`
  int32_t alpha_q11 = 0;
};

// XNNPACK's coordinate mapping for one axis. `align_corners` and TensorFlow's legacy mode (neither
// flag) map out*scale without offset; half-pixel centers map out*scale + (0.5*scale - 0.5),
// clamped to [0, in-1]. Float arithmetic is kept as XNNPACK writes it (the offset is computed once
// and added, not (out + 0.5) * scale - 0.5), because the Q11 rounding of alpha depends on it.
std::vector<Tap> BilinearTaps(int32_t in_size, int32_t out_size, bool align_corners,
                              bool half_pixel_centers) {
  const int32_t adjustment = (align_corners && out_size != 1) ? 1 : 0;
  const float scale =
      static_cast<float>(in_size - adjustment) / static_cast<float>(out_size - adjustment);
  const int32_t in_max = in_size - 1;
  std::vector<Tap> taps(static_cast<size_t>(out_size));
  const bool legacy = align_corners || !half_pixel_centers;
  const float offset = 0.5f * scale - 0.5f;
  for (int32_t o = 0; o < out_size; ++o) {
    float x;
    if (legacy) {
      x = static_cast<float>(o) * scale;
    } else {
      x = static_cast<float>(o) * scale;
      x = x + offset;
      x = std::min(std::max(x, 0.0f), static_cast<float>(in_max));
    }
    Tap& t = taps[static_cast<size_t>(o)];
    t.lo = static_cast<int32_t>(x);
    if (t.lo > in_max) t.lo = in_max;  // defensive: legacy mode never exceeds it
    t.hi = std::min(t.lo + 1, in_max);
    t.alpha = x - static_cast<float>(t.lo);
    t.alpha_q11 = static_cast<int32_t>(std::lrintf(t.alpha * 2048.0f));
  }
  return taps;
}

// XNNPACK f32-ibilinear: lerp horizontally on the top and bottom rows, then vertically.
void ResizeBilinearFloat(const float* in, float* out, int32_t batch, int32_t in_h, int32_t in_w,
                         int32_t channels, const std::vector<Tap>& ys, const std::vector<Tap>& xs) {
  for (int32_t b = 0; b < batch; ++b) {
    const float* image = in + static_cast<size_t>(b) * in_h * in_w * channels;
    for (const Tap& ty : ys) {
      const float* top = image + static_cast<size_t>(ty.lo) * in_w * channels;
      const float* bottom = image + static_cast<size_t>(ty.hi) * in_w * channels;
      for (const Tap& tx : xs) {
        const float* tl = top + static_cast<size_t>(tx.lo) * channels;
        const float* tr = top + static_cast<size_t>(tx.hi) * channels;
        const float* bl = bottom + static_cast<size_t>(tx.lo) * channels;
        const float* br = bottom + static_cast<size_t>(tx.hi) * channels;
        for (int32_t c = 0; c < channels; ++c) {
          const float t = tl[c] + (tr[c] - tl[c]) * tx.alpha;
          const float bo = bl[c] + (br[c] - bl[c]) * tx.alpha;
          *out++ = t + (bo - t) * ty.alpha;
        }
      }
    }
  }
}

// XNNPACK s8/u8-ibilinear (scalar reference; the SIMD variants are tested equal to it).
template <typename T>
void ResizeBilinearQ11(const T* in, T* out, int32_t batch, int32_t in_h, int32_t in_w,
                       int32_t channels, const std::vector<Tap>& ys, const std::vector<Tap>& xs) {
  for (int32_t b = 0; b < batch; ++b) {
    const T* image = in + static_cast<size_t>(b) * in_h * in_w * channels;
    for (const Tap& ty : ys) {
      const T* top = image + static_cast<size_t>(ty.lo) * in_w * channels;
      const T* bottom = image + static_cast<size_t>(ty.hi) * in_w * channels;
      for (const Tap& tx : xs) {
        const T* tl = top + static_cast<size_t>(tx.lo) * channels;
        const T* tr = top + static_cast<size_t>(tx.hi) * channels;
        const T* bl = bottom + static_cast<size_t>(tx.lo) * channels;
        const T* br = bottom + static_cast<size_t>(tx.hi) * channels;
        for (int32_t c = 0; c < channels; ++c) {
          const int32_t vtl = tl[c], vtr = tr[c], vbl = bl[c], vbr = br[c];
          const int32_t vt = vtl * 2048 + (vtr - vtl) * tx.alpha_q11;
          const int32_t vb = vbl * 2048 + (vbr - vbl) * tx.alpha_q11;
          const int32_t acc = vt * 2048 + (vb - vt) * ty.alpha_q11;
          *out++ = static_cast<T>((acc + (1 << 21)) >> 22);  // arithmetic shift: floor
        }
      }
    }
  }
}

Status PrepareResize(KernelContext& ctx, const char* op) {
  WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
  const TensorDesc& in = *ctx.input(0);
  const TensorDesc& out = ctx.output(0);
  WISP_RETURN_IF_ERROR(ctx.ExpectDType(&in, "input", {DType::FLOAT32, DType::INT8, DType::UINT8}));
  WISP_RETURN_IF_ERROR(ctx.ExpectRank(&in, "input", 4));
  if (out.dtype != in.dtype) {
    return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but input '%s' is %s",
                     out.name.c_str(), DTypeName(out.dtype), in.name.c_str(), DTypeName(in.dtype));
  }
  // Both the delegate and TFLite interpolate raw quantized values: no requantization exists.
  if (in.dtype != DType::FLOAT32 && !SameQuant(in, out)) {
    return ctx.Error(StatusCode::kUnsupported,
                     "%s input '%s' and output '%s' must share scale and zero point", op,
                     in.name.c_str(), out.name.c_str());
  }
  std::vector<int64_t> size;
  WISP_RETURN_IF_ERROR(ReadConstantInts(ctx, 1, "size", &size));
  if (size.size() != 2 || size[0] < 1 || size[1] < 1 || size[0] > (1 << 24) ||
      size[1] > (1 << 24)) {
    return ctx.Error(StatusCode::kInvalidModel, "size '%s' must hold two positive values",
                     ctx.input(1)->name.c_str());
  }
  const Shape expected = {in.shape[0], static_cast<int32_t>(size[0]), static_cast<int32_t>(size[1]),
                          in.shape[3]};
  return ctx.ExpectShape(out, "output", expected);
}

class ResizeBilinearKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(PrepareResize(ctx, "RESIZE_BILINEAR"));
    const fb::ResizeOptions* opts = ctx.fb_op().options_as_ResizeOptions();
    const bool align_corners = opts ? opts->align_corners() : false;
    const bool half_pixel = opts ? opts->half_pixel_centers() : false;
    if (align_corners && half_pixel) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "align_corners and half_pixel_centers cannot both be set");
    }
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    dtype_ = in.dtype;
    shape_ = in.shape;
    ys_ = BilinearTaps(in.shape[1], out.shape[1], align_corners, half_pixel);
    xs_ = BilinearTaps(in.shape[2], out.shape[2], align_corners, half_pixel);
    if (dtype_ != DType::FLOAT32 && !ctx.options().reference_only) {
      // The same Q11 weights, one microkernel call per output row.
      const IbilinearKernelInfo* k = Microkernels().ibilinear;
      row_fn_ = dtype_ == DType::INT8 ? k->qs8 : k->qu8;
      impl_ = k->name;
      const uint32_t c = static_cast<uint32_t>(in.shape[3]);
      columns_.resize(xs_.size());
      for (size_t x = 0; x < xs_.size(); ++x) {
        columns_[x].left = static_cast<uint32_t>(xs_[x].lo) * c;
        columns_[x].right = static_cast<uint32_t>(xs_[x].hi) * c;
        columns_[x].alpha = xs_[x].alpha_q11;
      }
    }
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

  Status Invoke(const KernelContext& ctx) override {
    if (row_fn_ != nullptr) {
      const size_t channels = static_cast<size_t>(shape_[3]);
      const size_t row_bytes = static_cast<size_t>(shape_[2]) * channels;
      const size_t out_row_bytes = columns_.size() * channels;
      const uint8_t* in = ctx.in_bytes(0);
      uint8_t* out = ctx.out_bytes(0);
      // Output rows are independent: split over the pool (a segmentation model's final upsampling
      // to the input size is one of its largest operators). About 4 multiply-adds per value.
      const int64_t out_h = static_cast<int64_t>(ys_.size());
      const int64_t rows = int64_t{shape_[0]} * out_h;
      const int64_t work_per_row = static_cast<int64_t>(out_row_bytes) * 4;
      ParallelRanges(ctx, rows, work_per_row, [&](int64_t first, int64_t end) {
        for (int64_t row = first; row < end; ++row) {
          const uint8_t* image = in + static_cast<size_t>(row / out_h) * shape_[1] * row_bytes;
          const Tap& ty = ys_[static_cast<size_t>(row % out_h)];
          row_fn_(columns_.size(), channels, image + static_cast<size_t>(ty.lo) * row_bytes,
                  image + static_cast<size_t>(ty.hi) * row_bytes, columns_.data(), ty.alpha_q11,
                  out + static_cast<size_t>(row) * out_row_bytes);
        }
      });
      return Status::Ok();
    }
    switch (dtype_) {
      case DType::FLOAT32:
        ResizeBilinearFloat(ctx.in<float>(0), ctx.out<float>(0), shape_[0], shape_[1], shape_[2],
                            shape_[3], ys_, xs_);
        break;
      case DType::INT8:
        ResizeBilinearQ11(ctx.in<int8_t>(0), ctx.out<int8_t>(0), shape_[0], shape_[1], shape_[2],
                          shape_[3], ys_, xs_);
        break;
      default:
        ResizeBilinearQ11(ctx.in<uint8_t>(0), ctx.out<uint8_t>(0), shape_[0], shape_[1], shape_[2],
                          shape_[3], ys_, xs_);
        break;
    }
    return Status::Ok();
  }

 private:
  DType dtype_ = DType::FLOAT32;
  Shape shape_;
  std::vector<Tap> ys_, xs_;
  QIbilinearRowFn row_fn_ = nullptr;  // int8/uint8 microkernel
  std::vector<IbilinearColumn> columns_;
  const char* impl_ = "reference";
};

// TFLite's GetNearestNeighbor (reference_ops::ResizeNearestNeighbor), in float as written there.
std::vector<int32_t> NearestSources(int32_t in_size, int32_t out_size, bool align_corners,
                                    bool half_pixel_centers) {
  const float scale = (align_corners && out_size > 1)
                          ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                          : static_cast<float>(in_size) / static_cast<float>(out_size);
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  std::vector<int32_t> src(static_cast<size_t>(out_size));
  for (int32_t o = 0; o < out_size; ++o) {
    const float x = (static_cast<float>(o) + offset) * scale;
    int32_t v =
        align_corners ? static_cast<int32_t>(std::round(x)) : static_cast<int32_t>(std::floor(x));
    v = std::min(v, in_size - 1);
    if (half_pixel_centers) v = std::max(v, 0);
    src[static_cast<size_t>(o)] = v;
  }
  return src;
}

class ResizeNearestNeighborKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(PrepareResize(ctx, "RESIZE_NEAREST_NEIGHBOR"));
    const fb::ResizeOptions* opts = ctx.fb_op().options_as_ResizeOptions();
    const bool align_corners = opts ? opts->align_corners() : false;
    const bool half_pixel = opts ? opts->half_pixel_centers() : false;
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    shape_ = in.shape;
    out_shape_ = out.shape;
    elem_size_ = DTypeSize(in.dtype);
    ys_ = NearestSources(in.shape[1], out.shape[1], align_corners, half_pixel);
    xs_ = NearestSources(in.shape[2], out.shape[2], align_corners, half_pixel);
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const uint8_t* in = ctx.in_bytes(0);
    uint8_t* out = ctx.out_bytes(0);
    const size_t pixel = static_cast<size_t>(shape_[3]) * elem_size_;
    for (int32_t b = 0; b < shape_[0]; ++b) {
      const uint8_t* image = in + static_cast<size_t>(b) * shape_[1] * shape_[2] * pixel;
      for (int32_t y : ys_) {
        for (int32_t x : xs_) {
          std::memcpy(out, image + (static_cast<size_t>(y) * shape_[2] + x) * pixel, pixel);
          out += pixel;
        }
      }
    }
    return Status::Ok();
  }

 private:
  Shape shape_, out_shape_;
  size_t elem_size_ = 0;
  std::vector<int32_t> ys_, xs_;
};

}  // namespace

std::unique_ptr<OpKernel> CreateResizeBilinearKernel() {
  return std::make_unique<ResizeBilinearKernel>();
}
std::unique_ptr<OpKernel> CreateResizeNearestNeighborKernel() {
  return std::make_unique<ResizeNearestNeighborKernel>();
}

}  // namespace wisp
