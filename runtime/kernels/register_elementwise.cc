// Elementwise family: ADD, SUB, MUL, DIV, FLOOR_DIV, MAXIMUM, MINIMUM, SQRT, RELU, RELU6,
// LEAKY_RELU, HARD_SWISH, TANH, LOGISTIC, QUANTIZE, DEQUANTIZE, CAST.
//
// Prepare validates, decides which arithmetic the reference runtime would use for the operator
// (XNNPACK when its delegate accepts the dtypes and scales, TFLite's builtin otherwise; see
// docs/arithmetic.md) and precomputes the parameters, broadcast plans and 256-entry lookup tables.
// Invoke only loops. Every quantized path below was compared bit for bit with LiteRT.js 2.5.3 on
// single-operator models (all 256 inputs for unary ops; MoveNet/MobileNet scales for binary ops).
// int16 binary ops follow TFLite's general (non power-of-two) kernels; XNNPACK takes no int16.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "runtime/core/flip_bytes.h"
#include "runtime/kernels/elementwise_util.h"
#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/parallel.h"
#include "runtime/kernels/registry.h"

namespace wisp {

namespace {

// run(a_offset, a_step, b_offset, b_step, out_offset, n) for every innermost run of the plan
// (ForEachBroadcastRun), the runs split over the pool: each writes its own span of the output.
// About 4 multiply-adds' worth of work per element.
template <typename Run>
void ParallelBroadcastRuns(const KernelContext& ctx, const BroadcastPlan& plan, const Run& run) {
  const int64_t runs = BroadcastRuns(plan);
  ParallelRanges(ctx, runs, 4 * (plan.size / std::max<int64_t>(runs, 1)),
                 [&](int64_t first, int64_t end) { ForEachBroadcastRun(plan, first, end, run); });
}

bool PerTensor(const TensorDesc& t) {
  return t.quant.scale.size() == 1 && t.quant.zero_point.size() == 1;
}

Status ExpectPerTensorQuant(const KernelContext& ctx, const TensorDesc& t, const char* role) {
  if (!PerTensor(t)) {
    return ctx.Error(StatusCode::kUnsupported,
                     "%s '%s' (%s) needs per-tensor quantization (one scale and zero point)", role,
                     t.name.c_str(), DTypeName(t.dtype));
  }
  if (!(t.quant.scale[0] > 0.0f) || !std::isfinite(t.quant.scale[0])) {
    return ctx.Error(StatusCode::kInvalidModel, "%s '%s' has invalid quantization scale %g", role,
                     t.name.c_str(), static_cast<double>(t.quant.scale[0]));
  }
  const int32_t zp = t.quant.zero_point[0];
  if (zp < DTypeMinValue(t.dtype) || zp > DTypeMaxValue(t.dtype)) {
    return ctx.Error(StatusCode::kInvalidModel, "%s '%s' has zero point %d outside %s range", role,
                     t.name.c_str(), zp, DTypeName(t.dtype));
  }
  return Status::Ok();
}

Status ExpectSameShape(const KernelContext& ctx, const TensorDesc& in, const TensorDesc& out) {
  return ctx.ExpectShape(out, "output", in.shape);
}

// ---- Binary ----------------------------------------------------------------------------------

class BinaryKernel : public OpKernel {
 public:
  explicit BinaryKernel(BinaryOp op) : op_(op) {}

  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& a = *ctx.input(0);
    const TensorDesc& b = *ctx.input(1);
    const TensorDesc& out = ctx.output(0);
    dtype_ = out.dtype;
    if (a.dtype != b.dtype || a.dtype != out.dtype) {
      return ctx.Error(StatusCode::kUnsupported,
                       "input 0 '%s' (%s), input 1 '%s' (%s) and output '%s' (%s) must share a "
                       "dtype",
                       a.name.c_str(), DTypeName(a.dtype), b.name.c_str(), DTypeName(b.dtype),
                       out.name.c_str(), DTypeName(out.dtype));
    }
    Shape shape;
    if (!BroadcastShapes(a.shape, b.shape, &shape)) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "input 0 '%s' shape %s and input 1 '%s' shape %s do not broadcast",
                       a.name.c_str(), ShapeToString(a.shape).c_str(), b.name.c_str(),
                       ShapeToString(b.shape).c_str());
    }
    WISP_RETURN_IF_ERROR(ctx.ExpectShape(out, "output", shape));
    if (shape.size() > static_cast<size_t>(kMaxBroadcastRank)) {
      return ctx.Error(StatusCode::kUnsupported, "output '%s' has rank %zu; at most %d supported",
                       out.name.c_str(), shape.size(), kMaxBroadcastRank);
    }
    plan_ = MakeBroadcastPlan(a.shape, b.shape, shape);

    fb::Activation act = fb::Activation::NONE;
    if (const auto* o = ctx.fb_op().options_as_BinaryOptions()) act = o->activation();
    const bool has_activation =
        op_ != BinaryOp::kMaximum && op_ != BinaryOp::kMinimum && op_ != BinaryOp::kFloorDiv;
    if (!has_activation) act = fb::Activation::NONE;
    if (act == fb::Activation::TANH) {
      return ctx.Error(StatusCode::kUnsupported, "fused TANH activation is not supported");
    }

    switch (dtype_) {
      case DType::FLOAT32:
        ActivationRangeFloat(act, &float_lo_, &float_hi_);
        impl_ = "reference-f32";
        return Status::Ok();
      case DType::INT32:
      case DType::INT64: {
        // TFLite's CalculateActivationRange for integer outputs.
        int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
        if (dtype_ == DType::INT32) {
          lo = std::numeric_limits<int32_t>::min();
          hi = std::numeric_limits<int32_t>::max();
        }
        if (act == fb::Activation::RELU) lo = 0;
        if (act == fb::Activation::RELU6) {
          lo = 0;
          hi = 6;
        }
        if (act == fb::Activation::RELU_N1_TO_1) {
          lo = -1;
          hi = 1;
        }
        int_lo_ = lo;
        int_hi_ = hi;
        impl_ = dtype_ == DType::INT32 ? "reference-i32" : "reference-i64";
        return Status::Ok();
      }
      case DType::INT8:
      case DType::UINT8:
        WISP_RETURN_IF_ERROR(PrepareQuantized(ctx, a, b, out, act));
        if (!ctx.options().reference_only) PrepareConstantLut(ctx);
        return Status::Ok();
      case DType::INT16:
        return PrepareQuantized(ctx, a, b, out, act);
      default:
        return ctx.Error(StatusCode::kUnsupported, "dtype %s of output '%s' is not supported",
                         DTypeName(dtype_), out.name.c_str());
    }
  }

  Status Invoke(const KernelContext& ctx) override {
    const TensorDesc& b = *ctx.input(1);
    if (op_ == BinaryOp::kDiv || op_ == BinaryOp::kFloorDiv) {
      bool zero = false;
      if (dtype_ == DType::INT32) zero = HasZero(ctx.in<int32_t>(1), b.num_elements);
      if (dtype_ == DType::INT64) zero = HasZero(ctx.in<int64_t>(1), b.num_elements);
      if (zero) {
        return ctx.Error(StatusCode::kInvalidArgument, "division by zero: input 1 '%s' has a 0",
                         b.name.c_str());
      }
    }
    if (lut_ != nullptr) {
      InvokeConstantLut(ctx);
      return Status::Ok();
    }
    if (vadd_ != nullptr) {
      ParallelElements(ctx, plan_.size, [&](int64_t i, int64_t end) {
        vadd_(static_cast<size_t>(end - i), ctx.in_bytes(0) + i, ctx.in_bytes(1) + i,
              ctx.out_bytes(0) + i, &vadd_params_);
      });
      return Status::Ok();
    }
    if (vmul_ != nullptr) {
      ParallelElements(ctx, plan_.size, [&](int64_t i, int64_t end) {
        vmul_(static_cast<size_t>(end - i), ctx.in_bytes(0) + i, ctx.in_bytes(1) + i,
              ctx.out_bytes(0) + i, &vmul_params_);
      });
      return Status::Ok();
    }
    if (vaddc_ != nullptr) {
      InvokeBroadcastVadd(ctx);
      return Status::Ok();
    }
    if (tfl_tables_) {
      if (dtype_ == DType::INT8) {
        InvokeTfliteAddTables<int8_t>(ctx);
      } else {
        InvokeTfliteAddTables<uint8_t>(ctx);
      }
      return Status::Ok();
    }
    switch (dtype_) {
      case DType::FLOAT32:
        BinaryFloat(op_, plan_, ctx.in<float>(0), ctx.in<float>(1), ctx.out<float>(0), float_lo_,
                    float_hi_);
        break;
      case DType::INT32:
        BinaryInteger<int32_t>(op_, plan_, ctx.in<int32_t>(0), ctx.in<int32_t>(1),
                               ctx.out<int32_t>(0), static_cast<int32_t>(int_lo_),
                               static_cast<int32_t>(int_hi_));
        break;
      case DType::INT64:
        BinaryInteger<int64_t>(op_, plan_, ctx.in<int64_t>(0), ctx.in<int64_t>(1),
                               ctx.out<int64_t>(0), int_lo_, int_hi_);
        break;
      case DType::INT8:
        InvokeQuantized<int8_t>(ctx);
        break;
      case DType::UINT8:
        InvokeQuantized<uint8_t>(ctx);
        break;
      case DType::INT16:
        InvokeQuantized<int16_t>(ctx);
        break;
      default:
        break;
    }
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

 private:
  enum class QuantPath { kRaw, kXnnAdd, kTfliteAdd, kXnnMul, kTfliteMul };

  template <typename T>
  static bool HasZero(const T* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (v[i] == 0) return true;
    }
    return false;
  }

  Status PrepareQuantized(KernelContext& ctx, const TensorDesc& a, const TensorDesc& b,
                          const TensorDesc& out, fb::Activation act) {
    if (op_ == BinaryOp::kMaximum || op_ == BinaryOp::kMinimum) {
      // TFLite compares the raw integers, so the inputs must already share the output's
      // quantization for the result to mean anything; TFLite does not check, neither do we.
      path_ = QuantPath::kRaw;
      impl_ = "tflite-raw-maxmin";
      return Status::Ok();
    }
    if (op_ == BinaryOp::kDiv || op_ == BinaryOp::kFloorDiv) {
      return ctx.Error(StatusCode::kUnsupported, "quantized %s is not supported for output '%s'",
                       DTypeName(dtype_), out.name.c_str());
    }
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, a, "input 0"));
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, b, "input 1"));
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, out, "output"));
    const float sa = a.quant.scale[0], sb = b.quant.scale[0], so = out.quant.scale[0];
    const int32_t za = a.quant.zero_point[0], zb = b.quant.zero_point[0];
    const int32_t zo = out.quant.zero_point[0];
    const int32_t qmin = DTypeMinValue(dtype_), qmax = DTypeMaxValue(dtype_);
    const QuantRange xnn_act = ActivationRangeXnnpack(act, so, zo, qmin, qmax);
    const QuantRange tfl_act = ActivationRangeTflite(act, so, zo, qmin, qmax);
    if (dtype_ == DType::INT16) {
      // XNNPACK has no int16 arithmetic here: TFLite's general int16 kernels (symmetric only).
      if (za != 0 || zb != 0 || zo != 0) {
        return ctx.Error(
            StatusCode::kUnsupported, "int16 %s needs zero points of 0 ('%s', '%s', '%s')",
            OpTypeName(ctx.op().type), a.name.c_str(), b.name.c_str(), out.name.c_str());
      }
      if (op_ == BinaryOp::kMul) {
        MakeTfliteMulParams(sa, za, sb, zb, so, zo, tfl_act, &tfl_mul_);
        path_ = QuantPath::kTfliteMul;
        impl_ = "tflite-mul-i16";
        return Status::Ok();
      }
      // TFLite switches to a different "POT" kernel when every scale is a power of two (and the
      // converter's pot_scale_int16 flag, which the .wisp options do not carry, is set).
      auto pot = [](float s) {
        int e;
        return std::frexp(s, &e) == 0.5f;
      };
      if (pot(sa) && pot(sb) && pot(so)) {
        return ctx.Error(StatusCode::kUnsupported,
                         "int16 %s with power-of-two scales is not supported (output '%s')",
                         OpTypeName(ctx.op().type), out.name.c_str());
      }
      MakeTfliteAddParams(sa, za, sb, zb, so, zo, op_ == BinaryOp::kSub, 15, tfl_act, &tfl_add_);
      path_ = QuantPath::kTfliteAdd;
      impl_ = "tflite-add-i16";
      return Status::Ok();
    }
    if (op_ == BinaryOp::kAdd || op_ == BinaryOp::kSub) {
      const bool sub = op_ == BinaryOp::kSub;
      if (MakeXnnAddParams(sa, za, sb, zb, so, zo, sub, xnn_act, &xnn_add_)) {
        path_ = QuantPath::kXnnAdd;
        impl_ = "xnnpack-vadd";
        // Same-shaped int8/uint8 inputs (residual connections): the vadd microkernel.
        if (plan_.flat && (dtype_ == DType::INT8 || dtype_ == DType::UINT8) &&
            !ctx.options().reference_only) {
          const VaddKernelInfo* k = Microkernels().vadd;
          vadd_ = dtype_ == DType::INT8 ? k->qs8 : k->qu8;
          impl_ = k->name;
          vadd_params_ = AddParamsOf(xnn_add_);
        }
        // Broadcast int8/uint8 inputs: vadd on runs where both operands advance, vaddc on runs
        // where one is a single value.
        if (!plan_.flat && (dtype_ == DType::INT8 || dtype_ == DType::UINT8) &&
            !ctx.options().reference_only) {
          const MicrokernelConfig& k = Microkernels();
          vadd_broadcast_ = dtype_ == DType::INT8 ? k.vadd->qs8 : k.vadd->qu8;
          vaddc_ = dtype_ == DType::INT8 ? k.vaddc->qs8 : k.vaddc->qu8;
          impl_ = k.vaddc->name;
          vadd_params_ = AddParamsOf(xnn_add_);
          vaddc_swapped_ = vadd_params_;
          std::swap(vaddc_swapped_.a_zero_point, vaddc_swapped_.b_zero_point);
          std::swap(vaddc_swapped_.a_multiplier, vaddc_swapped_.b_multiplier);
        }
      } else {
        // The delegate refuses these scales, so the reference runs TFLite's kernel.
        MakeTfliteAddParams(sa, za, sb, zb, so, zo, sub, 20, tfl_act, &tfl_add_);
        path_ = QuantPath::kTfliteAdd;
        impl_ = "tflite-add";
        if ((dtype_ == DType::INT8 || dtype_ == DType::UINT8) && !ctx.options().reference_only) {
          PrepareTfliteAddTables();
          impl_ = "tflite-add-lut";
        }
      }
      return Status::Ok();
    }
    // MUL
    if (MakeXnnMulParams(sa, za, sb, zb, so, zo, xnn_act, &xnn_mul_)) {
      path_ = QuantPath::kXnnMul;
      impl_ = "xnnpack-vmul";
      // Same-shaped int8/uint8 inputs: the vmul microkernel.
      if (plan_.flat && (dtype_ == DType::INT8 || dtype_ == DType::UINT8) &&
          !ctx.options().reference_only) {
        const VmulKernelInfo* k = Microkernels().vmul;
        vmul_ = dtype_ == DType::INT8 ? k->qs8 : k->qu8;
        impl_ = k->name;
        vmul_params_.a_zero_point = xnn_mul_.a_zero_point;
        vmul_params_.b_zero_point = xnn_mul_.b_zero_point;
        vmul_params_.scale = xnn_mul_.requant.scale;
        vmul_params_.epilogue = MakeQuantEpilogue(xnn_mul_.requant.zero_point,
                                                  xnn_mul_.requant.qmin, xnn_mul_.requant.qmax);
      }
    } else {
      MakeTfliteMulParams(sa, za, sb, zb, so, zo, tfl_act, &tfl_mul_);
      path_ = QuantPath::kTfliteMul;
      impl_ = "tflite-mul";
    }
    return Status::Ok();
  }

  // TFLite's 8-bit ADD / SUB scales each input by its own multiplier before adding
  // (AddSubQuantizedTflite), so those two of its three multiplications depend on one byte each:
  // tabulated here per input byte (SUB's negation included), Invoke adds two table entries and
  // requantizes once.
  void PrepareTfliteAddTables() {
    const TfliteAddParams& p = tfl_add_;
    const bool int8 = dtype_ == DType::INT8;
    for (int byte = 0; byte < 256; ++byte) {
      const int32_t x = int8 ? static_cast<int8_t>(byte) : byte;
      tfl_a_term_[byte] = MultiplyByQuantizedMultiplier((p.a_offset + x) * (1 << p.left_shift),
                                                        p.a_multiplier, p.a_shift);
      const int32_t b = MultiplyByQuantizedMultiplier((p.b_offset + x) * (1 << p.left_shift),
                                                      p.b_multiplier, p.b_shift);
      tfl_b_term_[byte] = p.subtract ? -b : b;
    }
    tfl_tables_ = true;
  }

  template <typename T>
  void InvokeTfliteAddTables(const KernelContext& ctx) const {
    const TfliteAddParams p = tfl_add_;
    const int32_t* ta = tfl_a_term_;
    const int32_t* tb = tfl_b_term_;
    BroadcastBinary(
        plan_, ctx.in_bytes(0), ctx.in_bytes(1), ctx.out<T>(0), [p, ta, tb](uint8_t x, uint8_t y) {
          const int32_t v =
              MultiplyByQuantizedMultiplier(ta[x] + tb[y], p.output_multiplier, p.output_shift) +
              p.output_offset;
          return static_cast<T>(std::min(std::max(v, p.qmin), p.qmax));
        });
  }

  static QAddParams AddParamsOf(const XnnAddParams& x) {
    QAddParams p;
    p.a_zero_point = x.a_zero_point;
    p.b_zero_point = x.b_zero_point;
    p.a_multiplier = x.a_multiplier;
    p.b_multiplier = x.b_multiplier;
    p.rounding = x.rounding;
    p.shift = x.shift;
    p.output_zero_point = x.output_zero_point;
    p.qmin = x.qmin;
    p.qmax = x.qmax;
    return p;
  }

  // XNNPACK ADD / SUB over a broadcast plan, run by run (vadd.h): the single value of a run's
  // broadcast operand enters as one term, b's own multiplier and zero point (a's with the roles
  // swapped).
  void InvokeBroadcastVadd(const KernelContext& ctx) const {
    const uint8_t* a = ctx.in_bytes(0);
    const uint8_t* b = ctx.in_bytes(1);
    uint8_t* out = ctx.out_bytes(0);
    const bool int8 = dtype_ == DType::INT8;
    auto value = [int8](uint8_t byte) {
      return int8 ? static_cast<int32_t>(static_cast<int8_t>(byte)) : static_cast<int32_t>(byte);
    };
    const QAddParams& p = vadd_params_;
    const auto run = [&](int64_t ao, int64_t as, int64_t bo, int64_t bs, int64_t oo, int64_t n) {
      const size_t count = static_cast<size_t>(n);
      if (as != 0 && bs != 0) {
        vadd_broadcast_(count, a + ao, b + bo, out + oo, &p);
      } else if (as != 0) {
        vaddc_(count, a + ao, p.b_multiplier * (value(b[bo]) - p.b_zero_point) + p.rounding,
               out + oo, &p);
      } else if (bs != 0) {
        vaddc_(count, b + bo, p.a_multiplier * (value(a[ao]) - p.a_zero_point) + p.rounding,
               out + oo, &vaddc_swapped_);
      } else {
        // Both single values (plans merge such dimensions away; kept for completeness).
        const int32_t v = VaddValue(
            value(a[ao]), p.b_multiplier * (value(b[bo]) - p.b_zero_point) + p.rounding, p);
        std::memset(out + oo, static_cast<uint8_t>(v), count);
      }
    };
    ParallelBroadcastRuns(ctx, plan_, run);
  }

  template <typename T>
  void InvokeQuantized(const KernelContext& ctx) {
    RunQuantized<T>(plan_, ctx.in<T>(0), ctx.in<T>(1), ctx.out<T>(0));
  }

  // The reference arithmetic of the chosen path over any plan: Invoke's, and the oracle the
  // lookup tables are built from.
  template <typename T>
  void RunQuantized(const BroadcastPlan& plan, const T* a, const T* b, T* o) const {
    switch (path_) {
      case QuantPath::kRaw:
        MaxMinRaw<T>(plan, a, b, o, op_ == BinaryOp::kMaximum);
        break;
      case QuantPath::kTfliteAdd:
        AddSubQuantizedTflite<T>(plan, a, b, o, tfl_add_);
        break;
      case QuantPath::kTfliteMul:
        MulQuantizedTflite<T>(plan, a, b, o, tfl_mul_);
        break;
      case QuantPath::kXnnAdd:
      case QuantPath::kXnnMul:
        if constexpr (sizeof(T) == 1) {
          if (path_ == QuantPath::kXnnAdd) {
            AddSubQuantizedXnnpack<T>(plan, a, b, o, xnn_add_);
          } else {
            MulQuantizedXnnpack<T>(plan, a, b, o, xnn_mul_);
          }
        }
        break;
    }
  }

  // An 8-bit operator with one constant operand is a function of the other operand's byte for
  // each constant element: 256-entry tables per constant element, computed by the reference
  // arithmetic itself (so they are exact by construction), then Invoke only looks bytes up.
  // Taken when the variable operand is not broadcast (every output byte reads its own input byte)
  // and the constant is small (at most kMaxLutTables elements, e.g. a scalar or per-channel
  // [1,1,1,C] operand).
  static constexpr int64_t kMaxLutTables = 64;

  void PrepareConstantLut(const KernelContext& ctx) {
    const TensorDesc& a = *ctx.input(0);
    const TensorDesc& b = *ctx.input(1);
    if (a.is_constant() == b.is_constant()) return;
    const_input_ = a.is_constant() ? 0 : 1;
    const TensorDesc& c = const_input_ == 0 ? a : b;
    const TensorDesc& v = const_input_ == 0 ? b : a;
    if (v.num_elements != plan_.size || c.num_elements > kMaxLutTables || plan_.size == 0) return;
    const size_t tables = static_cast<size_t>(c.num_elements);
    tables_.assign(tables * 256, 0);
    uint8_t all_bytes[256];
    for (int i = 0; i < 256; ++i) all_bytes[i] = static_cast<uint8_t>(i);
    // One row per constant element: the variable operand takes every byte, the constant is a
    // scalar broadcast over them.
    const BroadcastPlan row_plan = const_input_ == 0 ? MakeBroadcastPlan({1}, {256}, {256})
                                                     : MakeBroadcastPlan({256}, {1}, {256});
    for (size_t k = 0; k < tables; ++k) {
      const uint8_t* cv = c.data + k;
      uint8_t* row = tables_.data() + 256 * k;
      const uint8_t* x = const_input_ == 0 ? cv : all_bytes;
      const uint8_t* y = const_input_ == 0 ? all_bytes : cv;
      if (dtype_ == DType::INT8) {
        RunQuantized<int8_t>(row_plan, reinterpret_cast<const int8_t*>(x),
                             reinterpret_cast<const int8_t*>(y), reinterpret_cast<int8_t*>(row));
      } else {
        RunQuantized<uint8_t>(row_plan, x, y, row);
      }
    }
    // A constant along the innermost dimension only ([outer, C] with the constant indexed by C)
    // is one per-channel lookup call; anything else walks the plan's runs.
    const int64_t* cs = const_input_ == 0 ? plan_.a_stride : plan_.b_stride;
    per_channel_ = !plan_.flat && plan_.rank == 2 && cs[0] == 0 && cs[1] == 1;
    const MicrokernelConfig& k = Microkernels();
    lut_ = k.lut->fn;
    impl_ = k.lut->name;
    if (tables > 1) {
      lutc_ = k.lutc->fn;
      impl_ = k.lutc->name;
    }
  }

  void InvokeConstantLut(const KernelContext& ctx) const {
    const uint8_t* v = ctx.in_bytes(1 - const_input_);
    uint8_t* out = ctx.out_bytes(0);
    const uint8_t* tables = tables_.data();
    if (lutc_ == nullptr) {
      ParallelElements(ctx, plan_.size, [&](int64_t i, int64_t end) {
        lut_(static_cast<size_t>(end - i), v + i, out + i, tables);
      });
      return;
    }
    if (per_channel_) {
      const int64_t cols = plan_.dims[1];
      ParallelRanges(ctx, plan_.dims[0], 4 * cols, [&](int64_t first, int64_t end) {
        lutc_(static_cast<size_t>(end - first), static_cast<size_t>(cols), v + first * cols,
              out + first * cols, tables);
      });
      return;
    }
    const bool c_is_a = const_input_ == 0;
    const auto run = [&](int64_t ao, int64_t as, int64_t bo, int64_t bs, int64_t oo, int64_t n) {
      const int64_t co = c_is_a ? ao : bo, cs = c_is_a ? as : bs;
      const int64_t vo = c_is_a ? bo : ao;
      if (cs == 0) {
        lut_(static_cast<size_t>(n), v + vo, out + oo, tables + 256 * co);
      } else {
        lutc_(1, static_cast<size_t>(n), v + vo, out + oo, tables + 256 * co);
      }
    };
    ParallelBroadcastRuns(ctx, plan_, run);
  }

  BinaryOp op_;
  DType dtype_ = DType::FLOAT32;
  BroadcastPlan plan_;
  float float_lo_ = 0, float_hi_ = 0;
  int64_t int_lo_ = 0, int_hi_ = 0;
  QuantPath path_ = QuantPath::kRaw;
  XnnAddParams xnn_add_;
  QVaddFn vadd_ = nullptr;  // the microkernel for same-shaped 8-bit ADD/SUB
  QAddParams vadd_params_;
  // Broadcast 8-bit ADD/SUB: vadd for runs where both operands advance, vaddc otherwise.
  QVaddFn vadd_broadcast_ = nullptr;
  QVaddcFn vaddc_ = nullptr;
  QAddParams vaddc_swapped_;  // vadd_params_ with a and b exchanged
  QVmulFn vmul_ = nullptr;    // the microkernel for same-shaped 8-bit MUL
  QMulParams vmul_params_;
  // PrepareConstantLut: 256 bytes per constant element, and the lookup kernels.
  std::vector<uint8_t> tables_;
  int const_input_ = 1;
  bool per_channel_ = false;
  X8LutFn lut_ = nullptr;
  X8LutChannelsFn lutc_ = nullptr;
  TfliteAddParams tfl_add_;
  // PrepareTfliteAddTables: each input's scaled term per byte (SUB: b's negated).
  bool tfl_tables_ = false;
  int32_t tfl_a_term_[256] = {};
  int32_t tfl_b_term_[256] = {};
  XnnMulParams xnn_mul_;
  TfliteMulParams tfl_mul_;
  const char* impl_ = "reference";
};

// ---- Unary -----------------------------------------------------------------------------------

class UnaryKernel : public OpKernel {
 public:
  explicit UnaryKernel(UnaryOp op) : op_(op) {}

  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ExpectSameShape(ctx, in, out));
    if (in.dtype != out.dtype) {
      return ctx.Error(StatusCode::kUnsupported,
                       "input '%s' (%s) and output '%s' (%s) differ in dtype", in.name.c_str(),
                       DTypeName(in.dtype), out.name.c_str(), DTypeName(out.dtype));
    }
    dtype_ = in.dtype;
    if (op_ == UnaryOp::kLeakyRelu) {
      if (const auto* o = ctx.fb_op().options_as_LeakyReluOptions()) alpha_ = o->alpha();
    }
    if (dtype_ == DType::FLOAT32) {
      impl_ = "reference-f32";
      return Status::Ok();
    }
    if (op_ == UnaryOp::kSqrt || (dtype_ != DType::INT8 && dtype_ != DType::UINT8)) {
      return ctx.Error(StatusCode::kUnsupported, "input '%s' has unsupported dtype %s",
                       in.name.c_str(), DTypeName(dtype_));
    }
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, in, "input"));
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, out, "output"));
    const float si = in.quant.scale[0], so = out.quant.scale[0];
    const int32_t zi = in.quant.zero_point[0], zo = out.quant.zero_point[0];
    const int32_t qmin = DTypeMinValue(dtype_), qmax = DTypeMaxValue(dtype_);
    switch (op_) {
      case UnaryOp::kRelu:
      case UnaryOp::kRelu6:
        MakeTfliteReluParams(op_ == UnaryOp::kRelu6, si, zi, so, zo, qmin, qmax, &relu_);
        impl_ = "tflite-relu-lut";
        break;
      case UnaryOp::kLeakyRelu:
        xnn_lrelu_ok_ = MakeXnnLeakyReluParams(si, zi, so, zo, alpha_, qmin, qmax, &xnn_lrelu_);
        if (!xnn_lrelu_ok_)
          MakeTfliteLeakyReluParams(si, zi, so, zo, alpha_, qmin, qmax, &tfl_lrelu_);
        impl_ = xnn_lrelu_ok_ ? "xnnpack-lrelu-lut" : "tflite-leaky-relu-lut";
        break;
      case UnaryOp::kHardSwish:
        if (!MakeTfliteHardSwishParams(si, zi, so, zo, qmin, qmax, &hswish_)) {
          return ctx.Error(StatusCode::kUnsupported,
                           "HARD_SWISH needs input scale / 128 <= output scale ('%s', '%s')",
                           in.name.c_str(), out.name.c_str());
        }
        impl_ = "tflite-hard-swish-lut";
        break;
      case UnaryOp::kTanh:
      case UnaryOp::kLogistic:
        // XNNPACK itself runs these as a table; that table is the definition.
        if (dtype_ == DType::INT8) {
          int8_t t[256];
          MakeXnnpackSigmoidTanhTable<int8_t>(op_ == UnaryOp::kTanh, si, zi, so, zo, t);
          std::memcpy(table_, t, 256);
        } else {
          MakeXnnpackSigmoidTanhTable<uint8_t>(op_ == UnaryOp::kTanh, si, zi, so, zo, table_);
        }
        impl_ = "xnnpack-lut";
        lut_ = Microkernels().lut->fn;
        return Status::Ok();
      default:
        break;
    }
    for (int32_t v = qmin; v <= qmax; ++v) {
      table_[static_cast<uint8_t>(v)] = static_cast<uint8_t>(Scalar(v));
    }
    lut_ = Microkernels().lut->fn;
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const int64_t n = ctx.input(0)->num_elements;
    if (dtype_ == DType::FLOAT32) {
      UnaryFloat(op_, ctx.in<float>(0), ctx.out<float>(0), n, alpha_);
      return Status::Ok();
    }
    const uint8_t* in = ctx.in_bytes(0);
    uint8_t* out = ctx.out_bytes(0);
    const bool lut_only = op_ == UnaryOp::kTanh || op_ == UnaryOp::kLogistic;
    if (ctx.options().reference_only) {
      // The oracle evaluates the integer formula per element instead of the table (LOGISTIC and
      // TANH are defined by their table: a plain lookup loop).
      for (int64_t i = 0; i < n; ++i) {
        const int32_t x = dtype_ == DType::INT8 ? static_cast<int32_t>(static_cast<int8_t>(in[i]))
                                                : static_cast<int32_t>(in[i]);
        out[i] = lut_only ? table_[in[i]] : static_cast<uint8_t>(Scalar(x));
      }
      return Status::Ok();
    }
    ParallelElements(ctx, n, [&](int64_t i, int64_t end) {
      lut_(static_cast<size_t>(end - i), in + i, out + i, table_);
    });
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

 private:
  int32_t Scalar(int32_t x) const {
    switch (op_) {
      case UnaryOp::kRelu:
      case UnaryOp::kRelu6:
        return ReluTflite(x, relu_);
      case UnaryOp::kLeakyRelu:
        return xnn_lrelu_ok_ ? LeakyReluXnnpack(x, xnn_lrelu_) : LeakyReluTflite(x, tfl_lrelu_);
      case UnaryOp::kHardSwish:
        return HardSwishTflite(x, hswish_);
      default:
        return x;
    }
  }

  UnaryOp op_;
  DType dtype_ = DType::FLOAT32;
  float alpha_ = 0.0f;
  TfliteReluParams relu_;
  bool xnn_lrelu_ok_ = false;
  XnnLeakyReluParams xnn_lrelu_;
  TfliteLeakyReluParams tfl_lrelu_;
  TfliteHardSwishParams hswish_;
  uint8_t table_[256] = {};  // indexed by the raw byte of the input
  X8LutFn lut_ = nullptr;
  const char* impl_ = "reference";
};

// ---- QUANTIZE --------------------------------------------------------------------------------

class QuantizeKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ExpectSameShape(ctx, in, out));
    WISP_RETURN_IF_ERROR(
        ctx.ExpectDType(&in, "input", {DType::FLOAT32, DType::INT8, DType::UINT8}));
    WISP_RETURN_IF_ERROR(
        ctx.ExpectDType(&out, "output", {DType::INT8, DType::UINT8, DType::INT16}));
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, out, "output"));
    in_dtype_ = in.dtype;
    out_dtype_ = out.dtype;
    scale_ = out.quant.scale[0];
    zp_ = out.quant.zero_point[0];
    qmin_ = DTypeMinValue(out_dtype_);
    qmax_ = DTypeMaxValue(out_dtype_);
    if (in_dtype_ == DType::FLOAT32) {
      // The delegate converts f32 -> qs8/qu8; int16 outputs stay in TFLite.
      xnn_ = out_dtype_ != DType::INT16;
      inv_scale_ = 1.0f / scale_;
      impl_ = xnn_ ? "xnnpack-f32-cvt" : "tflite-affine-quantize";
      if (xnn_ && !ctx.options().reference_only) {
        const QuantizeKernelInfo* k = Microkernels().quantize;
        cvt_ = out_dtype_ == DType::INT8 ? k->qs8 : k->qu8;
        epilogue_ = MakeQuantEpilogue(zp_, qmin_, qmax_);
        impl_ = k->name;
      }
      return Status::Ok();
    }
    if (out_dtype_ == DType::INT16) {
      return ctx.Error(StatusCode::kUnsupported,
                       "QUANTIZE %s -> int16 is not supported (output '%s')", DTypeName(in_dtype_),
                       out.name.c_str());
    }
    WISP_RETURN_IF_ERROR(ExpectPerTensorQuant(ctx, in, "input"));
    const float si = in.quant.scale[0];
    const int32_t zi = in.quant.zero_point[0];
    // Same-type requantization goes to XNNPACK when the ratio is in range; int8 <-> uint8 never
    // does.
    XnnRequantParams xp;
    TfliteRequantParams tp;
    xnn_ = in_dtype_ == out_dtype_ && MakeXnnRequantParams(si, zi, scale_, zp_, qmin_, qmax_, &xp);
    if (!xnn_) MakeTfliteRequantParams(si, zi, scale_, zp_, qmin_, qmax_, &tp);
    const int32_t imin = DTypeMinValue(in_dtype_), imax = DTypeMaxValue(in_dtype_);
    for (int32_t v = imin; v <= imax; ++v) {
      const int32_t q = xnn_ ? RequantizeXnnpack(v, xp) : RequantizeTflite(v, tp);
      table_[static_cast<uint8_t>(v)] = static_cast<uint8_t>(q);
    }
    impl_ = xnn_ ? "xnnpack-requantize-lut" : "tflite-requantize-lut";
    if (ctx.options().reference_only) return Status::Ok();
    lut_ = Microkernels().lut->fn;
    // uint8 <-> int8 with the same scale and zero points 128 apart (how TF2 converters quantize a
    // uint8 image input): the table is x ^ 0x80, and a vectorised XOR beats the lookup kernels
    // (WebAssembly's looks bytes up one at a time). Read off the table itself, so that it holds
    // exactly when it applies.
    bool flips = true;
    for (int32_t v = 0; v < 256; ++v) flips = flips && table_[v] == (v ^ 0x80);
    if (flips) {
      lut_ = nullptr;
      flip_ = true;
      impl_ = "requantize-as-xor-0x80";
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const int64_t n = ctx.input(0)->num_elements;
    if (cvt_ != nullptr) {
      ParallelElements(ctx, n, [&](int64_t i, int64_t end) {
        cvt_(static_cast<size_t>(end - i), ctx.in<float>(0) + i, ctx.out_bytes(0) + i, inv_scale_,
             &epilogue_);
      });
      return Status::Ok();
    }
    if (in_dtype_ == DType::FLOAT32) {
      const float* in = ctx.in<float>(0);
      if (out_dtype_ == DType::INT16) {
        int16_t* out = ctx.out<int16_t>(0);
        for (int64_t i = 0; i < n; ++i) {
          out[i] = static_cast<int16_t>(QuantizeTflite(in[i], scale_, zp_, qmin_, qmax_));
        }
      } else if (out_dtype_ == DType::INT8) {
        int8_t* out = ctx.out<int8_t>(0);
        for (int64_t i = 0; i < n; ++i) {
          out[i] = static_cast<int8_t>(QuantizeXnnpack(in[i], inv_scale_, zp_, qmin_, qmax_));
        }
      } else {
        uint8_t* out = ctx.out<uint8_t>(0);
        for (int64_t i = 0; i < n; ++i) {
          out[i] = static_cast<uint8_t>(QuantizeXnnpack(in[i], inv_scale_, zp_, qmin_, qmax_));
        }
      }
      return Status::Ok();
    }
    const uint8_t* in = ctx.in_bytes(0);
    uint8_t* out = ctx.out_bytes(0);
    if (flip_) {
      ParallelElements(ctx, n, [&](int64_t i, int64_t end) {
        FlipBytes(in + i, static_cast<size_t>(end - i), out + i);
      });
    } else if (lut_ == nullptr) {
      for (int64_t i = 0; i < n; ++i) out[i] = table_[in[i]];
    } else {
      ParallelElements(ctx, n, [&](int64_t i, int64_t end) {
        lut_(static_cast<size_t>(end - i), in + i, out + i, table_);
      });
    }
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

 private:
  DType in_dtype_ = DType::FLOAT32, out_dtype_ = DType::INT8;
  float scale_ = 1.0f, inv_scale_ = 1.0f;
  int32_t zp_ = 0, qmin_ = -128, qmax_ = 127;
  bool xnn_ = false;
  bool flip_ = false;            // the requantization table is x ^ 0x80
  QuantizeF32Fn cvt_ = nullptr;  // f32 -> int8/uint8 microkernel
  QuantEpilogue epilogue_;
  X8LutFn lut_ = nullptr;  // int8/uint8 -> same width, through table_
  uint8_t table_[256] = {};
  const char* impl_ = "reference";
};

// ---- DEQUANTIZE ------------------------------------------------------------------------------

class DequantizeKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ExpectSameShape(ctx, in, out));
    WISP_RETURN_IF_ERROR(
        ctx.ExpectDType(&in, "input", {DType::INT8, DType::UINT8, DType::INT16, DType::FLOAT16}));
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&out, "output", {DType::FLOAT32}));
    dtype_ = in.dtype;
    if (dtype_ == DType::FLOAT16) return Status::Ok();
    const QuantParams& q = in.quant;
    if (q.scale.empty() || q.scale.size() != q.zero_point.size()) {
      return ctx.Error(StatusCode::kInvalidModel, "input '%s' has no usable quantization",
                       in.name.c_str());
    }
    if (q.scale.size() > 1) {
      if (q.axis < 0 || static_cast<size_t>(q.axis) >= in.shape.size() ||
          static_cast<int64_t>(q.scale.size()) != in.shape[q.axis]) {
        return ctx.Error(StatusCode::kInvalidModel,
                         "input '%s' has %zu scales for axis %d of shape %s", in.name.c_str(),
                         q.scale.size(), q.axis, ShapeToString(in.shape).c_str());
      }
      channels_ = in.shape[q.axis];
      inner_ = 1;
      for (size_t d = static_cast<size_t>(q.axis) + 1; d < in.shape.size(); ++d)
        inner_ *= in.shape[d];
    }
    scales_ = q.scale;
    zero_points_ = q.zero_point;
    if (scales_.size() == 1 && (dtype_ == DType::INT8 || dtype_ == DType::UINT8) &&
        !ctx.options().reference_only) {
      const DequantizeKernelInfo* k = Microkernels().dequantize;
      cvt_ = dtype_ == DType::INT8 ? k->qs8 : k->qu8;
      impl_ = k->name;
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    const int64_t n = ctx.input(0)->num_elements;
    float* out = ctx.out<float>(0);
    if (cvt_ != nullptr) {
      ParallelElements(ctx, n, [&](int64_t i, int64_t end) {
        cvt_(static_cast<size_t>(end - i), ctx.in_bytes(0) + i, out + i, zero_points_[0],
             scales_[0]);
      });
      return Status::Ok();
    }
    switch (dtype_) {
      case DType::INT8:
        Run(ctx.in<int8_t>(0), out, n);
        break;
      case DType::UINT8:
        Run(ctx.in<uint8_t>(0), out, n);
        break;
      case DType::INT16:
        Run(ctx.in<int16_t>(0), out, n);
        break;
      case DType::FLOAT16: {
        const uint16_t* in = ctx.in<uint16_t>(0);
        for (int64_t i = 0; i < n; ++i) out[i] = HalfToFloat(in[i]);
        break;
      }
      default:
        break;
    }
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

 private:
  // f32(q - zp) * scale: one rounding of the exact product, as XNNPACK's qs8-f32 convert and
  // TFLite's double-scale Dequantize both produce.
  template <typename T>
  void Run(const T* in, float* out, int64_t n) const {
    if (scales_.size() == 1) {
      const float s = scales_[0];
      const int32_t zp = static_cast<int32_t>(zero_points_[0]);
      for (int64_t i = 0; i < n; ++i)
        out[i] = static_cast<float>(static_cast<int32_t>(in[i]) - zp) * s;
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = (i / inner_) % channels_;
      out[i] = static_cast<float>(static_cast<int32_t>(in[i]) - zero_points_[c]) * scales_[c];
    }
  }

  DType dtype_ = DType::INT8;
  std::vector<float> scales_;
  std::vector<int32_t> zero_points_;
  int64_t channels_ = 1, inner_ = 1;
  DequantizeF32Fn cvt_ = nullptr;  // per-tensor int8/uint8 microkernel
  const char* impl_ = "reference";
};

// ---- CAST ------------------------------------------------------------------------------------

template <typename To, typename From>
To CastValue(From v) {
  if constexpr (std::is_same<To, bool>::value) {
    return v != From(0);
  } else if constexpr (std::is_same<From, bool>::value) {
    return static_cast<To>(v ? 1 : 0);
  } else if constexpr (std::is_floating_point<From>::value && std::is_integral<To>::value) {
    // Truncation toward zero. Out-of-range is undefined in C++; do what the wasm build's
    // saturating float->int conversion does (NaN -> 0), then wrap to the narrower type.
    if (std::isnan(v)) return To(0);
    if constexpr (sizeof(To) == 8) {
      if (v >= 9.2233720368547758e18f) return std::numeric_limits<int64_t>::max();
      if (v <= -9.2233720368547758e18f) return std::numeric_limits<int64_t>::min();
      return static_cast<To>(static_cast<int64_t>(v));
    } else {
      if (v >= 2147483648.0f) return static_cast<To>(std::numeric_limits<int32_t>::max());
      if (v <= -2147483648.0f) return static_cast<To>(std::numeric_limits<int32_t>::min());
      return static_cast<To>(static_cast<int32_t>(v));
    }
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
void CastLoop(const void* in, void* out, int64_t n) {
  const From* src = static_cast<const From*>(in);
  To* dst = static_cast<To*>(out);
  for (int64_t i = 0; i < n; ++i) dst[i] = CastValue<To, From>(src[i]);
}

using CastFn = void (*)(const void*, void*, int64_t);

template <typename From>
CastFn CastTo(DType to) {
  switch (to) {
    case DType::FLOAT32:
      return &CastLoop<From, float>;
    case DType::INT32:
      return &CastLoop<From, int32_t>;
    case DType::INT64:
      return &CastLoop<From, int64_t>;
    case DType::INT8:
      return &CastLoop<From, int8_t>;
    case DType::UINT8:
      return &CastLoop<From, uint8_t>;
    case DType::INT16:
      return &CastLoop<From, int16_t>;
    case DType::BOOL:
      return &CastLoop<From, bool>;
    default:
      return nullptr;
  }
}

class CastKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override {
    WISP_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1));
    WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
    const TensorDesc& in = *ctx.input(0);
    const TensorDesc& out = ctx.output(0);
    WISP_RETURN_IF_ERROR(ExpectSameShape(ctx, in, out));
    const auto allowed = {DType::FLOAT32, DType::INT32, DType::INT64, DType::INT8,
                          DType::UINT8,   DType::INT16, DType::BOOL};
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&in, "input", allowed));
    WISP_RETURN_IF_ERROR(ctx.ExpectDType(&out, "output", allowed));
    switch (in.dtype) {
      case DType::FLOAT32:
        fn_ = CastTo<float>(out.dtype);
        break;
      case DType::INT32:
        fn_ = CastTo<int32_t>(out.dtype);
        break;
      case DType::INT64:
        fn_ = CastTo<int64_t>(out.dtype);
        break;
      case DType::INT8:
        fn_ = CastTo<int8_t>(out.dtype);
        break;
      case DType::UINT8:
        fn_ = CastTo<uint8_t>(out.dtype);
        break;
      case DType::INT16:
        fn_ = CastTo<int16_t>(out.dtype);
        break;
      case DType::BOOL:
        fn_ = CastTo<bool>(out.dtype);
        break;
      default:
        break;
    }
    if (fn_ == nullptr) {
      return ctx.Error(StatusCode::kUnsupported, "CAST %s -> %s is not supported",
                       DTypeName(in.dtype), DTypeName(out.dtype));
    }
    // 8-bit integers -> float32 is the dequantize microkernel with zero point 0 and scale 1: the
    // conversion is exact and multiplying by 1 changes nothing (e.g. an image's uint8 pixels).
    if ((in.dtype == DType::INT8 || in.dtype == DType::UINT8) && out.dtype == DType::FLOAT32 &&
        !ctx.options().reference_only) {
      const DequantizeKernelInfo* k = Microkernels().dequantize;
      to_float_ = in.dtype == DType::INT8 ? k->qs8 : k->qu8;
      impl_ = k->name;
    }
    return Status::Ok();
  }

  Status Invoke(const KernelContext& ctx) override {
    if (to_float_ != nullptr) {
      to_float_(static_cast<size_t>(ctx.input(0)->num_elements), ctx.in_bytes(0), ctx.out<float>(0),
                0, 1.0f);
      return Status::Ok();
    }
    fn_(ctx.in_bytes(0), ctx.out_bytes(0), ctx.input(0)->num_elements);
    return Status::Ok();
  }

  const char* implementation() const override { return impl_; }

 private:
  CastFn fn_ = nullptr;
  DequantizeF32Fn to_float_ = nullptr;
  const char* impl_ = "reference";
};

template <BinaryOp kOp>
std::unique_ptr<OpKernel> MakeBinary() {
  return std::make_unique<BinaryKernel>(kOp);
}

template <UnaryOp kOp>
std::unique_ptr<OpKernel> MakeUnary() {
  return std::make_unique<UnaryKernel>(kOp);
}

template <typename K>
std::unique_ptr<OpKernel> Make() {
  return std::make_unique<K>();
}

}  // namespace

void RegisterElementwiseKernels(KernelRegistry& registry) {
  // BinaryKernel, UnaryKernel, QuantizeKernel, DequantizeKernel and CastKernel above hold the
  // checks summarised here.
  constexpr const char* kArith = "float32, int32, int64, int8, uint8, int16";
  constexpr const char* kArithRules =
      "inputs and output share a dtype; broadcasting to rank <= 8; quantized per tensor; int16 "
      "with zero points 0 and not all scales powers of two; fused TANH not supported";
  registry.Register(fb::OpType::ADD, &MakeBinary<BinaryOp::kAdd>, {kArith, kArithRules});
  registry.Register(fb::OpType::SUB, &MakeBinary<BinaryOp::kSub>, {kArith, kArithRules});
  registry.Register(fb::OpType::MUL, &MakeBinary<BinaryOp::kMul>, {kArith, kArithRules});
  constexpr const char* kDivRules =
      "inputs and output share a dtype; broadcasting to rank <= 8; no quantized types";
  registry.Register(fb::OpType::DIV, &MakeBinary<BinaryOp::kDiv>,
                    {"float32, int32, int64", kDivRules});
  registry.Register(fb::OpType::FLOOR_DIV, &MakeBinary<BinaryOp::kFloorDiv>,
                    {"float32, int32, int64", kDivRules});
  constexpr const char* kMaxMinRules =
      "inputs and output share a dtype; broadcasting to rank <= 8; quantized inputs compared "
      "raw, so they must share the output's quantization (as in TFLite)";
  registry.Register(fb::OpType::MAXIMUM, &MakeBinary<BinaryOp::kMaximum>, {kArith, kMaxMinRules});
  registry.Register(fb::OpType::MINIMUM, &MakeBinary<BinaryOp::kMinimum>, {kArith, kMaxMinRules});
  constexpr const char* kUnary = "float32, int8, uint8";
  constexpr const char* kUnaryRules = "output shape and dtype as input; quantized per tensor";
  registry.Register(fb::OpType::SQRT, &MakeUnary<UnaryOp::kSqrt>,
                    {"float32", "output shape and dtype as input"});
  registry.Register(fb::OpType::RELU, &MakeUnary<UnaryOp::kRelu>, {kUnary, kUnaryRules});
  registry.Register(fb::OpType::RELU6, &MakeUnary<UnaryOp::kRelu6>, {kUnary, kUnaryRules});
  registry.Register(fb::OpType::LEAKY_RELU, &MakeUnary<UnaryOp::kLeakyRelu>, {kUnary, kUnaryRules});
  registry.Register(fb::OpType::HARD_SWISH, &MakeUnary<UnaryOp::kHardSwish>,
                    {kUnary,
                     "output shape and dtype as input; quantized per tensor with input scale / "
                     "128 <= output scale"});
  registry.Register(fb::OpType::TANH, &MakeUnary<UnaryOp::kTanh>, {kUnary, kUnaryRules});
  registry.Register(fb::OpType::LOGISTIC, &MakeUnary<UnaryOp::kLogistic>, {kUnary, kUnaryRules});
  registry.Register(fb::OpType::QUANTIZE, &Make<QuantizeKernel>,
                    {"float32, int8, uint8 -> int8, uint8, int16",
                     "output per tensor; int16 output only from float32; 8-bit input per tensor "
                     "(requantize)"});
  registry.Register(fb::OpType::DEQUANTIZE, &Make<DequantizeKernel>,
                    {"int8, uint8, int16, float16 -> float32",
                     "output shape as input; quantized per tensor or per channel"});
  registry.Register(fb::OpType::CAST, &Make<CastKernel>,
                    {"float32, int32, int64, int8, uint8, int16, bool (either side)",
                     "output shape as input; values converted, quantization ignored (as in "
                     "TFLite)"});
}

}  // namespace wisp
