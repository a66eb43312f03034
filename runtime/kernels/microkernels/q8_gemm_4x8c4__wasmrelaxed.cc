// Quantized GEMM on WebAssembly relaxed SIMD, 4 rows x 8 channels per register block, 4 k per
// step: i32x4.relaxed_dot_i8x16_i7x16_add_s multiplies 4 weights by 4 inputs per lane and adds
// to the accumulator (one vpdpbusd where the engine has VNNI), 16 multiply-adds an instruction.
//
// The instruction's result is only specified for a second operand in 0..127; outside it, engines
// differ. RelaxedDotSemantics() below measures the engine's answer once, on crafted vectors, and
// config.cc picks the variant that is exact under it:
//   usdot  the second operand is read as an unsigned byte with no saturation (V8 with VNNI):
//          inputs go in as x + 128 (int8 flipped by XOR 0x80) or x (uint8);
//   sdot   both operands signed (Arm sdot): inputs go in as x (int8) or x - 128 (uint8);
// and neither when the engine saturates pairs (pmaddubsw lowering without VNNI) or returns a
// wrong accumulator (V8 11.3's Liftoff bug): then the SIMD128 kernels run. The weights are the
// first, signed, operand (pack.h makes them signed bytes). How the instruction is emitted:
// wasmrelaxed_dot.h.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmrelaxed_dot.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kMr = 4, kNr = 8, kKr = 4;

// kFlip: XOR the input bytes with 0x80 (the +-128 input shift of the variant and dtype).
// R rows are computed (the register block's rows, or 1: a fully connected layer of batch 1 would
// otherwise compute its one row four times). With one row the two accumulators alone would wait
// on each other's dot latency, so alternate k steps go to a second pair, added at the end.
template <typename T, bool kFlip, int R>
void GemmRows(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
              const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
              const QuantEpilogue* e) {
  const size_t kcp = (kc + kKr - 1) / kKr * kKr;
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  const v128_t flip = wasm_i8x16_splat(static_cast<int8_t>(0x80));
  // In registers for the whole call: read through *e after each block's byte stores, which may
  // alias it as far as the compiler knows, the constants were loaded and splatted again per row.
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  GemmWindow win[R];
  uint8_t* out[R];
  for (int r = 0; r < R; ++r) {
    const size_t rr = std::min<size_t>(r, mr - 1);
    win[r] = windows[rr];
    out[r] = c + rr * c_stride;
  }
  auto input = [&](const uint8_t* p) {
    v128_t x = wasm_v128_load32_splat(p);
    if constexpr (kFlip) x = wasm_v128_xor(x, flip);
    return x;
  };
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    const v128_t bias_lo = wasm_v128_load(w);
    const v128_t bias_hi = wasm_v128_load(w + 16);
    w += 32;
    v128_t lo[R], hi[R];
    for (int r = 0; r < R; ++r) {
      lo[r] = bias_lo;
      hi[r] = bias_hi;
    }
    v128_t lo2 = wasm_i32x4_splat(0), hi2 = wasm_i32x4_splat(0);  // R == 1 only
    for (size_t t = 0; t < ks; ++t) {
      const uint8_t* a[R];
      for (int r = 0; r < R; ++r) a[r] = win[r][t];
      size_t k = 0;
      if constexpr (R == 1) {
        for (; k + 2 * kKr <= kcp; k += 2 * kKr) {
          const v128_t x0 = input(a[0] + k), x1 = input(a[0] + k + kKr);
          lo[0] = RelaxedDotAdd(wasm_v128_load(w), x0, lo[0]);
          hi[0] = RelaxedDotAdd(wasm_v128_load(w + 16), x0, hi[0]);
          lo2 = RelaxedDotAdd(wasm_v128_load(w + 32), x1, lo2);
          hi2 = RelaxedDotAdd(wasm_v128_load(w + 48), x1, hi2);
          w += 64;
        }
      }
      for (; k < kcp; k += kKr) {
        const v128_t w_lo = wasm_v128_load(w);
        const v128_t w_hi = wasm_v128_load(w + 16);
        w += 32;
        for (int r = 0; r < R; ++r) {
          const v128_t x = input(a[r] + k);
          lo[r] = RelaxedDotAdd(w_lo, x, lo[r]);
          hi[r] = RelaxedDotAdd(w_hi, x, hi[r]);
        }
      }
    }
    if constexpr (R == 1) {
      lo[0] = wasm_i32x4_add(lo[0], lo2);
      hi[0] = wasm_i32x4_add(hi[0], hi2);
    }
    if (row_sums != nullptr) WasmAddRowSumFactors<R>(lo, hi, w + 32, row_sums, mr);
    WasmStoreGemmBlock8<T, R>(lo, hi, w, clamp, out, n0, std::min<size_t>(kNr, nc - n0));
    w += 64;
  }
}

template <typename T, bool kFlip>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  if (mr == 1) {
    GemmRows<T, kFlip, 1>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  } else {
    GemmRows<T, kFlip, kMr>(mr, nc, kc, ks, windows, packed_w, c, c_stride, row_sums, e);
  }
}

}  // namespace

// usdot: int8 inputs flipped to unsigned bytes (+128), uint8 inputs as they are.
const GemmKernelInfo kQ8Gemm4x8c4WasmUsdot = {
    "q8_gemm_4x8c4__wasmusdot", GemmLayout{kMr, kNr, kKr, 1, {128, 0}},
    Gemm<int8_t, true>,         Gemm<uint8_t, false>,
    kQ8RowSumsWasmsimdQs8,      kQ8RowSumsWasmsimdQu8,
    Gemm<int8_t, false>};
// sdot: int8 inputs as they are, uint8 inputs flipped to signed bytes (-128).
const GemmKernelInfo kQ8Gemm4x8c4WasmSdot = {
    "q8_gemm_4x8c4__wasmsdot", GemmLayout{kMr, kNr, kKr, 1, {0, -128}},
    Gemm<int8_t, false>,       Gemm<uint8_t, true>,
    kQ8RowSumsWasmsimdQs8,     kQ8RowSumsWasmsimdQu8};

RelaxedDot RelaxedDotSemantics() {
  // Volatile, so neither clang nor binaryen can fold the probe at build time.
  static volatile int8_t a[16], b[16];
  static volatile int32_t acc[4];
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<int8_t>(i * 37 - 100);
    b[i] = static_cast<int8_t>(i * 53 + 135);  // bytes above 127 in most lanes
  }
  // A pair whose sum saturates int16 when the engine multiplies with pmaddubsw.
  a[0] = a[1] = -128;
  b[0] = b[1] = static_cast<int8_t>(0xFF);
  for (int i = 0; i < 4; ++i) acc[i] = i * 1000 - 7;
  int8_t av[16], bv[16];
  int32_t cv[4];
  for (int i = 0; i < 16; ++i) {
    av[i] = a[i];
    bv[i] = b[i];
  }
  for (int i = 0; i < 4; ++i) cv[i] = acc[i];
  int32_t got[4];
  wasm_v128_store(got, RelaxedDotAdd(wasm_v128_load(av), wasm_v128_load(bv), wasm_v128_load(cv)));
  bool usdot = true, sdot = true;
  for (int l = 0; l < 4; ++l) {
    int32_t u = cv[l], s = cv[l];
    for (int q = 0; q < 4; ++q) {
      u += av[4 * l + q] * static_cast<int32_t>(static_cast<uint8_t>(bv[4 * l + q]));
      s += av[4 * l + q] * static_cast<int32_t>(bv[4 * l + q]);
    }
    usdot = usdot && got[l] == u;
    sdot = sdot && got[l] == s;
  }
  return usdot ? RelaxedDot::kUnsignedSecond : sdot ? RelaxedDot::kSigned : RelaxedDot::kUnusable;
}

}  // namespace wisp
