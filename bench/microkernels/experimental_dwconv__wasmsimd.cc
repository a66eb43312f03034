// Candidate SIMD128 3x3 depthwise scheme, benchmark only: "pair rows". Each input row pair
// (r, r + 1) is widened to int16 and interleaved once per invoke into a pair row (per pixel and
// channel the two rows' values side by side, the layout i32x4.dot_i16x8_s reads), so that the
// kernel needs no widening or shuffle: a 3x3 window is, per column, one pair (rows 0 and 1) from
// the upper pair row and one (row 2 and a zero weight) from the lower; optionally two output
// pixels per step share each weight load. Run with `-- exp_dwconv` (bench/README.md).
//
// Measured in Chromium 156 (2026-12-07, MobileNetV2's depthwise shapes, one new pair row built per
// output row as stride 1 needs): 7.5-9.0 GMAC/s, two pixels per step 6.7-8.9, against 11.5-12.8
// for the production q8_dwconv_up16c2__wasmsimd. The kernel has no widening or shuffles left, but
// it issues a third more multiply-adds (the zero-weighted fourth row) and reads four bytes per
// input value and tap pair instead of one: the pair rows of a 56-pixel, 144-channel row are 33 KB
// each and no longer sit in L1 with the rest. Not adopted.
#include <wasm_simd128.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "bench/microkernels/bench_timing.h"
#include "runtime/kernels/microkernels/wasmsimd_epilogue.h"

namespace wisp {
namespace {

constexpr int kTile = 16;
constexpr size_t kTileBytes = 64 + 6 * 64 + 64;  // bias, 3 columns x (upper, lower), scales

template <typename T>
inline v128_t Load8Widened(const uint8_t* p) {
  if constexpr (std::is_same_v<T, int8_t>) return wasm_i16x8_load8x8(p);
  return wasm_u16x8_load8x8(p);
}

// Pair row of input rows a and b: pixels [0, pixels), channels padded to cp (multiple of 8).
template <typename T>
void BuildPairRow(const uint8_t* a, const uint8_t* b, size_t pixels, size_t c, size_t cp,
                  int16_t* out) {
  for (size_t x = 0; x < pixels; ++x, a += c, b += c, out += 2 * cp) {
    for (size_t k = 0; k < cp; k += 8) {
      const v128_t va = Load8Widened<T>(a + k), vb = Load8Widened<T>(b + k);
      wasm_v128_store(out + 2 * k, wasm_i16x8_shuffle(va, vb, 0, 8, 1, 9, 2, 10, 3, 11));
      wasm_v128_store(out + 2 * k + 8, wasm_i16x8_shuffle(va, vb, 4, 12, 5, 13, 6, 14, 7, 15));
    }
  }
}

inline v128_t Dot(v128_t acc, const int16_t* x, v128_t w) {
  return wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_load(x), w));
}

template <typename T>
inline void Store(const v128_t* acc, const uint8_t* scales, const WasmIntClamp& clamp,
                  uint8_t* out) {
  const v128_t q0 = WasmRequantizeIntClamp4(acc[0], wasm_v128_load(scales), clamp);
  const v128_t q1 = WasmRequantizeIntClamp4(acc[1], wasm_v128_load(scales + 16), clamp);
  const v128_t q2 = WasmRequantizeIntClamp4(acc[2], wasm_v128_load(scales + 32), clamp);
  const v128_t q3 = WasmRequantizeIntClamp4(acc[3], wasm_v128_load(scales + 48), clamp);
  wasm_v128_store(out, WasmNarrowClamp16<T>(q0, q1, q2, q3, clamp));
}

// Stride 1, channels a multiple of 16 (the experiment's shapes). kTwoPixels: two output pixels
// per step, sharing each weight load.
template <typename T, bool kTwoPixels>
void DwPairRows(size_t channels, size_t cp, size_t out_w, const int16_t* upper,
                const int16_t* lower, const uint8_t* packed, uint8_t* output,
                const QuantEpilogue* e) {
  const WasmIntClamp clamp = MakeWasmIntClamp<T>(*e);
  const size_t px = 2 * cp;  // int16 per pair-row pixel
  size_t p = 0;
  for (; kTwoPixels && p + 2 <= out_w; p += 2) {
    const uint8_t* w = packed;
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += kTileBytes) {
      v128_t a0[4], a1[4];
      for (int v = 0; v < 4; ++v) a0[v] = a1[v] = wasm_v128_load(w + 16 * v);
      const uint8_t* wk = w + 64;
      for (int kx = 0; kx < 3; ++kx, wk += 128) {
        const int16_t* u = upper + (p + kx) * px + 2 * c0;
        const int16_t* l = lower + (p + kx) * px + 2 * c0;
        for (int v = 0; v < 4; ++v) {
          const v128_t wu = wasm_v128_load(wk + 16 * v);
          a0[v] = Dot(a0[v], u + 8 * v, wu);
          a1[v] = Dot(a1[v], u + px + 8 * v, wu);
          const v128_t wl = wasm_v128_load(wk + 64 + 16 * v);
          a0[v] = Dot(a0[v], l + 8 * v, wl);
          a1[v] = Dot(a1[v], l + px + 8 * v, wl);
        }
      }
      Store<T>(a0, wk, clamp, output + p * channels + c0);
      Store<T>(a1, wk, clamp, output + (p + 1) * channels + c0);
    }
  }
  for (; p < out_w; ++p) {
    const uint8_t* w = packed;
    for (size_t c0 = 0; c0 < channels; c0 += kTile, w += kTileBytes) {
      v128_t a0[4];
      for (int v = 0; v < 4; ++v) a0[v] = wasm_v128_load(w + 16 * v);
      const uint8_t* wk = w + 64;
      for (int kx = 0; kx < 3; ++kx, wk += 128) {
        const int16_t* u = upper + (p + kx) * px + 2 * c0;
        const int16_t* l = lower + (p + kx) * px + 2 * c0;
        for (int v = 0; v < 4; ++v) {
          a0[v] = Dot(a0[v], u + 8 * v, wasm_v128_load(wk + 16 * v));
          a0[v] = Dot(a0[v], l + 8 * v, wasm_v128_load(wk + 64 + 16 * v));
        }
      }
      Store<T>(a0, wk, clamp, output + p * channels + c0);
    }
  }
}

template <typename T, bool kTwoPixels>
void BenchShape(int pixels, int channels, double min_us) {
  std::mt19937 rng(3);
  const int width = 56, rows = std::max(1, pixels / width);
  const size_t c = static_cast<size_t>(channels), cp = c;
  std::vector<uint8_t> packed(kTileBytes * (c / kTile));
  for (uint8_t& b : packed) b = static_cast<uint8_t>(rng() & 0x3f);
  std::vector<uint8_t> in((width + 2) * 4 * c + 64);
  for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
  std::vector<int16_t> pairs(4 * (width + 2) * 2 * cp + 64);
  std::vector<uint8_t> out(width * c);
  const QuantEpilogue ep = MakeQuantEpilogue(0, -128, 127);
  const size_t row = (width + 2) * c, pair_row = (width + 2) * 2 * cp;
  auto run = [&] {
    for (int r = 0; r < rows; ++r) {
      // One new pair row per output row (stride 1: each is used by two output rows).
      const int slot = r % 4;
      BuildPairRow<T>(in.data() + (slot % 3) * row, in.data() + (slot % 3 + 1) * row, width + 2, c,
                      cp, pairs.data() + slot * pair_row);
      DwPairRows<T, kTwoPixels>(c, cp, width, pairs.data() + slot * pair_row,
                                pairs.data() + ((slot + 2) % 4) * pair_row, packed.data(),
                                out.data(), &ep);
    }
  };
  const double best = BenchTimeUs(run, min_us);
  const double macs = 9.0 * rows * width * channels;
  std::printf("%-32s %s pixels=%-6d C=%-4d taps=9  %9.1f us %7.1f GMAC/s\n",
              kTwoPixels ? "exp_dwconv_3x3pairrows_x2" : "exp_dwconv_3x3pairrows",
              std::is_same_v<T, int8_t> ? "qs8" : "qu8", rows * width, channels, best,
              macs / best / 1e3);
}

}  // namespace

void ExperimentalDwconvBench(double min_us) {
  const int shapes[][2] = {{12544, 32}, {3136, 144}, {784, 192}, {196, 576}, {49, 960}};
  for (const auto& s : shapes) BenchShape<int8_t, false>(s[0], s[1], min_us);
  for (const auto& s : shapes) BenchShape<int8_t, true>(s[0], s[1], min_us);
  for (const auto& s : shapes) BenchShape<uint8_t, false>(s[0], s[1], min_us);
}

}  // namespace wisp
