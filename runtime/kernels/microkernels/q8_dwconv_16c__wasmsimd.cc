// Quantized depthwise convolution on WebAssembly SIMD128, 16 channels per tile: per tap, the 16
// inputs are loaded widened to int16 and multiplied by the int16 (w - w_zp) weights into exact
// 32-bit products (i32x4.extmul_*_i16x8_s), accumulated in four i32x4 registers across all taps.
// Specialized for 3x3 (9p) and 5x5 (25p) filters so the tap loop unrolls; "up" takes any tap
// count. Works for int8 and uint8 alike (products of a widened byte and an int16 weight).
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

template <typename T, int kTaps>
void Dwconv(size_t channels, size_t output_width, size_t taps_arg, const uint8_t* const* input,
            size_t input_stride, const void* packed_w, uint8_t* output, const QuantEpilogue* e) {
  const size_t taps = kTaps ? static_cast<size_t>(kTaps) : taps_arg;
  const size_t tile_bytes = kTile * 4 + taps * kTile * 2 + kTile * 4;
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    const uint8_t* w = static_cast<const uint8_t*>(packed_w);
    uint8_t* out = output + p * channels * sizeof(T);
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += tile_bytes) {
      // At most 8 channels left (a model with 8, or the tail of 24, 40, ...): the high half of
      // the tile is padding, so it is neither loaded nor multiplied.
      const bool half = channels - c0 <= 8;
      v128_t acc0 = wasm_v128_load(w);
      v128_t acc1 = wasm_v128_load(w + 16);
      v128_t acc2 = wasm_v128_load(w + 32);
      v128_t acc3 = wasm_v128_load(w + 48);
      const uint8_t* wt = w + 64;
      if (half) {
        for (size_t t = 0; t < taps; ++t, wt += kTile * 2) {
          const v128_t x_lo = Load8Widened<T>(in[t] + c0);
          const v128_t w_lo = wasm_v128_load(wt);
          acc0 = wasm_i32x4_add(acc0, wasm_i32x4_extmul_low_i16x8(x_lo, w_lo));
          acc1 = wasm_i32x4_add(acc1, wasm_i32x4_extmul_high_i16x8(x_lo, w_lo));
        }
      } else {
        for (size_t t = 0; t < taps; ++t, wt += kTile * 2) {
          const uint8_t* x = in[t] + c0;
          const v128_t x_lo = Load8Widened<T>(x);
          const v128_t x_hi = Load8Widened<T>(x + 8);
          const v128_t w_lo = wasm_v128_load(wt);
          const v128_t w_hi = wasm_v128_load(wt + 16);
          acc0 = wasm_i32x4_add(acc0, wasm_i32x4_extmul_low_i16x8(x_lo, w_lo));
          acc1 = wasm_i32x4_add(acc1, wasm_i32x4_extmul_high_i16x8(x_lo, w_lo));
          acc2 = wasm_i32x4_add(acc2, wasm_i32x4_extmul_low_i16x8(x_hi, w_hi));
          acc3 = wasm_i32x4_add(acc3, wasm_i32x4_extmul_high_i16x8(x_hi, w_hi));
        }
      }
      const v128_t q0 = WasmRequantize4(acc0, wasm_v128_load(wt), *e);
      const v128_t q1 = WasmRequantize4(acc1, wasm_v128_load(wt + 16), *e);
      const v128_t q2 = half ? q0 : WasmRequantize4(acc2, wasm_v128_load(wt + 32), *e);
      const v128_t q3 = half ? q1 : WasmRequantize4(acc3, wasm_v128_load(wt + 48), *e);
      const v128_t bytes = WasmNarrow16<T>(q0, q1, q2, q3);
      if (channels - c0 >= kTile) {
        wasm_v128_store(out + c0, bytes);
      } else {
        WasmStorePartial(out + c0, bytes, channels - c0);
      }
    }
  }
}

}  // namespace

const DwconvKernelInfo kQ8Dwconv9p16cWasmsimd = {
    "q8_dwconv_9p16c__wasmsimd", kTile, 9, 1, {0, 0}, Dwconv<int8_t, 9>, Dwconv<uint8_t, 9>};
const DwconvKernelInfo kQ8Dwconv25p16cWasmsimd = {
    "q8_dwconv_25p16c__wasmsimd", kTile, 25, 1, {0, 0}, Dwconv<int8_t, 25>, Dwconv<uint8_t, 25>};
const DwconvKernelInfo kQ8DwconvUp16cWasmsimd = {
    "q8_dwconv_up16c__wasmsimd", kTile, 0, 1, {0, 0}, Dwconv<int8_t, 0>, Dwconv<uint8_t, 0>};

}  // namespace wisp
