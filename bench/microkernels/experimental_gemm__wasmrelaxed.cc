// Candidate relaxed-SIMD GEMM tiles, compiled into the benchmark only (usdot operand order,
// uint8 inputs read unflipped, as the flipped-input entry points read int8). Measured in
// Chromium 156: 4x8 is the fastest; 5x8, 6x8 and 3x16 spill (V8 allocates 15 xmm registers)
// and run at 55-65% of it; 2x16 and 1x32 are 10-20% slower on large K and worse on small K.
#include <wasm_simd128.h>

#include <algorithm>
#include <vector>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

typedef int32_t I32x4 __attribute__((vector_size(16)));
inline v128_t RelaxedDotAdd(v128_t w, v128_t x, v128_t acc) {
  return reinterpret_cast<v128_t>(__builtin_wasm_laneselect_i32x4(
      reinterpret_cast<I32x4>(w), reinterpret_cast<I32x4>(x), reinterpret_cast<I32x4>(acc)));
}

template <typename T, int kMr, int kNr>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t*,
          const QuantEpilogue* e) {
  constexpr int kV = kNr / 4;
  const size_t kcp = (kc + 3) / 4 * 4;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  GemmWindow win[kMr];
  uint8_t* out[kMr];
  for (int r = 0; r < kMr; ++r) {
    const size_t rr = std::min<size_t>(r, mr - 1);
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
  }
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    v128_t acc[kMr][kV];
    for (int v = 0; v < kV; ++v) {
      const v128_t b = wasm_v128_load(w + 16 * v);
      for (int r = 0; r < kMr; ++r) acc[r][v] = b;
    }
    w += 16 * kV;
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* a[kMr];
      for (int r = 0; r < kMr; ++r) a[r] = win[r][t];
      for (size_t k = 0; k < kcp; k += 4) {
        v128_t wv[kV];
        for (int v = 0; v < kV; ++v) wv[v] = wasm_v128_load(w + 16 * v);
        w += 16 * kV;
        for (int r = 0; r < kMr; ++r) {
          const v128_t x = wasm_v128_load32_splat(a[r] + k);
          for (int v = 0; v < kV; ++v) acc[r][v] = RelaxedDotAdd(wv[v], x, acc[r][v]);
        }
      }
    }
    v128_t scale[kV];
    for (int v = 0; v < kV; ++v) scale[v] = wasm_v128_load(w + 16 * v);
    w += 32 * kV;
    const size_t n = std::min<size_t>(kNr, nc - n0);
    for (int r = kMr - 1; r >= 0; --r) {
      for (int v = 0; v < kV; v += 2) {
        const v128_t q0 = WasmRequantize4(acc[r][v], scale[v], *e);
        const v128_t q1 = v + 1 < kV ? WasmRequantize4(acc[r][v + 1], scale[v + 1], *e) : q0;
        const v128_t b = WasmNarrow8<T>(q0, q1);
        const size_t off = static_cast<size_t>(v) * 4;
        if (off + 8 <= n)
          wasm_v128_store64_lane(out[r] + n0 + off, b, 0);
        else if (off < n)
          WasmStorePartial(out[r] + n0 + off, b, n - off);
      }
    }
  }
}

#define ENTRY(MR, NR)                                                                            \
  const GemmKernelInfo k##MR##x##NR = {"x_gemm_" #MR "x" #NR "c4__wasmusdot",                    \
                                       GemmLayout{MR, NR, 4, 1, {128, 0}}, Gemm<int8_t, MR, NR>, \
                                       Gemm<uint8_t, MR, NR>};
ENTRY(4, 8)
ENTRY(5, 8)
ENTRY(6, 8)
ENTRY(2, 16)
ENTRY(3, 16)
ENTRY(1, 32)

}  // namespace

std::vector<MicrokernelEntry<GemmKernelInfo>> ExperimentalGemmKernels() {
  return {{&k4x8, "wasmrelaxed", true, false},  {&k5x8, "wasmrelaxed", true, false},
          {&k6x8, "wasmrelaxed", true, false},  {&k2x16, "wasmrelaxed", true, false},
          {&k3x16, "wasmrelaxed", true, false}, {&k1x32, "wasmrelaxed", true, false}};
}

}  // namespace wisp
