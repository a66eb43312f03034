// AVERAGE_POOL_2D and MAX_POOL_2D over NHWC tensors.
//
// Which implementation the reference runtime uses decides the arithmetic:
//  * float32 pooling of both kinds is taken by XNNPACK's delegate; floats only need tolerance.
//  * int8/uint8 AVERAGE_POOL_2D is NOT delegated (the 2025 delegate accepts float32 only), so it
//    follows TFLite: integer sum of the raw values over the in-bounds taps, divided by the number
//    of in-bounds taps with rounding half away from zero ((sum +- count/2) / count in C's
//    truncating division; reference_integer_ops::AveragePool / optimized_ops::AveragePool16),
//    then clamped to the fused activation range from CalculateActivationRangeQuantized.
//  * int8/uint8 MAX_POOL_2D is delegated: max of raw values, clamped to the activation bounds
//    XNNPACK derives (xnn_qs8_quantize / xnn_qu8_quantize of the real bounds).
#include <algorithm>
#include <limits>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/quantization.h"
#include "runtime/kernels/shape_util.h"

namespace wisp {
namespace {

struct PoolGeometry {
  int32_t batch, in_h, in_w, channels, out_h, out_w;
  int32_t stride_h, stride_w, filter_h, filter_w, pad_top, pad_left;
};

// Output position o's window along one axis: its first input index (negative inside the
// padding) and the filter taps [first, last) that fall inside the input.
struct WindowSpan {
  int32_t start, first, last;
};
WindowSpan Span(int32_t o, int32_t stride, int32_t pad, int32_t filter, int32_t in) {
  const int32_t start = o * stride - pad;
  return {start, std::max(0, -start), std::min(filter, in - start)};
}

template <typename T, typename Acc, bool kAverage>
void Pool(const T* in, T* out, const PoolGeometry& g, Acc lo, Acc hi) {
  for (int32_t b = 0; b < g.batch; ++b) {
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      const auto [y0, fy0, fy1] = Span(oy, g.stride_h, g.pad_top, g.filter_h, g.in_h);
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        const auto [x0, fx0, fx1] = Span(ox, g.stride_w, g.pad_left, g.filter_w, g.in_w);
        const int32_t count = (fy1 - fy0) * (fx1 - fx0);
        for (int32_t c = 0; c < g.channels; ++c) {
          Acc acc = kAverage ? Acc(0) : std::numeric_limits<Acc>::lowest();
          for (int32_t fy = fy0; fy < fy1; ++fy) {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
              const Acc v = static_cast<Acc>(
                  in[((static_cast<size_t>(b) * g.in_h + y0 + fy) * g.in_w + x0 + fx) * g.channels +
                     c]);
              if (kAverage) {
                acc += v;
              } else {
                acc = std::max(acc, v);
              }
            }
          }
          Acc result = acc;
          if (kAverage) {
            if constexpr (std::is_floating_point<Acc>::value) {
              result = count > 0 ? acc / static_cast<Acc>(count) : Acc(0);
            } else {
              // Rounds half away from zero, as TFLite's integer AveragePool.
              result = count == 0 ? 0
                       : acc > 0  ? (acc + count / 2) / count
                                  : (acc - count / 2) / count;
            }
          }
          result = std::min(std::max(result, lo), hi);
          *out++ = static_cast<T>(result);
        }
      }
    }
  }
}

// Float pooling with the channels innermost: each output pixel's row is accumulated in place
// over the window's taps, so every loop runs over contiguous channels (vectorised by the
// compiler) where Pool above strides across the window once per channel. Each channel still adds
// (or compares) its taps in Pool's order, row by row, and divides and clamps the same way, so the
// results are identical bit for bit.
template <bool kAverage>
void PoolFloatChannelsInner(const float* in, float* out, const PoolGeometry& g, float lo,
                            float hi) {
  const size_t c = static_cast<size_t>(g.channels);
  for (int32_t b = 0; b < g.batch; ++b) {
    const float* image = in + static_cast<size_t>(b) * g.in_h * g.in_w * c;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      const auto [y0, fy0, fy1] = Span(oy, g.stride_h, g.pad_top, g.filter_h, g.in_h);
      for (int32_t ox = 0; ox < g.out_w; ++ox, out += c) {
        const auto [x0, fx0, fx1] = Span(ox, g.stride_w, g.pad_left, g.filter_w, g.in_w);
        const int32_t count = std::max(0, fy1 - fy0) * std::max(0, fx1 - fx0);
        const float init = kAverage ? 0.0f : std::numeric_limits<float>::lowest();
        for (size_t k = 0; k < c; ++k) out[k] = init;
        for (int32_t fy = fy0; fy < fy1; ++fy) {
          for (int32_t fx = fx0; fx < fx1; ++fx) {
            const float* v = image + (static_cast<size_t>(y0 + fy) * g.in_w + x0 + fx) * c;
            for (size_t k = 0; k < c; ++k)
              out[k] = kAverage ? out[k] + v[k] : std::max(out[k], v[k]);
          }
        }
        for (size_t k = 0; k < c; ++k) {
          float r = out[k];
          if (kAverage) r = count > 0 ? r / static_cast<float>(count) : 0.0f;
          out[k] = std::min(std::max(r, lo), hi);
        }
      }
    }
  }
}

// Quantized average pooling through the microkernel (avgpool.h), one call per output pixel over
// the window's in-bounds taps: the same sum, count and rounding as Pool<T, int32_t, true>.
void AvgPoolMicrokernel(QAvgPoolFn fn, const uint8_t* in, uint8_t* out, const PoolGeometry& g,
                        int32_t lo, int32_t hi) {
  const size_t c = static_cast<size_t>(g.channels);
  const size_t row_stride = static_cast<size_t>(g.in_w) * c;
  AvgPoolParams p;
  p.qmin = lo;
  p.qmax = hi;
  for (int32_t b = 0; b < g.batch; ++b) {
    const uint8_t* image = in + static_cast<size_t>(b) * g.in_h * row_stride;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      const auto [y0, fy0, fy1] = Span(oy, g.stride_h, g.pad_top, g.filter_h, g.in_h);
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        const auto [x0, fx0, fx1] = Span(ox, g.stride_w, g.pad_left, g.filter_w, g.in_w);
        p.count = (fy1 - fy0) * (fx1 - fx0);
        const uint8_t* window =
            image + static_cast<size_t>(y0 + fy0) * row_stride + static_cast<size_t>(x0 + fx0) * c;
        fn(static_cast<size_t>(fy1 - fy0), static_cast<size_t>(fx1 - fx0), c, window, row_stride,
           out, &p);
        out += c;
      }
    }
  }
}

// Every output window holds at least one input pixel (so the count is never 0).
bool EveryWindowNonEmpty(const PoolGeometry& g) {
  for (int32_t oy = 0; oy < g.out_h; ++oy) {
    const WindowSpan y = Span(oy, g.stride_h, g.pad_top, g.filter_h, g.in_h);
    if (y.last - y.first < 1) return false;
  }
  for (int32_t ox = 0; ox < g.out_w; ++ox) {
    const WindowSpan x = Span(ox, g.stride_w, g.pad_left, g.filter_w, g.in_w);
    if (x.last - x.first < 1) return false;
  }
  return true;
}

class Pool2DKernel : public OpKernel {
 public:
  explicit Pool2DKernel(bool average) : average_(average) {}

  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(
        ctx.ExpectDType(&in, "input", {DType::FLOAT32, DType::INT8, DType::UINT8}));
    WISP_RETURN_IF_ERROR(ctx.ExpectRank(&in, "input", 4));
    if (out.dtype != in.dtype) {
      return ctx.Error(StatusCode::kInvalidModel, "output '%s' is %s but input '%s' is %s",
                       out.name.c_str(), DTypeName(out.dtype), in.name.c_str(),
                       DTypeName(in.dtype));
    }
    dtype_ = in.dtype;
    if (dtype_ != DType::FLOAT32) {
      if (in.quant.empty() || out.quant.empty() || in.quant.per_channel() ||
          out.quant.per_channel()) {
        return ctx.Error(StatusCode::kUnsupported,
                         "input '%s' and output '%s' need per-tensor quantization", in.name.c_str(),
                         out.name.c_str());
      }
      // TFLite's quantized pooling works on raw values and requires equal parameters.
      if (!SameQuant(in, out)) {
        return ctx.Error(StatusCode::kUnsupported,
                         "input '%s' and output '%s' must share scale and zero point",
                         in.name.c_str(), out.name.c_str());
      }
    }
    const fb::Pool2DOptions* opts = ctx.fb_op().options_as_Pool2DOptions();
    if (opts == nullptr) {
      return ctx.Error(StatusCode::kInvalidModel, "missing Pool2DOptions");
    }
    g_.stride_h = opts->stride_h();
    g_.stride_w = opts->stride_w();
    g_.filter_h = opts->filter_h();
    g_.filter_w = opts->filter_w();
    if (g_.stride_h < 1 || g_.stride_w < 1 || g_.filter_h < 1 || g_.filter_w < 1) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "strides (%d, %d) and filter (%d, %d) must be positive", g_.stride_h,
                       g_.stride_w, g_.filter_h, g_.filter_w);
    }
    g_.batch = in.shape[0];
    g_.in_h = in.shape[1];
    g_.in_w = in.shape[2];
    g_.channels = in.shape[3];
    // TFLite's ComputePaddingHeightWidth (dilation 1); the extra odd pixel goes after.
    auto out_size = [&](int32_t size, int32_t filter, int32_t stride) {
      return opts->padding() == fb::Padding::SAME ? (size + stride - 1) / stride
                                                  : (size - filter + stride) / stride;
    };
    g_.out_h = out_size(g_.in_h, g_.filter_h, g_.stride_h);
    g_.out_w = out_size(g_.in_w, g_.filter_w, g_.stride_w);
    g_.pad_top = std::max(0, ((g_.out_h - 1) * g_.stride_h + g_.filter_h - g_.in_h) / 2);
    g_.pad_left = std::max(0, ((g_.out_w - 1) * g_.stride_w + g_.filter_w - g_.in_w) / 2);
    if (opts->padding() == fb::Padding::VALID) g_.pad_top = g_.pad_left = 0;
    if (g_.out_h < 1 || g_.out_w < 1) {
      return ctx.Error(StatusCode::kInvalidModel, "filter (%d, %d) is larger than input '%s' %s",
                       g_.filter_h, g_.filter_w, in.name.c_str(), ShapeToString(in.shape).c_str());
    }
    WISP_RETURN_IF_ERROR(
        ctx.ExpectShape(out, "output", {g_.batch, g_.out_h, g_.out_w, g_.channels}));
    const fb::Activation act = opts->activation();
    if (act == fb::Activation::TANH) {
      return ctx.Error(StatusCode::kUnsupported, "fused activation TANH is not supported");
    }
    if (dtype_ == DType::FLOAT32) {
      ActivationRangeFloat(act, &flo_, &fhi_);
      if (!ctx.options().reference_only) {
        float_channels_inner_ = true;
        impl_ = "f32_pool_channels_inner";
      }
    } else {
      const int32_t qmin = dtype_ == DType::INT8 ? -128 : 0;
      const int32_t qmax = dtype_ == DType::INT8 ? 127 : 255;
      const QuantRange r = average_ ? ActivationRangeTflite(act, out.quant.scale[0],
                                                            out.quant.zero_point[0], qmin, qmax)
                                    : ActivationRangeXnnpack(act, out.quant.scale[0],
                                                             out.quant.zero_point[0], qmin, qmax);
      qlo_ = r.min;
      qhi_ = r.max;
      if (average_ && !ctx.options().reference_only &&
          static_cast<int64_t>(g_.filter_h) * g_.filter_w <= kAvgPoolMaxCount &&
          EveryWindowNonEmpty(g_)) {
        const AvgPoolKernelInfo* k = Microkernels().avgpool;
        avgpool_ = dtype_ == DType::INT8 ? k->qs8 : k->qu8;
        impl_ = k->name;
      }
    }
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

  Status Invoke(const KernelContext& ctx) override {
    if (avgpool_ != nullptr) {
      AvgPoolMicrokernel(avgpool_, ctx.in_bytes(0), ctx.out_bytes(0), g_, qlo_, qhi_);
      return Status::Ok();
    }
    if (float_channels_inner_) {
      if (average_) {
        PoolFloatChannelsInner<true>(ctx.in<float>(0), ctx.out<float>(0), g_, flo_, fhi_);
      } else {
        PoolFloatChannelsInner<false>(ctx.in<float>(0), ctx.out<float>(0), g_, flo_, fhi_);
      }
      return Status::Ok();
    }
    if (average_) {
      switch (dtype_) {
        case DType::FLOAT32:
          Pool<float, float, true>(ctx.in<float>(0), ctx.out<float>(0), g_, flo_, fhi_);
          break;
        case DType::INT8:
          Pool<int8_t, int32_t, true>(ctx.in<int8_t>(0), ctx.out<int8_t>(0), g_, qlo_, qhi_);
          break;
        default:
          Pool<uint8_t, int32_t, true>(ctx.in<uint8_t>(0), ctx.out<uint8_t>(0), g_, qlo_, qhi_);
          break;
      }
    } else {
      switch (dtype_) {
        case DType::FLOAT32:
          Pool<float, float, false>(ctx.in<float>(0), ctx.out<float>(0), g_, flo_, fhi_);
          break;
        case DType::INT8:
          Pool<int8_t, int32_t, false>(ctx.in<int8_t>(0), ctx.out<int8_t>(0), g_, qlo_, qhi_);
          break;
        default:
          Pool<uint8_t, int32_t, false>(ctx.in<uint8_t>(0), ctx.out<uint8_t>(0), g_, qlo_, qhi_);
          break;
      }
    }
    return Status::Ok();
  }

 private:
  bool average_;
  DType dtype_ = DType::FLOAT32;
  PoolGeometry g_{};
  float flo_ = 0, fhi_ = 0;
  int32_t qlo_ = 0, qhi_ = 0;
  QAvgPoolFn avgpool_ = nullptr;  // int8/uint8 AVERAGE_POOL_2D microkernel
  bool float_channels_inner_ = false;
  const char* impl_ = "reference";
};

}  // namespace

std::unique_ptr<OpKernel> CreateAveragePool2DKernel() {
  return std::make_unique<Pool2DKernel>(true);
}
std::unique_ptr<OpKernel> CreateMaxPool2DKernel() { return std::make_unique<Pool2DKernel>(false); }

}  // namespace wisp
