// Quantized average pooling of one window (avgpool.h) on WebAssembly SIMD128: 16 channels per
// step summed into four int32x4 accumulators over the taps, then the rounding division in float
// (exact for count <= kAvgPoolMaxCount), truncation, clamp and narrowing. The last channels
// (fewer than 16) take the scalar formula.
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline void Accumulate16(v128_t x, v128_t* acc) {
  v128_t lo, hi;
  if constexpr (std::is_same_v<T, int8_t>) {
    lo = wasm_i16x8_extend_low_i8x16(x), hi = wasm_i16x8_extend_high_i8x16(x);
  } else {
    lo = wasm_u16x8_extend_low_u8x16(x), hi = wasm_u16x8_extend_high_u8x16(x);
  }
  acc[0] = wasm_i32x4_add(acc[0], wasm_i32x4_extend_low_i16x8(lo));
  acc[1] = wasm_i32x4_add(acc[1], wasm_i32x4_extend_high_i16x8(lo));
  acc[2] = wasm_i32x4_add(acc[2], wasm_i32x4_extend_low_i16x8(hi));
  acc[3] = wasm_i32x4_add(acc[3], wasm_i32x4_extend_high_i16x8(hi));
}

template <typename T>
void AvgPool(size_t window_h, size_t window_w, size_t channels, const uint8_t* input,
             size_t row_stride, uint8_t* output, const AvgPoolParams* p) {
  const v128_t half = wasm_i32x4_splat(p->count / 2);
  const v128_t neg_half = wasm_i32x4_splat(-(p->count / 2));
  const v128_t count = wasm_f32x4_splat(static_cast<float>(p->count));
  const v128_t qmin = wasm_i32x4_splat(p->qmin), qmax = wasm_i32x4_splat(p->qmax);
  const v128_t zero = wasm_i32x4_splat(0);
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    v128_t acc[4] = {zero, zero, zero, zero};
    for (size_t y = 0; y < window_h; ++y) {
      const uint8_t* row = input + y * row_stride + c;
      for (size_t x = 0; x < window_w; ++x)
        Accumulate16<T>(wasm_v128_load(row + x * channels), acc);
    }
    v128_t q[4];
    for (int j = 0; j < 4; ++j) {
      const v128_t n =
          wasm_i32x4_add(acc[j], wasm_v128_bitselect(half, neg_half, wasm_i32x4_gt(acc[j], zero)));
      const v128_t v =
          wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_div(wasm_f32x4_convert_i32x4(n), count));
      q[j] = wasm_i32x4_min(wasm_i32x4_max(v, qmin), qmax);
    }
    wasm_v128_store(output + c, WasmNarrow16<T>(q[0], q[1], q[2], q[3]));
  }
  for (; c < channels; ++c) {
    const int32_t acc = AvgPoolChannelSum<T>(window_h, window_w, channels, input, row_stride, c);
    reinterpret_cast<T*>(output)[c] = static_cast<T>(AvgPoolRound(acc, *p));
  }
}

}  // namespace

const AvgPoolKernelInfo kQ8Avgpool16cWasmsimd = {"q8_avgpool_16c__wasmsimd", AvgPool<int8_t>,
                                                 AvgPool<uint8_t>};

}  // namespace wisp
