// Float32 GEMM, 4 rows x 8 channels, on WebAssembly relaxed SIMD: f32x4.relaxed_madd, fused where
// the engine fuses it (f32_conv_wasm.h).
#include "runtime/kernels/microkernels/f32_conv_wasm.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {

bool RelaxedMaddFuses() {
  static const bool fused = [] {
    // (1 + 2^-23)(1 - 2^-23) = 1 - 2^-46: rounded once and added to -1 it is -2^-46; rounded to
    // 1.0 first, the sum is 0. Volatile, so neither clang nor binaryen folds the probe.
    static volatile float a = 1.0f + 0x1p-23f, b = 1.0f - 0x1p-23f, c = -1.0f;
    float got[4];
    wasm_v128_store(
        got, WasmRelaxedMadd::Apply(wasm_f32x4_splat(c), wasm_f32x4_splat(a), wasm_f32x4_splat(b)));
    return got[0] != 0.0f;
  }();
  return fused;
}

const F32GemmKernelInfo kF32Gemm4x8Wasmrelaxed = {"f32_gemm_4x8__wasmrelaxed", kF32GemmWasmMr,
                                                  kF32GemmWasmNr, F32GemmWasm<WasmRelaxedMadd>,
                                                  RelaxedMaddFuses};

}  // namespace wisp
