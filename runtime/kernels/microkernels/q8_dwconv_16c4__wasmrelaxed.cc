// Quantized depthwise convolution on WebAssembly relaxed SIMD, 16 channels per tile, four taps
// per step: the four taps' input vectors are interleaved byte-wise (two rounds of unpacks) so that
// each 32-bit lane holds one channel's four inputs, then i32x4.relaxed_dot_i8x16_i7x16_add_s
// multiplies them by that channel's four weights and adds to its accumulator: 16 multiply-adds
// per instruction where the SIMD128 kernel does 4. Taps are padded to a multiple of four with
// zero weights (the padding slots re-read the last tap).
//
// Operands and engine semantics as in q8_gemm_4x8c4__wasmrelaxed.cc (usdot: input bytes as
// unsigned, int8 flipped by XOR 0x80; sdot: signed, uint8 flipped). Channels whose uint8 weights
// do not fit a signed byte around their zero point carry a factor (pack.h): for tiles that have
// one, a second dot product with ones sums the inputs, and factor * sum corrects the result.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmrelaxed_dot.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kTile = 16;

// One channel tile at one output pixel. kHalf: at most 8 channels are left (a model with 8
// channels, or the tail of 24, 40, ...): only the low halves of the inputs are loaded and
// interleaved and two of the four accumulators computed, half the work of a full tile.
template <typename T, bool kFlip, int kTaps, bool kHalf>
inline void Tile(size_t c0, size_t n, size_t taps, size_t groups, const uint8_t* const* in,
                 const uint8_t* w, uint8_t* out, const WasmIntClamp& clamp) {
  constexpr int kAcc = kHalf ? 2 : 4;
  const v128_t flip = wasm_i8x16_splat(static_cast<int8_t>(0x80));
  v128_t acc[4];
  for (int j = 0; j < kAcc; ++j) acc[j] = wasm_v128_load(w + 16 * j);
  const uint8_t* wg = w + 64;
  const uint8_t* tail = wg + groups * kTile * 4;  // scales, factors, needs_sums
  const bool needs_sums = wasm_i32x4_extract_lane(wasm_v128_load(tail + 128), 0) != 0;
  v128_t sums[4] = {wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0),
                    wasm_i32x4_splat(0)};
  for (size_t g = 0; g < groups; ++g, wg += kTile * 4) {
    v128_t x[4];
    for (int q = 0; q < 4; ++q) {
      const size_t t = std::min(4 * g + q, taps - 1);
      x[q] = kHalf ? wasm_v128_load64_zero(in[t] + c0) : wasm_v128_load(in[t] + c0);
      if constexpr (kFlip) x[q] = wasm_v128_xor(x[q], flip);
    }
    v128_t xt[4];
    if constexpr (kHalf) {
      const v128_t ab =
          wasm_i8x16_shuffle(x[0], x[1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const v128_t cd =
          wasm_i8x16_shuffle(x[2], x[3], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      xt[0] = wasm_i16x8_shuffle(ab, cd, 0, 8, 1, 9, 2, 10, 3, 11);
      xt[1] = wasm_i16x8_shuffle(ab, cd, 4, 12, 5, 13, 6, 14, 7, 15);
    } else {
      Interleave4(x[0], x[1], x[2], x[3], xt);
    }
    for (int j = 0; j < kAcc; ++j) {
      acc[j] = RelaxedDotAdd(wasm_v128_load(wg + 16 * j), xt[j], acc[j]);
    }
    if (needs_sums) {
      // Ones for the real taps of this group, zeros for the padding slots.
      const size_t real = std::min<size_t>(4, taps - 4 * g);
      const uint32_t ones = real == 4 ? 0x01010101u : (1u << (8 * real)) - 1u;
      const v128_t vones = wasm_i32x4_splat(static_cast<int32_t>(ones & 0x01010101u));
      for (int j = 0; j < kAcc; ++j) sums[j] = RelaxedDotAdd(vones, xt[j], sums[j]);
    }
  }
  if (needs_sums) {
    for (int j = 0; j < kAcc; ++j) {
      acc[j] = wasm_i32x4_add(acc[j], wasm_i32x4_mul(sums[j], wasm_v128_load(tail + 64 + 16 * j)));
    }
  }
  WasmStoreDwconvTile16<T, kHalf>(acc, tail, clamp, out, n);
}

template <typename T, bool kFlip, int kTaps>
void Dwconv(size_t channels, size_t output_width, size_t taps_arg, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t taps = kTaps ? static_cast<size_t>(kTaps) : taps_arg;
  const size_t groups = (taps + 3) / 4;
  const size_t tile_bytes = kTile * 4 + groups * kTile * 4 + kTile * 4 + kTile * 4 + 16;
  // In registers for the whole call (through *e they were reloaded after every store).
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    const uint8_t* w = static_cast<const uint8_t*>(packed_w);
    uint8_t* out = output + p * channels * sizeof(T);
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
      const size_t n = channels - c0;
      if (n > 8) {
        Tile<T, kFlip, kTaps, false>(c0, n, taps, groups, in, w, out + c0, clamp);
      } else {
        Tile<T, kFlip, kTaps, true>(c0, n, taps, groups, in, w, out + c0, clamp);
      }
    }
  }
}

}  // namespace

// usdot: int8 inputs flipped to unsigned bytes (+128), uint8 inputs as they are.
const DwconvKernelInfo kQ8Dwconv9p16c4WasmUsdot = {"q8_dwconv_9p16c4__wasmusdot",
                                                   kTile,
                                                   9,
                                                   4,
                                                   {128, 0},
                                                   Dwconv<int8_t, true, 9>,
                                                   Dwconv<uint8_t, false, 9>,
                                                   1,
                                                   0,
                                                   Dwconv<int8_t, false, 9>};
const DwconvKernelInfo kQ8DwconvUp16c4WasmUsdot = {"q8_dwconv_up16c4__wasmusdot",
                                                   kTile,
                                                   0,
                                                   4,
                                                   {128, 0},
                                                   Dwconv<int8_t, true, 0>,
                                                   Dwconv<uint8_t, false, 0>,
                                                   1,
                                                   0,
                                                   Dwconv<int8_t, false, 0>};
// sdot: int8 inputs as they are, uint8 inputs flipped to signed bytes (-128).
const DwconvKernelInfo kQ8Dwconv9p16c4WasmSdot = {
    "q8_dwconv_9p16c4__wasmsdot", kTile, 9, 4, {0, -128}, Dwconv<int8_t, false, 9>,
    Dwconv<uint8_t, true, 9>};
const DwconvKernelInfo kQ8DwconvUp16c4WasmSdot = {
    "q8_dwconv_up16c4__wasmsdot", kTile, 0, 4, {0, -128}, Dwconv<int8_t, false, 0>,
    Dwconv<uint8_t, true, 0>};

}  // namespace wisp
