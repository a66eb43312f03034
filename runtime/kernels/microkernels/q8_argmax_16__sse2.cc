// ARG_MAX over the last axis of 8-bit rows (reduce.h) on SSE2, the wasmsimd kernel's scheme:
// 16 values per step, the step's maximum reduced across lanes, its first position from the
// bitmask of equal lanes; int8 compared as unsigned after flipping the sign bit; lanes past the
// row masked to the smallest value.
#include <emmintrin.h>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

inline int MaxU8(__m128i v) {
  v = _mm_max_epu8(v, _mm_srli_si128(v, 8));
  v = _mm_max_epu8(v, _mm_srli_si128(v, 4));
  v = _mm_max_epu8(v, _mm_srli_si128(v, 2));
  v = _mm_max_epu8(v, _mm_srli_si128(v, 1));
  return _mm_cvtsi128_si32(v) & 0xFF;
}

template <bool kSigned>
void Argmax(size_t rows, size_t channels, const uint8_t* input, void* output, bool out64) {
  const __m128i iota = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m128i flip = _mm_set1_epi8(kSigned ? static_cast<char>(0x80) : 0);
  for (size_t r = 0; r < rows; ++r, input += channels) {
    int best = -1;
    uint32_t index = 0;
    for (size_t c0 = 0; c0 < channels; c0 += 16) {
      __m128i v =
          _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(input + c0)), flip);
      if (channels - c0 < 16) {
        // iota < n as signed bytes (both below 16).
        const __m128i valid = _mm_cmplt_epi8(iota, _mm_set1_epi8(static_cast<char>(channels - c0)));
        v = _mm_and_si128(v, valid);
      }
      const int m = MaxU8(v);
      if (m > best) {
        best = m;
        const int eq = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(static_cast<char>(m))));
        index = static_cast<uint32_t>(c0) + static_cast<uint32_t>(__builtin_ctz(eq));
      }
    }
    if (out64) {
      static_cast<int64_t*>(output)[r] = index;
    } else {
      static_cast<int32_t*>(output)[r] = static_cast<int32_t>(index);
    }
  }
}

}  // namespace

const ArgmaxKernelInfo kQ8Argmax16Sse2 = {"q8_argmax_16__sse2", Argmax<true>, Argmax<false>};

}  // namespace wisp
