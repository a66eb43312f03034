// float32 -> 8-bit quantization (convert.h) on SSE2, 16 values per step: the wasmsimd kernel's
// scheme. minps returns its second operand when either is NaN, so min(x, max) clamps NaN to the
// upper bound first. The tail runs on a copy padded to 16.
#include <emmintrin.h>

#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/sse2_epilogue.h"

namespace wisp {
namespace {

struct Consts {
  __m128 scale, min, max, magic;
  __m128i magic_minus_zp;
};

inline __m128i Quantize4(__m128 x, const Consts& k) {
  x = _mm_mul_ps(x, k.scale);
  x = _mm_min_ps(x, k.max);  // NaN -> max
  x = _mm_max_ps(x, k.min);
  x = _mm_add_ps(x, k.magic);
  return _mm_sub_epi32(_mm_castps_si128(x), k.magic_minus_zp);
}

template <typename T>
void Quantize(size_t n, const float* input, uint8_t* output, float inv_scale,
              const QuantEpilogue* e) {
  const Consts k = {_mm_set1_ps(inv_scale), _mm_set1_ps(e->min), _mm_set1_ps(e->max),
                    _mm_set1_ps(kMagicBias), _mm_set1_epi32(e->magic_minus_zero_point)};
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const float* x = input + i;
    const __m128i q0 = Quantize4(_mm_loadu_ps(x), k);
    const __m128i q1 = Quantize4(_mm_loadu_ps(x + 4), k);
    const __m128i q2 = Quantize4(_mm_loadu_ps(x + 8), k);
    const __m128i q3 = Quantize4(_mm_loadu_ps(x + 12), k);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i), Sse2Narrow16<T>(q0, q1, q2, q3));
  }
  if (i < n) {
    alignas(16) float x[16] = {};
    std::memcpy(x, input + i, (n - i) * sizeof(float));
    const __m128i v =
        Sse2Narrow16<T>(Quantize4(_mm_load_ps(x), k), Quantize4(_mm_load_ps(x + 4), k),
                        Quantize4(_mm_load_ps(x + 8), k), Quantize4(_mm_load_ps(x + 12), k));
    Sse2StorePartial(output + i, v, n - i);
  }
}

}  // namespace

const QuantizeKernelInfo kF32Q8Cvt16Sse2 = {"f32_q8_cvt_16__sse2", Quantize<int8_t>,
                                            Quantize<uint8_t>};

}  // namespace wisp
