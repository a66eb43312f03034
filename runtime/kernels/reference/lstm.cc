// Reference UNIDIRECTIONAL_SEQUENCE_LSTM.
//
// The operator is never delegated to XNNPACK, so the reference runtime runs TFLite's own kernel
// (tensorflow/lite/kernels/unidirectional_sequence_lstm.cc + lstm_eval.cc). The quantized path
// reproduces its "8x8_16" integer arithmetic (EvalInteger8x8_16 with the portable tensor_utils a
// WebAssembly build uses) bit for bit; the float path follows EvalFloat's order of operations.
//
// Per time step and batch row, with gates i (input), f (forget), g (cell), o (output):
//   i = sigmoid(W_xi x + W_hi h + w_ci .* c + b_i)   (absent with CIFG: i = 1 - f)
//   f = sigmoid(W_xf x + W_hf h + w_cf .* c + b_f)
//   g = act(W_xg x + W_hg h + b_g)
//   c = clip(f .* c + i .* g, cell_clip)
//   o = sigmoid(W_xo x + W_ho h + w_co .* c + b_o)   (peephole sees the updated c)
//   h = o .* act(c), then optionally h = clip(W_p h + b_p, proj_clip)
// Every batch row is independent, so both time-major and batch-major layouts are computed one
// (batch, time) step at a time.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "runtime/kernels/lstm.h"
#include "runtime/kernels/lstm_fixedpoint.h"
#include "runtime/kernels/quantization.h"

namespace wisp {
namespace {

constexpr int kInput = 0;
constexpr int kCellToInputWeights = 9;  // peephole: input, forget, output (no cell gate)
constexpr int kCellToForgetWeights = 10;
constexpr int kCellToOutputWeights = 11;
constexpr int kInputGateBias = 12;
constexpr int kProjectionWeights = 16;
constexpr int kProjectionBias = 17;
constexpr int kOutputState = 18;
constexpr int kCellState = 19;

enum Gate : int { kGateInput = 0, kGateForget = 1, kGateCell = 2, kGateOutput = 3 };

const char* const kTensorNames[24] = {
    "input",
    "input_to_input_weights",
    "input_to_forget_weights",
    "input_to_cell_weights",
    "input_to_output_weights",
    "recurrent_to_input_weights",
    "recurrent_to_forget_weights",
    "recurrent_to_cell_weights",
    "recurrent_to_output_weights",
    "cell_to_input_weights",
    "cell_to_forget_weights",
    "cell_to_output_weights",
    "input_gate_bias",
    "forget_gate_bias",
    "cell_gate_bias",
    "output_gate_bias",
    "projection_weights",
    "projection_bias",
    "output_state",
    "cell_state",
    "input_layer_norm_coefficients",
    "forget_layer_norm_coefficients",
    "cell_layer_norm_coefficients",
    "output_layer_norm_coefficients",
};

int PeepholeIndex(int gate) {
  return gate == kGateInput    ? kCellToInputWeights
         : gate == kGateForget ? kCellToForgetWeights
         : gate == kGateOutput ? kCellToOutputWeights
                               : -1;
}

// ---- float ------------------------------------------------------------------------------------

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

float ApplyActivation(fb::Activation act, float x) {
  switch (act) {
    case fb::Activation::NONE:
      return x;
    case fb::Activation::RELU:
      return std::max(0.0f, x);
    case fb::Activation::RELU_N1_TO_1:
      return std::max(-1.0f, std::min(1.0f, x));
    case fb::Activation::RELU6:
      return std::max(0.0f, std::min(6.0f, x));
    case fb::Activation::TANH:
      return std::tanh(x);
  }
  return x;
}

struct LstmDims {
  int32_t n_batch = 0, max_time = 0, n_input = 0, n_cell = 0, n_output = 0;
  bool time_major = false;
};

struct LstmFloatWeights {
  const float* input_to[4] = {};      // [n_cell, n_input]; input gate absent with CIFG
  const float* recurrent_to[4] = {};  // [n_cell, n_output]
  const float* cell_to[4] = {};       // [n_cell] peephole (never for the cell gate)
  const float* bias[4] = {};          // [n_cell]
  const float* layer_norm[4] = {};    // [n_cell]
  const float* projection = nullptr;  // [n_output, n_cell]
  const float* projection_bias = nullptr;
};

// One gate's pre-activation for one batch row, then its activation (CalculateLstmGateFloat).
void LstmGateFloat(const LstmDims& d, const LstmFloatWeights& w, int gate, fb::Activation act,
                   const float* x, const float* h, const float* c, float* out) {
  const bool layer_norm = w.layer_norm[gate] != nullptr;
  for (int32_t r = 0; r < d.n_cell; ++r) {
    // With layer norm the bias is added after normalization.
    float acc = layer_norm ? 0.0f : w.bias[gate][r];
    const float* wx = w.input_to[gate] + static_cast<int64_t>(r) * d.n_input;
    float dot = 0.0f;
    for (int32_t k = 0; k < d.n_input; ++k) dot += wx[k] * x[k];
    acc += dot;
    const float* wh = w.recurrent_to[gate] + static_cast<int64_t>(r) * d.n_output;
    dot = 0.0f;
    for (int32_t k = 0; k < d.n_output; ++k) dot += wh[k] * h[k];
    acc += dot;
    if (w.cell_to[gate]) acc += w.cell_to[gate][r] * c[r];
    out[r] = acc;
  }
  if (layer_norm) {
    float sum = 0.0f;
    for (int32_t r = 0; r < d.n_cell; ++r) sum += out[r];
    const float mean = sum / static_cast<float>(d.n_cell);
    float sum_diff_sq = 0.0f;
    for (int32_t r = 0; r < d.n_cell; ++r) sum_diff_sq += (out[r] - mean) * (out[r] - mean);
    const float variance = sum_diff_sq / static_cast<float>(d.n_cell);
    const float stddev_inv = 1.0f / std::sqrt(variance + 1e-8f);
    for (int32_t r = 0; r < d.n_cell; ++r) {
      out[r] = (out[r] - mean) * stddev_inv * w.layer_norm[gate][r] + w.bias[gate][r];
    }
  }
  for (int32_t r = 0; r < d.n_cell; ++r) {
    out[r] = gate == kGateCell ? ApplyActivation(act, out[r]) : Sigmoid(out[r]);
  }
}

// One step for one batch row: updates h [n_output] and c [n_cell] in place.
// scratch: 5 * n_cell floats.
void LstmStepFloat(const LstmDims& d, const LstmFloatWeights& w, fb::Activation act,
                   float cell_clip, float proj_clip, const float* x, float* h, float* c,
                   float* scratch) {
  const int32_t n = d.n_cell;
  float* ig = scratch;
  float* fg = scratch + n;
  float* gg = scratch + 2 * n;
  float* og = scratch + 3 * n;
  float* hidden = scratch + 4 * n;
  const bool cifg = w.input_to[kGateInput] == nullptr;
  if (!cifg) LstmGateFloat(d, w, kGateInput, act, x, h, c, ig);
  LstmGateFloat(d, w, kGateForget, act, x, h, c, fg);
  LstmGateFloat(d, w, kGateCell, act, x, h, c, gg);
  for (int32_t r = 0; r < n; ++r) {
    const float input_gate = cifg ? 1.0f - fg[r] : ig[r];
    float cell = fg[r] * c[r] + input_gate * gg[r];
    if (cell_clip > 0.0f) cell = std::max(-cell_clip, std::min(cell_clip, cell));
    c[r] = cell;
  }
  LstmGateFloat(d, w, kGateOutput, act, x, h, c, og);
  for (int32_t r = 0; r < n; ++r) hidden[r] = og[r] * ApplyActivation(act, c[r]);
  if (w.projection) {
    for (int32_t o = 0; o < d.n_output; ++o) {
      float acc = w.projection_bias ? w.projection_bias[o] : 0.0f;
      const float* wp = w.projection + static_cast<int64_t>(o) * n;
      float dot = 0.0f;
      for (int32_t k = 0; k < n; ++k) dot += wp[k] * hidden[k];
      acc += dot;
      if (proj_clip > 0.0f) acc = std::max(-proj_clip, std::min(proj_clip, acc));
      h[o] = acc;
    }
  } else {
    std::memcpy(h, hidden, sizeof(float) * static_cast<size_t>(d.n_output));
  }
}

// ---- integer 8x8_16 -----------------------------------------------------------------------------

struct Int8GateParams {
  const int8_t* input_weights = nullptr;      // [n_cell, n_input]
  const int8_t* recurrent_weights = nullptr;  // [n_cell, n_output]
  const int16_t* cell_weights = nullptr;      // [n_cell] peephole
  // Zero points folded into the biases once (PrecomputeZeroPointTimesWeightWithBias):
  // gate bias - input_zp * rowsum(W_x), and -output_state_zp * rowsum(W_h).
  std::vector<int32_t> input_bias, recurrent_bias;
  int32_t input_multiplier = 0, recurrent_multiplier = 0, cell_multiplier = 0;
  int input_shift = 0, recurrent_shift = 0, cell_shift = 0;
};

struct LstmInt8Params {
  Int8GateParams gate[4];
  const int8_t* projection_weights = nullptr;
  std::vector<int32_t> projection_bias;  // bias + hidden_zp * rowsum(W_p)
  int32_t projection_multiplier = 0, hidden_multiplier = 0;
  int projection_shift = 0, hidden_shift = 0;
  int32_t hidden_zp = 0;
  int32_t output_state_zp = 0;
  int cell_scale_log2 = 0;  // cell state scale is 2^cell_scale_log2
  int16_t cell_clip = 0;    // quantized; 0: none
  int8_t proj_clip = 0;
};

// tensor_utils::MatrixBatchVectorMultiplyAccumulate (int8 x int8 -> int16/int8, one row batch):
// out[r] = sat(out[r] + MultiplyByQuantizedMultiplier(bias[r] + W[r] . x) + output_zp).
template <typename T>
void MatVecAccumulateSaturating(const int8_t* x, const int32_t* bias, const int8_t* w,
                                int32_t multiplier, int shift, int32_t n_in, int32_t n_out,
                                int32_t output_zp, T* out) {
  for (int32_t r = 0; r < n_out; ++r) {
    int32_t acc = bias[r];
    const int8_t* wr = w + static_cast<int64_t>(r) * n_in;
    for (int32_t k = 0; k < n_in; ++k) acc = WrappingAdd(acc, static_cast<int32_t>(x[k]) * wr[k]);
    acc = MultiplyByQuantizedMultiplier(acc, multiplier, shift);
    acc = WrappingAdd(WrappingAdd(acc, output_zp), out[r]);
    acc = std::min<int32_t>(std::max<int32_t>(acc, std::numeric_limits<T>::min()),
                            std::numeric_limits<T>::max());
    out[r] = static_cast<T>(acc);
  }
}

// CalculateLstmGateInteger8x8_16 (no layer norm): Q3.12 pre-activation, Q0.15 result.
void LstmGateInt8(const LstmDims& d, const LstmInt8Params& p, int gate, const int8_t* x,
                  const int8_t* h, const int16_t* c, int16_t* out) {
  const Int8GateParams& g = p.gate[gate];
  std::fill_n(out, d.n_cell, int16_t{0});
  MatVecAccumulateSaturating(x, g.input_bias.data(), g.input_weights, g.input_multiplier,
                             g.input_shift, d.n_input, d.n_cell, 0, out);
  MatVecAccumulateSaturating(h, g.recurrent_bias.data(), g.recurrent_weights,
                             g.recurrent_multiplier, g.recurrent_shift, d.n_output, d.n_cell, 0,
                             out);
  if (g.cell_weights) {
    // VectorBatchVectorCwiseProductAccumulate; TFLite passes n_output as the length, which equals
    // n_cell whenever peepholes are accepted (Prepare).
    for (int32_t r = 0; r < d.n_output; ++r) {
      int32_t prod = static_cast<int32_t>(g.cell_weights[r]) * c[r];
      prod = MultiplyByQuantizedMultiplier(prod, g.cell_multiplier, g.cell_shift);
      const int32_t sum = WrappingAdd(prod, out[r]);
      out[r] = static_cast<int16_t>(std::max<int32_t>(std::min<int32_t>(sum, 32767), -32768));
    }
  }
  for (int32_t r = 0; r < d.n_cell; ++r) {
    out[r] = gate == kGateCell ? lstm_fixedpoint::Tanh16<3>(out[r])
                               : lstm_fixedpoint::Logistic16<3>(out[r]);
  }
}

// tensor_utils::CwiseMul(a, b, shift): rounding (half away from zero) right shift of the product.
inline int16_t MulShift(int16_t a, int16_t b, int shift) {
  return static_cast<int16_t>(RoundingDivideByPOT(static_cast<int32_t>(a) * b, shift));
}

// One step for one batch row (LstmStepInteger8x8_16): updates h [n_output] and c [n_cell].
// scratch: 5 * n_cell int16 + n_cell int8.
void LstmStepInt8x8_16(const LstmDims& d, const LstmInt8Params& p, const int8_t* x, int8_t* h,
                       int16_t* c, int16_t* scratch) {
  const int32_t n = d.n_cell;
  int16_t* ig = scratch;
  int16_t* fg = scratch + n;
  int16_t* gg = scratch + 2 * n;
  int16_t* og = scratch + 3 * n;
  int16_t* tanh_c = scratch + 4 * n;
  int8_t* hidden = reinterpret_cast<int8_t*>(scratch + 5 * n);
  const bool cifg = p.gate[kGateInput].input_weights == nullptr;
  if (!cifg) LstmGateInt8(d, p, kGateInput, x, h, c, ig);
  LstmGateInt8(d, p, kGateForget, x, h, c, fg);
  LstmGateInt8(d, p, kGateCell, x, h, c, gg);

  // UpdateLstmCellInteger: c = sat16(round(f * c >> 15) + round(i * g >> (30 + cell_scale))).
  const int ig_shift = 30 + p.cell_scale_log2;
  for (int32_t r = 0; r < n; ++r) {
    const int16_t forget_times_cell = MulShift(fg[r], c[r], 15);
    const int16_t input_gate = cifg ? static_cast<int16_t>(32767 - fg[r]) : ig[r];
    const int16_t input_times_cell_gate = MulShift(input_gate, gg[r], ig_shift);
    int32_t sum = static_cast<int32_t>(forget_times_cell) + input_times_cell_gate;
    sum = std::min<int32_t>(std::max<int32_t>(sum, -32768), 32767);
    if (p.cell_clip > 0) sum = std::max<int32_t>(std::min<int32_t>(sum, p.cell_clip), -p.cell_clip);
    c[r] = static_cast<int16_t>(sum);
  }

  LstmGateInt8(d, p, kGateOutput, x, h, c, og);

  // CalculateLstmOutputInteger8x8_16: hidden = o * tanh(c) requantized to the hidden scale.
  const int tanh_integer_bits = 15 + p.cell_scale_log2;
  for (int32_t r = 0; r < n; ++r)
    tanh_c[r] = lstm_fixedpoint::Tanh16Dispatch(tanh_integer_bits, c[r]);
  for (int32_t r = 0; r < n; ++r) {
    int32_t v = static_cast<int32_t>(og[r]) * tanh_c[r];
    v = MultiplyByQuantizedMultiplier(v, p.hidden_multiplier, p.hidden_shift);
    // TFLite's portable CwiseMul of that era *subtracts* the zero point it is given (a fix was
    // proposed upstream in 2022, tensorflow PR 56493). With the usual hidden zero point == output
    // zero point this shifts every output by -2 * zp quanta. The reference runtime of our golden
    // does it: on the shared Keras LSTM all 560 hidden values match with "-", 64 with "+".
    v = WrappingAdd(v, WrappingMul(p.hidden_zp, -1));
    hidden[r] = static_cast<int8_t>(std::min<int32_t>(std::max<int32_t>(v, -128), 127));
  }
  if (p.projection_weights) {
    std::fill_n(h, d.n_output, int8_t{0});
    MatVecAccumulateSaturating(hidden, p.projection_bias.data(), p.projection_weights,
                               p.projection_multiplier, p.projection_shift, n, d.n_output,
                               p.output_state_zp, h);
    if (p.proj_clip > 0) {
      for (int32_t o = 0; o < d.n_output; ++o) {
        h[o] = static_cast<int8_t>(
            std::max<int32_t>(std::min<int32_t>(h[o], p.proj_clip), -p.proj_clip));
      }
    }
  } else {
    std::memcpy(h, hidden, static_cast<size_t>(d.n_output));
  }
}

// TFLite's CheckedLog2: the scale must be a power of two (within 1e-3 in log2).
bool CheckedLog2(float x, int* log2_result) {
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float x_log2_rounded = std::round(x_log2);
  *log2_result = static_cast<int>(x_log2_rounded);
  return std::abs(x_log2 - x_log2_rounded) < 1e-3f;
}

// ---- kernel -------------------------------------------------------------------------------------

class UnidirectionalSequenceLstmKernel : public OpKernel {
 public:
  Status Prepare(KernelContext& ctx) override;
  Status Invoke(const KernelContext& ctx) override;

 private:
  Status CheckShape(const KernelContext& ctx, int index, const Shape& expected) const;
  Status CheckDType(const KernelContext& ctx, int index, DType dtype) const;
  Status CheckPerTensorConstant(const KernelContext& ctx, int index) const;
  Status PrepareInteger(KernelContext& ctx);
  float TensorScale(const KernelContext& ctx, int index) const {
    return ctx.input(index)->quant.scale[0];
  }

  LstmDims dims_;
  bool integer_ = false;
  bool use_cifg_ = false, use_peephole_ = false, use_layer_norm_ = false, use_projection_ = false;
  fb::Activation activation_ = fb::Activation::TANH;
  float cell_clip_ = 0.0f, proj_clip_ = 0.0f;
  LstmInt8Params q_;
  int scratch_ = -1;
};

Status UnidirectionalSequenceLstmKernel::CheckShape(const KernelContext& ctx, int index,
                                                    const Shape& expected) const {
  const TensorDesc* t = ctx.input(static_cast<size_t>(index));
  if (t->shape != expected) {
    return ctx.Error(StatusCode::kInvalidModel, "input %d (%s) %s has shape %s; expected %s", index,
                     kTensorNames[index], ctx.DescribeInput(static_cast<size_t>(index)).c_str(),
                     ShapeToString(t->shape).c_str(), ShapeToString(expected).c_str());
  }
  return Status::Ok();
}

Status UnidirectionalSequenceLstmKernel::CheckDType(const KernelContext& ctx, int index,
                                                    DType dtype) const {
  const TensorDesc* t = ctx.input(static_cast<size_t>(index));
  if (t->dtype != dtype) {
    return ctx.Error(StatusCode::kUnsupported,
                     "input %d (%s) %s has dtype %s; this %s LSTM needs %s", index,
                     kTensorNames[index], ctx.DescribeInput(static_cast<size_t>(index)).c_str(),
                     DTypeName(t->dtype), integer_ ? "integer" : "float32", DTypeName(dtype));
  }
  return Status::Ok();
}

Status UnidirectionalSequenceLstmKernel::CheckPerTensorConstant(const KernelContext& ctx,
                                                                int index) const {
  const TensorDesc* t = ctx.input(static_cast<size_t>(index));
  if (!t->is_constant()) {
    return ctx.Error(StatusCode::kUnsupported,
                     "input %d (%s) %s must be a constant in an integer LSTM (its zero-point "
                     "folding is precomputed)",
                     index, kTensorNames[index],
                     ctx.DescribeInput(static_cast<size_t>(index)).c_str());
  }
  if (t->dtype != DType::INT32 && (t->quant.empty() || t->quant.per_channel())) {
    return ctx.Error(StatusCode::kUnsupported,
                     "input %d (%s) %s needs per-tensor quantization in an integer LSTM", index,
                     kTensorNames[index], ctx.DescribeInput(static_cast<size_t>(index)).c_str());
  }
  return Status::Ok();
}

Status UnidirectionalSequenceLstmKernel::Prepare(KernelContext& ctx) {
  if (ctx.num_inputs() != 24 && ctx.num_inputs() != 20) {
    return ctx.Error(StatusCode::kInvalidModel, "expects 20 or 24 inputs, has %zu",
                     ctx.num_inputs());
  }
  WISP_RETURN_IF_ERROR(ctx.ExpectOutputs(1));
  for (int i : {0, 2, 3, 4, 6, 7, 8, 13, 14, 15, kOutputState, kCellState}) {
    if (!ctx.input(static_cast<size_t>(i))) {
      return ctx.Error(StatusCode::kInvalidModel, "required input %d (%s) is absent", i,
                       kTensorNames[i]);
    }
  }
  const fb::LstmOptions* options = ctx.fb_op().options_as_LstmOptions();
  if (options) {
    activation_ = options->activation();
    cell_clip_ = options->cell_clip();
    proj_clip_ = options->proj_clip();
    dims_.time_major = options->time_major();
  }
  if (!(cell_clip_ >= 0.0f) || !(proj_clip_ >= 0.0f)) {
    return ctx.Error(StatusCode::kInvalidModel, "cell_clip %g and proj_clip %g must be >= 0",
                     static_cast<double>(cell_clip_), static_cast<double>(proj_clip_));
  }

  const TensorDesc* input = ctx.input(kInput);
  if (input->shape.size() != 3) {
    return ctx.Error(StatusCode::kInvalidModel, "input 0 (input) %s has shape %s; expected rank 3",
                     ctx.DescribeInput(0).c_str(), ShapeToString(input->shape).c_str());
  }
  dims_.max_time = dims_.time_major ? input->shape[0] : input->shape[1];
  dims_.n_batch = dims_.time_major ? input->shape[1] : input->shape[0];
  dims_.n_input = input->shape[2];
  const TensorDesc* in_to_out = ctx.input(4);
  const TensorDesc* rec_to_out = ctx.input(8);
  if (in_to_out->shape.size() != 2 || rec_to_out->shape.size() != 2) {
    const int bad = in_to_out->shape.size() != 2 ? 4 : 8;
    return ctx.Error(StatusCode::kInvalidModel, "input %d (%s) %s has shape %s; expected rank 2",
                     bad, kTensorNames[bad], ctx.DescribeInput(static_cast<size_t>(bad)).c_str(),
                     ShapeToString(ctx.input(static_cast<size_t>(bad))->shape).c_str());
  }
  dims_.n_cell = in_to_out->shape[0];
  dims_.n_output = rec_to_out->shape[1];
  const int32_t n_cell = dims_.n_cell, n_input = dims_.n_input, n_output = dims_.n_output;

  use_cifg_ = ctx.input(1) == nullptr;
  if ((ctx.input(1) == nullptr) != (ctx.input(5) == nullptr)) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "input_to_input_weights and recurrent_to_input_weights must both be present "
                     "or both absent (CIFG)");
  }
  const bool any_peephole = ctx.input(9) || ctx.input(10) || ctx.input(11);
  use_peephole_ = ctx.input(11) != nullptr;
  if (any_peephole && !((ctx.input(9) || use_cifg_) && ctx.input(10) && ctx.input(11))) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "peephole weights must be all present or all absent");
  }
  if (use_cifg_ && ctx.input(kInputGateBias)) {
    return ctx.Error(StatusCode::kInvalidModel, "input_gate_bias must be absent with CIFG");
  }
  if (!use_cifg_ && !ctx.input(kInputGateBias)) {
    return ctx.Error(StatusCode::kInvalidModel, "required input 12 (input_gate_bias) is absent");
  }
  use_projection_ = ctx.input(kProjectionWeights) != nullptr;
  if (!use_projection_ && ctx.input(kProjectionBias)) {
    return ctx.Error(StatusCode::kInvalidModel, "projection_bias without projection_weights");
  }
  use_layer_norm_ = ctx.num_inputs() == 24 && ctx.input(21) != nullptr;
  if (!use_projection_ && n_output != n_cell) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "without projection the output size (%d) must equal the cell count (%d)",
                     n_output, n_cell);
  }

  // Shapes (CheckInputTensorDimensions).
  for (int g = 0; g < 4; ++g) {
    if (ctx.input(static_cast<size_t>(1 + g)))
      WISP_RETURN_IF_ERROR(CheckShape(ctx, 1 + g, {n_cell, n_input}));
    if (ctx.input(static_cast<size_t>(5 + g)))
      WISP_RETURN_IF_ERROR(CheckShape(ctx, 5 + g, {n_cell, n_output}));
    if (ctx.input(static_cast<size_t>(12 + g)))
      WISP_RETURN_IF_ERROR(CheckShape(ctx, 12 + g, {n_cell}));
    const int peephole = PeepholeIndex(g);
    if (peephole >= 0 && ctx.input(static_cast<size_t>(peephole))) {
      WISP_RETURN_IF_ERROR(CheckShape(ctx, peephole, {n_cell}));
    }
    if (use_layer_norm_) {
      if (g == kGateInput && use_cifg_) continue;
      if (!ctx.input(static_cast<size_t>(20 + g))) {
        return ctx.Error(StatusCode::kInvalidModel, "layer-norm input %d (%s) is absent", 20 + g,
                         kTensorNames[20 + g]);
      }
      WISP_RETURN_IF_ERROR(CheckShape(ctx, 20 + g, {n_cell}));
    }
  }
  if (use_projection_) {
    WISP_RETURN_IF_ERROR(CheckShape(ctx, kProjectionWeights, {n_output, n_cell}));
    if (ctx.input(kProjectionBias))
      WISP_RETURN_IF_ERROR(CheckShape(ctx, kProjectionBias, {n_output}));
  }
  for (int s : {kOutputState, kCellState}) {
    const TensorDesc* t = ctx.input(static_cast<size_t>(s));
    const int64_t expected =
        static_cast<int64_t>(dims_.n_batch) * (s == kOutputState ? n_output : n_cell);
    if (!t->is_variable) {
      return ctx.Error(StatusCode::kInvalidModel, "input %d (%s) %s must be a variable tensor", s,
                       kTensorNames[s], ctx.DescribeInput(static_cast<size_t>(s)).c_str());
    }
    if (t->num_elements != expected) {
      return ctx.Error(StatusCode::kInvalidModel,
                       "input %d (%s) %s has %lld elements; expected batch * %s = %lld", s,
                       kTensorNames[s], ctx.DescribeInput(static_cast<size_t>(s)).c_str(),
                       static_cast<long long>(t->num_elements),
                       s == kOutputState ? "output size" : "cell count",
                       static_cast<long long>(expected));
    }
  }
  Shape out_shape = input->shape;
  out_shape[2] = n_output;
  if (ctx.output(0).shape != out_shape) {
    return ctx.Error(StatusCode::kInvalidModel, "output %s has shape %s; expected %s",
                     ctx.DescribeOutput(0).c_str(), ShapeToString(ctx.output(0).shape).c_str(),
                     ShapeToString(out_shape).c_str());
  }

  // Dtypes: all float32, or int8 activations/weights with int32 biases and an int16 cell.
  integer_ = input->dtype == DType::INT8;
  if (!integer_ && input->dtype != DType::FLOAT32) {
    return ctx.Error(StatusCode::kUnsupported,
                     "input 0 (input) %s has dtype %s; supported: float32 or int8",
                     ctx.DescribeInput(0).c_str(), DTypeName(input->dtype));
  }
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.input(i)) continue;
    const int idx = static_cast<int>(i);
    DType want = DType::FLOAT32;
    if (integer_) {
      if (idx == kCellState || (idx >= 9 && idx <= 11) || idx >= 20) {
        want = DType::INT16;
      } else if ((idx >= 12 && idx <= 15) || idx == kProjectionBias) {
        want = DType::INT32;
      } else {
        want = DType::INT8;
      }
    } else if (ctx.input(i)->dtype == DType::INT8 && idx >= 1 && idx <= 17) {
      return ctx.Error(StatusCode::kUnsupported,
                       "input %d (%s) %s is int8 with a float32 input: hybrid LSTM is not "
                       "supported",
                       idx, kTensorNames[idx], ctx.DescribeInput(i).c_str());
    }
    WISP_RETURN_IF_ERROR(CheckDType(ctx, idx, want));
  }
  const DType out_dtype = integer_ ? DType::INT8 : DType::FLOAT32;
  if (ctx.output(0).dtype != out_dtype) {
    return ctx.Error(StatusCode::kUnsupported, "output %s has dtype %s; expected %s",
                     ctx.DescribeOutput(0).c_str(), DTypeName(ctx.output(0).dtype),
                     DTypeName(out_dtype));
  }

  if (integer_) {
    WISP_RETURN_IF_ERROR(PrepareInteger(ctx));
    // 5 gate-sized int16 buffers + the int8 hidden vector.
    scratch_ = ctx.RequestScratch(static_cast<size_t>(n_cell) * (5 * sizeof(int16_t) + 1) + 16);
  } else {
    scratch_ = ctx.RequestScratch(static_cast<size_t>(n_cell) * 5 * sizeof(float));
  }
  return Status::Ok();
}

Status UnidirectionalSequenceLstmKernel::PrepareInteger(KernelContext& ctx) {
  if (use_layer_norm_) {
    return ctx.Error(StatusCode::kUnsupported,
                     "integer LSTM with layer normalization is not supported");
  }
  if (use_peephole_ && dims_.n_output != dims_.n_cell) {
    return ctx.Error(StatusCode::kUnsupported,
                     "integer LSTM with both peepholes and a projection to a different size is "
                     "not supported");
  }
  const TensorDesc* input = ctx.input(kInput);
  for (int i : {kInput, kOutputState, kCellState}) {
    const TensorDesc* t = ctx.input(static_cast<size_t>(i));
    if (t->quant.empty() || t->quant.per_channel()) {
      return ctx.Error(StatusCode::kUnsupported,
                       "input %d (%s) %s needs per-tensor quantization in an integer LSTM", i,
                       kTensorNames[i], ctx.DescribeInput(static_cast<size_t>(i)).c_str());
    }
  }
  for (size_t i = 1; i < 18; ++i) {
    if (ctx.input(i)) WISP_RETURN_IF_ERROR(CheckPerTensorConstant(ctx, static_cast<int>(i)));
  }
  // Intermediates: 0-3 only matter with layer norm (else Q3.12); 4 is the hidden state.
  const TensorDesc* hidden = ctx.intermediate(4);
  if (!hidden || hidden->quant.empty()) {
    return ctx.Error(StatusCode::kInvalidModel,
                     "integer LSTM needs 5 intermediates, the 5th (hidden state) quantized; has "
                     "%zu",
                     ctx.op().intermediates.size());
  }
  const float hidden_scale = hidden->quant.scale[0];
  q_.hidden_zp = hidden->quant.zero_point[0];

  int cell_scale_log2 = 0;
  if (!CheckedLog2(TensorScale(ctx, kCellState), &cell_scale_log2)) {
    return ctx.Error(StatusCode::kUnsupported,
                     "input 19 (cell_state) %s has scale %g; an integer LSTM needs a power of two",
                     ctx.DescribeInput(kCellState).c_str(),
                     static_cast<double>(TensorScale(ctx, kCellState)));
  }
  if (cell_scale_log2 < -15 || cell_scale_log2 > -9) {
    // TFLite's ApplyTanh(15 + cell_scale) only exists for 0..6 integer bits.
    return ctx.Error(StatusCode::kUnsupported,
                     "input 19 (cell_state) %s has scale 2^%d; supported 2^-15..2^-9",
                     ctx.DescribeInput(kCellState).c_str(), cell_scale_log2);
  }
  q_.cell_scale_log2 = cell_scale_log2;

  // Quantized clips (PopulateQuantizedLstmParams8x8_16): float division, truncated.
  const float cell_scale = TensorScale(ctx, kCellState);
  q_.cell_clip =
      cell_clip_ > 0.0f
          ? static_cast<int16_t>(std::min(std::max(cell_clip_ / cell_scale, -32768.0f), 32767.0f))
          : 0;
  const float output_scale = ctx.output(0).quant.empty() ? 1.0f : ctx.output(0).quant.scale[0];
  q_.proj_clip =
      proj_clip_ > 0.0f
          ? static_cast<int8_t>(std::min(std::max(proj_clip_ / output_scale, -128.0f), 127.0f))
          : 0;

  // Effective scales, with TFLite's float32 arithmetic (then QuantizeMultiplier in double).
  const float input_scale = TensorScale(ctx, kInput);
  const float output_state_scale = TensorScale(ctx, kOutputState);
  const float gate_scale = static_cast<float>(std::pow(2.0, -12));  // Q3.12 without layer norm
  const int32_t input_zp = input->quant.zero_point[0];
  q_.output_state_zp = ctx.input(kOutputState)->quant.zero_point[0];

  auto fold = [&](int weights_index, const int32_t* bias, int32_t zero_point) {
    const TensorDesc* w = ctx.input(static_cast<size_t>(weights_index));
    const int32_t rows = w->shape[0], cols = w->shape[1];
    const int8_t* data = reinterpret_cast<const int8_t*>(w->data);
    std::vector<int32_t> out(static_cast<size_t>(rows), 0);
    for (int32_t r = 0; r < rows; ++r) {
      if (bias) out[static_cast<size_t>(r)] = bias[r];
      int32_t row_sum = 0;
      for (int32_t k = 0; k < cols; ++k)
        row_sum = WrappingAdd(row_sum, data[static_cast<int64_t>(r) * cols + k]);
      out[static_cast<size_t>(r)] =
          WrappingAdd(out[static_cast<size_t>(r)], WrappingMul(row_sum, zero_point));
    }
    return out;
  };

  for (int g = 0; g < 4; ++g) {
    if (g == kGateInput && use_cifg_) continue;
    Int8GateParams& gate = q_.gate[g];
    gate.input_weights =
        reinterpret_cast<const int8_t*>(ctx.input(static_cast<size_t>(1 + g))->data);
    gate.recurrent_weights =
        reinterpret_cast<const int8_t*>(ctx.input(static_cast<size_t>(5 + g))->data);
    const int32_t* bias =
        reinterpret_cast<const int32_t*>(ctx.input(static_cast<size_t>(12 + g))->data);
    gate.input_bias = fold(1 + g, bias, WrappingMul(input_zp, -1));
    gate.recurrent_bias = fold(5 + g, nullptr, WrappingMul(q_.output_state_zp, -1));
    const float eff_input = TensorScale(ctx, 1 + g) * input_scale / gate_scale;
    const float eff_recurrent = TensorScale(ctx, 5 + g) * output_state_scale / gate_scale;
    QuantizeMultiplier(eff_input, &gate.input_multiplier, &gate.input_shift);
    QuantizeMultiplier(eff_recurrent, &gate.recurrent_multiplier, &gate.recurrent_shift);
    const int peephole = PeepholeIndex(g);
    if (use_peephole_ && peephole >= 0 && ctx.input(static_cast<size_t>(peephole))) {
      gate.cell_weights =
          reinterpret_cast<const int16_t*>(ctx.input(static_cast<size_t>(peephole))->data);
      const float eff_cell = static_cast<float>(std::pow(2, cell_scale_log2) *
                                                TensorScale(ctx, peephole) / gate_scale);
      QuantizeMultiplier(eff_cell, &gate.cell_multiplier, &gate.cell_shift);
    }
  }
  const float eff_hidden = static_cast<float>(std::pow(2, -15) / hidden_scale * std::pow(2, -15));
  QuantizeMultiplier(eff_hidden, &q_.hidden_multiplier, &q_.hidden_shift);
  if (use_projection_) {
    q_.projection_weights = reinterpret_cast<const int8_t*>(ctx.input(kProjectionWeights)->data);
    const TensorDesc* pb = ctx.input(kProjectionBias);
    // The hidden vector carries -hidden_zp (see LstmStepInt8x8_16), hence + hidden_zp here.
    q_.projection_bias =
        fold(kProjectionWeights, pb ? reinterpret_cast<const int32_t*>(pb->data) : nullptr,
             q_.hidden_zp);
    const float eff_proj = TensorScale(ctx, kProjectionWeights) * hidden_scale / output_state_scale;
    QuantizeMultiplier(eff_proj, &q_.projection_multiplier, &q_.projection_shift);
  }
  return Status::Ok();
}

Status UnidirectionalSequenceLstmKernel::Invoke(const KernelContext& ctx) {
  const LstmDims& d = dims_;
  // Strides of one (batch, time) step in the input and output.
  auto step_index = [&](int32_t b, int32_t t) -> int64_t {
    return d.time_major ? static_cast<int64_t>(t) * d.n_batch + b
                        : static_cast<int64_t>(b) * d.max_time + t;
  };
  if (integer_) {
    const int8_t* input = ctx.in<int8_t>(kInput);
    int8_t* output_state = const_cast<int8_t*>(ctx.in<int8_t>(kOutputState));
    int16_t* cell_state = const_cast<int16_t*>(ctx.in<int16_t>(kCellState));
    int8_t* output = ctx.out<int8_t>(0);
    int16_t* scratch = static_cast<int16_t*>(ctx.scratch(scratch_));
    for (int32_t b = 0; b < d.n_batch; ++b) {
      int8_t* h = output_state + static_cast<int64_t>(b) * d.n_output;
      int16_t* c = cell_state + static_cast<int64_t>(b) * d.n_cell;
      for (int32_t t = 0; t < d.max_time; ++t) {
        const int64_t s = step_index(b, t);
        LstmStepInt8x8_16(d, q_, input + s * d.n_input, h, c, scratch);
        std::memcpy(output + s * d.n_output, h, static_cast<size_t>(d.n_output));
      }
    }
    return Status::Ok();
  }

  LstmFloatWeights w;
  auto f = [&](int index) -> const float* {
    return ctx.input(static_cast<size_t>(index)) ? ctx.in<float>(static_cast<size_t>(index))
                                                 : nullptr;
  };
  for (int g = 0; g < 4; ++g) {
    w.input_to[g] = f(1 + g);
    w.recurrent_to[g] = f(5 + g);
    w.bias[g] = f(12 + g);
    const int peephole = PeepholeIndex(g);
    w.cell_to[g] = peephole >= 0 ? f(peephole) : nullptr;
    w.layer_norm[g] = use_layer_norm_ ? f(20 + g) : nullptr;
  }
  w.projection = f(kProjectionWeights);
  w.projection_bias = f(kProjectionBias);
  const float* input = ctx.in<float>(kInput);
  float* output_state = const_cast<float*>(ctx.in<float>(kOutputState));
  float* cell_state = const_cast<float*>(ctx.in<float>(kCellState));
  float* output = ctx.out<float>(0);
  float* scratch = static_cast<float*>(ctx.scratch(scratch_));
  for (int32_t b = 0; b < d.n_batch; ++b) {
    float* h = output_state + static_cast<int64_t>(b) * d.n_output;
    float* c = cell_state + static_cast<int64_t>(b) * d.n_cell;
    for (int32_t t = 0; t < d.max_time; ++t) {
      const int64_t s = step_index(b, t);
      LstmStepFloat(d, w, activation_, cell_clip_, proj_clip_, input + s * d.n_input, h, c,
                    scratch);
      std::memcpy(output + s * d.n_output, h, sizeof(float) * static_cast<size_t>(d.n_output));
    }
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<OpKernel> CreateUnidirectionalSequenceLstmKernel() {
  return std::make_unique<UnidirectionalSequenceLstmKernel>();
}

}  // namespace wisp
