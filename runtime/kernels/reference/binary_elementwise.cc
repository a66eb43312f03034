// Reference binary elementwise kernels (ADD, SUB, MUL, DIV, FLOOR_DIV, MAXIMUM, MINIMUM) with
// NumPy/TFLite broadcasting, and the quantization parameters they use.
//
// Quantized ADD/SUB/MUL follow XNNPACK when the reference runtime's delegate accepts the scales
// (it does for every residual ADD in the shared models) and TFLite's own kernels otherwise, e.g.
// MoveNet's input normalisation SUB whose 1e-6 operand scale is outside XNNPACK's range.
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/kernels/elementwise_util.h"

namespace wisp {

// ---- Broadcasting ----------------------------------------------------------------------------

bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  out->assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int32_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int32_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      (*out)[i] = da;
    } else if (da == 1) {
      (*out)[i] = db;
    } else {
      return false;
    }
  }
  return true;
}

BroadcastPlan MakeBroadcastPlan(const Shape& a, const Shape& b, const Shape& out) {
  BroadcastPlan p;
  p.size = NumElements(out);
  const int64_t na = NumElements(a), nb = NumElements(b);
  if (na == p.size && nb == p.size) {
    // Same element count as the output means neither operand repeats anything.
    p.flat = true;
    return p;
  }
  // Walk from the innermost dimension outwards, merging dimensions whose broadcast pattern
  // (a repeats?, b repeats?) matches the previous one.
  const size_t rank = out.size();
  int64_t dims[64];
  bool a_rep[64], b_rep[64];
  int n = 0;
  for (size_t k = 0; k < rank; ++k) {
    const size_t i = rank - 1 - k;
    const int64_t d = out[i];
    if (d == 1) continue;
    const bool ar = k >= a.size() || a[a.size() - 1 - k] == 1;
    const bool br = k >= b.size() || b[b.size() - 1 - k] == 1;
    if (n > 0 && a_rep[n - 1] == ar && b_rep[n - 1] == br) {
      dims[n - 1] *= d;
    } else {
      dims[n] = d;
      a_rep[n] = ar;
      b_rep[n] = br;
      ++n;
    }
  }
  if (n == 0) {
    dims[0] = 1;
    a_rep[0] = b_rep[0] = false;
    n = 1;
  }
  // Merging alternating patterns always leaves at most rank(out) dimensions; the plan holds
  // kMaxBroadcastRank, which callers check against the output rank.
  p.rank = n;
  int64_t as = 1, bs = 1;
  for (int k = 0; k < n; ++k) {
    const int d = n - 1 - k;  // plan order is outermost first
    p.dims[d] = dims[k];
    p.a_stride[d] = a_rep[k] ? 0 : as;
    p.b_stride[d] = b_rep[k] ? 0 : bs;
    if (!a_rep[k]) as *= dims[k];
    if (!b_rep[k]) bs *= dims[k];
  }
  return p;
}

// ---- Quantization parameters -----------------------------------------------------------------

namespace {

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline int32_t Clamp(int32_t v, int32_t lo, int32_t hi) { return std::min(std::max(v, lo), hi); }

}  // namespace

bool MakeXnnAddParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                      int32_t out_zp, bool subtract, QuantRange act, XnnAddParams* p) {
  // Delegate check (xnnpack_delegate.cc, CheckAddSubScales-style): each input/output scale ratio
  // must lie in [2^-10, 2^8), otherwise TFLite runs the op itself.
  const float a_ratio = a_scale / out_scale;
  const float b_ratio = b_scale / out_scale;
  if (!(a_ratio >= 0x1.0p-10f && a_ratio < 0x1.0p+8f)) return false;
  if (!(b_ratio >= 0x1.0p-10f && b_ratio < 0x1.0p+8f)) return false;
  // xnn_init_qs8_add_minmax_scalar_params (XNNPACK src/microparams-init.c); SUB negates b's scale
  // before calling it (src/operators/binary-elementwise-nd.c).
  const float a_output_scale = a_ratio;
  const float b_output_scale = subtract ? -b_ratio : b_ratio;
  const float abs_a = std::fabs(a_output_scale);
  const float abs_b = std::fabs(b_output_scale);
  const float max_abs = std::max(abs_a, abs_b);
  const int32_t max_exponent = static_cast<int32_t>(FloatBits(max_abs) >> 23) - 127;
  const uint32_t shift = static_cast<uint32_t>(20 - max_exponent);
  // Adding `shift` to the exponent field multiplies by 2^shift exactly.
  const int32_t abs_a_mult =
      static_cast<int32_t>(std::lrintf(BitsFloat(FloatBits(abs_a) + (shift << 23))));
  const int32_t abs_b_mult =
      static_cast<int32_t>(std::lrintf(BitsFloat(FloatBits(abs_b) + (shift << 23))));
  p->a_multiplier = std::signbit(a_output_scale) ? -abs_a_mult : abs_a_mult;
  p->b_multiplier = std::signbit(b_output_scale) ? -abs_b_mult : abs_b_mult;
  p->shift = shift;
  p->rounding = int32_t{1} << (shift - 1);
  p->a_zero_point = a_zp;
  p->b_zero_point = b_zp;
  p->output_zero_point = out_zp;
  p->qmin = act.min;
  p->qmax = act.max;
  return true;
}

void MakeTfliteAddParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                         int32_t out_zp, bool subtract, int32_t left_shift, QuantRange act,
                         TfliteAddParams* p) {
  // kernels/add.cc / sub.cc PrepareGeneral*Op: float scales promoted to double.
  p->subtract = subtract;
  p->left_shift = left_shift;
  p->a_offset = -a_zp;
  p->b_offset = -b_zp;
  p->output_offset = out_zp;
  const double twice_max_input_scale = 2 * std::max(a_scale, b_scale);
  const double real_a = a_scale / twice_max_input_scale;
  const double real_b = b_scale / twice_max_input_scale;
  const double real_out = twice_max_input_scale / ((1 << p->left_shift) * out_scale);
  QuantizeMultiplier(real_a, &p->a_multiplier, &p->a_shift);
  QuantizeMultiplier(real_b, &p->b_multiplier, &p->b_shift);
  QuantizeMultiplier(real_out, &p->output_multiplier, &p->output_shift);
  p->qmin = act.min;
  p->qmax = act.max;
}

bool MakeXnnMulParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                      int32_t out_zp, QuantRange act, XnnMulParams* p) {
  // xnn_init_qs8_mul_minmax_scalar_params: two float roundings.
  const float product_scale = a_scale * b_scale;
  const float product_output_scale = product_scale / out_scale;
  if (!(product_output_scale >= 0x1.0p-16f && product_output_scale < 0x1.0p+8f)) return false;
  p->a_zero_point = a_zp;
  p->b_zero_point = b_zp;
  p->requant.scale = product_output_scale;
  p->requant.zero_point = out_zp;
  p->requant.qmin = act.min;
  p->requant.qmax = act.max;
  return true;
}

void MakeTfliteMulParams(float a_scale, int32_t a_zp, float b_scale, int32_t b_zp, float out_scale,
                         int32_t out_zp, QuantRange act, TfliteMulParams* p) {
  // kernels/mul.cc: `double real_multiplier = input1->params.scale * input2->params.scale /
  // output->params.scale;` evaluates in float, then widens.
  const double real_multiplier = a_scale * b_scale / out_scale;
  QuantizeMultiplier(real_multiplier, &p->multiplier, &p->shift);
  p->a_zero_point = a_zp;
  p->b_zero_point = b_zp;
  p->output_zero_point = out_zp;
  p->qmin = act.min;
  p->qmax = act.max;
}

// ---- Kernels ---------------------------------------------------------------------------------

template <typename T>
void AddSubQuantizedXnnpack(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                            const XnnAddParams& p) {
  BroadcastBinary(plan, a, b, out, [p](T x, T y) {
    // |multiplier| <= 2^21 and |x - zp| <= 255, so the sum stays inside int32.
    const int32_t acc = p.a_multiplier * (static_cast<int32_t>(x) - p.a_zero_point) +
                        p.b_multiplier * (static_cast<int32_t>(y) - p.b_zero_point) + p.rounding;
    const int32_t v = (acc >> p.shift) + p.output_zero_point;  // arithmetic shift = floor
    return static_cast<T>(Clamp(v, p.qmin, p.qmax));
  });
}

template <typename T>
void AddSubQuantizedTflite(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                           const TfliteAddParams& p) {
  BroadcastBinary(plan, a, b, out, [p](T x, T y) {
    const int32_t shifted_a = (p.a_offset + static_cast<int32_t>(x)) * (1 << p.left_shift);
    const int32_t shifted_b = (p.b_offset + static_cast<int32_t>(y)) * (1 << p.left_shift);
    const int32_t scaled_a = MultiplyByQuantizedMultiplier(shifted_a, p.a_multiplier, p.a_shift);
    const int32_t scaled_b = MultiplyByQuantizedMultiplier(shifted_b, p.b_multiplier, p.b_shift);
    const int32_t raw = p.subtract ? scaled_a - scaled_b : scaled_a + scaled_b;
    const int32_t v =
        MultiplyByQuantizedMultiplier(raw, p.output_multiplier, p.output_shift) + p.output_offset;
    return static_cast<T>(Clamp(v, p.qmin, p.qmax));
  });
}

template <typename T>
void MulQuantizedXnnpack(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                         const XnnMulParams& p) {
  BroadcastBinary(plan, a, b, out, [p](T x, T y) {
    const int32_t acc =
        (static_cast<int32_t>(x) - p.a_zero_point) * (static_cast<int32_t>(y) - p.b_zero_point);
    return static_cast<T>(RequantizeFp32(acc, p.requant));
  });
}

template <typename T>
void MulQuantizedTflite(const BroadcastPlan& plan, const T* a, const T* b, T* out,
                        const TfliteMulParams& p) {
  BroadcastBinary(plan, a, b, out, [p](T x, T y) {
    const int32_t acc =
        (static_cast<int32_t>(x) - p.a_zero_point) * (static_cast<int32_t>(y) - p.b_zero_point);
    const int32_t v =
        MultiplyByQuantizedMultiplier(acc, p.multiplier, p.shift) + p.output_zero_point;
    return static_cast<T>(Clamp(v, p.qmin, p.qmax));
  });
}

template <typename T>
void MaxMinRaw(const BroadcastPlan& plan, const T* a, const T* b, T* out, bool maximum) {
  if (maximum) {
    BroadcastBinary(plan, a, b, out, [](T x, T y) { return x > y ? x : y; });
  } else {
    BroadcastBinary(plan, a, b, out, [](T x, T y) { return x < y ? x : y; });
  }
}

void BinaryFloat(BinaryOp op, const BroadcastPlan& plan, const float* a, const float* b, float* out,
                 float lo, float hi) {
  auto act = [lo, hi](float v) { return std::min(std::max(v, lo), hi); };
  switch (op) {
    case BinaryOp::kAdd:
      BroadcastBinary(plan, a, b, out, [&](float x, float y) { return act(x + y); });
      break;
    case BinaryOp::kSub:
      BroadcastBinary(plan, a, b, out, [&](float x, float y) { return act(x - y); });
      break;
    case BinaryOp::kMul:
      BroadcastBinary(plan, a, b, out, [&](float x, float y) { return act(x * y); });
      break;
    case BinaryOp::kDiv:
      BroadcastBinary(plan, a, b, out, [&](float x, float y) { return act(x / y); });
      break;
    case BinaryOp::kFloorDiv:
      // TFLite reference_ops::FloorDiv: std::floor(double(a) / double(b)).
      BroadcastBinary(plan, a, b, out, [](float x, float y) {
        return static_cast<float>(std::floor(static_cast<double>(x) / static_cast<double>(y)));
      });
      break;
    case BinaryOp::kMaximum:
      // TFLite's MaximumOp: `el1 > el2 ? el1 : el2`.
      BroadcastBinary(plan, a, b, out, [](float x, float y) { return x > y ? x : y; });
      break;
    case BinaryOp::kMinimum:
      BroadcastBinary(plan, a, b, out, [](float x, float y) { return x < y ? x : y; });
      break;
  }
}

template <typename T>
void BinaryInteger(BinaryOp op, const BroadcastPlan& plan, const T* a, const T* b, T* out, T lo,
                   T hi) {
  using U = typename std::make_unsigned<T>::type;
  auto act = [lo, hi](T v) { return std::min(std::max(v, lo), hi); };
  switch (op) {
    case BinaryOp::kAdd:
      // Unsigned arithmetic: two's-complement wrap-around instead of undefined overflow.
      BroadcastBinary(plan, a, b, out, [&](T x, T y) {
        return act(static_cast<T>(static_cast<U>(x) + static_cast<U>(y)));
      });
      break;
    case BinaryOp::kSub:
      BroadcastBinary(plan, a, b, out, [&](T x, T y) {
        return act(static_cast<T>(static_cast<U>(x) - static_cast<U>(y)));
      });
      break;
    case BinaryOp::kMul:
      BroadcastBinary(plan, a, b, out, [&](T x, T y) {
        return act(static_cast<T>(static_cast<U>(x) * static_cast<U>(y)));
      });
      break;
    case BinaryOp::kDiv:
      // C++ division truncates toward zero, as TFLite's integer DIV; min / -1 wraps.
      BroadcastBinary(plan, a, b, out, [&](T x, T y) {
        if (y == -1) return act(static_cast<T>(U{0} - static_cast<U>(x)));
        return act(static_cast<T>(x / y));
      });
      break;
    case BinaryOp::kFloorDiv:
      // Rounds toward -inf (TFLite computes floor(double(a)/double(b)), which is exact for int32).
      BroadcastBinary(plan, a, b, out, [&](T x, T y) {
        if (y == -1) return static_cast<T>(U{0} - static_cast<U>(x));
        T q = static_cast<T>(x / y);
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return q;
      });
      break;
    case BinaryOp::kMaximum:
      BroadcastBinary(plan, a, b, out, [](T x, T y) { return x > y ? x : y; });
      break;
    case BinaryOp::kMinimum:
      BroadcastBinary(plan, a, b, out, [](T x, T y) { return x < y ? x : y; });
      break;
  }
}

template void AddSubQuantizedXnnpack<int8_t>(const BroadcastPlan&, const int8_t*, const int8_t*,
                                             int8_t*, const XnnAddParams&);
template void AddSubQuantizedXnnpack<uint8_t>(const BroadcastPlan&, const uint8_t*, const uint8_t*,
                                              uint8_t*, const XnnAddParams&);
template void AddSubQuantizedTflite<int8_t>(const BroadcastPlan&, const int8_t*, const int8_t*,
                                            int8_t*, const TfliteAddParams&);
template void AddSubQuantizedTflite<uint8_t>(const BroadcastPlan&, const uint8_t*, const uint8_t*,
                                             uint8_t*, const TfliteAddParams&);
template void AddSubQuantizedTflite<int16_t>(const BroadcastPlan&, const int16_t*, const int16_t*,
                                             int16_t*, const TfliteAddParams&);
template void MulQuantizedTflite<int16_t>(const BroadcastPlan&, const int16_t*, const int16_t*,
                                          int16_t*, const TfliteMulParams&);
template void MulQuantizedXnnpack<int8_t>(const BroadcastPlan&, const int8_t*, const int8_t*,
                                          int8_t*, const XnnMulParams&);
template void MulQuantizedXnnpack<uint8_t>(const BroadcastPlan&, const uint8_t*, const uint8_t*,
                                           uint8_t*, const XnnMulParams&);
template void MulQuantizedTflite<int8_t>(const BroadcastPlan&, const int8_t*, const int8_t*,
                                         int8_t*, const TfliteMulParams&);
template void MulQuantizedTflite<uint8_t>(const BroadcastPlan&, const uint8_t*, const uint8_t*,
                                          uint8_t*, const TfliteMulParams&);
template void MaxMinRaw<int8_t>(const BroadcastPlan&, const int8_t*, const int8_t*, int8_t*, bool);
template void MaxMinRaw<uint8_t>(const BroadcastPlan&, const uint8_t*, const uint8_t*, uint8_t*,
                                 bool);
template void MaxMinRaw<int16_t>(const BroadcastPlan&, const int16_t*, const int16_t*, int16_t*,
                                 bool);
template void BinaryInteger<int32_t>(BinaryOp, const BroadcastPlan&, const int32_t*, const int32_t*,
                                     int32_t*, int32_t, int32_t);
template void BinaryInteger<int64_t>(BinaryOp, const BroadcastPlan&, const int64_t*, const int64_t*,
                                     int64_t*, int64_t, int64_t);

}  // namespace wisp
