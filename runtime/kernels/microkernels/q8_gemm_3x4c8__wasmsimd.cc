// Quantized GEMM on WebAssembly SIMD128, 3 rows x 4 channels per register block, 8 k per step:
// each row's 8 inputs are loaded widened to int16 (i16x8.load8x8_s/u) and meet each channel's 8
// int16 weights in one i32x4.dot_i16x8_s (x86 pmaddwd), 12 accumulators of partial sums that a
// final transpose-and-add reduces to one i32 per channel. Three rows keep the 12 accumulators
// and the operands within the 15 vector registers V8 allocates on x64 (four rows spill).
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kMr = 3, kNr = 4, kKr = 8;

template <typename T>
inline v128_t Load8Widened(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

// [sum a0, sum a1, sum a2, sum a3]
inline v128_t ReduceAdd4(v128_t a0, v128_t a1, v128_t a2, v128_t a3) {
  const v128_t a01 = wasm_i32x4_add(wasm_i32x4_shuffle(a0, a1, 0, 4, 1, 5),
                                    wasm_i32x4_shuffle(a0, a1, 2, 6, 3, 7));
  const v128_t a23 = wasm_i32x4_add(wasm_i32x4_shuffle(a2, a3, 0, 4, 1, 5),
                                    wasm_i32x4_shuffle(a2, a3, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(a01, a23, 0, 1, 4, 5),
                        wasm_i32x4_shuffle(a01, a23, 2, 3, 6, 7));
}

template <typename T>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  (void)row_sums;  // int16 weights never need row sums
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  const GemmWindow win0 = windows[0];
  const GemmWindow win1 = windows[std::min<size_t>(1, mr - 1)];
  const GemmWindow win2 = windows[std::min<size_t>(2, mr - 1)];
  uint8_t* c0 = c;
  uint8_t* c1 = mr > 1 ? c + c_stride : c;
  uint8_t* c2 = mr > 2 ? c + 2 * c_stride : c1;
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    const v128_t bias = wasm_v128_load(w);
    w += 16;
    v128_t acc0[kNr], acc1[kNr], acc2[kNr];
    for (int j = 0; j < kNr; ++j) acc0[j] = acc1[j] = acc2[j] = wasm_i32x4_splat(0);
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* a0 = win0[t];
      const uint8_t* a1 = win1[t];
      const uint8_t* a2 = win2[t];
      for (size_t k = 0; k < kcp; k += kKr) {
        const v128_t x0 = Load8Widened<T>(a0 + k);
        const v128_t x1 = Load8Widened<T>(a1 + k);
        const v128_t x2 = Load8Widened<T>(a2 + k);
        for (int j = 0; j < kNr; ++j) {
          const v128_t wj = wasm_v128_load(w + 16 * j);
          acc0[j] = wasm_i32x4_add(acc0[j], wasm_i32x4_dot_i16x8(x0, wj));
          acc1[j] = wasm_i32x4_add(acc1[j], wasm_i32x4_dot_i16x8(x1, wj));
          acc2[j] = wasm_i32x4_add(acc2[j], wasm_i32x4_dot_i16x8(x2, wj));
        }
        w += 16 * kNr;
      }
    }
    const v128_t scale = wasm_v128_load(w);
    w += 16;
    const v128_t q0 = WasmRequantize4(
        wasm_i32x4_add(bias, ReduceAdd4(acc0[0], acc0[1], acc0[2], acc0[3])), scale, *e);
    const v128_t q1 = WasmRequantize4(
        wasm_i32x4_add(bias, ReduceAdd4(acc1[0], acc1[1], acc1[2], acc1[3])), scale, *e);
    const v128_t q2 = WasmRequantize4(
        wasm_i32x4_add(bias, ReduceAdd4(acc2[0], acc2[1], acc2[2], acc2[3])), scale, *e);
    const v128_t b01 = WasmNarrow16<T>(q0, q1, q2, q2);  // bytes 0-3 row 0, 4-7 row 1, 8-11 row 2
    if (nc - n0 >= kNr) {
      wasm_v128_store32_lane(c2 + n0, b01, 2);
      wasm_v128_store32_lane(c1 + n0, b01, 1);
      wasm_v128_store32_lane(c0 + n0, b01, 0);
    } else {
      const size_t n = nc - n0;
      WasmStorePartial(c2 + n0, wasm_i32x4_shuffle(b01, b01, 2, 2, 2, 2), n);
      WasmStorePartial(c1 + n0, wasm_i32x4_shuffle(b01, b01, 1, 1, 1, 1), n);
      WasmStorePartial(c0 + n0, b01, n);
    }
  }
}

}  // namespace

const GemmKernelInfo kQ8Gemm3x4c8Wasmsimd = {
    "q8_gemm_3x4c8__wasmsimd", GemmLayout{kMr, kNr, kKr, 2, {0, 0}}, Gemm<int8_t>, Gemm<uint8_t>};

}  // namespace wisp
