// What the WebAssembly relaxed-SIMD int8 microkernels share: the dot-product instruction and the
// byte interleave that puts four taps of a channel into one 32-bit lane.
#pragma once

#include <wasm_simd128.h>

#include <cstdint>

namespace wisp {

// acc + dot(w, x) per 32-bit lane: i32x4.relaxed_dot_i8x16_i7x16_add_s with the weights as the
// first (signed) operand. Clang 14 (Debian's emscripten) has no builtin for the instruction, so
// it is compiled as i32x4.relaxed_laneselect, which has the same stack signature, and
// wasm/patch_relaxed.mjs rewrites the opcode in the linked module (checking every site against
// wasm-dis). How engines read x is in q8_gemm_4x8c4__wasmrelaxed.cc.
inline v128_t RelaxedDotAdd(v128_t w, v128_t x, v128_t acc) {
  typedef int32_t I32x4 __attribute__((vector_size(16)));
  return reinterpret_cast<v128_t>(__builtin_wasm_laneselect_i32x4(
      reinterpret_cast<I32x4>(w), reinterpret_cast<I32x4>(x), reinterpret_cast<I32x4>(acc)));
}

// Four taps x 16 channels -> four vectors of 4 channels x 4 taps (vector q, lane l: channel
// 4q + l), two rounds of unpacks.
inline void Interleave4(v128_t a, v128_t b, v128_t c, v128_t d, v128_t out[4]) {
  const v128_t ab_lo =
      wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t ab_hi =
      wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const v128_t cd_lo =
      wasm_i8x16_shuffle(c, d, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t cd_hi =
      wasm_i8x16_shuffle(c, d, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  out[0] = wasm_i16x8_shuffle(ab_lo, cd_lo, 0, 8, 1, 9, 2, 10, 3, 11);
  out[1] = wasm_i16x8_shuffle(ab_lo, cd_lo, 4, 12, 5, 13, 6, 14, 7, 15);
  out[2] = wasm_i16x8_shuffle(ab_hi, cd_hi, 0, 8, 1, 9, 2, 10, 3, 11);
  out[3] = wasm_i16x8_shuffle(ab_hi, cd_hi, 4, 12, 5, 13, 6, 14, 7, 15);
}

}  // namespace wisp
