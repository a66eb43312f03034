// Float32 depthwise convolution (f32_conv.h) on WebAssembly SIMD128, any number of taps, 8 channels
// per tile (two vectors, two independent add chains): each lane one channel, multiplied and added
// tap by tap in the reference's order. A last partial tile reads its inputs through a zero-padded
// copy, so nothing is read past the pixel's channels.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr size_t kTile = 8;

void Dwconv(size_t channels, size_t output_width, size_t taps, const float* const* input,
            size_t input_stride, const float* packed_w, float* output, const F32MinMax* params) {
  const v128_t lo = wasm_f32x4_splat(params->min);
  const v128_t hi = wasm_f32x4_splat(params->max);
  for (size_t p = 0; p < output_width; ++p, output += channels) {
    const float* const* in = input + p * input_stride;
    const float* w = packed_w;
    size_t c0 = 0;
    for (; c0 + kTile <= channels; c0 += kTile) {
      v128_t al = wasm_v128_load(w), ah = wasm_v128_load(w + 4);
      w += kTile;
      for (size_t t = 0; t < taps; ++t, w += kTile) {
        const float* x = in[t] + c0;
        al = wasm_f32x4_add(al, wasm_f32x4_mul(wasm_v128_load(x), wasm_v128_load(w)));
        ah = wasm_f32x4_add(ah, wasm_f32x4_mul(wasm_v128_load(x + 4), wasm_v128_load(w + 4)));
      }
      wasm_v128_store(output + c0, WasmClampF32(al, lo, hi));
      wasm_v128_store(output + c0 + 4, WasmClampF32(ah, lo, hi));
    }
    if (c0 < channels) {
      const size_t n = channels - c0;
      v128_t al = wasm_v128_load(w), ah = wasm_v128_load(w + 4);
      w += kTile;
      for (size_t t = 0; t < taps; ++t, w += kTile) {
        float x[kTile] = {};
        std::copy(in[t] + c0, in[t] + channels, x);
        al = wasm_f32x4_add(al, wasm_f32x4_mul(wasm_v128_load(x), wasm_v128_load(w)));
        ah = wasm_f32x4_add(ah, wasm_f32x4_mul(wasm_v128_load(x + 4), wasm_v128_load(w + 4)));
      }
      float out[kTile];
      wasm_v128_store(out, WasmClampF32(al, lo, hi));
      wasm_v128_store(out + 4, WasmClampF32(ah, lo, hi));
      std::copy(out, out + n, output + c0);
    }
  }
}

}  // namespace

const F32DwconvKernelInfo kF32Dwconv8cWasmsimd = {"f32_dwconv_8c__wasmsimd", kTile, Dwconv};

}  // namespace wisp
