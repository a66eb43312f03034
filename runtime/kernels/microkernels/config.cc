#include "runtime/kernels/microkernels/config.h"

#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>

#include "runtime/kernels/microkernels/microkernels.h"

#if defined(WISP_MICROKERNELS_X86)
#include <cpuid.h>
#endif

namespace wisp {
namespace {

// One ISA level: the kernels it prefers, whether this machine runs them, and every variant of
// the dot-product kernels it holds (the relaxed level compiles one per engine semantics).
struct IsaLevel {
  const char* name;
  bool runnable;
  MicrokernelConfig kernels;  // isa left empty
  std::vector<MicrokernelEntry<GemmKernelInfo>> gemm_variants;
  std::vector<MicrokernelEntry<DwconvKernelInfo>> dwconv_variants;
};

#if defined(WISP_MICROKERNELS_X86)
// What cpuid (and the OS's saved register state, which GCC's check includes) allows.
struct X86Features {
  bool avx2 = false;
  bool avxvnni = false;
  bool avx512vnni = false;  // with F, BW and VL, which the kernels also use
  bool avx512vbmi = false;  // byte permutes (the lookup-table kernel of the avx512vnni level)
};

const X86Features& CpuFeatures() {
  static const X86Features features = [] {
    __builtin_cpu_init();
    X86Features f;
    f.avx2 = __builtin_cpu_supports("avx2");
    // AVX-VNNI is CPUID leaf 7 sub-leaf 1, EAX bit 4, read directly: clang before 17 does not
    // know the "avxvnni" name of __builtin_cpu_supports (the fuzz build uses clang 16). The
    // YMM state it needs is the one the avx2 check already confirmed the OS saves.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    f.avxvnni = f.avx2 && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4));
    f.avx512vnni = f.avx2 && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512vnni");
    f.avx512vbmi =
        f.avx512vnni && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("bmi2");
    return f;
  }();
  return features;
}
#endif

#if defined(WISP_MICROKERNELS_WASMRELAXED)
RelaxedDot EngineRelaxedDot() {
  static const RelaxedDot semantics = RelaxedDotSemantics();
  return semantics;
}
#endif

IsaLevel Level(const char* name, bool runnable, const GemmKernelInfo* gemm,
               std::vector<const DwconvKernelInfo*> dwconv, const RsumKernelInfo* rsum,
               const VaddKernelInfo* vadd) {
  IsaLevel level{name, runnable, {}, {{gemm, name, runnable, true}}, {}};
  for (const DwconvKernelInfo* k : dwconv)
    level.dwconv_variants.push_back({k, name, runnable, true});
  level.kernels.gemm = gemm;
  level.kernels.dwconv = std::move(dwconv);
  level.kernels.rsum = rsum;
  level.kernels.vadd = vadd;
  return level;
}

// The elementwise kernels (lookup tables, float conversions, average pooling, vmul, broadcast
// vadd, bilinear resize, row-wise arg max) of a level, kept apart from Level() so that levels gain
// kernel families without touching each other's lines. The byte lookups are scalar below AVX2:
// SSE2 has no byte shuffle, and in V8 the scalar lookup measured faster than a 16-swizzle SIMD
// one.
// The relaxed level reuses wasmsimd.
void AddElementwiseKernels(IsaLevel* level) {
  MicrokernelConfig& k = level->kernels;
  const std::string name = level->name;
  k.lut = &kX8Lut8Scalar;
  k.lutc = &kX8LutcScalar;
  k.quantize = &kF32Q8Cvt1Scalar;
  k.dequantize = &kQ8F32Cvt1Scalar;
  k.avgpool = &kQ8Avgpool1cScalar;
  k.vmul = &kQ8Vmul1Scalar;
  k.ibilinear = &kQ8Ibilinear1cScalar;
  k.vaddc = &kQ8Vaddc1Scalar;
  k.argmax = &kQ8Argmax1Scalar;
#if defined(WISP_MICROKERNELS_X86)
  // Every x86 level above scalar runs SSE2.
  if (name != "scalar") {
    k.argmax = &kQ8Argmax16Sse2;
    k.quantize = &kF32Q8Cvt16Sse2;
    k.dequantize = &kQ8F32Cvt16Sse2;
    k.avgpool = &kQ8Avgpool16cSse2;
    k.vmul = &kQ8Vmul16Sse2;
    k.ibilinear = &kQ8Ibilinear8cSse2;
    k.vaddc = &kQ8Vaddc16Sse2;
  }
  // Byte shuffles from AVX2 on (16 per 32 bytes); the byte permute of VBMI makes it three
  // instructions per 64 where it exists.
  if (name == "avx2" || name == "avxvnni" || name == "avx512vnni") k.lut = &kX8Lut32Avx2;
  if (name == "avx512vnni" && CpuFeatures().avx512vbmi) k.lut = &kX8Lut64Avx512vbmi;
#endif
#if defined(WISP_MICROKERNELS_WASMSIMD)
  if (name == "wasmsimd" || name == "wasmrelaxed") {
    k.argmax = &kQ8Argmax16Wasmsimd;
    k.quantize = &kF32Q8Cvt16Wasmsimd;
    k.dequantize = &kQ8F32Cvt16Wasmsimd;
    k.avgpool = &kQ8Avgpool16cWasmsimd;
    k.vmul = &kQ8Vmul16Wasmsimd;
    k.ibilinear = &kQ8Ibilinear8cWasmsimd;
    k.vaddc = &kQ8Vaddc16Wasmsimd;
  }
#endif
}

// The float32 convolution kernels of a level. They multiply and add in the reference's order
// with one output channel per lane (f32_conv.h), so every level computes the same bits, except
// the relaxed level's, which use relaxed_madd (one rounding where the engine fuses it, as XNNPACK's
// relaxed kernels do; within the goldens' float tolerance). The x86 levels above SSE2 reuse SSE2:
// AVX2's FMA would round differently and native float models are not where the time goes.
void AddF32Kernels(IsaLevel* level) {
  MicrokernelConfig& k = level->kernels;
  const std::string name = level->name;
  k.f32_gemm = &kF32Gemm4x4Scalar;
  k.f32_dwconv = &kF32Dwconv4cScalar;
#if defined(WISP_MICROKERNELS_X86)
  if (name != "scalar") {
    k.f32_gemm = &kF32Gemm4x8Sse2;
    k.f32_dwconv = &kF32Dwconv8cSse2;
  }
#endif
#if defined(WISP_MICROKERNELS_WASMSIMD)
  if (name == "wasmsimd" || name == "wasmrelaxed") {
    k.f32_gemm = &kF32Gemm4x8Wasmsimd;
    k.f32_dwconv = &kF32Dwconv8cWasmsimd;
  }
#endif
#if defined(WISP_MICROKERNELS_WASMRELAXED)
  if (name == "wasmrelaxed") {
    k.f32_gemm = &kF32Gemm4x8Wasmrelaxed;
    k.f32_dwconv = &kF32Dwconv8cWasmrelaxed;
  }
#endif
}

std::vector<IsaLevel> Levels() {
  std::vector<IsaLevel> levels;
  levels.push_back(Level("scalar", true, &kQ8Gemm4x4Scalar, {&kQ8DwconvUp4cScalar},
                         &kQ8Rsum4cScalar, &kQ8Vadd1Scalar));
#if defined(WISP_MICROKERNELS_X86)
  levels.push_back(Level("sse2", true, &kQ8Gemm4x4c8Sse2,
                         {&kQ8Dwconv9p16cSse2, &kQ8Dwconv25p16cSse2, &kQ8DwconvUp16cSse2},
                         &kQ8Rsum16cSse2, &kQ8Vadd16Sse2));
  const X86Features& cpu = CpuFeatures();
  IsaLevel avx2 = Level("avx2", cpu.avx2, &kQ8Gemm4x16c2Avx2,
                        {&kQ8Dwconv9p16c2Avx2, &kQ8Dwconv25p16c2Avx2, &kQ8DwconvUp16c2Avx2},
                        &kQ8Rsum16cSse2, &kQ8Vadd16Avx2);
  avx2.kernels.gemm_streamed_weights = &kQ8Gemm4x16c2w8Avx2;
  avx2.gemm_variants.push_back({&kQ8Gemm4x16c2w8Avx2, "avx2", cpu.avx2, true});
  levels.push_back(avx2);
  levels.push_back(
      Level("avxvnni", cpu.avxvnni, &kQ8Gemm6x16c4Avxvnni,
            {&kQ8Dwconv9p32c4Avxvnni, &kQ8Dwconv25p32c4Avxvnni, &kQ8DwconvUp32c4Avxvnni},
            &kQ8Rsum16cSse2, &kQ8Vadd16Avx2));
  levels.push_back(Level("avx512vnni", cpu.avx512vnni, &kQ8Gemm8x32c4Avx512vnni,
                         {&kQ8Dwconv3x3p64c4Avx512vnni, &kQ8Dwconv9p64c4Avx512vnni,
                          &kQ8Dwconv25p64c4Avx512vnni, &kQ8DwconvUp64c4Avx512vnni},
                         &kQ8Rsum16cSse2, &kQ8Vadd16Avx2));
#endif
#if defined(WISP_MICROKERNELS_WASMSIMD)
  // The SIMD128 int16 GEMM's 8-bit-weight twin, for single-row-tile layers only (config.h,
  // streamed_weight_bytes).
  auto use_streamed_simd_gemm = [](IsaLevel* level) {
    level->kernels.gemm_streamed_weights = &kQ8Gemm4x8c2w8Wasmsimd;
    level->kernels.streamed_weight_bytes = std::numeric_limits<int64_t>::max();
  };
  const std::vector<const DwconvKernelInfo*> simd_dw = {&kQ8DwconvUp16c2Wasmsimd};
  IsaLevel simd = Level("wasmsimd", true, &kQ8Gemm4x8c2Wasmsimd, simd_dw, &kQ8Rsum16cWasmsimd,
                        &kQ8Vadd16Wasmsimd);
  use_streamed_simd_gemm(&simd);
  simd.gemm_variants.push_back({&kQ8Gemm4x8c2w8Wasmsimd, "wasmsimd", true, true});
  levels.push_back(simd);
#endif
#if defined(WISP_MICROKERNELS_WASMRELAXED)
  // The probe decides which dot-product kernels are exact here, if either set is. Where neither
  // is (x86 engines without AVX-VNNI lower the dot product to a saturating vpmaddubsw: V8 on AMD
  // Zen 4 and older, Intel before Alder Lake), the level keeps the SIMD128 int8 kernels and still
  // has relaxed_madd for the float ones: the module loaded, so the engine has relaxed SIMD.
  const RelaxedDot dot = EngineRelaxedDot();
  const bool sdot = dot == RelaxedDot::kSigned;
  const bool usdot = dot == RelaxedDot::kUnsignedSecond;
  IsaLevel relaxed =
      sdot || usdot
          ? Level("wasmrelaxed", true, sdot ? &kQ8Gemm4x8c4WasmSdot : &kQ8Gemm4x8c4WasmUsdot,
                  {sdot ? &kQ8Dwconv3x3p16c4WasmSdot : &kQ8Dwconv3x3p16c4WasmUsdot,
                   sdot ? &kQ8DwconvUp16c4WasmSdot : &kQ8DwconvUp16c4WasmUsdot},
                  &kQ8Rsum16cWasmsimd, &kQ8Vadd16Wasmsimd)
          : Level("wasmrelaxed", true, &kQ8Gemm4x8c2Wasmsimd, simd_dw, &kQ8Rsum16cWasmsimd,
                  &kQ8Vadd16Wasmsimd);
  if (!sdot && !usdot) use_streamed_simd_gemm(&relaxed);
  relaxed.gemm_variants = {{&kQ8Gemm4x8c4WasmUsdot, "wasmrelaxed", true, usdot},
                           {&kQ8Gemm4x8c4WasmSdot, "wasmrelaxed", true, sdot}};
  relaxed.dwconv_variants = {{&kQ8Dwconv3x3p16c4WasmUsdot, "wasmrelaxed", true, usdot},
                             {&kQ8Dwconv9p16c4WasmUsdot, "wasmrelaxed", true, usdot},
                             {&kQ8DwconvUp16c4WasmUsdot, "wasmrelaxed", true, usdot},
                             {&kQ8Dwconv3x3p16c4WasmSdot, "wasmrelaxed", true, sdot},
                             {&kQ8Dwconv9p16c4WasmSdot, "wasmrelaxed", true, sdot},
                             {&kQ8DwconvUp16c4WasmSdot, "wasmrelaxed", true, sdot}};
  levels.push_back(relaxed);
#endif
  for (IsaLevel& level : levels) {
    AddElementwiseKernels(&level);
    AddF32Kernels(&level);
  }
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
  for (const IsaLevel& level : Levels()) {
    if (level.runnable) {
      g_config = level.kernels;
      g_config.isa = level.name;
    }
    if (g_limit == level.name) break;
  }
  g_selected = true;
}

// Adds `e` to `all` unless its kernel is already there (levels share kernels).
template <typename Info>
void AddDistinct(std::vector<MicrokernelEntry<Info>>* all, const MicrokernelEntry<Info>& e) {
  for (const MicrokernelEntry<Info>& a : *all) {
    if (a.info == e.info) return;
  }
  all->push_back(e);
}

// The distinct kernels the table's `member` holds over all levels, each with its level.
template <typename Info>
std::vector<MicrokernelEntry<Info>> Collect(const Info* MicrokernelConfig::*member) {
  std::vector<MicrokernelEntry<Info>> all;
  for (const IsaLevel& level : Levels()) {
    AddDistinct(&all, {level.kernels.*member, level.name, level.runnable, true});
  }
  return all;
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

std::vector<MicrokernelEntry<GemmKernelInfo>> AllGemmKernels() {
  std::vector<MicrokernelEntry<GemmKernelInfo>> all;
  for (const IsaLevel& level : Levels()) {
    for (const MicrokernelEntry<GemmKernelInfo>& e : level.gemm_variants) all.push_back(e);
  }
  return all;
}

std::vector<MicrokernelEntry<DwconvKernelInfo>> AllDwconvKernels() {
  std::vector<MicrokernelEntry<DwconvKernelInfo>> all;
  for (const IsaLevel& level : Levels()) {
    for (const MicrokernelEntry<DwconvKernelInfo>& e : level.dwconv_variants) AddDistinct(&all, e);
  }
  return all;
}

std::vector<MicrokernelEntry<RsumKernelInfo>> AllRsumKernels() {
  return Collect(&MicrokernelConfig::rsum);
}

std::vector<MicrokernelEntry<VaddKernelInfo>> AllVaddKernels() {
  return Collect(&MicrokernelConfig::vadd);
}

std::vector<MicrokernelEntry<LutKernelInfo>> AllLutKernels() {
  return Collect(&MicrokernelConfig::lut);
}

std::vector<MicrokernelEntry<LutChannelsKernelInfo>> AllLutChannelsKernels() {
  return Collect(&MicrokernelConfig::lutc);
}

std::vector<MicrokernelEntry<QuantizeKernelInfo>> AllQuantizeKernels() {
  return Collect(&MicrokernelConfig::quantize);
}

std::vector<MicrokernelEntry<DequantizeKernelInfo>> AllDequantizeKernels() {
  return Collect(&MicrokernelConfig::dequantize);
}

std::vector<MicrokernelEntry<AvgPoolKernelInfo>> AllAvgPoolKernels() {
  return Collect(&MicrokernelConfig::avgpool);
}

std::vector<MicrokernelEntry<VmulKernelInfo>> AllVmulKernels() {
  return Collect(&MicrokernelConfig::vmul);
}

std::vector<MicrokernelEntry<IbilinearKernelInfo>> AllIbilinearKernels() {
  return Collect(&MicrokernelConfig::ibilinear);
}

std::vector<MicrokernelEntry<VaddcKernelInfo>> AllVaddcKernels() {
  return Collect(&MicrokernelConfig::vaddc);
}

std::vector<MicrokernelEntry<F32GemmKernelInfo>> AllF32GemmKernels() {
  return Collect(&MicrokernelConfig::f32_gemm);
}

std::vector<MicrokernelEntry<F32DwconvKernelInfo>> AllF32DwconvKernels() {
  return Collect(&MicrokernelConfig::f32_dwconv);
}

std::vector<MicrokernelEntry<ArgmaxKernelInfo>> AllArgmaxKernels() {
  return Collect(&MicrokernelConfig::argmax);
}

}  // namespace wisp
