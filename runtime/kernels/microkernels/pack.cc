#include "runtime/kernels/microkernels/pack.h"

#include <algorithm>
#include <cstring>

#include "runtime/core/noinline.h"
#include "runtime/kernels/microkernels/f32_conv.h"

namespace wisp {
namespace {

// The loops over every weight are out of line (runtime/core/noinline.h): inlined, they made
// PackGemm baseline code for most of a browser's first model load.

int32_t RoundUp(int32_t x, int32_t m) { return (x + m - 1) / m * m; }

void StoreI32(uint8_t* p, int32_t v) { std::memcpy(p, &v, sizeof(v)); }

// w - w_zp of a raw int8 or uint8 weight byte.
inline int32_t Centered(uint8_t raw, bool uint8, int32_t zp) {
  return (uint8 ? static_cast<int32_t>(raw) : static_cast<int32_t>(static_cast<int8_t>(raw))) - zp;
}

// One pass over a channel's raw weights: their sum and range, as signed or unsigned bytes.
struct ChannelStats {
  int64_t sum = 0;
  int32_t min = 0, max = 0;
};

template <typename T>
ChannelStats StatsOf(const uint8_t* raw, size_t count) {
  const T* w = reinterpret_cast<const T*>(raw);
  int32_t sum = 0, lo = 255, hi = -128;  // int32: count is at most a few million bytes of +-255
  for (size_t i = 0; i < count; ++i) {
    sum += w[i];
    lo = std::min<int32_t>(lo, w[i]);
    hi = std::max<int32_t>(hi, w[i]);
  }
  return {sum, count ? lo : 0, count ? hi : 0};
}

WISP_NOINLINE ChannelStats StatsOf(const uint8_t* raw, size_t count, bool uint8) {
  // Summed in int32 chunks, so that the loops vectorise and cannot overflow.
  constexpr size_t kChunk = size_t{1} << 20;
  ChannelStats total{0, uint8 ? 255 : 127, uint8 ? 0 : -128};
  if (count == 0) return ChannelStats{};
  for (size_t i = 0; i < count; i += kChunk) {
    const size_t n = std::min(kChunk, count - i);
    const ChannelStats s = uint8 ? StatsOf<uint8_t>(raw + i, n) : StatsOf<int8_t>(raw + i, n);
    total.sum += s.sum;
    total.min = std::min(total.min, s.min);
    total.max = std::max(total.max, s.max);
  }
  return total;
}

// The shift s[n] of an 8-bit layout (see pack.h): w_zp when every w - w_zp of the channel is a
// signed byte, else whatever makes the raw weights signed bytes.
int32_t ChannelShift(const ChannelStats& st, bool uint8, int32_t zp) {
  if (st.min - zp < -128 || st.max - zp > 127) return uint8 ? 128 : 0;
  return zp;
}

// One channel's weights in the packed encoding, in filter order: int16 w - w_zp (2-byte layouts)
// or the bytes w - shift modulo 256 (8-bit layouts). Plain loops over the whole channel, which
// the compiler vectorises (packing is on the cold-start path, which in a browser starts in the
// engine's baseline compiler).
// EncodeInt16 also returns the sum of the w - w_zp it writes (the bias correction's), so that
// 2-byte layouts read the weights once.
template <typename T>
int32_t EncodeInt16Chunk(const T* w, size_t count, int32_t zp, int16_t* out) {
  int32_t sum = 0;
  for (size_t i = 0; i < count; ++i) {
    const int32_t v = static_cast<int32_t>(w[i]) - zp;
    out[i] = static_cast<int16_t>(v);
    sum += v;
  }
  return sum;
}

WISP_NOINLINE int64_t EncodeInt16(const uint8_t* raw, size_t count, bool uint8, int32_t zp,
                                  int16_t* out) {
  // Summed in int32 chunks (|w - w_zp| <= 510), so that the loops vectorise and cannot overflow.
  constexpr size_t kChunk = size_t{1} << 20;
  int64_t sum = 0;
  for (size_t i = 0; i < count; i += kChunk) {
    const size_t n = std::min(kChunk, count - i);
    sum += uint8 ? EncodeInt16Chunk(raw + i, n, zp, out + i)
                 : EncodeInt16Chunk(reinterpret_cast<const int8_t*>(raw) + i, n, zp, out + i);
  }
  return sum;
}

WISP_NOINLINE void EncodeShifted(const uint8_t* raw, size_t count, uint8_t shift, uint8_t* out) {
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<uint8_t>(raw[i] - shift);
}

// Copies `count` groups of Bytes bytes from consecutive places to places dst_step apart: a
// fixed size is one load and one store.
template <size_t Bytes>
void ScatterGroups(const uint8_t* src, uint8_t* dst, size_t dst_step, int32_t count) {
  for (int32_t g = 0; g < count; ++g, src += Bytes, dst += dst_step) std::memcpy(dst, src, Bytes);
}

WISP_NOINLINE void ScatterGroups(const uint8_t* src, uint8_t* dst, size_t bytes, size_t dst_step,
                                 int32_t count) {
  switch (bytes) {
    case 2:
      return ScatterGroups<2>(src, dst, dst_step, count);
    case 4:
      return ScatterGroups<4>(src, dst, dst_step, count);
    case 8:
      return ScatterGroups<8>(src, dst, dst_step, count);
    case 16:
      return ScatterGroups<16>(src, dst, dst_step, count);
    default:
      for (int32_t g = 0; g < count; ++g, src += bytes, dst += dst_step) {
        std::memcpy(dst, src, bytes);
      }
  }
}

}  // namespace

PackedGemm PackGemm(const GemmLayout& layout, const GemmWeightsSource& src) {
  const int32_t nr = layout.nr, kr = layout.kr, wb = layout.weight_bytes;
  const int32_t kcp = RoundUp(src.kc, kr);
  const int32_t blocks = (src.n + nr - 1) / nr;
  const int32_t input_shift = wb == 1 ? layout.input_shift[src.input_uint8 ? 1 : 0] : 0;
  const uint32_t x_zp = static_cast<uint32_t>(src.input_zero_point + input_shift);
  const size_t values_bytes = static_cast<size_t>(src.ks) * kcp * nr * wb;
  PackedGemm out;
  out.block_bytes = static_cast<size_t>(nr) * 4 + values_bytes + static_cast<size_t>(nr) * 4 +
                    (wb == 1 ? static_cast<size_t>(nr) * 4 : 0);
  out.data.assign(out.block_bytes * blocks, 0);
  const size_t per_channel = static_cast<size_t>(src.ks) * src.kc;
  const int32_t groups = kcp / kr, full_groups = src.kc / kr, tail = src.kc % kr;
  const size_t group_bytes = static_cast<size_t>(kr) * wb;  // a group's bytes
  const size_t block_step = group_bytes * nr;               // from a group to the next
  std::vector<int16_t> row16(wb == 2 ? per_channel : 0);
  std::vector<uint8_t> row8(wb == 1 ? per_channel : 0);
  for (int32_t b = 0; b < blocks; ++b) {
    uint8_t* block = out.data.data() + out.block_bytes * b;
    uint8_t* values = block + nr * 4;
    uint8_t* scales = values + values_bytes;
    uint8_t* factors = scales + nr * 4;
    for (int32_t j = 0; j < nr; ++j) {
      const int32_t n = b * nr + j;
      if (n >= src.n) break;  // padding channels stay zero (bias, weights, scale, factor)
      const uint8_t* w = src.weights + per_channel * n;
      const bool u8 = src.weights_uint8;
      const int32_t zp = src.w_zp[n];
      // The channel encoded once (with the sum of its w - w_zp for the bias correction), then
      // each tap's k groups copied to their slots in the block.
      int64_t sum_w;  // sum of w - w_zp
      const uint8_t* encoded;
      if (wb == 2) {
        sum_w = EncodeInt16(w, per_channel, u8, zp, row16.data());
        encoded = reinterpret_cast<const uint8_t*>(row16.data());
      } else {
        // w' = w - shift = (w - w_zp) + w_zp - shift, a signed byte by the choice of shift: its
        // byte is the raw byte minus the shift modulo 256, signed or not (a plain copy for
        // symmetric int8 weights). w' - w_zp' = w - w_zp whatever the shift, so the bias
        // correction reads the source.
        const ChannelStats st = StatsOf(w, per_channel, u8);
        sum_w = st.sum - static_cast<int64_t>(per_channel) * zp;
        const int32_t shift = ChannelShift(st, u8, zp);
        const int32_t factor = -(src.w_zp[n] - shift);
        StoreI32(factors + j * 4, factor);
        if (factor != 0) out.needs_row_sums = true;
        EncodeShifted(w, per_channel, static_cast<uint8_t>(shift), row8.data());
        encoded = row8.data();
      }
      const uint32_t sum = static_cast<uint32_t>(sum_w);
      const uint32_t bias = src.bias ? static_cast<uint32_t>(src.bias[n]) : 0u;
      StoreI32(block + j * 4, static_cast<int32_t>(bias - x_zp * sum));
      std::memcpy(scales + j * 4, &src.scale[n], 4);
      for (int32_t t = 0; t < src.ks; ++t) {
        const int32_t ft = src.tap_order ? src.tap_order[t] : t;
        const uint8_t* from = encoded + static_cast<size_t>(ft) * src.kc * wb;
        uint8_t* to = values + (static_cast<size_t>(t) * groups * nr + j) * group_bytes;
        ScatterGroups(from, to, group_bytes, block_step, full_groups);
        if (tail > 0) {
          std::memcpy(to + full_groups * block_step, from + full_groups * group_bytes,
                      static_cast<size_t>(tail) * wb);
        }
      }
    }
  }
  return out;
}

PackedBytes PackDwconv(const DwconvKernelInfo& kernel, const DwconvWeightsSource& src) {
  const int32_t ct = kernel.channel_tile;
  const int32_t tiles = (src.channels + ct - 1) / ct;
  const int32_t group = kernel.tap_group;
  const bool dot = group == 4;  // 8-bit values; tap_group 1 and 2 hold int16
  // Real taps per group (the rest of a group's slots are zero).
  const int32_t per_group = dot && kernel.taps_per_group > 0 ? kernel.taps_per_group : group;
  const int32_t slots = (src.taps + per_group - 1) / per_group * group;
  const size_t weight_bytes = static_cast<size_t>(slots) * ct * (dot ? 1 : 2);
  const size_t tile_bytes = static_cast<size_t>(ct) * 4 + weight_bytes + ct * 4 +
                            (dot ? static_cast<size_t>(ct) * 4 + 16 : 0);
  // Channel j of a tile sits in slot slot_of(j) (pack.h).
  const int32_t lanes = kernel.channel_lanes, run = ct / lanes;
  auto slot_of = [&](int32_t j) {
    const int32_t l = j / run, q = j % run;
    return 4 * lanes * (q / 4) + 4 * l + q % 4;
  };
  const int32_t input_shift = dot ? kernel.input_shift[src.input_uint8 ? 1 : 0] : 0;
  const uint32_t x_zp = static_cast<uint32_t>(src.input_zero_point + input_shift);
  PackedBytes out(tile_bytes * tiles, 0);
  for (int32_t tile = 0; tile < tiles; ++tile) {
    uint8_t* p = out.data() + tile_bytes * tile;
    uint8_t* weights = p + ct * 4;
    uint8_t* scales = weights + weight_bytes;
    uint8_t* factors = scales + ct * 4;
    for (int32_t j = 0; j < ct; ++j) {
      const int32_t c = tile * ct + j;
      if (c >= src.channels) break;
      const int32_t s = slot_of(j);
      auto w_at = [&](int32_t t) -> int16_t {
        const int32_t ft = src.tap_order ? src.tap_order[t] : t;
        return static_cast<int16_t>(
            Centered(src.weights[static_cast<size_t>(ft) * src.channels + c], src.weights_uint8,
                     src.w_zp[c]));
      };
      uint32_t sum = 0;
      bool fits = true;
      for (int32_t t = 0; t < src.taps; ++t) {
        sum += static_cast<uint32_t>(static_cast<int32_t>(w_at(t)));
        fits = fits && w_at(t) >= -128 && w_at(t) <= 127;
      }
      const uint32_t bias = src.bias ? static_cast<uint32_t>(src.bias[c]) : 0u;
      StoreI32(p + s * 4, static_cast<int32_t>(bias - x_zp * sum));
      std::memcpy(scales + s * 4, &src.scale[c], 4);
      if (!dot) {
        for (int32_t t = 0; t < src.taps; ++t) {
          const int16_t w = w_at(t);
          const size_t at = (static_cast<size_t>(t / group) * ct + s) * group + t % group;
          std::memcpy(weights + at * 2, &w, 2);
        }
        continue;
      }
      // As for GEMM: bytes around the zero point where they fit, else around 128 (uint8) with a
      // correction by the input sum.
      const int32_t shift = fits ? src.w_zp[c] : (src.weights_uint8 ? 128 : 0);
      const int32_t factor = -(src.w_zp[c] - shift);
      StoreI32(factors + s * 4, factor);
      if (factor != 0) StoreI32(factors + ct * 4, 1);
      for (int32_t t = 0; t < src.taps; ++t) {
        const size_t at = (static_cast<size_t>(t / per_group) * ct + s) * 4 + t % per_group;
        weights[at] = static_cast<uint8_t>(static_cast<int8_t>(w_at(t) + src.w_zp[c] - shift));
      }
    }
  }
  return out;
}

}  // namespace wisp

namespace wisp {

std::vector<float> PackF32Gemm(int nr, size_t n, size_t ks, size_t kc, const float* weights,
                               const float* bias) {
  const size_t block = static_cast<size_t>(nr);
  const size_t blocks = (n + block - 1) / block;
  const size_t k_total = ks * kc;
  std::vector<float> packed(blocks * block * (1 + k_total), 0.0f);
  float* out = packed.data();
  for (size_t b = 0; b < blocks; ++b) {
    const size_t n0 = b * block;
    const size_t nc = std::min(block, n - n0);
    for (size_t j = 0; j < nc; ++j) out[j] = bias != nullptr ? bias[n0 + j] : 0.0f;
    out += block;
    for (size_t k = 0; k < k_total; ++k, out += block) {
      for (size_t j = 0; j < nc; ++j) out[j] = weights[(n0 + j) * k_total + k];
    }
  }
  return packed;
}

std::vector<float> PackF32Dwconv(int channel_tile, size_t channels, size_t taps,
                                 const float* weights, const float* bias) {
  const size_t tile = static_cast<size_t>(channel_tile);
  const size_t tiles = (channels + tile - 1) / tile;
  std::vector<float> packed(tiles * tile * (1 + taps), 0.0f);
  float* out = packed.data();
  for (size_t c0 = 0; c0 < channels; c0 += tile) {
    const size_t nc = std::min(tile, channels - c0);
    for (size_t j = 0; j < nc; ++j) out[j] = bias != nullptr ? bias[c0 + j] : 0.0f;
    out += tile;
    for (size_t t = 0; t < taps; ++t, out += tile) {
      for (size_t j = 0; j < nc; ++j) out[j] = weights[t * channels + c0 + j];
    }
  }
  return packed;
}

}  // namespace wisp
