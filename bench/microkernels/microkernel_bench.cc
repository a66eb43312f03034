// Microkernel throughput on the layer shapes of MobileNetV2 (the model every target names): each
// GEMM and depthwise microkernel this build holds, driven over a whole layer the way the
// operator glue drives it (row tiles over all channels; a row of output pixels per call). Prints
// microseconds per layer and GMAC/s, one line per kernel and shape. Built natively and with
// Emscripten (run in Chromium by bench/microkernels/run.mjs). Not a test; numbers are for choosing
// kernels, so the machine should be otherwise idle (natively, time is the thread's CPU time).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/microkernels/bench_timing.h"
#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/microkernels/pack.h"

namespace wisp {
namespace {

struct GemmShape {
  int m, n, k, ks;
};

void BenchGemm(const MicrokernelEntry<GemmKernelInfo>& e, const GemmShape& s, bool uint8,
               double min_us) {
  const GemmLayout& l = e.info->layout;
  std::mt19937 rng(1);
  std::vector<uint8_t> w(static_cast<size_t>(s.n) * s.ks * s.k);
  for (uint8_t& v : w) v = static_cast<uint8_t>(rng());
  std::vector<int32_t> zp(s.n, uint8 ? 128 : 0), bias(s.n, 100);
  std::vector<float> scale(s.n, 0.001f);
  GemmWeightsSource src;
  src.n = s.n;
  src.ks = s.ks;
  src.kc = s.k;
  src.weights = w.data();
  src.w_zp = zp.data();
  src.weights_uint8 = uint8;
  src.bias = bias.data();
  src.scale = scale.data();
  src.input_uint8 = uint8;
  const PackedGemm packed = PackGemm(l, src);
  const size_t row = static_cast<size_t>(s.k) + 64;
  std::vector<uint8_t> input(static_cast<size_t>(s.m) * row);
  for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> out(static_cast<size_t>(s.m) * s.n);
  // Each output row's taps point at rows of the input (a 3x3 convolution reads 9 of them).
  std::vector<const uint8_t*> taps(static_cast<size_t>(s.m) * s.ks);
  for (size_t i = 0; i < taps.size(); ++i) taps[i] = input.data() + row * ((i * 7) % s.m);
  const QuantEpilogue ep = MakeQuantEpilogue(0, uint8 ? 0 : -128, uint8 ? 255 : 127);
  const QGemmFn fn = uint8 ? e.info->qu8 : e.info->qs8;
  const RowSumsFn rs = uint8 ? e.info->row_sums_qu8 : e.info->row_sums_qs8;
  const int32_t shift = l.weight_bytes == 1 ? l.input_shift[uint8 ? 1 : 0] : 0;
  auto run = [&] {
    GemmWindow windows[8];
    int32_t sums[8];
    for (int m0 = 0; m0 < s.m; m0 += l.mr) {
      const size_t mr = static_cast<size_t>(std::min(l.mr, s.m - m0));
      for (size_t r = 0; r < mr; ++r) windows[r] = taps.data() + static_cast<size_t>(m0 + r) * s.ks;
      const int32_t* row_sums = nullptr;
      if (packed.needs_row_sums && rs != nullptr) {
        rs(mr, s.k, s.ks, windows, shift, sums);
        row_sums = sums;
      }
      fn(mr, s.n, s.k, s.ks, windows, packed.data.data(),
         out.data() + static_cast<size_t>(m0) * s.n, s.n, row_sums, &ep);
    }
  };
  const double us = BenchTimeUs(run, min_us);
  const double macs = 1.0 * s.m * s.n * s.k * s.ks;
  std::printf("%-32s %s M=%-6d N=%-5d K=%-4d ks=%d %9.1f us %7.1f GMAC/s%s\n", e.info->name,
              uint8 ? "qu8" : "qs8", s.m, s.n, s.k, s.ks, us, macs / us / 1e3,
              packed.needs_row_sums ? " (row sums)" : "");
}

struct DwShape {
  int pixels, channels, taps;
};

void BenchDwconv(const MicrokernelEntry<DwconvKernelInfo>& e, const DwShape& s, bool uint8,
                 double min_us) {
  const DwconvKernelInfo& k = *e.info;
  if (k.taps != 0 && k.taps != s.taps) return;
  std::mt19937 rng(2);
  std::vector<uint8_t> w(static_cast<size_t>(s.taps) * s.channels);
  for (uint8_t& v : w) v = static_cast<uint8_t>(rng());
  std::vector<int32_t> zp(s.channels, uint8 ? 128 : 0), bias(s.channels, 100);
  std::vector<float> scale(s.channels, 0.001f);
  DwconvWeightsSource src;
  src.channels = s.channels;
  src.taps = s.taps;
  src.weights = w.data();
  src.w_zp = zp.data();
  src.weights_uint8 = uint8;
  src.bias = bias.data();
  src.scale = scale.data();
  src.input_uint8 = uint8;
  const PackedBytes packed = PackDwconv(k, src);
  // One output row of `width` pixels per call, stride-1 windows sharing pointers (3 rows).
  const int width = 56;
  const int rows = std::max(1, s.pixels / width);
  const size_t pixel = static_cast<size_t>(s.channels);
  std::vector<uint8_t> input((width + 2) * 3 * pixel + 64);
  for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
  const int kh = s.taps == 25 ? 5 : s.taps == 9 ? 3 : 1;
  const size_t stride = static_cast<size_t>(kh);
  std::vector<const uint8_t*> table((width - 1 + s.taps / kh) * stride + s.taps);
  for (size_t i = 0; i < table.size(); ++i)
    table[i] = input.data() + (i % ((width + 2) * 3)) * pixel;
  std::vector<uint8_t> out(static_cast<size_t>(width) * pixel);
  const QuantEpilogue ep = MakeQuantEpilogue(0, uint8 ? 0 : -128, uint8 ? 255 : 127);
  const QDwconvFn fn = uint8 ? k.qu8 : k.qs8;
  auto run = [&] {
    for (int r = 0; r < rows; ++r) {
      fn(pixel, width, s.taps, table.data(), stride, packed.data(), out.data(), &ep);
    }
  };
  const double us = BenchTimeUs(run, min_us);
  const double macs = 1.0 * rows * width * s.channels * s.taps;
  std::printf("%-32s %s pixels=%-6d C=%-4d taps=%-2d %9.1f us %7.1f GMAC/s\n", k.name,
              uint8 ? "qu8" : "qs8", rows * width, s.channels, s.taps, us, macs / us / 1e3);
}

}  // namespace

#if defined(WISP_BENCH_EXPERIMENTS)
std::vector<MicrokernelEntry<GemmKernelInfo>> ExperimentalGemmKernels();
#else
std::vector<MicrokernelEntry<GemmKernelInfo>> ExperimentalGemmKernels() { return {}; }
#endif
// A candidate depthwise scheme with its own driver (experimental_dwconv__wasmsimd.cc), linked
// into the SIMD128 benchmark only: weak, null elsewhere.
__attribute__((weak)) void ExperimentalDwconvBench(double min_us);

}  // namespace wisp

int main(int argc, char** argv) {
  using namespace wisp;
  const std::string only = argc > 1 ? argv[1] : "";
  const double min_us = argc > 2 ? std::atof(argv[2]) : 100000;
  // MobileNetV2 1.0 224: the first 3x3 conv, pointwise expand / project layers, the last 1x1.
  const GemmShape gemm_shapes[] = {{12544, 32, 3, 9},  {12544, 96, 16, 1}, {3136, 144, 24, 1},
                                   {3136, 24, 144, 1}, {784, 192, 32, 1},  {196, 576, 96, 1},
                                   {196, 96, 576, 1},  {49, 960, 160, 1},  {49, 320, 960, 1},
                                   {49, 1280, 320, 1}, {1, 1001, 1280, 1}};
  const DwShape dw_shapes[] = {
      {12544, 32, 9}, {3136, 144, 9}, {784, 192, 9}, {196, 576, 9}, {49, 960, 9}};
  std::vector<MicrokernelEntry<GemmKernelInfo>> gemm = AllGemmKernels();
  for (const auto& e : ExperimentalGemmKernels()) gemm.push_back(e);
  for (const auto& e : gemm) {
    if (!e.runnable || (!only.empty() && std::string(e.info->name).find(only) == std::string::npos))
      continue;
    for (bool u8 : {false, true}) {
      for (const GemmShape& s : gemm_shapes) BenchGemm(e, s, u8, min_us);
    }
  }
  for (const auto& e : AllDwconvKernels()) {
    if (!e.runnable || (!only.empty() && std::string(e.info->name).find(only) == std::string::npos))
      continue;
    for (bool u8 : {false, true}) {
      for (const DwShape& s : dw_shapes) BenchDwconv(e, s, u8, min_us);
    }
  }
  if (ExperimentalDwconvBench != nullptr &&
      (only.empty() || std::string("exp_dwconv").find(only) != std::string::npos)) {
    ExperimentalDwconvBench(min_us);
  }
  return 0;
}
