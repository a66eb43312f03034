#include "runtime/kernels/quantization.h"

#include <limits>

#include "runtime/core/float_to_int.h"

namespace wisp {

void QuantizeMultiplier(double multiplier, int32_t* quantized_multiplier, int* shift) {
  if (multiplier == 0.0) {
    *quantized_multiplier = 0;
    *shift = 0;
    return;
  }
  const double q = std::frexp(multiplier, shift);
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(int64_t{1} << 31)));
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++*shift;
  }
  if (*shift < -31) {
    *shift = 0;
    q_fixed = 0;
  }
  // TFLite aborts past 31 (TFLITE_CHECK_LE); a hostile pair of scales gets the largest multiplier
  // instead, so that the left shift in MultiplyByQuantizedMultiplier stays defined.
  if (*shift > 31) {
    *shift = 31;
    q_fixed = std::numeric_limits<int32_t>::max();
  }
  *quantized_multiplier = static_cast<int32_t>(q_fixed);
}

QuantRange ActivationRangeTflite(fb::Activation act, float scale, int32_t zero_point, int32_t qmin,
                                 int32_t qmax) {
  auto quantize = [&](float f) { return QuantizeSaturated(f / scale, zero_point); };
  switch (act) {
    case fb::Activation::RELU:
      return {std::max(qmin, quantize(0.0f)), qmax};
    case fb::Activation::RELU6:
      return {std::max(qmin, quantize(0.0f)), std::min(qmax, quantize(6.0f))};
    case fb::Activation::RELU_N1_TO_1:
      return {std::max(qmin, quantize(-1.0f)), std::min(qmax, quantize(1.0f))};
    default:
      return {qmin, qmax};
  }
}

QuantRange ActivationRangeXnnpack(fb::Activation act, float scale, int32_t zero_point, int32_t qmin,
                                  int32_t qmax) {
  auto quantize = [&](float f) {
    const float q = f / scale + static_cast<float>(zero_point);
    const float clamped = std::min(std::max(q, static_cast<float>(qmin)), static_cast<float>(qmax));
    return static_cast<int32_t>(std::lrintf(clamped));
  };
  switch (act) {
    case fb::Activation::RELU:
      return {quantize(0.0f), qmax};
    case fb::Activation::RELU6:
      return {quantize(0.0f), quantize(6.0f)};
    case fb::Activation::RELU_N1_TO_1:
      return {quantize(-1.0f), quantize(1.0f)};
    default:
      return {qmin, qmax};
  }
}

void ActivationRangeFloat(fb::Activation act, float* lo, float* hi) {
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  switch (act) {
    case fb::Activation::RELU:
      *lo = 0.0f;
      break;
    case fb::Activation::RELU6:
      *lo = 0.0f;
      *hi = 6.0f;
      break;
    case fb::Activation::RELU_N1_TO_1:
      *lo = -1.0f;
      *hi = 1.0f;
      break;
    default:
      break;
  }
}

}  // namespace wisp
