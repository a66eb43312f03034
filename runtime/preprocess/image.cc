#include "runtime/preprocess/image.h"

namespace wisp {

bool Image::IsValid() const {
  if (width <= 0 || height <= 0 || channels <= 0) return false;
  const uint64_t expected = static_cast<uint64_t>(width) * static_cast<uint64_t>(height) *
                            static_cast<uint64_t>(channels);
  return pixels.size() == expected;
}

namespace {

// One axis of the resize: for every output coordinate, the two source taps and the weight of
// the second one (the first gets denominator - frac). Precomputed once per axis.
struct AxisTaps {
  std::vector<uint32_t> lo;
  std::vector<uint32_t> hi;
  std::vector<uint64_t> frac;
  uint64_t denominator = 0;
};

AxisTaps ComputeAxisTaps(int in_size, int out_size) {
  AxisTaps taps;
  taps.lo.resize(static_cast<size_t>(out_size));
  taps.hi.resize(static_cast<size_t>(out_size));
  taps.frac.resize(static_cast<size_t>(out_size));
  taps.denominator = 2 * static_cast<uint64_t>(out_size);
  for (int o = 0; o < out_size; ++o) {
    // Source position of the output centre, in units of 1/(2*out_size) source pixels, shifted so
    // that 0 is the centre of source pixel 0: ((o + 0.5) * in / out - 0.5) * 2 * out.
    int64_t numerator = (2 * static_cast<int64_t>(o) + 1) * in_size - out_size;
    if (numerator < 0) numerator = 0;  // clamp to the first pixel's centre
    const uint64_t n = static_cast<uint64_t>(numerator);
    const uint64_t lo = n / taps.denominator;
    const size_t i = static_cast<size_t>(o);
    taps.lo[i] = static_cast<uint32_t>(lo);
    taps.hi[i] =
        static_cast<uint32_t>(lo + 1 < static_cast<uint64_t>(in_size) ? lo + 1 : in_size - 1);
    taps.frac[i] = n % taps.denominator;
  }
  return taps;
}

}  // namespace

Image ResizeBilinearHalfPixel(const Image& in, int out_w, int out_h) {
  Image out;
  if (!in.IsValid() || out_w <= 0 || out_h <= 0) return out;
  if (in.width > kMaxResizeDimension || in.height > kMaxResizeDimension ||
      out_w > kMaxResizeDimension || out_h > kMaxResizeDimension) {
    return out;
  }
  out.width = out_w;
  out.height = out_h;
  out.channels = in.channels;
  const size_t channels = static_cast<size_t>(in.channels);
  out.pixels.resize(static_cast<size_t>(out_w) * static_cast<size_t>(out_h) * channels);

  const AxisTaps xs = ComputeAxisTaps(in.width, out_w);
  const AxisTaps ys = ComputeAxisTaps(in.height, out_h);
  const uint64_t dx = xs.denominator;
  const uint64_t dy = ys.denominator;
  // 64-bit because D*Dy*255 passes 2^32 once the output is larger than about 2048x2048; with
  // both sides capped at kMaxResizeDimension (2^20) the sum stays below 2^51.
  const uint64_t total = dx * dy;
  const uint64_t half = total / 2;
  const size_t in_row = static_cast<size_t>(in.width) * channels;
  const uint8_t* src = in.pixels.data();
  uint8_t* dst = out.pixels.data();

  for (int oy = 0; oy < out_h; ++oy) {
    const size_t yi = static_cast<size_t>(oy);
    const uint8_t* row0 = src + ys.lo[yi] * in_row;
    const uint8_t* row1 = src + ys.hi[yi] * in_row;
    const uint64_t fy = ys.frac[yi];
    const uint64_t gy = dy - fy;
    for (int ox = 0; ox < out_w; ++ox) {
      const size_t xi = static_cast<size_t>(ox);
      const size_t x0 = xs.lo[xi] * channels;
      const size_t x1 = xs.hi[xi] * channels;
      const uint64_t fx = xs.frac[xi];
      const uint64_t gx = dx - fx;
      const uint64_t w00 = gx * gy, w01 = fx * gy, w10 = gx * fy, w11 = fx * fy;
      for (size_t c = 0; c < channels; ++c) {
        const uint64_t sum = w00 * row0[x0 + c] + w01 * row0[x1 + c] + w10 * row1[x0 + c] +
                             w11 * row1[x1 + c] + half;
        *dst++ = static_cast<uint8_t>(sum / total);
      }
    }
  }
  return out;
}

Image RgbToGray(const Image& rgb) {
  if (rgb.channels != 3 || !rgb.IsValid()) return rgb;
  Image gray;
  gray.width = rgb.width;
  gray.height = rgb.height;
  gray.channels = 1;
  const size_t count = rgb.PixelCount();
  gray.pixels.resize(count);
  const uint8_t* p = rgb.pixels.data();
  for (size_t i = 0; i < count; ++i, p += 3) {
    const uint32_t y = 19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u;
    gray.pixels[i] = static_cast<uint8_t>(y >> 16);
  }
  return gray;
}

Image GrayToRgb(const Image& gray) {
  if (gray.channels != 1 || !gray.IsValid()) return gray;
  Image rgb;
  rgb.width = gray.width;
  rgb.height = gray.height;
  rgb.channels = 3;
  const size_t count = gray.PixelCount();
  rgb.pixels.resize(count * 3);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t v = gray.pixels[i];
    rgb.pixels[3 * i] = v;
    rgb.pixels[3 * i + 1] = v;
    rgb.pixels[3 * i + 2] = v;
  }
  return rgb;
}

bool IsGray(const Image& image) {
  if (image.channels == 1) return true;
  if (image.channels != 3) return false;
  const size_t count = image.pixels.size() / 3;
  const uint8_t* p = image.pixels.data();
  for (size_t i = 0; i < count; ++i, p += 3) {
    if (p[0] != p[1] || p[0] != p[2]) return false;
  }
  return true;
}

}  // namespace wisp
