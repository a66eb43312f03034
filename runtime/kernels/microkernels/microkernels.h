// Every microkernel this build can contain, by target. Which of them an operator uses is decided
// once, in config.cc; tests reach all of them through AllGemmKernels() / AllDwconvKernels().
#pragma once

#include "runtime/kernels/microkernels/avgpool.h"
#include "runtime/kernels/microkernels/convert.h"
#include "runtime/kernels/microkernels/dwconv.h"
#include "runtime/kernels/microkernels/f32_conv.h"
#include "runtime/kernels/microkernels/gemm.h"
#include "runtime/kernels/microkernels/ibilinear.h"
#include "runtime/kernels/microkernels/lut.h"
#include "runtime/kernels/microkernels/reduce.h"
#include "runtime/kernels/microkernels/vadd.h"
#include "runtime/kernels/microkernels/vmul.h"

namespace wisp {

// Portable C++: every target.
extern const GemmKernelInfo kQ8Gemm4x4Scalar;
extern const DwconvKernelInfo kQ8DwconvUp4cScalar;
extern const RsumKernelInfo kQ8Rsum4cScalar;
extern const VaddKernelInfo kQ8Vadd1Scalar;
extern const ArgmaxKernelInfo kQ8Argmax1Scalar;
extern const VaddcKernelInfo kQ8Vaddc1Scalar;
extern const RowSumsFn kQ8RowSumsScalarQs8;
extern const RowSumsFn kQ8RowSumsScalarQu8;
extern const LutKernelInfo kX8Lut8Scalar;
extern const LutChannelsKernelInfo kX8LutcScalar;
extern const QuantizeKernelInfo kF32Q8Cvt1Scalar;
extern const DequantizeKernelInfo kQ8F32Cvt1Scalar;
extern const AvgPoolKernelInfo kQ8Avgpool1cScalar;
extern const VmulKernelInfo kQ8Vmul1Scalar;
extern const IbilinearKernelInfo kQ8Ibilinear1cScalar;
extern const F32GemmKernelInfo kF32Gemm4x4Scalar;
extern const F32DwconvKernelInfo kF32Dwconv4cScalar;

#if defined(__x86_64__) || defined(_M_X64)
#define WISP_MICROKERNELS_X86 1
extern const GemmKernelInfo kQ8Gemm4x4c8Sse2;
extern const DwconvKernelInfo kQ8Dwconv9p16cSse2;
extern const DwconvKernelInfo kQ8Dwconv25p16cSse2;
extern const DwconvKernelInfo kQ8DwconvUp16cSse2;
extern const RsumKernelInfo kQ8Rsum16cSse2;
extern const VaddKernelInfo kQ8Vadd16Sse2;
extern const ArgmaxKernelInfo kQ8Argmax16Sse2;
// Compiled with their own flags (runtime/CMakeLists.txt); config.cc calls them only when cpuid
// reports the ISA.
extern const GemmKernelInfo kQ8Gemm4x16c2Avx2;
extern const GemmKernelInfo kQ8Gemm4x16c2w8Avx2;
extern const DwconvKernelInfo kQ8Dwconv9p16c2Avx2;
extern const DwconvKernelInfo kQ8Dwconv25p16c2Avx2;
extern const DwconvKernelInfo kQ8DwconvUp16c2Avx2;
extern const VaddKernelInfo kQ8Vadd16Avx2;
extern const RowSumsFn kQ8RowSumsAvx2Qs8;
extern const RowSumsFn kQ8RowSumsAvx2Qu8;
extern const GemmKernelInfo kQ8Gemm6x16c4Avxvnni;
extern const DwconvKernelInfo kQ8Dwconv9p32c4Avxvnni;
extern const DwconvKernelInfo kQ8Dwconv25p32c4Avxvnni;
extern const DwconvKernelInfo kQ8DwconvUp32c4Avxvnni;
extern const LutKernelInfo kX8Lut32Avx2;
extern const LutKernelInfo kX8Lut64Avx512vbmi;
extern const GemmKernelInfo kQ8Gemm8x32c4Avx512vnni;
extern const DwconvKernelInfo kQ8Dwconv3x3p64c4Avx512vnni;
extern const DwconvKernelInfo kQ8Dwconv9p64c4Avx512vnni;
extern const DwconvKernelInfo kQ8Dwconv25p64c4Avx512vnni;
extern const DwconvKernelInfo kQ8DwconvUp64c4Avx512vnni;
extern const VaddcKernelInfo kQ8Vaddc16Sse2;
extern const QuantizeKernelInfo kF32Q8Cvt16Sse2;
extern const DequantizeKernelInfo kQ8F32Cvt16Sse2;
extern const AvgPoolKernelInfo kQ8Avgpool16cSse2;
extern const VmulKernelInfo kQ8Vmul16Sse2;
extern const IbilinearKernelInfo kQ8Ibilinear8cSse2;
extern const F32GemmKernelInfo kF32Gemm4x8Sse2;
extern const F32DwconvKernelInfo kF32Dwconv8cSse2;
#endif

#if defined(__wasm_simd128__)
#define WISP_MICROKERNELS_WASMSIMD 1
extern const GemmKernelInfo kQ8Gemm4x8c2Wasmsimd;
extern const GemmKernelInfo kQ8Gemm4x8c2w8Wasmsimd;
extern const DwconvKernelInfo kQ8DwconvUp16c2Wasmsimd;
extern const RsumKernelInfo kQ8Rsum16cWasmsimd;
extern const VaddKernelInfo kQ8Vadd16Wasmsimd;
extern const ArgmaxKernelInfo kQ8Argmax16Wasmsimd;
extern const VaddcKernelInfo kQ8Vaddc16Wasmsimd;
extern const RowSumsFn kQ8RowSumsWasmsimdQs8;
extern const RowSumsFn kQ8RowSumsWasmsimdQu8;
extern const QuantizeKernelInfo kF32Q8Cvt16Wasmsimd;
extern const DequantizeKernelInfo kQ8F32Cvt16Wasmsimd;
extern const AvgPoolKernelInfo kQ8Avgpool16cWasmsimd;
extern const VmulKernelInfo kQ8Vmul16Wasmsimd;
extern const IbilinearKernelInfo kQ8Ibilinear8cWasmsimd;
extern const F32GemmKernelInfo kF32Gemm4x8Wasmsimd;
extern const F32DwconvKernelInfo kF32Dwconv8cWasmsimd;
#endif

// The relaxed-SIMD kernels are compiled only into the relaxed WebAssembly variants, which define
// WISP_WASM_RELAXED (the other variants must load on engines without relaxed SIMD).
#if defined(__wasm_simd128__) && defined(WISP_WASM_RELAXED)
#define WISP_MICROKERNELS_WASMRELAXED 1
extern const GemmKernelInfo kQ8Gemm4x8c4WasmUsdot;
extern const GemmKernelInfo kQ8Gemm4x8c4WasmSdot;
extern const DwconvKernelInfo kQ8Dwconv3x3p16c4WasmUsdot;
extern const DwconvKernelInfo kQ8Dwconv9p16c4WasmUsdot;
extern const DwconvKernelInfo kQ8DwconvUp16c4WasmUsdot;
extern const DwconvKernelInfo kQ8Dwconv3x3p16c4WasmSdot;
extern const DwconvKernelInfo kQ8Dwconv9p16c4WasmSdot;
extern const DwconvKernelInfo kQ8DwconvUp16c4WasmSdot;
extern const F32GemmKernelInfo kF32Gemm4x8Wasmrelaxed;
extern const F32DwconvKernelInfo kF32Dwconv8cWasmrelaxed;
// Whether this engine's f32x4.relaxed_madd rounds once (fused) rather than twice.
bool RelaxedMaddFuses();
#endif

// How the engine computes i32x4.relaxed_dot_i8x16_i7x16_add_s for second operands above 127.
enum class RelaxedDot { kUnsignedSecond, kSigned, kUnusable };
RelaxedDot RelaxedDotSemantics();  // defined only where WISP_MICROKERNELS_WASMRELAXED

}  // namespace wisp
