// Byte lookup (lut.h) with AVX-512 VBMI, 64 bytes per step: vpermi2b looks 64 indices up in a
// 128-byte table held in two registers, so the 256-entry table is two such lookups (entries
// 0-127 and 128-255) and a blend on each index's top bit. The scalar kernel does one load per
// byte; this does three vector instructions per 64. The tail is a masked load and store, so the
// kernel never touches bytes past n (in place works too: each block is read before it is written).
#include <immintrin.h>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

inline __m512i Lookup(__m512i idx, const __m512i* t) {
  const __m512i lo = _mm512_permutex2var_epi8(t[0], idx, t[1]);
  const __m512i hi = _mm512_permutex2var_epi8(t[2], idx, t[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi);
}

void Lut(size_t n, const uint8_t* input, uint8_t* output, const uint8_t* table) {
  __m512i t[4];
  for (int i = 0; i < 4; ++i) t[i] = _mm512_loadu_si512(table + 64 * i);
  for (; n >= 64; n -= 64, input += 64, output += 64) {
    _mm512_storeu_si512(output, Lookup(_mm512_loadu_si512(input), t));
  }
  if (n != 0) {
    const __mmask64 mask = _bzhi_u64(~uint64_t{0}, static_cast<unsigned>(n));
    const __m512i idx = _mm512_maskz_loadu_epi8(mask, input);
    _mm512_mask_storeu_epi8(output, mask, Lookup(idx, t));
  }
}

}  // namespace

const LutKernelInfo kX8Lut64Avx512vbmi = {"x8_lut_64__avx512vbmi", Lut};

}  // namespace wisp
