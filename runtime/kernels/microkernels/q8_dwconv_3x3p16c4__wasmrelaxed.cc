// Quantized 3x3 depthwise convolution on WebAssembly relaxed SIMD, 16 channels per tile: the
// column scheme of q8_dwconv_3x3p64c4__avx512vnni with the operands of q8_dwconv_9p16c4 (usdot or
// sdot, q8_gemm_4x8c4__wasmrelaxed.cc). The filter is packed a column per group of four slots
// (3 taps and a zero weight, taps_per_group 3), so a group's input is one column of the window:
// along a row of output pixels with stride 1 (or 2) each input column is loaded and interleaved
// once (3 loads, 8 shuffles) and used by the next pixel too, where the 9-tap kernel loads 12
// vectors and shuffles 24 times for every pixel. Channel tiles outer, pixels inner.
//
// The zero fourth slot of a column reads bytes of the zero vector, so the dot product with ones
// that sums a tile's inputs (tiles whose uint8 weights carry a factor, pack.h) sums the column's
// three taps exactly. A tile with fewer than 16 channels left is computed whole (the input rows
// and the zero buffer may be over-read by one tile, dwconv.h) and stored in part.
#include "runtime/kernels/microkernels/dwconv_columns.h"
#include "runtime/kernels/microkernels/microkernels.h"
#include "runtime/kernels/microkernels/wasmrelaxed_dot.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kTile = 16;
// bias, three columns of 4 x 16 weight bytes, scales, factors, needs_sums (pack.h)
constexpr size_t kTileBytes = kTile * 4 + 3 * kTile * 4 + kTile * 4 + kTile * 4 + 16;

// One channel tile along the row. kReuse: 1 (input_stride 3: a column-major 3x3 window with
// stride 1, whose next window starts one column further on), 2 (stride 2), 0 (no sharing known).
template <typename T, bool kFlip, bool kSums, int kReuse>
void TileColumns(size_t n, size_t c0, size_t output_width, const uint8_t* const* input,
                 size_t input_stride, const uint8_t* w, uint8_t* output, size_t channels,
                 const WasmIntClamp& clamp) {
  const uint8_t* weights = w + kTile * 4;
  const uint8_t* tail = weights + 3 * kTile * 4;  // scales, then factors
  const v128_t flip = wasm_i8x16_splat(static_cast<int8_t>(0x80));
  const v128_t zero = wasm_i32x4_splat(0);
  const v128_t ones = wasm_i8x16_splat(1);
  auto column = [&](const uint8_t* const* taps, v128_t v[4]) {
    v128_t x[3];
    for (int q = 0; q < 3; ++q) {
      x[q] = wasm_v128_load(taps[q] + c0);
      if constexpr (kFlip) x[q] = wasm_v128_xor(x[q], flip);
    }
    Interleave4(x[0], x[1], x[2], zero, v);
  };
  v128_t col[3][4];
  for (size_t p = 0; p < output_width; ++p) {
    const uint8_t* const* in = input + p * input_stride;
    NextColumns<kReuse>(p, in, col, column);
    v128_t acc[4], sums[4];
    for (int v = 0; v < 4; ++v) {
      acc[v] = wasm_v128_load(w + 16 * v);
      sums[v] = zero;
    }
    for (int j = 0; j < 3; ++j) {
      for (int v = 0; v < 4; ++v) {
        acc[v] = RelaxedDotAdd(wasm_v128_load(weights + 16 * (4 * j + v)), col[j][v], acc[v]);
        if constexpr (kSums) sums[v] = RelaxedDotAdd(ones, col[j][v], sums[v]);
      }
    }
    if constexpr (kSums) {
      for (int v = 0; v < 4; ++v) {
        acc[v] =
            wasm_i32x4_add(acc[v], wasm_i32x4_mul(sums[v], wasm_v128_load(tail + 64 + 16 * v)));
      }
    }
    WasmStoreDwconvTile16<T>(acc, tail, clamp, output + p * channels + c0, n);
  }
}

template <typename T, bool kFlip, bool kSums>
void TileColumnsAnyStride(size_t n, size_t c0, size_t output_width, const uint8_t* const* input,
                          size_t input_stride, const uint8_t* w, uint8_t* output, size_t channels,
                          const WasmIntClamp& clamp) {
  if (input_stride == 3) {
    TileColumns<T, kFlip, kSums, 1>(n, c0, output_width, input, input_stride, w, output, channels,
                                    clamp);
  } else if (input_stride == 6) {
    TileColumns<T, kFlip, kSums, 2>(n, c0, output_width, input, input_stride, w, output, channels,
                                    clamp);
  } else {
    TileColumns<T, kFlip, kSums, 0>(n, c0, output_width, input, input_stride, w, output, channels,
                                    clamp);
  }
}

template <typename T, bool kFlip>
void DwconvColumns(size_t channels, size_t output_width, size_t taps, const uint8_t* const* input,
                   size_t input_stride, const void* packed_w, uint8_t* output,
                   const QuantEpilogue* e) {
  (void)taps;  // 9
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  for (size_t c0 = 0; c0 < channels; c0 += kTile, w += kTileBytes) {
    const size_t n = channels - c0 < kTile ? channels - c0 : kTile;
    const bool needs_sums = wasm_i32x4_extract_lane(wasm_v128_load(w + kTileBytes - 16), 0) != 0;
    if (needs_sums) {
      TileColumnsAnyStride<T, kFlip, true>(n, c0, output_width, input, input_stride, w, output,
                                           channels, clamp);
    } else {
      TileColumnsAnyStride<T, kFlip, false>(n, c0, output_width, input, input_stride, w, output,
                                            channels, clamp);
    }
  }
}

}  // namespace

// usdot: int8 inputs flipped to unsigned bytes (+128), uint8 inputs as they are.
const DwconvKernelInfo kQ8Dwconv3x3p16c4WasmUsdot = {
    "q8_dwconv_3x3p16c4__wasmusdot", kTile, 9, 4, {128, 0}, DwconvColumns<int8_t, true>,
    DwconvColumns<uint8_t, false>,   1,     3};
// sdot: int8 inputs as they are, uint8 inputs flipped to signed bytes (-128).
const DwconvKernelInfo kQ8Dwconv3x3p16c4WasmSdot = {
    "q8_dwconv_3x3p16c4__wasmsdot", kTile, 9, 4, {0, -128}, DwconvColumns<int8_t, false>,
    DwconvColumns<uint8_t, true>,   1,     3};

}  // namespace wisp
