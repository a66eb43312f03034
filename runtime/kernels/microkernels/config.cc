#include "runtime/kernels/microkernels/config.h"

#include <cstdlib>
#include <mutex>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

// One ISA level: its kernels, and whether this machine runs them.
struct IsaLevel {
  const char* name;
  bool runnable;
  const GemmKernelInfo* gemm;
  std::vector<const DwconvKernelInfo*> dwconv;
};

#if defined(WISP_MICROKERNELS_WASMRELAXED)
RelaxedDot EngineRelaxedDot() {
  static const RelaxedDot semantics = RelaxedDotSemantics();
  return semantics;
}
#endif

std::vector<IsaLevel> Levels() {
  std::vector<IsaLevel> levels;
  levels.push_back({"scalar", true, &kQ8Gemm4x4Scalar, {&kQ8DwconvUp4cScalar}});
#if defined(WISP_MICROKERNELS_X86)
  const std::vector<const DwconvKernelInfo*> sse2_dw = {&kQ8Dwconv9p16cSse2, &kQ8Dwconv25p16cSse2,
                                                        &kQ8DwconvUp16cSse2};
  levels.push_back({"sse2", true, &kQ8Gemm4x4c8Sse2, sse2_dw});
#endif
#if defined(WISP_MICROKERNELS_WASMSIMD)
  const std::vector<const DwconvKernelInfo*> simd_dw = {
      &kQ8Dwconv9p16cWasmsimd, &kQ8Dwconv25p16cWasmsimd, &kQ8DwconvUp16cWasmsimd};
  levels.push_back({"wasmsimd", true, &kQ8Gemm3x4c8Wasmsimd, simd_dw});
#endif
#if defined(WISP_MICROKERNELS_WASMRELAXED)
  const RelaxedDot dot = EngineRelaxedDot();
  levels.push_back({"wasmrelaxed", dot != RelaxedDot::kUnusable,
                    dot == RelaxedDot::kSigned ? &kQ8Gemm4x8c4WasmSdot : &kQ8Gemm4x8c4WasmUsdot,
                    simd_dw});
#endif
  return levels;
}

std::mutex g_mu;
std::string g_limit;
bool g_limit_read = false;
MicrokernelConfig g_config;
bool g_selected = false;

void SelectLocked() {
  if (!g_limit_read) {
    const char* env = std::getenv("WISP_ISA");
    if (env != nullptr) g_limit = env;
    g_limit_read = true;
  }
  MicrokernelConfig config;
  for (const IsaLevel& level : Levels()) {
    if (level.runnable) {
      config.isa = level.name;
      config.gemm = level.gemm;
      config.dwconv = level.dwconv;
    }
    if (g_limit == level.name) break;
  }
  g_config = config;
  g_selected = true;
}

}  // namespace

const MicrokernelConfig& Microkernels() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_selected) SelectLocked();
  return g_config;
}

std::vector<std::string> MicrokernelIsaLevels() {
  std::vector<std::string> names;
  for (const IsaLevel& level : Levels()) names.push_back(level.name);
  return names;
}

bool SetMicrokernelIsaLimit(const std::string& isa) {
  bool known = isa.empty();
  for (const std::string& name : MicrokernelIsaLevels()) known = known || name == isa;
  if (!known) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  g_limit = isa;
  g_limit_read = true;
  SelectLocked();
  return true;
}

std::vector<GemmKernelEntry> AllGemmKernels() {
  std::vector<GemmKernelEntry> all;
  all.push_back({&kQ8Gemm4x4Scalar, "scalar", true, true});
#if defined(WISP_MICROKERNELS_X86)
  all.push_back({&kQ8Gemm4x4c8Sse2, "sse2", true, true});
#endif
#if defined(WISP_MICROKERNELS_WASMSIMD)
  all.push_back({&kQ8Gemm3x4c8Wasmsimd, "wasmsimd", true, true});
#endif
#if defined(WISP_MICROKERNELS_WASMRELAXED)
  const RelaxedDot dot = EngineRelaxedDot();
  all.push_back({&kQ8Gemm4x8c4WasmUsdot, "wasmrelaxed", true, dot == RelaxedDot::kUnsignedSecond});
  all.push_back({&kQ8Gemm4x8c4WasmSdot, "wasmrelaxed", true, dot == RelaxedDot::kSigned});
#endif
  return all;
}

std::vector<DwconvKernelEntry> AllDwconvKernels() {
  std::vector<DwconvKernelEntry> all;
  for (const IsaLevel& level : Levels()) {
    for (const DwconvKernelInfo* k : level.dwconv) {
      bool seen = false;
      for (const DwconvKernelEntry& e : all) seen = seen || e.info == k;
      if (!seen) all.push_back({k, level.name, level.runnable});
    }
  }
  return all;
}

}  // namespace wisp
