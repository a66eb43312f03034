// Float32 depthwise convolution, 8 channels per tile, four pixels at a time, on WebAssembly
// relaxed SIMD: f32x4.relaxed_madd, fused where the engine fuses it (f32_conv_wasm.h).
#include "runtime/kernels/microkernels/f32_conv_wasm.h"
#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {

const F32DwconvKernelInfo kF32Dwconv8cWasmrelaxed = {
    "f32_dwconv_8c__wasmrelaxed", kF32DwconvWasmTile, F32DwconvWasm<WasmRelaxedMadd>,
    RelaxedMaddFuses};

}  // namespace wisp
