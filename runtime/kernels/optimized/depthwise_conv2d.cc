// DEPTHWISE_CONV_2D for int8/uint8 with depth multiplier 1 (every MobileNet-style block): per
// output pixel, 8 channels at a time stay in two int32x4 registers across all kernel taps. Inputs
// are widened to int16 and multiplied by the int16 (w - w_zp) filter into exact 32-bit products
// (SSE2 pmullw/pmulhw, WebAssembly i32x4.extmul_*_i16x8_s); accumulation wraps like XNNPACK's
// int32, so the result equals the reference kernel bit for bit. Channels past the last multiple
// of 8, and builds without SIMD, use the same arithmetic in scalar code.
#include <cstring>
#include <type_traits>

#include "runtime/kernels/convolution_params.h"
#include "runtime/kernels/optimized/requantize_simd.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define WISP_DW_SIMD 1
#elif defined(__SSE2__)
#include <emmintrin.h>
#define WISP_DW_SIMD 1
#else
#define WISP_DW_SIMD 0
#endif

namespace wisp {
namespace {

#if WISP_DW_SIMD
#if defined(__wasm_simd128__)
using V = v128_t;
inline V Zero() { return wasm_i32x4_splat(0); }
inline V Add(V a, V b) { return wasm_i32x4_add(a, b); }
inline void Store(uint32_t* p, V v) { wasm_v128_store(p, v); }
template <typename T>
inline V Widen8(const T* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}
inline void MulAdd(V x, const int16_t* w, V* lo, V* hi) {
  const V wv = wasm_v128_load(w);
  *lo = wasm_i32x4_add(*lo, wasm_i32x4_extmul_low_i16x8(x, wv));
  *hi = wasm_i32x4_add(*hi, wasm_i32x4_extmul_high_i16x8(x, wv));
}
#else
using V = __m128i;
inline V Zero() { return _mm_setzero_si128(); }
inline V Add(V a, V b) { return _mm_add_epi32(a, b); }
inline void Store(uint32_t* p, V v) { _mm_storeu_si128(reinterpret_cast<V*>(p), v); }
template <typename T>
inline V Widen8(const T* p) {
  const V bytes = _mm_loadl_epi64(reinterpret_cast<const V*>(p));
  if constexpr (std::is_same_v<T, int8_t>)
    return _mm_srai_epi16(_mm_unpacklo_epi8(bytes, bytes), 8);
  return _mm_unpacklo_epi8(bytes, _mm_setzero_si128());
}
inline void MulAdd(V x, const int16_t* w, V* lo, V* hi) {
  const V wv = _mm_loadu_si128(reinterpret_cast<const V*>(w));
  const V p_lo = _mm_mullo_epi16(x, wv);
  const V p_hi = _mm_mulhi_epi16(x, wv);
  *lo = _mm_add_epi32(*lo, _mm_unpacklo_epi16(p_lo, p_hi));
  *hi = _mm_add_epi32(*hi, _mm_unpackhi_epi16(p_lo, p_hi));
}
#endif
#endif

template <typename T>
void Depthwise(const ConvGeometry& g, const T* input, const int16_t* filter,
               const QuantConvParams& p, const T* pad_row, T* output) {
  const int32_t channels = g.out_c;  // == in_c (multiplier 1)
  const int32_t taps = g.kernel_h * g.kernel_w;
  const T* tap_rows[64];
  const bool few_taps = taps <= 64;
#if WISP_DW_SIMD
  const bool vector_requantize = Requantize8Exact(p);
#endif
  for (int32_t b = 0; b < g.batch; ++b) {
    const T* image = input + static_cast<int64_t>(b) * g.in_h * g.in_w * g.in_c;
    for (int32_t oy = 0; oy < g.out_h; ++oy) {
      const int32_t iy0 = oy * g.stride_h - g.pad_top;
      for (int32_t ox = 0; ox < g.out_w; ++ox) {
        const int32_t ix0 = ox * g.stride_w - g.pad_left;
        auto tap_row = [&](int32_t t) -> const T* {
          const int32_t iy = iy0 + (t / g.kernel_w) * g.dilation_h;
          const int32_t ix = ix0 + (t % g.kernel_w) * g.dilation_w;
          if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) return pad_row;
          return image + (static_cast<int64_t>(iy) * g.in_w + ix) * g.in_c;
        };
        if (few_taps) {
          for (int32_t t = 0; t < taps; ++t) tap_rows[t] = tap_row(t);
        }
        int32_t c = 0;
#if WISP_DW_SIMD
        for (; c + 8 <= channels; c += 8) {
          V lo = Zero(), hi = Zero();
          for (int32_t t = 0; t < taps; ++t) {
            const T* x = few_taps ? tap_rows[t] : tap_row(t);
            MulAdd(Widen8(x + c), filter + static_cast<int64_t>(t) * channels + c, &lo, &hi);
          }
          if (vector_requantize) {
            Int32x4 bias_lo, bias_hi;
            std::memcpy(&bias_lo, p.folded_bias.data() + c, sizeof(bias_lo));
            std::memcpy(&bias_hi, p.folded_bias.data() + c + 4, sizeof(bias_hi));
            Requantize8(Add(lo, bias_lo), Add(hi, bias_hi), p, c, 8, output + c);
            continue;
          }
          uint32_t sums[8];
          Store(sums, lo);
          Store(sums + 4, hi);
          for (int j = 0; j < 8; ++j) {
            const uint32_t acc = static_cast<uint32_t>(p.folded_bias[c + j]) + sums[j];
            output[c + j] = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc), p, c + j));
          }
        }
#endif
        for (; c < channels; ++c) {
          uint32_t acc = static_cast<uint32_t>(p.folded_bias[c]);
          for (int32_t t = 0; t < taps; ++t) {
            const T* x = few_taps ? tap_rows[t] : tap_row(t);
            acc += static_cast<uint32_t>(static_cast<int32_t>(x[c]) *
                                         static_cast<int32_t>(filter[t * channels + c]));
          }
          output[c] = static_cast<T>(RequantizeChannel(static_cast<int32_t>(acc), p, c));
        }
        output += channels;
      }
    }
  }
}

}  // namespace

void DepthwiseConv2DInt8Multiplier1(const ConvGeometry& g, const int8_t* input,
                                    const int16_t* filter, const QuantConvParams& p,
                                    const int8_t* pad_row, int8_t* output) {
  Depthwise(g, input, filter, p, pad_row, output);
}

void DepthwiseConv2DUint8Multiplier1(const ConvGeometry& g, const uint8_t* input,
                                     const int16_t* filter, const QuantConvParams& p,
                                     const uint8_t* pad_row, uint8_t* output) {
  Depthwise(g, input, filter, p, pad_row, output);
}

}  // namespace wisp
