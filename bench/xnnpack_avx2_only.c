// LD_PRELOAD shim for bench/native_vs_xnnpack.sh: cpuinfo reports no AVX-512 extension, so
// XNNPACK 2022 runs the AVX2 kernels it would pick on a CPU without AVX-512 (and so without
// VNNI: Haswell to Comet Lake, Zen 1-3). That is the like-for-like peer of Wisp's forced AVX2
// level (WISP_ISA=avx2); XNNPACK unshimmed runs its AVX-512 kernels here. XNNPACK asks cpuinfo
// once, in xnn_initialize, after cpuinfo_initialize has filled the exported cpuinfo_isa flags
// that cpuinfo.h's cpuinfo_has_x86_* inline functions read: the shim wraps that call.
#define _GNU_SOURCE
#include <cpuinfo.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

bool cpuinfo_initialize(void) {
  bool (*real)(void) = (bool (*)(void))dlsym(RTLD_NEXT, "cpuinfo_initialize");
  if (real == NULL || !real()) return false;
  struct cpuinfo_x86_isa* isa = (struct cpuinfo_x86_isa*)dlsym(RTLD_NEXT, "cpuinfo_isa");
  if (isa == NULL) {
    // A cpuinfo without the exported flags: XNNPACK keeps its own choice, and the table's AVX2
    // rows would be mislabelled, so say so.
    fputs("xnnpack_avx2_only: cpuinfo_isa not found; XNNPACK runs its usual kernels\n", stderr);
    return true;
  }
  isa->avx512f = isa->avx512cd = isa->avx512dq = isa->avx512bw = isa->avx512vl = false;
  isa->avx512ifma = isa->avx512vbmi = isa->avx512vbmi2 = isa->avx512bitalg = false;
  isa->avx512vpopcntdq = isa->avx512vnni = isa->avx512bf16 = isa->avx512vp2intersect = false;
  isa->avx512pf = isa->avx512er = isa->avx512_4vnniw = isa->avx512_4fmaps = false;
  return true;
}
