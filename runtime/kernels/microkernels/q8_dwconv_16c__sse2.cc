// Quantized depthwise convolution on SSE2, 16 channels per tile: per tap, the 16 inputs widened
// to int16 are multiplied by the int16 (w - w_zp) weights into exact 32-bit products (pmullw and
// pmulhw interleaved), accumulated in four registers across all taps. Specialized for 3x3 (9p)
// and 5x5 (25p) filters; "up" takes any tap count. int8 and uint8 alike.
#include <emmintrin.h>

#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

constexpr int kTile = 16;

inline __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

inline void MulAdd(__m128i x, __m128i w, __m128i* lo, __m128i* hi) {
  const __m128i p_lo = _mm_mullo_epi16(x, w);
  const __m128i p_hi = _mm_mulhi_epi16(x, w);
  *lo = _mm_add_epi32(*lo, _mm_unpacklo_epi16(p_lo, p_hi));
  *hi = _mm_add_epi32(*hi, _mm_unpackhi_epi16(p_lo, p_hi));
}

template <typename T, int kTaps>
void Dwconv(size_t channels, size_t output_width, size_t taps_arg, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t taps = kTaps ? static_cast<size_t>(kTaps) : taps_arg;
  const size_t tile_bytes = kTile * 4 + taps * kTile * 2 + kTile * 4;
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    const uint8_t* w = static_cast<const uint8_t*>(packed_w);
    uint8_t* out = output + p * channels;
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
      __m128i acc0 = Load(w), acc1 = Load(w + 16), acc2 = Load(w + 32), acc3 = Load(w + 48);
      const uint8_t* wt = w + 64;
      for (size_t t = 0; t < taps; ++t, wt += kTile * 2) {
        const uint8_t* x = in[t] + c0;
        MulAdd(Sse2Load8Widened<T>(x), Load(wt), &acc0, &acc1);
        MulAdd(Sse2Load8Widened<T>(x + 8), Load(wt + 16), &acc2, &acc3);
      }
      const float* s = reinterpret_cast<const float*>(wt);
      const __m128i bytes = Sse2Narrow16<T>(Sse2Requantize4(acc0, _mm_loadu_ps(s), *e),
                                            Sse2Requantize4(acc1, _mm_loadu_ps(s + 4), *e),
                                            Sse2Requantize4(acc2, _mm_loadu_ps(s + 8), *e),
                                            Sse2Requantize4(acc3, _mm_loadu_ps(s + 12), *e));
      if (channels - c0 >= kTile) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c0), bytes);
      } else {
        Sse2StorePartial(out + c0, bytes, channels - c0);
      }
    }
  }
}

}  // namespace

const DwconvKernelInfo kQ8Dwconv9p16cSse2 = {
    "q8_dwconv_9p16c__sse2", kTile, 9, 1, {0, 0}, Dwconv<int8_t, 9>, Dwconv<uint8_t, 9>};
const DwconvKernelInfo kQ8Dwconv25p16cSse2 = {
    "q8_dwconv_25p16c__sse2", kTile, 25, 1, {0, 0}, Dwconv<int8_t, 25>, Dwconv<uint8_t, 25>};
const DwconvKernelInfo kQ8DwconvUp16cSse2 = {
    "q8_dwconv_up16c__sse2", kTile, 0, 1, {0, 0}, Dwconv<int8_t, 0>, Dwconv<uint8_t, 0>};

}  // namespace wisp
