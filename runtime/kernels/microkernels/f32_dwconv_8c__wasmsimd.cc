// Float32 depthwise convolution, 8 channels per tile, four pixels at a time, on WebAssembly
// SIMD128: f32x4.mul then f32x4.add, the reference's bits (f32_conv_wasm.h).
#include "runtime/kernels/microkernels/f32_conv_wasm.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {

const F32DwconvKernelInfo kF32Dwconv8cWasmsimd = {"f32_dwconv_8c__wasmsimd", kF32DwconvWasmTile,
                                                  F32DwconvWasm<WasmMulThenAdd>};

}  // namespace wisp
