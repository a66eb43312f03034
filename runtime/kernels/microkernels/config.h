// The microkernel table: which microkernel each operator uses on this target. Chosen once, at the
// first model load, from what the build contains and what the CPU (x86: cpuid) or the engine
// (WebAssembly: a relaxed-SIMD probe) can run, capped by an optional ISA limit so that tests can
// run every variant the machine supports. Operators ask Microkernels() in Prepare and keep the
// function pointers; Invoke never consults the table.
#pragma once

#include <string>
#include <vector>

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

struct MicrokernelConfig {
  std::string isa;  // what was selected: "avx512vnni", "sse2", "wasmrelaxed", "wasmsimd", ...
  const GemmKernelInfo* gemm = nullptr;  // CONV_2D (via indirection) and FULLY_CONNECTED
  // For layers whose weights come from memory rather than cache, where a level's gemm packs them
  // wider than bytes (int16): the same products from 8-bit packed weights. Null: use gemm.
  const GemmKernelInfo* gemm_streamed_weights = nullptr;
  // A layer takes gemm_streamed_weights when it has a single row tile (a fully connected layer),
  // or more int16 weight bytes than this. WebAssembly levels leave the second rule out: a kernel
  // that the download-time warm-up does not run starts in the engine's baseline tier in the first
  // inference, and their 4-row 8-bit loop measured no faster on MobileNetV2's large 7x7 layers.
  int64_t streamed_weight_bytes = int64_t{512} * 1024;
  // Depthwise kernels in order of preference; Prepare takes the first that fits the filter.
  std::vector<const DwconvKernelInfo*> dwconv;
  const RsumKernelInfo* rsum = nullptr;      // MEAN over the spatial axes
  const VaddKernelInfo* vadd = nullptr;      // ADD / SUB of same-shaped tensors
  const ArgmaxKernelInfo* argmax = nullptr;  // ARG_MAX over the last axis
  // 8-bit elementwise operators as lookup tables (unary ops, binary ops with a constant operand).
  const LutKernelInfo* lut = nullptr;
  const LutChannelsKernelInfo* lutc = nullptr;       // per-channel constant operand
  const QuantizeKernelInfo* quantize = nullptr;      // QUANTIZE f32 -> int8/uint8
  const DequantizeKernelInfo* dequantize = nullptr;  // DEQUANTIZE int8/uint8 -> f32
  const AvgPoolKernelInfo* avgpool = nullptr;        // AVERAGE_POOL_2D int8/uint8
  const VmulKernelInfo* vmul = nullptr;              // MUL of same-shaped tensors
  const IbilinearKernelInfo* ibilinear = nullptr;    // RESIZE_BILINEAR int8/uint8
  const VaddcKernelInfo* vaddc = nullptr;            // ADD / SUB runs with a broadcast value
  // float32 CONV_2D / FULLY_CONNECTED and DEPTHWISE_CONV_2D, bit-exact to the reference kernels.
  const F32GemmKernelInfo* f32_gemm = nullptr;
  const F32DwconvKernelInfo* f32_dwconv = nullptr;
};

const MicrokernelConfig& Microkernels();

// The ISA levels this build knows, lowest first (e.g. {"scalar", "sse2"} on x86-64, {"scalar",
// "wasmsimd", "wasmrelaxed"} in the relaxed WebAssembly variant).
std::vector<std::string> MicrokernelIsaLevels();
// Caps the selection at `isa` (one of MicrokernelIsaLevels(), or "" for no cap) and selects again.
// Returns false, changing nothing, for an unknown name. Models prepared before keep their
// kernels. Natively the environment variable WISP_ISA sets the initial cap.
bool SetMicrokernelIsaLimit(const std::string& isa);

// Every microkernel compiled in, for tests and benchmarks.
template <typename Info>
struct MicrokernelEntry {
  const Info* info;
  std::string isa;
  bool runnable;  // this CPU / engine can execute it
  // Exact on any input here; false only for a relaxed dot-product kernel whose engine reads the
  // operands differently from the kernel's assumption: then exact while operands stay 7-bit.
  bool full_range = true;
};
std::vector<MicrokernelEntry<GemmKernelInfo>> AllGemmKernels();
std::vector<MicrokernelEntry<DwconvKernelInfo>> AllDwconvKernels();
std::vector<MicrokernelEntry<RsumKernelInfo>> AllRsumKernels();
std::vector<MicrokernelEntry<VaddKernelInfo>> AllVaddKernels();
std::vector<MicrokernelEntry<ArgmaxKernelInfo>> AllArgmaxKernels();
std::vector<MicrokernelEntry<LutKernelInfo>> AllLutKernels();
std::vector<MicrokernelEntry<LutChannelsKernelInfo>> AllLutChannelsKernels();
std::vector<MicrokernelEntry<QuantizeKernelInfo>> AllQuantizeKernels();
std::vector<MicrokernelEntry<DequantizeKernelInfo>> AllDequantizeKernels();
std::vector<MicrokernelEntry<AvgPoolKernelInfo>> AllAvgPoolKernels();
std::vector<MicrokernelEntry<VmulKernelInfo>> AllVmulKernels();
std::vector<MicrokernelEntry<IbilinearKernelInfo>> AllIbilinearKernels();
std::vector<MicrokernelEntry<VaddcKernelInfo>> AllVaddcKernels();
std::vector<MicrokernelEntry<F32GemmKernelInfo>> AllF32GemmKernels();
std::vector<MicrokernelEntry<F32DwconvKernelInfo>> AllF32DwconvKernels();

}  // namespace wisp
