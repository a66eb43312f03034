// Quantized bilinear interpolation of one output row (ibilinear.h) on WebAssembly SIMD128, eight
// channels per step: bytes loaded widened to int16 (v128.load8x8), left and right interleaved
// word by word so that one i32x4.dot_i16x8_s (x86 pmaddwd) computes the horizontal pass
// l * (2^11 - alpha_h) + r * alpha_h = l * 2^11 + (r - l) * alpha_h exactly (an extended multiply
// per term costs V8 three x86 instructions), the vertical pass in int32. The results are within
// the 8-bit range, so the saturating narrowing is exact. A pixel whose channel count is not a
// multiple of 8 (but at least 8) ends with a step over its last 8 channels, overlapping the one
// before (deeplabv3's 21 classes: three steps instead of two and five scalar channels); fewer than
// 8 channels take the scalar formula.
#include <type_traits>

#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

template <typename T>
inline v128_t Load8(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

// Channels c .. c + 7 of one output pixel.
template <typename T>
inline void Step(const uint8_t* tl, const uint8_t* tr, const uint8_t* bl, const uint8_t* br,
                 v128_t weights_h, v128_t av, v128_t rounding, uint8_t* out) {
  const v128_t vtl = Load8<T>(tl), vtr = Load8<T>(tr);
  const v128_t vbl = Load8<T>(bl), vbr = Load8<T>(br);
  const v128_t t_lo =
      wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(vtl, vtr, 0, 8, 1, 9, 2, 10, 3, 11), weights_h);
  const v128_t t_hi =
      wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(vtl, vtr, 4, 12, 5, 13, 6, 14, 7, 15), weights_h);
  const v128_t b_lo =
      wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(vbl, vbr, 0, 8, 1, 9, 2, 10, 3, 11), weights_h);
  const v128_t b_hi =
      wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(vbl, vbr, 4, 12, 5, 13, 6, 14, 7, 15), weights_h);
  auto vertical = [&](v128_t t, v128_t b) {
    const v128_t acc =
        wasm_i32x4_add(wasm_i32x4_shl(t, 11), wasm_i32x4_mul(wasm_i32x4_sub(b, t), av));
    return wasm_i32x4_shr(wasm_i32x4_add(acc, rounding), 22);
  };
  wasm_v128_store64_lane(out, WasmNarrow8<T>(vertical(t_lo, b_lo), vertical(t_hi, b_hi)), 0);
}

template <typename T>
void Ibilinear(size_t width, size_t channels, const uint8_t* top, const uint8_t* bottom,
               const IbilinearColumn* columns, int32_t alpha_v, uint8_t* output) {
  const v128_t av = wasm_i32x4_splat(alpha_v);
  const v128_t rounding = wasm_i32x4_splat(1 << 21);
  for (size_t p = 0; p < width; ++p, output += channels) {
    const IbilinearColumn& col = columns[p];
    // Per 32-bit lane the pair (2^11 - alpha_h, alpha_h), the weights of (left, right).
    const v128_t weights_h = wasm_i32x4_splat(static_cast<int32_t>(
        (static_cast<uint32_t>(col.alpha) << 16) | static_cast<uint32_t>(2048 - col.alpha)));
    const uint8_t* tl = top + col.left;
    const uint8_t* tr = top + col.right;
    const uint8_t* bl = bottom + col.left;
    const uint8_t* br = bottom + col.right;
    if (channels < 8) {
      IbilinearChannels<T>(0, channels, tl, tr, bl, br, col.alpha, alpha_v, output);
      continue;
    }
    for (size_t c = 0;; c += 8) {
      if (c + 8 > channels) c = channels - 8;
      Step<T>(tl + c, tr + c, bl + c, br + c, weights_h, av, rounding, output + c);
      if (c + 8 == channels) break;
    }
  }
}

}  // namespace

const IbilinearKernelInfo kQ8Ibilinear8cWasmsimd = {"q8_ibilinear_8c__wasmsimd", Ibilinear<int8_t>,
                                                    Ibilinear<uint8_t>};

}  // namespace wisp
