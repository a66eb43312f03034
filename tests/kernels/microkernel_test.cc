// Every microkernel compiled into this build (microkernels/config.h: AllGemmKernels,
// AllDwconvKernels, ..., AllAvgPoolKernels), checked bit for bit against the reference arithmetic
// on random shapes, windows (with padding taps), zero points, per-channel and per-tensor weights,
// activation ranges and int8/uint8 data. Built natively and with Emscripten (run under Node, and in
// Chromium for the relaxed-SIMD kernels), so each ISA's kernels meet the same oracle.
//
// A relaxed dot-product kernel whose engine reads operands differently from the variant's
// assumption (MicrokernelEntry::full_range false, e.g. the usdot kernel in Node 20) is still run,
// on operands kept in the 7-bit range where every engine agrees.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/kernels/microkernels/config.h"
#include "runtime/kernels/microkernels/pack.h"
#include "runtime/kernels/quantization.h"

namespace wisp {
namespace {

// Bytes a kernel may read past the values it uses (k groups, channel tiles).
constexpr size_t kSlack = 64;

struct Rng {
  std::mt19937 gen;
  explicit Rng(uint32_t seed) : gen(seed) {}
  int32_t Int(int32_t lo, int32_t hi) {
    return std::uniform_int_distribution<int32_t>(lo, hi)(gen);
  }
  float Float(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen); }
  bool Coin(double p = 0.5) { return std::bernoulli_distribution(p)(gen); }
};

int32_t ValueOf(uint8_t byte, bool uint8) {
  return uint8 ? static_cast<int32_t>(byte) : static_cast<int32_t>(static_cast<int8_t>(byte));
}

// A random activation range as fused activations produce: [qmin, qmax] within the dtype.
void RandomRange(Rng& rng, bool uint8, int32_t* qmin, int32_t* qmax) {
  const int32_t lo = uint8 ? 0 : -128, hi = uint8 ? 255 : 127;
  *qmin = rng.Coin(0.6) ? lo : rng.Int(lo, lo + 100);
  *qmax = rng.Coin(0.6) ? hi : rng.Int(*qmin + 1, hi);
}

std::string GemmCase(const MicrokernelEntry<GemmKernelInfo>& e, bool uint8, size_t mr, size_t nc,
                     size_t kc, size_t ks) {
  return std::string(e.info->name) + (uint8 ? " qu8" : " qs8") + " mr=" + std::to_string(mr) +
         " nc=" + std::to_string(nc) + " kc=" + std::to_string(kc) + " ks=" + std::to_string(ks);
}

void CheckGemmKernel(const MicrokernelEntry<GemmKernelInfo>& e, uint32_t seed) {
  const GemmLayout& layout = e.info->layout;
  Rng rng(seed);
  for (int trial = 0; trial < 60; ++trial) {
    const bool uint8 = trial % 2 == 1;
    const QGemmFn fn = uint8 ? e.info->qu8 : e.info->qs8;
    const size_t mr = static_cast<size_t>(rng.Int(1, layout.mr));
    const size_t nc = static_cast<size_t>(rng.Int(1, 3 * layout.nr + 3));
    const size_t kc = static_cast<size_t>(rng.Int(1, trial < 40 ? 24 : 300));
    const size_t ks = static_cast<size_t>(rng.Int(1, trial % 3 == 0 ? 1 : 9));
    SCOPED_TRACE(GemmCase(e, uint8, mr, nc, kc, ks));
    // 7-bit mode: every engine agrees when the kernel's operands are x + shift in [0, 127] and
    // weights within +-64 of the zero point.
    const bool seven_bit = !e.full_range;
    const int32_t shift = layout.weight_bytes == 1 ? layout.input_shift[uint8 ? 1 : 0] : 0;
    const int32_t x_lo = seven_bit ? -shift : (uint8 ? 0 : -128);
    const int32_t x_hi = seven_bit ? x_lo + 127 : x_lo + 255;
    const int32_t x_zp = rng.Int(x_lo, x_hi);

    // Inputs: rows of random bytes, and the zero buffer (the input zero point) for padding.
    const size_t row_bytes = kc + kSlack;
    std::vector<uint8_t> pool(row_bytes * 16), zero(row_bytes, static_cast<uint8_t>(x_zp));
    for (uint8_t& b : pool) b = static_cast<uint8_t>(rng.Int(x_lo, x_hi));
    std::vector<const uint8_t*> taps(mr * ks);
    std::vector<GemmWindow> windows(mr);
    for (size_t r = 0; r < mr; ++r) {
      for (size_t t = 0; t < ks; ++t) {
        taps[r * ks + t] = rng.Coin(0.15) ? zero.data() : pool.data() + row_bytes * rng.Int(0, 15);
      }
      windows[r] = taps.data() + r * ks;
    }

    // Weights: int8 per channel (zero point usually 0), or uint8 per tensor.
    const int32_t n = static_cast<int32_t>(nc);
    std::vector<int32_t> w_zp(n), bias(n);
    std::vector<float> scale(n);
    std::vector<int16_t> w(nc * ks * kc);
    const int32_t tensor_zp = uint8 ? rng.Int(0, 255) : 0;
    for (int32_t c = 0; c < n; ++c) {
      w_zp[c] = uint8 ? tensor_zp : (rng.Coin(0.8) ? 0 : rng.Int(-20, 20));
      bias[c] = rng.Coin(0.1) ? rng.Int(INT32_MIN, INT32_MAX) : rng.Int(-20000, 20000);
      // Now and then a scale above 1 (legal, if rare): with the large biases the scaled
      // accumulator then overflows int32, which epilogues must clamp, not wrap.
      scale[c] = rng.Coin(0.1) ? rng.Float(1.0f, 300.0f) : rng.Float(0.0001f, 0.05f);
      // Some channels narrow (fit a byte around the zero point), most as wide as the dtype.
      const bool narrow = seven_bit || rng.Coin(0.3);
      for (size_t i = 0; i < ks * kc; ++i) {
        int32_t raw = uint8 ? rng.Int(0, 255) : rng.Int(-127, 127);
        if (narrow)
          raw = std::clamp(w_zp[c] + rng.Int(-64, 64), uint8 ? 0 : -128, uint8 ? 255 : 127);
        w[c * ks * kc + i] = static_cast<int16_t>(raw - w_zp[c]);
      }
    }
    int32_t qmin, qmax;
    RandomRange(rng, uint8, &qmin, &qmax);
    const int32_t out_zp = rng.Int(qmin, qmax);
    const QuantEpilogue epilogue = MakeQuantEpilogue(out_zp, qmin, qmax);

    // The packers read the raw weight bytes.
    std::vector<uint8_t> raw(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      raw[i] = static_cast<uint8_t>(w[i] + w_zp[i / (ks * kc)]);
    }
    GemmWeightsSource src;
    src.n = n;
    src.ks = static_cast<int32_t>(ks);
    src.kc = static_cast<int32_t>(kc);
    src.weights = raw.data();
    src.w_zp = w_zp.data();
    src.weights_uint8 = uint8;
    src.bias = bias.data();
    src.scale = scale.data();
    src.input_zero_point = x_zp;
    src.input_uint8 = uint8;
    const PackedGemm packed = PackGemm(layout, src);

    std::vector<int32_t> sums(mr);
    const int32_t* row_sums = nullptr;
    if (packed.needs_row_sums) {
      const RowSumsFn rs = uint8 ? e.info->row_sums_qu8 : e.info->row_sums_qs8;
      ASSERT_NE(rs, nullptr);
      rs(mr, kc, ks, windows.data(), shift, sums.data());
      for (size_t r = 0; r < mr; ++r) {
        uint32_t expect = 0;
        for (size_t t = 0; t < ks; ++t) {
          for (size_t k = 0; k < kc; ++k)
            expect += static_cast<uint32_t>(ValueOf(windows[r][t][k], uint8) + shift);
        }
        ASSERT_EQ(static_cast<uint32_t>(sums[r]), expect) << "row sum of row " << r;
      }
      row_sums = sums.data();
    }

    const size_t c_stride = nc + 5;
    std::vector<uint8_t> out(mr * c_stride, 0xA5);
    fn(mr, nc, kc, ks, windows.data(), packed.data.data(), out.data(), c_stride, row_sums,
       &epilogue);

    // The same inputs flipped by the caller (GemmKernelInfo::qs8_flipped_input) give the same
    // bytes.
    std::vector<uint8_t> flipped_out;
    if (!uint8 && e.info->qs8_flipped_input != nullptr && row_sums == nullptr) {
      std::vector<uint8_t> fpool(pool), fzero(zero);
      for (uint8_t& b : fpool) b ^= 0x80;
      for (uint8_t& b : fzero) b ^= 0x80;
      std::vector<const uint8_t*> ftaps(taps.size());
      for (size_t i = 0; i < taps.size(); ++i) {
        ftaps[i] = taps[i] == zero.data() ? fzero.data() : fpool.data() + (taps[i] - pool.data());
      }
      std::vector<GemmWindow> fwindows(mr);
      for (size_t r = 0; r < mr; ++r) fwindows[r] = ftaps.data() + r * ks;
      flipped_out.assign(mr * c_stride, 0xA5);
      e.info->qs8_flipped_input(mr, nc, kc, ks, fwindows.data(), packed.data.data(),
                                flipped_out.data(), c_stride, nullptr, &epilogue);
      ASSERT_EQ(flipped_out, out) << "flipped-input entry point";
    }

    // The same inputs widened to int16 by the caller (GemmKernelInfo::qs8_int16_input,
    // qu8_int16_input) give the same bytes.
    const QGemmFn int16_fn = uint8 ? e.info->qu8_int16_input : e.info->qs8_int16_input;
    if (int16_fn != nullptr) {
      std::vector<int16_t> wpool(pool.size()), wzero(zero.size());
      for (size_t i = 0; i < pool.size(); ++i) {
        wpool[i] = static_cast<int16_t>(ValueOf(pool[i], uint8));
      }
      for (size_t i = 0; i < zero.size(); ++i) {
        wzero[i] = static_cast<int16_t>(ValueOf(zero[i], uint8));
      }
      std::vector<const uint8_t*> wtaps(taps.size());
      for (size_t i = 0; i < taps.size(); ++i) {
        const int16_t* p =
            taps[i] == zero.data() ? wzero.data() : wpool.data() + (taps[i] - pool.data());
        wtaps[i] = reinterpret_cast<const uint8_t*>(p);
      }
      std::vector<GemmWindow> wwindows(mr);
      for (size_t r = 0; r < mr; ++r) wwindows[r] = wtaps.data() + r * ks;
      std::vector<uint8_t> wide_out(mr * c_stride, 0xA5);
      int16_fn(mr, nc, kc, ks, wwindows.data(), packed.data.data(), wide_out.data(), c_stride,
               nullptr, &epilogue);
      ASSERT_EQ(wide_out, out) << "int16-input entry point";
    }

    for (size_t r = 0; r < mr; ++r) {
      for (size_t c = 0; c < nc; ++c) {
        uint32_t acc = static_cast<uint32_t>(bias[c]);
        for (size_t t = 0; t < ks; ++t) {
          for (size_t k = 0; k < kc; ++k) {
            const int32_t x = ValueOf(windows[r][t][k], uint8) - x_zp;
            acc += static_cast<uint32_t>(x * w[(c * ks + t) * kc + k]);
          }
        }
        Fp32Requant rq;
        rq.scale = scale[c];
        rq.zero_point = out_zp;
        rq.qmin = qmin;
        rq.qmax = qmax;
        const int32_t expect = RequantizeFp32(static_cast<int32_t>(acc), rq);
        ASSERT_EQ(ValueOf(out[r * c_stride + c], uint8), expect) << "row " << r << " channel " << c;
      }
      for (size_t c = nc; c < c_stride; ++c) {
        ASSERT_EQ(out[r * c_stride + c], 0xA5) << "wrote past nc in row " << r;
      }
    }
  }
}

TEST(Microkernels, EveryGemmKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<GemmKernelInfo>& e : AllGemmKernels()) {
    if (!e.runnable) continue;
    SCOPED_TRACE(std::string(e.info->name) + (e.full_range ? "" : " (7-bit operands)"));
    std::printf("  %s (%s)%s\n", e.info->name, e.isa.c_str(),
                e.full_range ? "" : ": 7-bit operands, the engine reads them differently");
    CheckGemmKernel(e, 1234);
    ++tested;
  }
  EXPECT_GE(tested, 2);  // at least scalar and the target's SIMD kernel
}

void CheckDwconvKernel(const MicrokernelEntry<DwconvKernelInfo>& e, uint32_t seed) {
  const DwconvKernelInfo& k = *e.info;
  Rng rng(seed);
  for (int trial = 0; trial < 60; ++trial) {
    const bool uint8 = trial % 2 == 1 && k.qu8 != nullptr;
    const QDwconvFn fn = uint8 ? k.qu8 : k.qs8;
    const size_t channels = static_cast<size_t>(rng.Int(1, trial < 40 ? 40 : 200));
    const size_t width = static_cast<size_t>(rng.Int(1, 6));
    const size_t taps = k.taps ? static_cast<size_t>(k.taps) : static_cast<size_t>(rng.Int(1, 30));
    // Often the strides of column-major 3x3 windows (3: stride 1, 6: stride 2), which kernels
    // may specialize (reusing a column's inputs for the next pixel).
    const size_t stride = taps >= 6 && rng.Coin(0.5)
                              ? (rng.Coin() ? 3 : 6)
                              : static_cast<size_t>(rng.Int(1, static_cast<int32_t>(taps)));
    SCOPED_TRACE(std::string(k.name) + (uint8 ? " qu8" : " qs8") + (e.full_range ? "" : " 7-bit") +
                 " channels=" + std::to_string(channels) + " width=" + std::to_string(width) +
                 " taps=" + std::to_string(taps) + " stride=" + std::to_string(stride));
    // 7-bit mode (relaxed kernels whose engine reads operands differently): inputs as the kernel
    // sees them in [0, 127], weights within +-64 of the zero point.
    const bool seven_bit = !e.full_range;
    const int32_t shift = k.tap_group > 1 ? k.input_shift[uint8 ? 1 : 0] : 0;
    const int32_t x_lo = seven_bit ? -shift : (uint8 ? 0 : -128);
    const int32_t x_hi = seven_bit ? x_lo + 127 : x_lo + 255;
    const int32_t x_zp = rng.Int(x_lo, x_hi);
    const size_t row_bytes = channels + kSlack;
    std::vector<uint8_t> pool(row_bytes * 16), zero(row_bytes, static_cast<uint8_t>(x_zp));
    for (uint8_t& b : pool) b = static_cast<uint8_t>(rng.Int(x_lo, x_hi));
    std::vector<const uint8_t*> input((width - 1) * stride + taps);
    for (const uint8_t*& p : input) {
      p = rng.Coin(0.15) ? zero.data() : pool.data() + row_bytes * rng.Int(0, 15);
    }

    // Weights: int8 per channel (zero point usually 0), or uint8 per tensor; some channels
    // narrow (fitting a byte around the zero point), most as wide as the dtype.
    std::vector<int16_t> w(taps * channels);
    std::vector<int32_t> bias(channels), w_zp(channels);
    std::vector<float> scale(channels);
    const int32_t tensor_zp = uint8 ? rng.Int(0, 255) : 0;
    for (size_t c = 0; c < channels; ++c) {
      w_zp[c] = uint8 ? tensor_zp : (rng.Coin(0.8) ? 0 : rng.Int(-20, 20));
      bias[c] = rng.Coin(0.1) ? rng.Int(INT32_MIN, INT32_MAX) : rng.Int(-20000, 20000);
      // Now and then a scale above 1 (legal, if rare): with the large biases the scaled
      // accumulator then overflows int32, which epilogues must clamp, not wrap.
      scale[c] = rng.Coin(0.1) ? rng.Float(1.0f, 300.0f) : rng.Float(0.0001f, 0.05f);
      const bool narrow = seven_bit || rng.Coin(0.3);
      for (size_t t = 0; t < taps; ++t) {
        int32_t raw = uint8 ? rng.Int(0, 255) : rng.Int(-128, 127);
        if (narrow) {
          raw = std::clamp(w_zp[c] + rng.Int(-64, 64), uint8 ? 0 : -128, uint8 ? 255 : 127);
        }
        w[t * channels + c] = static_cast<int16_t>(raw - w_zp[c]);
      }
    }
    int32_t qmin, qmax;
    RandomRange(rng, uint8, &qmin, &qmax);
    const int32_t out_zp = rng.Int(qmin, qmax);
    const QuantEpilogue epilogue = MakeQuantEpilogue(out_zp, qmin, qmax);

    std::vector<uint8_t> raw(w.size());
    for (size_t i = 0; i < w.size(); ++i) raw[i] = static_cast<uint8_t>(w[i] + w_zp[i % channels]);
    DwconvWeightsSource src;
    src.channels = static_cast<int32_t>(channels);
    src.taps = static_cast<int32_t>(taps);
    src.weights = raw.data();
    src.w_zp = w_zp.data();
    src.weights_uint8 = uint8;
    src.bias = bias.data();
    src.scale = scale.data();
    src.input_zero_point = x_zp;
    src.input_uint8 = uint8;
    const PackedBytes packed = PackDwconv(k, src);

    std::vector<uint8_t> out(width * channels + 7, 0xA5);
    fn(channels, width, taps, input.data(), stride, packed.data(), out.data(), &epilogue);
    // The same inputs flipped by the caller (DwconvKernelInfo::qs8_flipped_input).
    if (!uint8 && k.qs8_flipped_input != nullptr) {
      std::vector<uint8_t> fpool(pool), fzero(zero);
      for (uint8_t& b : fpool) b ^= 0x80;
      for (uint8_t& b : fzero) b ^= 0x80;
      std::vector<const uint8_t*> finput(input.size());
      for (size_t i = 0; i < input.size(); ++i) {
        finput[i] =
            input[i] == zero.data() ? fzero.data() : fpool.data() + (input[i] - pool.data());
      }
      std::vector<uint8_t> fout(out.size(), 0xA5);
      k.qs8_flipped_input(channels, width, taps, finput.data(), stride, packed.data(), fout.data(),
                          &epilogue);
      ASSERT_EQ(fout, out) << "flipped-input entry point";
    }
    for (size_t p = 0; p < width; ++p) {
      for (size_t c = 0; c < channels; ++c) {
        uint32_t acc = static_cast<uint32_t>(bias[c]);
        for (size_t t = 0; t < taps; ++t) {
          const int32_t x = ValueOf(input[p * stride + t][c], uint8) - x_zp;
          acc += static_cast<uint32_t>(x * w[t * channels + c]);
        }
        Fp32Requant rq;
        rq.scale = scale[c];
        rq.zero_point = out_zp;
        rq.qmin = qmin;
        rq.qmax = qmax;
        ASSERT_EQ(ValueOf(out[p * channels + c], uint8),
                  RequantizeFp32(static_cast<int32_t>(acc), rq))
            << "pixel " << p << " channel " << c;
      }
    }
    for (size_t i = width * channels; i < out.size(); ++i) {
      ASSERT_EQ(out[i], 0xA5) << "wrote past the row";
    }
  }
}

TEST(Microkernels, EveryDwconvKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<DwconvKernelInfo>& e : AllDwconvKernels()) {
    if (!e.runnable) continue;
    std::printf("  %s (%s)%s\n", e.info->name, e.isa.c_str(),
                e.full_range ? "" : ": 7-bit operands, the engine reads them differently");
    CheckDwconvKernel(e, 4321);
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryRsumKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<RsumKernelInfo>& e : AllRsumKernels()) {
    if (!e.runnable) continue;
    Rng rng(777);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t rows = static_cast<size_t>(rng.Int(1, 70));
      const size_t channels = static_cast<size_t>(rng.Int(1, 70));
      const size_t stride = channels + static_cast<size_t>(rng.Int(0, 9));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " rows=" + std::to_string(rows) + " channels=" + std::to_string(channels));
      const int32_t lo = uint8 ? 0 : -128;
      std::vector<uint8_t> in(rows * stride);
      for (uint8_t& b : in) b = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      const int32_t in_zp = rng.Int(lo, lo + 255);
      const int32_t bias = -static_cast<int32_t>(rows) * in_zp;
      const float scale = rng.Float(0.5f, 2.0f) / static_cast<float>(rows);
      int32_t qmin, qmax;
      RandomRange(rng, uint8, &qmin, &qmax);
      const int32_t out_zp = rng.Int(qmin, qmax);
      const QuantEpilogue epilogue = MakeQuantEpilogue(out_zp, qmin, qmax);
      std::vector<uint8_t> out(channels + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(rows, channels, in.data(), stride, bias, scale,
                                          out.data(), &epilogue);
      for (size_t c = 0; c < channels; ++c) {
        int32_t sum = bias;
        for (size_t r = 0; r < rows; ++r) sum += ValueOf(in[r * stride + c], uint8);
        Fp32Requant rq;
        rq.scale = scale;
        rq.zero_point = out_zp;
        rq.qmin = qmin;
        rq.qmax = qmax;
        ASSERT_EQ(ValueOf(out[c], uint8), RequantizeFp32(sum, rq)) << "channel " << c;
      }
      for (size_t c = channels; c < out.size(); ++c)
        ASSERT_EQ(out[c], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryVaddKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<VaddKernelInfo>& e : AllVaddKernels()) {
    if (!e.runnable) continue;
    Rng rng(999);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t n = static_cast<size_t>(rng.Int(1, 100));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " n=" + std::to_string(n));
      const int32_t lo = uint8 ? 0 : -128;
      std::vector<uint8_t> a(n), b(n);
      for (uint8_t& v : a) v = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      for (uint8_t& v : b) v = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      QAddParams p;
      p.a_zero_point = rng.Int(lo, lo + 255);
      p.b_zero_point = rng.Int(lo, lo + 255);
      p.shift = static_cast<uint32_t>(rng.Int(10, 20));
      p.a_multiplier = rng.Int(-(1 << 21), 1 << 21);
      p.b_multiplier = rng.Int(-(1 << 21), 1 << 21);
      p.rounding = (1 << (p.shift - 1)) - (rng.Coin() ? 1 : 0);
      RandomRange(rng, uint8, &p.qmin, &p.qmax);
      p.output_zero_point = rng.Int(p.qmin, p.qmax);
      std::vector<uint8_t> out(n + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(n, a.data(), b.data(), out.data(), &p);
      for (size_t i = 0; i < n; ++i) {
        const int32_t acc = p.a_multiplier * (ValueOf(a[i], uint8) - p.a_zero_point) +
                            p.b_multiplier * (ValueOf(b[i], uint8) - p.b_zero_point) + p.rounding;
        const int32_t expect = std::clamp((acc >> p.shift) + p.output_zero_point, p.qmin, p.qmax);
        ASSERT_EQ(ValueOf(out[i], uint8), expect) << "element " << i;
      }
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryArgmaxKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<ArgmaxKernelInfo>& e : AllArgmaxKernels()) {
    if (!e.runnable) continue;
    Rng rng(31);
    for (int trial = 0; trial < 60; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const bool out64 = trial % 4 < 2;
      const size_t rows = static_cast<size_t>(rng.Int(1, 20));
      const size_t channels = static_cast<size_t>(rng.Int(1, 70));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " rows=" + std::to_string(rows) + " channels=" + std::to_string(channels));
      // Few distinct values, so rows have ties (the first index must win); sometimes extremes.
      std::vector<uint8_t> in(rows * channels + kSlack);
      const int32_t lo = uint8 ? 0 : -128;
      for (uint8_t& b : in) {
        b = static_cast<uint8_t>(trial % 3 == 0 ? rng.Int(lo, lo + 255) : lo + rng.Int(0, 3) * 85);
      }
      std::vector<int64_t> out64_values(rows, -1);
      std::vector<int32_t> out32_values(rows, -1);
      void* out = out64 ? static_cast<void*>(out64_values.data()) : out32_values.data();
      (uint8 ? e.info->qu8 : e.info->qs8)(rows, channels, in.data(), out, out64);
      for (size_t r = 0; r < rows; ++r) {
        size_t best = 0;
        for (size_t c = 1; c < channels; ++c) {
          if (ValueOf(in[r * channels + c], uint8) > ValueOf(in[r * channels + best], uint8))
            best = c;
        }
        const int64_t got = out64 ? out64_values[r] : out32_values[r];
        ASSERT_EQ(got, static_cast<int64_t>(best)) << "row " << r;
      }
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryVaddcKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<VaddcKernelInfo>& e : AllVaddcKernels()) {
    if (!e.runnable) continue;
    Rng rng(6060);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t n = static_cast<size_t>(rng.Int(1, trial < 30 ? 40 : 1000));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " n=" + std::to_string(n));
      const int32_t lo = uint8 ? 0 : -128;
      std::vector<uint8_t> a(n);
      for (uint8_t& v : a) v = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      const int32_t b = rng.Int(lo, lo + 255);
      QAddParams p;
      p.a_zero_point = rng.Int(lo, lo + 255);
      p.b_zero_point = rng.Int(lo, lo + 255);
      p.shift = static_cast<uint32_t>(rng.Int(10, 20));
      p.a_multiplier = rng.Int(-(1 << 21), 1 << 21);
      p.b_multiplier = rng.Int(-(1 << 21), 1 << 21);
      p.rounding = 1 << (p.shift - 1);
      RandomRange(rng, uint8, &p.qmin, &p.qmax);
      p.output_zero_point = rng.Int(p.qmin, p.qmax);
      const int32_t b_term = p.b_multiplier * (b - p.b_zero_point) + p.rounding;
      std::vector<uint8_t> out(n + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(n, a.data(), b_term, out.data(), &p);
      for (size_t i = 0; i < n; ++i) {
        // The vadd formula (AddSubQuantizedXnnpack) with b broadcast.
        const int32_t acc = p.a_multiplier * (ValueOf(a[i], uint8) - p.a_zero_point) +
                            p.b_multiplier * (b - p.b_zero_point) + p.rounding;
        const int32_t expect = std::clamp((acc >> p.shift) + p.output_zero_point, p.qmin, p.qmax);
        ASSERT_EQ(ValueOf(out[i], uint8), expect) << "element " << i;
      }
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryVmulKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<VmulKernelInfo>& e : AllVmulKernels()) {
    if (!e.runnable) continue;
    Rng rng(8080);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t n = static_cast<size_t>(rng.Int(1, trial < 30 ? 100 : 3000));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " n=" + std::to_string(n));
      const int32_t lo = uint8 ? 0 : -128;
      std::vector<uint8_t> a(n), b(n);
      for (uint8_t& v : a) v = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      for (uint8_t& v : b) v = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      QMulParams p;
      p.a_zero_point = rng.Int(lo, lo + 255);
      p.b_zero_point = rng.Int(lo, lo + 255);
      // The delegate's range of product scales, [2^-16, 2^8).
      p.scale = std::ldexp(rng.Float(1.0f, 2.0f), rng.Int(-16, 7));
      int32_t qmin, qmax;
      RandomRange(rng, uint8, &qmin, &qmax);
      const int32_t out_zp = rng.Int(qmin, qmax);
      p.epilogue = MakeQuantEpilogue(out_zp, qmin, qmax);
      std::vector<uint8_t> out(n + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(n, a.data(), b.data(), out.data(), &p);
      for (size_t i = 0; i < n; ++i) {
        Fp32Requant rq;
        rq.scale = p.scale;
        rq.zero_point = out_zp;
        rq.qmin = qmin;
        rq.qmax = qmax;
        const int32_t acc =
            (ValueOf(a[i], uint8) - p.a_zero_point) * (ValueOf(b[i], uint8) - p.b_zero_point);
        ASSERT_EQ(ValueOf(out[i], uint8), RequantizeFp32(acc, rq)) << "element " << i;
      }
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryIbilinearKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<IbilinearKernelInfo>& e : AllIbilinearKernels()) {
    if (!e.runnable) continue;
    Rng rng(1357);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t width = static_cast<size_t>(rng.Int(1, 12));
      const size_t channels = static_cast<size_t>(rng.Int(1, 40));
      const size_t in_width = static_cast<size_t>(rng.Int(1, 10));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " width=" + std::to_string(width) + " channels=" + std::to_string(channels));
      const int32_t lo = uint8 ? 0 : -128;
      const bool extreme = rng.Coin(0.3);
      std::vector<uint8_t> top(in_width * channels), bottom(in_width * channels);
      for (std::vector<uint8_t>* row : {&top, &bottom}) {
        for (uint8_t& v : *row)
          v = static_cast<uint8_t>(extreme ? (rng.Coin() ? lo : lo + 255) : rng.Int(lo, lo + 255));
      }
      std::vector<IbilinearColumn> columns(width);
      for (IbilinearColumn& col : columns) {
        const uint32_t left = static_cast<uint32_t>(rng.Int(0, static_cast<int32_t>(in_width) - 1));
        const uint32_t right = std::min<uint32_t>(left + 1, static_cast<uint32_t>(in_width) - 1);
        col.left = left * static_cast<uint32_t>(channels);
        col.right = right * static_cast<uint32_t>(channels);
        col.alpha = rng.Coin(0.2) ? (rng.Coin() ? 0 : 2048) : rng.Int(0, 2048);
      }
      const int32_t alpha_v = rng.Coin(0.2) ? (rng.Coin() ? 0 : 2048) : rng.Int(0, 2048);
      std::vector<uint8_t> out(width * channels + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(width, channels, top.data(), bottom.data(),
                                          columns.data(), alpha_v, out.data());
      for (size_t p = 0; p < width; ++p) {
        for (size_t c = 0; c < channels; ++c) {
          // reference/resize.cc, ResizeBilinearQ11.
          const int32_t tl = ValueOf(top[columns[p].left + c], uint8);
          const int32_t tr = ValueOf(top[columns[p].right + c], uint8);
          const int32_t bl = ValueOf(bottom[columns[p].left + c], uint8);
          const int32_t br = ValueOf(bottom[columns[p].right + c], uint8);
          const int32_t vt = tl * 2048 + (tr - tl) * columns[p].alpha;
          const int32_t vb = bl * 2048 + (br - bl) * columns[p].alpha;
          const int32_t acc = vt * 2048 + (vb - vt) * alpha_v;
          ASSERT_EQ(ValueOf(out[p * channels + c], uint8), (acc + (1 << 21)) >> 22)
              << "pixel " << p << " channel " << c;
        }
      }
      for (size_t i = width * channels; i < out.size(); ++i)
        ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryLutKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<LutKernelInfo>& e : AllLutKernels()) {
    if (!e.runnable) continue;
    Rng rng(31337);
    for (int trial = 0; trial < 40; ++trial) {
      const size_t n = static_cast<size_t>(rng.Int(0, trial < 30 ? 100 : 5000));
      SCOPED_TRACE(std::string(e.info->name) + " n=" + std::to_string(n));
      uint8_t table[256];
      for (uint8_t& t : table) t = static_cast<uint8_t>(rng.Int(0, 255));
      std::vector<uint8_t> in(n + 5), out(n + 5, 0xA5);
      for (uint8_t& v : in) v = static_cast<uint8_t>(rng.Int(0, 255));
      if (trial % 5 == 4) {
        // In place (input == output), as an operator may be planned.
        std::vector<uint8_t> expect(n);
        for (size_t i = 0; i < n; ++i) expect[i] = table[in[i]];
        e.info->fn(n, in.data(), in.data(), table);
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(in[i], expect[i]) << "in place, element " << i;
        continue;
      }
      e.info->fn(n, in.data(), out.data(), table);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], table[in[i]]) << "element " << i;
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 1);
}

TEST(Microkernels, EveryLutChannelsKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<LutChannelsKernelInfo>& e : AllLutChannelsKernels()) {
    if (!e.runnable) continue;
    Rng rng(4242);
    for (int trial = 0; trial < 40; ++trial) {
      const size_t rows = static_cast<size_t>(rng.Int(0, 60));
      const size_t channels = static_cast<size_t>(trial % 4 == 0 ? 3 : rng.Int(1, 20));
      SCOPED_TRACE(std::string(e.info->name) + " rows=" + std::to_string(rows) +
                   " channels=" + std::to_string(channels));
      std::vector<uint8_t> tables(256 * channels);
      for (uint8_t& t : tables) t = static_cast<uint8_t>(rng.Int(0, 255));
      std::vector<uint8_t> in(rows * channels), out(rows * channels + 5, 0xA5);
      for (uint8_t& v : in) v = static_cast<uint8_t>(rng.Int(0, 255));
      e.info->fn(rows, channels, in.data(), out.data(), tables.data());
      for (size_t i = 0; i < rows * channels; ++i)
        ASSERT_EQ(out[i], tables[256 * (i % channels) + in[i]]) << "element " << i;
      for (size_t i = rows * channels; i < out.size(); ++i)
        ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 1);
}

// QuantizeXnnpack (runtime/kernels/reference/quantize.cc) restated: multiply by the reciprocal,
// NaN to qmax, clamp, round half to even.
int32_t QuantizeOracle(float x, float inv_scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float y = x * inv_scale;
  if (std::isnan(y)) return qmax;
  y = std::min(std::max(y, static_cast<float>(qmin - zp)), static_cast<float>(qmax - zp));
  return static_cast<int32_t>(std::nearbyint(y)) + zp;
}

TEST(Microkernels, EveryQuantizeKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<QuantizeKernelInfo>& e : AllQuantizeKernels()) {
    if (!e.runnable) continue;
    Rng rng(2718);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t n = static_cast<size_t>(rng.Int(0, trial < 30 ? 100 : 3000));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " n=" + std::to_string(n));
      const float scale = rng.Float(0.001f, 2.0f);
      const float inv_scale = 1.0f / scale;
      int32_t qmin, qmax;
      RandomRange(rng, uint8, &qmin, &qmax);
      const int32_t zp = rng.Int(uint8 ? 0 : -128, uint8 ? 255 : 127);
      std::vector<float> in(n);
      for (float& x : in) {
        const int kind = rng.Int(0, 19);
        if (kind == 0) {
          x = std::numeric_limits<float>::quiet_NaN();
        } else if (kind == 1) {
          x = rng.Coin() ? std::numeric_limits<float>::infinity()
                         : -std::numeric_limits<float>::infinity();
        } else if (kind == 2) {
          x = rng.Float(-1e30f, 1e30f);
        } else if (kind == 3) {
          // Exact ties of the rounding: (k + 0.5) * scale reproduced through the reciprocal.
          x = (static_cast<float>(rng.Int(-300, 300)) + 0.5f) / inv_scale;
        } else {
          x = rng.Float(-300.0f, 300.0f) * scale;
        }
      }
      const QuantEpilogue epilogue = MakeQuantEpilogue(zp, qmin, qmax);
      std::vector<uint8_t> out(n + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(n, in.data(), out.data(), inv_scale, &epilogue);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(ValueOf(out[i], uint8), QuantizeOracle(in[i], inv_scale, zp, qmin, qmax))
            << "element " << i << " x=" << in[i];
      }
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryDequantizeKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<DequantizeKernelInfo>& e : AllDequantizeKernels()) {
    if (!e.runnable) continue;
    Rng rng(1618);
    for (int trial = 0; trial < 40; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t n = static_cast<size_t>(rng.Int(0, trial < 30 ? 100 : 3000));
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " n=" + std::to_string(n));
      const int32_t lo = uint8 ? 0 : -128;
      const int32_t zp = rng.Int(lo, lo + 255);
      const float scale = rng.Float(1e-5f, 10.0f);
      std::vector<uint8_t> in(n);
      for (uint8_t& v : in) v = static_cast<uint8_t>(rng.Int(lo, lo + 255));
      std::vector<float> out(n + 3, -7.0f);
      (uint8 ? e.info->qu8 : e.info->qs8)(n, in.data(), out.data(), zp, scale);
      for (size_t i = 0; i < n; ++i) {
        const float expect = static_cast<float>(ValueOf(in[i], uint8) - zp) * scale;
        ASSERT_EQ(std::memcmp(&out[i], &expect, sizeof(float)), 0)
            << "element " << i << ": " << out[i] << " vs " << expect;
      }
      for (size_t i = n; i < out.size(); ++i) ASSERT_EQ(out[i], -7.0f) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

TEST(Microkernels, EveryAvgPoolKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<AvgPoolKernelInfo>& e : AllAvgPoolKernels()) {
    if (!e.runnable) continue;
    Rng rng(5150);
    for (int trial = 0; trial < 60; ++trial) {
      const bool uint8 = trial % 2 == 1;
      const size_t wh = static_cast<size_t>(rng.Int(1, trial < 50 ? 6 : 40));
      const size_t ww = static_cast<size_t>(rng.Int(1, trial < 50 ? 6 : 40));
      const size_t channels = static_cast<size_t>(rng.Int(1, 70));
      const size_t row_stride = (ww + static_cast<size_t>(rng.Int(0, 3))) * channels;
      SCOPED_TRACE(std::string(e.info->name) + (uint8 ? " qu8" : " qs8") +
                   " window=" + std::to_string(wh) + "x" + std::to_string(ww) +
                   " channels=" + std::to_string(channels));
      const int32_t lo = uint8 ? 0 : -128;
      std::vector<uint8_t> in(wh * row_stride);
      // Mostly extremes now and then, so that sums reach the range's ends and ties occur.
      const bool extreme = rng.Coin(0.3);
      for (uint8_t& v : in)
        v = static_cast<uint8_t>(extreme ? (rng.Coin() ? lo : lo + 255) : rng.Int(lo, lo + 255));
      AvgPoolParams p;
      // The window's in-bounds taps (padding taps are excluded by the caller, so the count is the
      // window area) or, as some callers may pass, any count up to the limit.
      p.count = rng.Coin(0.8) ? static_cast<int32_t>(wh * ww) : rng.Int(1, kAvgPoolMaxCount);
      RandomRange(rng, uint8, &p.qmin, &p.qmax);
      std::vector<uint8_t> out(channels + 5, 0xA5);
      (uint8 ? e.info->qu8 : e.info->qs8)(wh, ww, channels, in.data(), row_stride, out.data(), &p);
      for (size_t c = 0; c < channels; ++c) {
        int32_t acc = 0;
        for (size_t y = 0; y < wh; ++y) {
          for (size_t x = 0; x < ww; ++x)
            acc += ValueOf(in[y * row_stride + x * channels + c], uint8);
        }
        // reference/pooling.cc: half away from zero with C's truncating division.
        int32_t expect = acc > 0 ? (acc + p.count / 2) / p.count : (acc - p.count / 2) / p.count;
        expect = std::clamp(expect, p.qmin, p.qmax);
        ASSERT_EQ(ValueOf(out[c], uint8), expect) << "channel " << c << " sum " << acc;
      }
      for (size_t c = channels; c < out.size(); ++c)
        ASSERT_EQ(out[c], 0xA5) << "wrote past the end";
    }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

// ---- float32 convolution kernels (f32_conv.h) --------------------------------------------------

// A float over several binades, now and then a signed zero: any change in the order of the
// additions shows in the low bits.
float RandomFloat(Rng& rng) {
  const int32_t pick = rng.Int(0, 19);
  if (pick == 0) return 0.0f;
  if (pick == 1) return -0.0f;
  return std::ldexp(rng.Float(-1.0f, 1.0f), rng.Int(-8, 8));
}

// The fused activation ranges of float operators.
F32MinMax RandomF32Range(Rng& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  const F32MinMax ranges[] = {{-inf, inf}, {0.0f, inf}, {0.0f, 6.0f}, {-1.0f, 1.0f}};
  return ranges[rng.Int(0, 3)];
}

// The reference kernels' epilogue (kernels/reference/conv2d.cc).
float ClampLikeReference(float acc, const F32MinMax& p) {
  return std::min(std::max(acc, p.min), p.max);
}

// The reference's acc + x * w (two roundings), or std::fma's one rounding for a kernel whose
// relaxed multiply-add this engine fuses.
float MulAdd(bool fused, float x, float w, float acc) {
  return fused ? std::fma(x, w, acc) : acc + x * w;
}

void CheckF32GemmKernel(const MicrokernelEntry<F32GemmKernelInfo>& e, uint32_t seed) {
  const F32GemmKernelInfo& k = *e.info;
  const bool fused = k.fuses != nullptr && k.fuses();
  Rng rng(seed);
  for (int trial = 0; trial < 80; ++trial) {
    // Up to five blocks and a part, and every tenth trial one row of at least four blocks:
    // one-row kernels take several blocks at once.
    const bool wide_row = trial % 10 == 5;
    const size_t mr = wide_row ? 1 : static_cast<size_t>(rng.Int(1, k.mr));
    const size_t nc =
        static_cast<size_t>(wide_row ? rng.Int(4 * k.nr, 5 * k.nr + 3)
                                     : rng.Int(1, (trial % 2 == 0 ? 3 : 5) * k.nr + 3));
    const size_t kc = static_cast<size_t>(rng.Int(1, trial < 50 ? 24 : 300));
    const size_t ks = static_cast<size_t>(rng.Int(1, trial % 3 == 0 ? 1 : 9));
    SCOPED_TRACE(std::string(k.name) + " mr=" + std::to_string(mr) + " nc=" + std::to_string(nc) +
                 " kc=" + std::to_string(kc) + " ks=" + std::to_string(ks));
    // Input rows (exactly kc floats each, so a read past them would trip ASan) and the zero
    // buffer for padding taps.
    std::vector<std::vector<float>> pool(16, std::vector<float>(kc));
    for (std::vector<float>& row : pool) {
      for (float& v : row) v = RandomFloat(rng);
    }
    const std::vector<float> zero(kc, 0.0f);
    std::vector<const float*> taps(mr * ks);
    std::vector<F32Window> windows(mr);
    for (size_t r = 0; r < mr; ++r) {
      for (size_t t = 0; t < ks; ++t) {
        taps[r * ks + t] = rng.Coin(0.15) ? zero.data() : pool[rng.Int(0, 15)].data();
      }
      windows[r] = taps.data() + r * ks;
    }
    std::vector<float> w(nc * ks * kc), bias(nc);
    for (float& v : w) v = RandomFloat(rng);
    for (float& v : bias) v = RandomFloat(rng);
    const bool has_bias = rng.Coin(0.8);
    const F32MinMax params = RandomF32Range(rng);
    const std::vector<float> packed =
        PackF32Gemm(k.nr, nc, ks, kc, w.data(), has_bias ? bias.data() : nullptr);

    // Output rows with a guard column past nc, and a c_stride wider than nc.
    const size_t c_stride = nc + 3;
    std::vector<float> out(mr * c_stride, 1234.5f);
    k.fn(mr, nc, kc, ks, windows.data(), packed.data(), out.data(), c_stride, &params);
    for (size_t r = 0; r < mr; ++r) {
      for (size_t n = 0; n < nc; ++n) {
        float acc = has_bias ? bias[n] : 0.0f;
        for (size_t t = 0; t < ks; ++t) {
          for (size_t i = 0; i < kc; ++i) {
            acc = MulAdd(fused, taps[r * ks + t][i], w[(n * ks + t) * kc + i], acc);
          }
        }
        const float want = ClampLikeReference(acc, params);
        ASSERT_EQ(0, std::memcmp(&want, &out[r * c_stride + n], sizeof(float)))
            << "row " << r << " channel " << n << ": " << out[r * c_stride + n] << " vs " << want;
      }
      for (size_t n = nc; n < c_stride; ++n) {
        ASSERT_EQ(out[r * c_stride + n], 1234.5f) << "wrote past nc";
      }
    }
  }
}

TEST(Microkernels, EveryF32GemmKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<F32GemmKernelInfo>& e : AllF32GemmKernels()) {
    if (!e.runnable) continue;
    std::printf("  %s (%s)\n", e.info->name, e.isa.c_str());
    CheckF32GemmKernel(e, 2468);
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

void CheckF32DwconvKernel(const MicrokernelEntry<F32DwconvKernelInfo>& e, uint32_t seed) {
  const F32DwconvKernelInfo& k = *e.info;
  const bool fused = k.fuses != nullptr && k.fuses();
  Rng rng(seed);
  for (int trial = 0; trial < 80; ++trial) {
    const size_t channels = static_cast<size_t>(rng.Int(1, trial < 50 ? 40 : 200));
    const size_t width = static_cast<size_t>(rng.Int(1, 6));
    const size_t taps = static_cast<size_t>(rng.Int(1, 30));
    const size_t stride = static_cast<size_t>(rng.Int(1, static_cast<int32_t>(taps)));
    SCOPED_TRACE(std::string(k.name) + " channels=" + std::to_string(channels) +
                 " width=" + std::to_string(width) + " taps=" + std::to_string(taps) +
                 " stride=" + std::to_string(stride));
    std::vector<std::vector<float>> pool(16, std::vector<float>(channels));
    for (std::vector<float>& row : pool) {
      for (float& v : row) v = RandomFloat(rng);
    }
    const std::vector<float> zero(channels, 0.0f);
    std::vector<const float*> input((width - 1) * stride + taps);
    for (const float*& p : input) p = rng.Coin(0.15) ? zero.data() : pool[rng.Int(0, 15)].data();
    std::vector<float> w(taps * channels), bias(channels);
    for (float& v : w) v = RandomFloat(rng);
    for (float& v : bias) v = RandomFloat(rng);
    const F32MinMax params = RandomF32Range(rng);
    const std::vector<float> packed =
        PackF32Dwconv(k.channel_tile, channels, taps, w.data(), bias.data());

    std::vector<float> out(width * channels + 5, 1234.5f);
    k.fn(channels, width, taps, input.data(), stride, packed.data(), out.data(), &params);
    for (size_t p = 0; p < width; ++p) {
      for (size_t c = 0; c < channels; ++c) {
        float acc = bias[c];
        for (size_t t = 0; t < taps; ++t) {
          acc = MulAdd(fused, input[p * stride + t][c], w[t * channels + c], acc);
        }
        const float want = ClampLikeReference(acc, params);
        ASSERT_EQ(0, std::memcmp(&want, &out[p * channels + c], sizeof(float)))
            << "pixel " << p << " channel " << c << ": " << out[p * channels + c] << " vs " << want;
      }
    }
    for (size_t i = width * channels; i < out.size(); ++i) {
      ASSERT_EQ(out[i], 1234.5f) << "wrote past the row";
    }
  }
}

TEST(Microkernels, EveryF32DwconvKernelMatchesReference) {
  int tested = 0;
  for (const MicrokernelEntry<F32DwconvKernelInfo>& e : AllF32DwconvKernels()) {
    if (!e.runnable) continue;
    std::printf("  %s (%s)\n", e.info->name, e.isa.c_str());
    CheckF32DwconvKernel(e, 1357);
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

// The table picks a runnable kernel at every ISA level, and the cap is honoured.
TEST(Microkernels, ConfigSelectsPerIsaLevel) {
  const std::vector<std::string> levels = MicrokernelIsaLevels();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), "scalar");
  ASSERT_TRUE(SetMicrokernelIsaLimit("scalar"));
  EXPECT_EQ(Microkernels().isa, "scalar");
  EXPECT_STREQ(Microkernels().gemm->name, "q8_gemm_4x4__scalar");
  EXPECT_FALSE(SetMicrokernelIsaLimit("no-such-isa"));
  EXPECT_EQ(Microkernels().isa, "scalar");
  ASSERT_TRUE(SetMicrokernelIsaLimit(""));
  EXPECT_NE(Microkernels().gemm, nullptr);
  EXPECT_FALSE(Microkernels().dwconv.empty());
}

}  // namespace
}  // namespace wisp
