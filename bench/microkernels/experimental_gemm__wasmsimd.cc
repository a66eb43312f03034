// Candidate SIMD128 GEMM kernels, compiled into the benchmark only, to compare layouts before one
// goes into runtime/kernels/microkernels. Same contract as QGemmFn (int16 weights). Measured in
// Chromium 156: the 4x8c2 "w" kernel (rows widened once per call) won and became
// q8_gemm_4x8c2__wasmsimd; the c8 tiles reduce per channel at the end and lose on small K.
#include <wasm_simd128.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline v128_t Load8Widened(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

inline v128_t ReduceAdd4(v128_t a0, v128_t a1, v128_t a2, v128_t a3) {
  const v128_t a01 = wasm_i32x4_add(wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5),
                                    wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7));
  const v128_t a23 = wasm_i32x4_add(wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5),
                                    wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(a01, a23, 0, 1, 4, 5),
                        wasm_i32x4_shuffle(a01, a23, 2, 3, 6, 7));
}

// MR x 4 c8.
template <typename T, int kMr>
void GemmC8(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
            const void* packed_w, uint8_t* c, size_t c_stride, const int32_t*,
            const QuantEpilogue* e) {
  const size_t kcp = (kc + 7) / 8 * 8;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  GemmWindow win[kMr];
  uint8_t* out[kMr];
  for (int r = 0; r < kMr; ++r) {
    const size_t rr = std::min<size_t>(r, mr - 1);
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
  }
  for (size_t n0 = 0; n0 < nc; n0 += 4) {
    const v128_t bias = wasm_v128_load(w);
    w += 16;
    v128_t acc[kMr][4];
    for (int r = 0; r < kMr; ++r)
      for (int j = 0; j < 4; ++j) acc[r][j] = wasm_i32x4_splat(0);
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* a[kMr];
      for (int r = 0; r < kMr; ++r) a[r] = win[r][t];
      for (size_t k = 0; k < kcp; k += 8) {
        v128_t x[kMr];
        for (int r = 0; r < kMr; ++r) x[r] = Load8Widened<T>(a[r] + k);
        for (int j = 0; j < 4; ++j) {
          const v128_t wj = wasm_v128_load(w + 16 * j);
          for (int r = 0; r < kMr; ++r)
            acc[r][j] = wasm_i32x4_add(acc[r][j], wasm_i32x4_dot_i16x8(x[r], wj));
        }
        w += 64;
      }
    }
    const v128_t scale = wasm_v128_load(w);
    w += 16;
    const size_t n = std::min<size_t>(4, nc - n0);
    for (int r = kMr - 1; r >= 0; --r) {
      const v128_t q = WasmRequantize4(
          wasm_i32x4_add(bias, ReduceAdd4(acc[r][0], acc[r][1], acc[r][2], acc[r][3])), scale, *e);
      const v128_t b = WasmNarrow8<T>(q, q);
      if (n == 4)
        wasm_v128_store32_lane(out[r] + n0, b, 0);
      else
        WasmStorePartial(out[r] + n0, b, n);
    }
  }
}

// MR x 8 c2 with the rows widened to int16 once per call (ks * kcp <= 2048), then the pair of
// inputs splat against 4 channels x 2 k per weight vector.
template <typename T, int kMr>
void GemmC2(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
            const void* packed_w, uint8_t* c, size_t c_stride, const int32_t*,
            const QuantEpilogue* e) {
  const size_t kcp = (kc + 1) / 2 * 2;
  const size_t kall = ks * kcp;
  alignas(16) int16_t wide[kMr][2048 + 8];
  for (int r = 0; r < kMr; ++r) {
    const GemmWindow wr = windows[std::min<size_t>(r, mr - 1)];
    for (size_t t = 0; t < ks; ++t) {
      const T* x = reinterpret_cast<const T*>(wr[t]);
      int16_t* d = wide[r] + t * kcp;
      size_t k = 0;
      for (; k + 8 <= kc; k += 8) wasm_v128_store(d + k, Load8Widened<T>(wr[t] + k));
      for (; k < kcp; ++k) d[k] = k < kc ? static_cast<int16_t>(x[k]) : 0;
    }
  }
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  uint8_t* out[kMr];
  for (int r = 0; r < kMr; ++r) out[r] = c + std::min<size_t>(r, mr - 1) * c_stride;
  for (size_t n0 = 0; n0 < nc; n0 += 8) {
    v128_t lo[kMr], hi[kMr];
    const v128_t b_lo = wasm_v128_load(w), b_hi = wasm_v128_load(w + 16);
    w += 32;
    for (int r = 0; r < kMr; ++r) lo[r] = b_lo, hi[r] = b_hi;
    for (size_t k = 0; k < kall; k += 2) {
      const v128_t w_lo = wasm_v128_load(w), w_hi = wasm_v128_load(w + 16);
      w += 32;
      for (int r = 0; r < kMr; ++r) {
        const v128_t x = wasm_v128_load32_splat(wide[r] + k);
        lo[r] = wasm_i32x4_add(lo[r], wasm_i32x4_dot_i16x8(x, w_lo));
        hi[r] = wasm_i32x4_add(hi[r], wasm_i32x4_dot_i16x8(x, w_hi));
      }
    }
    const v128_t s_lo = wasm_v128_load(w), s_hi = wasm_v128_load(w + 16);
    w += 32;
    const size_t n = std::min<size_t>(8, nc - n0);
    for (int r = kMr - 1; r >= 0; --r) {
      const v128_t b =
          WasmNarrow8<T>(WasmRequantize4(lo[r], s_lo, *e), WasmRequantize4(hi[r], s_hi, *e));
      if (n == 8)
        wasm_v128_store64_lane(out[r] + n0, b, 0);
      else
        WasmStorePartial(out[r] + n0, b, n);
    }
  }
}

const GemmKernelInfo kC8x2 = {"x_gemm_2x4c8__wasmsimd", GemmLayout{2, 4, 8, 2, {0, 0}},
                              GemmC8<int8_t, 2>, GemmC8<uint8_t, 2>};
const GemmKernelInfo kC8x4 = {"x_gemm_4x4c8__wasmsimd", GemmLayout{4, 4, 8, 2, {0, 0}},
                              GemmC8<int8_t, 4>, GemmC8<uint8_t, 4>};
const GemmKernelInfo kC2x4 = {"x_gemm_4x8c2w__wasmsimd", GemmLayout{4, 8, 2, 2, {0, 0}},
                              GemmC2<int8_t, 4>, GemmC2<uint8_t, 4>};
const GemmKernelInfo kC2x3 = {"x_gemm_3x8c2w__wasmsimd", GemmLayout{3, 8, 2, 2, {0, 0}},
                              GemmC2<int8_t, 3>, GemmC2<uint8_t, 3>};
const GemmKernelInfo kC2x5 = {"x_gemm_5x8c2w__wasmsimd", GemmLayout{5, 8, 2, 2, {0, 0}},
                              GemmC2<int8_t, 5>, GemmC2<uint8_t, 5>};

}  // namespace

std::vector<MicrokernelEntry<GemmKernelInfo>> ExperimentalGemmKernels() {
  return {{&kC8x2, "wasmsimd", true, true},
          {&kC8x4, "wasmsimd", true, true},
          {&kC2x3, "wasmsimd", true, true},
          {&kC2x4, "wasmsimd", true, true},
          {&kC2x5, "wasmsimd", true, true}};
}

}  // namespace wisp
