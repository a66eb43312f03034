// Float32 GEMM, 4 rows x 8 channels, on WebAssembly SIMD128: f32x4.mul then f32x4.add, the
// reference's bits (f32_conv_wasm.h).
#include "runtime/kernels/microkernels/f32_conv_wasm.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {

const F32GemmKernelInfo kF32Gemm4x8Wasmsimd = {"f32_gemm_4x8__wasmsimd", kF32GemmWasmMr,
                                               kF32GemmWasmNr, F32GemmWasm<WasmMulThenAdd>};

}  // namespace wisp
