// Quantized depthwise convolution on WebAssembly SIMD128, 16 channels per tile, two taps per step:
// the two taps' inputs, loaded widened to int16, are interleaved word by word (i16x8 shuffles
// that engines lower to one unpack) so that each 32-bit lane holds one channel's pair, and
// i32x4.dot_i16x8_s (x86 pmaddwd) multiplies them by that channel's pair of int16 weights
// (w - w_zp) and adds: 8 exact multiply-adds an instruction. The extended multiplies of a tap at a
// time (i32x4.extmul_*_i16x8_s) cost three x86 instructions for 4 multiplies and still need an
// add. Channel order stays natural (tap_group 2, channel_lanes 1, pack.h); an odd last tap pairs
// with a zero weight. Any tap count: in Chromium 156 a 3x3 copy with the tap loop unrolled ran
// 12% slower than the loop (bench/microkernels, 10.5 vs 11.9 GMAC/s on MobileNetV2's depthwise
// layers; the 16c kernel with extended multiplies ran 7.5). Works for int8 and uint8 alike
// (products of a widened byte and an int16 weight). A tile with at most 8 channels left computes
// only its low half; inputs may be over-read by up to one tile (dwconv.h).
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kTile = 16;

template <typename T>
inline v128_t Load8Widened(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

// Channels 0-3 and 4-7 of a and b as (a[c], b[c]) pairs, one per 32-bit lane.
inline v128_t PairsLow(v128_t a, v128_t b) {
  return wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
}
inline v128_t PairsHigh(v128_t a, v128_t b) {
  return wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

inline v128_t Dot(v128_t acc, v128_t pairs, const uint8_t* w) {
  return wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(pairs, wasm_v128_load(w)));
}

template <typename T>
void Dwconv(size_t channels, size_t output_width, size_t taps, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t pairs = taps / 2, odd = taps % 2;
  const size_t pair_bytes = kTile * 4;  // 16 channels x 2 taps x int16
  const size_t tile_bytes = kTile * 4 + (pairs + odd) * pair_bytes + kTile * 4;
  const v128_t zero = wasm_i16x8_splat(0);
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    const uint8_t* w = static_cast<const uint8_t*>(packed_w);
    uint8_t* out = output + p * channels * sizeof(T);
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
      const bool half = channels - c0 <= 8;
      v128_t acc0 = wasm_v128_load(w);
      v128_t acc1 = wasm_v128_load(w + 16);
      v128_t acc2 = wasm_v128_load(w + 32);
      v128_t acc3 = wasm_v128_load(w + 48);
      const uint8_t* wt = w + 64;
      if (half) {
        for (size_t q = 0; q < pairs; ++q, wt += pair_bytes) {
          const v128_t a = Load8Widened<T>(in[2 * q] + c0);
          const v128_t b = Load8Widened<T>(in[2 * q + 1] + c0);
          acc0 = Dot(acc0, PairsLow(a, b), wt);
          acc1 = Dot(acc1, PairsHigh(a, b), wt + 16);
        }
        if (odd != 0) {
          const v128_t a = Load8Widened<T>(in[taps - 1] + c0);
          acc0 = Dot(acc0, PairsLow(a, zero), wt);
          acc1 = Dot(acc1, PairsHigh(a, zero), wt + 16);
          wt += pair_bytes;
        }
      } else {
        for (size_t q = 0; q < pairs; ++q, wt += pair_bytes) {
          const uint8_t* x0 = in[2 * q] + c0;
          const uint8_t* x1 = in[2 * q + 1] + c0;
          const v128_t a_lo = Load8Widened<T>(x0), a_hi = Load8Widened<T>(x0 + 8);
          const v128_t b_lo = Load8Widened<T>(x1), b_hi = Load8Widened<T>(x1 + 8);
          acc0 = Dot(acc0, PairsLow(a_lo, b_lo), wt);
          acc1 = Dot(acc1, PairsHigh(a_lo, b_lo), wt + 16);
          acc2 = Dot(acc2, PairsLow(a_hi, b_hi), wt + 32);
          acc3 = Dot(acc3, PairsHigh(a_hi, b_hi), wt + 48);
        }
        if (odd != 0) {
          const uint8_t* x0 = in[taps - 1] + c0;
          const v128_t a_lo = Load8Widened<T>(x0), a_hi = Load8Widened<T>(x0 + 8);
          acc0 = Dot(acc0, PairsLow(a_lo, zero), wt);
          acc1 = Dot(acc1, PairsHigh(a_lo, zero), wt + 16);
          acc2 = Dot(acc2, PairsLow(a_hi, zero), wt + 32);
          acc3 = Dot(acc3, PairsHigh(a_hi, zero), wt + 48);
          wt += pair_bytes;
        }
      }
      const v128_t q0 = WasmRequantizeIntClamp4(acc0, wasm_v128_load(wt), clamp);
      const v128_t q1 = WasmRequantizeIntClamp4(acc1, wasm_v128_load(wt + 16), clamp);
      const v128_t q2 = half ? q0 : WasmRequantizeIntClamp4(acc2, wasm_v128_load(wt + 32), clamp);
      const v128_t q3 = half ? q1 : WasmRequantizeIntClamp4(acc3, wasm_v128_load(wt + 48), clamp);
      const v128_t bytes = WasmNarrowClamp16<T>(q0, q1, q2, q3, clamp);
      if (channels - c0 >= kTile) {
        wasm_v128_store(out + c0, bytes);
      } else {
        WasmStorePartial(out + c0, bytes, channels - c0);
      }
    }
  }
}

}  // namespace

const DwconvKernelInfo kQ8DwconvUp16c2Wasmsimd = {
    "q8_dwconv_up16c2__wasmsimd", kTile, 0, 2, {0, 0}, Dwconv<int8_t>, Dwconv<uint8_t>};

}  // namespace wisp
