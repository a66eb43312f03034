// float32 -> 8-bit quantization (convert.h) on WebAssembly SIMD128, 16 values per step, as
// XNNPACK's f32-qs8-vcvt-wasmsimd-magic: multiply, clamp in float (upper bound first: pmin keeps
// its first operand when the other is NaN), add the magic bias, subtract its bits, narrow. The tail
// runs on a copy padded to 16.
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

struct Consts {
  v128_t scale, min, max, magic, magic_minus_zp;
};

inline v128_t Quantize4(v128_t x, const Consts& k) {
  x = wasm_f32x4_mul(x, k.scale);
  x = wasm_f32x4_pmin(k.max, x);  // x < max ? x : max (NaN -> max)
  x = wasm_f32x4_pmax(k.min, x);  // min < x ? x : min
  x = wasm_f32x4_add(x, k.magic);
  return wasm_i32x4_sub(x, k.magic_minus_zp);
}

template <typename T>
void Quantize(size_t n, const float* input, uint8_t* output, float inv_scale,
              const QuantEpilogue* e) {
  const Consts k = {wasm_f32x4_splat(inv_scale), wasm_f32x4_splat(e->min), wasm_f32x4_splat(e->max),
                    wasm_f32x4_splat(kMagicBias), wasm_i32x4_splat(e->magic_minus_zero_point)};
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const float* x = input + i;
    const v128_t q0 = Quantize4(wasm_v128_load(x), k);
    const v128_t q1 = Quantize4(wasm_v128_load(x + 4), k);
    const v128_t q2 = Quantize4(wasm_v128_load(x + 8), k);
    const v128_t q3 = Quantize4(wasm_v128_load(x + 12), k);
    wasm_v128_store(output + i, WasmNarrow16<T>(q0, q1, q2, q3));
  }
  if (i < n) {
    float x[16] = {};
    std::memcpy(x, input + i, (n - i) * sizeof(float));
    const v128_t v =
        WasmNarrow16<T>(Quantize4(wasm_v128_load(x), k), Quantize4(wasm_v128_load(x + 4), k),
                        Quantize4(wasm_v128_load(x + 8), k), Quantize4(wasm_v128_load(x + 12), k));
    WasmStorePartial(output + i, v, n - i);
  }
}

}  // namespace

const QuantizeKernelInfo kF32Q8Cvt16Wasmsimd = {"f32_q8_cvt_16__wasmsimd", Quantize<int8_t>,
                                                Quantize<uint8_t>};

}  // namespace wisp
