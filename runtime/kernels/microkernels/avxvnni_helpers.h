// AVX-VNNI (VEX-encoded vpdpbusd on 256-bit vectors, CPUs without AVX-512) building blocks of the
// avxvnni microkernels. Internal linkage on purpose, as in avx512_helpers.h: each ISA's files are
// compiled with their own flags.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#if !defined(__AVX2__) || !defined(__AVXVNNI__)
#error "avxvnni_helpers.h needs -mavx2 -mavxvnni"
#endif

namespace wisp {
namespace {

// acc + per 32-bit lane sum of four u8 x s8 products. Assembly for the reason given in
// avx512_helpers.h (GCC 12 copies registers around the intrinsic); {vex} (escaped for asm
// dialects) selects the AVX-VNNI
// encoding, which is all such CPUs have.
inline __m256i DotAdd(__m256i acc, __m256i u8, __m256i s8) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u8), "xm"(s8));
  return acc;
}
inline __m128i DotAdd(__m128i acc, __m128i u8, __m128i s8) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u8), "xm"(s8));
  return acc;
}

}  // namespace
}  // namespace wisp
