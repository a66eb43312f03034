#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/preprocess/image.h"

namespace wisp {
namespace {

Image MakeImage(int width, int height, int channels, std::vector<uint8_t> pixels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels = std::move(pixels);
  return image;
}

Image RandomImage(int width, int height, int channels, std::mt19937* rng) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * channels);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>((*rng)() & 0xFF);
  return MakeImage(width, height, channels, std::move(pixels));
}

// The manifest's resize_spec transcribed literally, one output sample at a time, as an
// independent check of the optimised implementation.
uint8_t SpecSample(const Image& in, int out_w, int out_h, int ox, int oy, int c) {
  const int64_t wi = in.width, hi = in.height, wo = out_w, ho = out_h;
  int64_t n = (2 * ox + 1) * wi - wo;
  if (n < 0) n = 0;
  const int64_t d = 2 * wo;
  const int64_t x0 = n / d, fx = n % d, x1 = std::min<int64_t>(x0 + 1, wi - 1);
  int64_t ny = (2 * oy + 1) * hi - ho;
  if (ny < 0) ny = 0;
  const int64_t dy = 2 * ho;
  const int64_t y0 = ny / dy, fy = ny % dy, y1 = std::min<int64_t>(y0 + 1, hi - 1);
  auto p = [&](int64_t y, int64_t x) -> uint64_t {
    return in.pixels[static_cast<size_t>((y * wi + x) * in.channels + c)];
  };
  const uint64_t num = static_cast<uint64_t>((d - fx) * (dy - fy)) * p(y0, x0) +
                       static_cast<uint64_t>(fx * (dy - fy)) * p(y0, x1) +
                       static_cast<uint64_t>((d - fx) * fy) * p(y1, x0) +
                       static_cast<uint64_t>(fx * fy) * p(y1, x1) +
                       static_cast<uint64_t>(d * dy) / 2;
  return static_cast<uint8_t>(num / static_cast<uint64_t>(d * dy));
}

TEST(Resize, SameSizeIsIdentity) {
  std::mt19937 rng(7);
  for (int channels : {1, 3, 4}) {
    const Image in = RandomImage(37, 23, channels, &rng);
    const Image out = ResizeBilinearHalfPixel(in, 37, 23);
    EXPECT_EQ(out.width, 37);
    EXPECT_EQ(out.height, 23);
    EXPECT_EQ(out.channels, channels);
    EXPECT_EQ(out.pixels, in.pixels);
  }
}

TEST(Resize, TwoByTwoToThreeByThreeByHand) {
  // Wi = Wo' = 2 -> 3: D = 6. ox = 0: n = max(0, 1*2-3) = 0 -> x0 = 0, fx = 0 (left pixel only);
  // ox = 1: n = 3 -> x0 = 0, fx = 3 (half and half); ox = 2: n = 7 -> x0 = 1, fx = 1, x1 = 1
  // (right pixel only). Rows likewise. Halves round up: out = floor(mean + 1/2).
  //   a=0   b=101        0   51 (50.5)  101
  //   c=200 d=51   ->  100   88 (88)     76
  //                    200  126 (125.5)  51
  const Image in = MakeImage(2, 2, 1, {0, 101, 200, 51});
  const Image out = ResizeBilinearHalfPixel(in, 3, 3);
  ASSERT_EQ(out.width, 3);
  ASSERT_EQ(out.height, 3);
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{0, 51, 101, 100, 88, 76, 200, 126, 51}));
}

TEST(Resize, ChannelsAreIndependent) {
  // The same 2x2 -> 3x3 case in channel 1 of 3, with constant other channels.
  const Image in = MakeImage(2, 2, 3, {9, 0, 255, 9, 101, 255, 9, 200, 255, 9, 51, 255});
  const Image out = ResizeBilinearHalfPixel(in, 3, 3);
  const std::vector<uint8_t> expected = {0, 51, 101, 100, 88, 76, 200, 126, 51};
  for (size_t i = 0; i < 9; ++i) {
    EXPECT_EQ(out.pixels[3 * i], 9);
    EXPECT_EQ(out.pixels[3 * i + 1], expected[i]);
    EXPECT_EQ(out.pixels[3 * i + 2], 255);
  }
}

TEST(Resize, MatchesLiteralSpecOnRandomSizes) {
  std::mt19937 rng(1234);
  const int sizes[][4] = {{512, 341, 96, 96},   {500, 610, 32, 32}, {17, 9, 224, 224},
                          {1, 1, 5, 3},         {5, 3, 1, 1},       {3, 7, 7, 3},
                          {512, 343, 513, 513}, {100, 1, 33, 2},    {64, 64, 63, 65}};
  for (const auto& s : sizes) {
    for (int channels : {1, 3}) {
      const Image in = RandomImage(s[0], s[1], channels, &rng);
      const Image out = ResizeBilinearHalfPixel(in, s[2], s[3]);
      ASSERT_EQ(out.width, s[2]);
      ASSERT_EQ(out.height, s[3]);
      ASSERT_TRUE(out.IsValid());
      for (int oy = 0; oy < s[3]; ++oy) {
        for (int ox = 0; ox < s[2]; ++ox) {
          for (int c = 0; c < channels; ++c) {
            const uint8_t got = out.pixels[(static_cast<size_t>(oy) * s[2] + ox) * channels + c];
            ASSERT_EQ(got, SpecSample(in, s[2], s[3], ox, oy, c))
                << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3] << " at (" << ox << ", "
                << oy << ") channel " << c;
          }
        }
      }
    }
  }
}

TEST(Resize, ConstantImageStaysConstant) {
  const Image in = MakeImage(5, 4, 1, std::vector<uint8_t>(20, 77));
  const Image out = ResizeBilinearHalfPixel(in, 13, 2);
  EXPECT_EQ(out.pixels, std::vector<uint8_t>(26, 77));
}

TEST(Resize, InvalidArgumentsGiveEmptyImage) {
  const Image in = MakeImage(2, 2, 1, {1, 2, 3, 4});
  EXPECT_EQ(ResizeBilinearHalfPixel(in, 0, 3).width, 0);
  EXPECT_EQ(ResizeBilinearHalfPixel(in, 3, -1).width, 0);
  EXPECT_EQ(ResizeBilinearHalfPixel(in, kMaxResizeDimension + 1, 1).width, 0);
  EXPECT_EQ(ResizeBilinearHalfPixel(MakeImage(2, 2, 1, {1, 2, 3}), 3, 3).width, 0);
  EXPECT_EQ(ResizeBilinearHalfPixel(Image{}, 3, 3).width, 0);
}

TEST(GrayRgb, RoundTripsAndLuma) {
  const Image rgb = MakeImage(4, 1, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 10, 10});
  const Image gray = RgbToGray(rgb);
  ASSERT_EQ(gray.channels, 1);
  // (19595*255 + 32768) >> 16 = 76; (38470*255 + 32768) >> 16 = 150; 7471*255 -> 29.
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{76, 150, 29, 10}));
  EXPECT_FALSE(IsGray(rgb));
  const Image back = GrayToRgb(gray);
  ASSERT_EQ(back.channels, 3);
  EXPECT_TRUE(IsGray(back));
  EXPECT_EQ(RgbToGray(back).pixels, gray.pixels);  // R == G == B maps to itself
  EXPECT_EQ(GrayToRgb(back).pixels, back.pixels);  // already RGB: unchanged
  EXPECT_EQ(RgbToGray(gray).pixels, gray.pixels);  // already gray: unchanged
}

TEST(GrayRgb, EveryGrayLevelIsExact) {
  std::vector<uint8_t> pixels;
  for (int v = 0; v < 256; ++v) pixels.insert(pixels.end(), 3, static_cast<uint8_t>(v));
  const Image gray = RgbToGray(MakeImage(256, 1, 3, pixels));
  for (int v = 0; v < 256; ++v) EXPECT_EQ(gray.pixels[static_cast<size_t>(v)], v);
}

}  // namespace
}  // namespace wisp
