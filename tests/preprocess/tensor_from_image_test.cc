#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/preprocess/tensor_from_image.h"

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

std::vector<float> AsFloats(const std::vector<uint8_t>& bytes) {
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

const Image kRgb2x1 = MakeImage(2, 1, 3, {0, 128, 255, 10, 20, 30});

TEST(TensorFromImage, Uint8IsThePixel) {
  auto t = TensorFromImage(kRgb2x1, {InputDType::kU8, {1, 1, 2, 3}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, kRgb2x1.pixels);
}

TEST(TensorFromImage, Int8IsPixelMinus128) {
  auto t = TensorFromImage(kRgb2x1, {InputDType::kI8, {1, 1, 2, 3}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const std::vector<int8_t> expected = {-128, 0, 127, -118, -108, -98};
  ASSERT_EQ(t->size(), expected.size());
  EXPECT_EQ(std::memcmp(t->data(), expected.data(), expected.size()), 0);
}

TEST(TensorFromImage, FloatDefaultIsPixelOver255AndAgreesWithInt8Twin) {
  auto plain = TensorFromImage(kRgb2x1, {InputDType::kF32, {1, 1, 2, 3}});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  const std::vector<float> x = AsFloats(*plain);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i], static_cast<float>(kRgb2x1.pixels[i]) * (1.0f / 255.0f));
  }
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_EQ(x[2], 1.0f);
  // The vww float golden: int8 twin with scale float32(1/255), zero point -128.
  TwinQuantization twin{InputDType::kI8, 0.003921568859368563f, -128};
  auto twinned = TensorFromImage(kRgb2x1, {InputDType::kF32, {1, 1, 2, 3}}, twin);
  ASSERT_TRUE(twinned.ok());
  EXPECT_EQ(*twinned, *plain);
}

TEST(TensorFromImage, FloatTwinRules) {
  TwinQuantization int8_twin{InputDType::kI8, 0.5f, 3};
  auto a = TensorFromImage(kRgb2x1, {InputDType::kF32, {1, 1, 2, 3}}, int8_twin);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(AsFloats(*a)[1], static_cast<float>(0 - 3) * 0.5f);  // q = 128 - 128 = 0
  TwinQuantization uint8_twin{InputDType::kU8, 0.0078125f, 128};
  auto b = TensorFromImage(kRgb2x1, {InputDType::kF32, {1, 1, 2, 3}}, uint8_twin);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(AsFloats(*b)[2], static_cast<float>(255 - 128) * 0.0078125f);
}

TEST(TensorFromImage, ResizesToTheTargetSize) {
  const Image in = MakeImage(2, 2, 1, {0, 101, 200, 51});
  auto t = TensorFromImage(in, {InputDType::kU8, {1, 3, 3, 1}});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, (std::vector<uint8_t>{0, 51, 101, 100, 88, 76, 200, 126, 51}));
}

TEST(TensorFromImage, ChannelAdaptation) {
  const Image gray = MakeImage(2, 1, 1, {7, 200});
  auto rgb = TensorFromImage(gray, {InputDType::kU8, {1, 1, 2, 3}});
  ASSERT_TRUE(rgb.ok());
  EXPECT_EQ(*rgb, (std::vector<uint8_t>{7, 7, 7, 200, 200, 200}));
  // [1, H, W] takes a gray image as is, and converts RGB to luma.
  auto hw = TensorFromImage(gray, {InputDType::kU8, {1, 1, 2}});
  ASSERT_TRUE(hw.ok());
  EXPECT_EQ(*hw, gray.pixels);
  auto luma = TensorFromImage(kRgb2x1, {InputDType::kU8, {1, 1, 2, 1}});
  ASSERT_TRUE(luma.ok());
  EXPECT_EQ(*luma, RgbToGray(kRgb2x1).pixels);
  const Image gray_as_rgb = GrayToRgb(gray);
  auto back = TensorFromImage(gray_as_rgb, {InputDType::kU8, {1, 1, 2}});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, gray.pixels);
}

TEST(TensorFromImage, RejectsBadTargets) {
  EXPECT_FALSE(TensorFromImage(kRgb2x1, {InputDType::kU8, {2, 1, 2, 3}}).ok());     // batch 2
  EXPECT_FALSE(TensorFromImage(kRgb2x1, {InputDType::kU8, {1, 1, 2, 4}}).ok());     // 4 channels
  EXPECT_FALSE(TensorFromImage(kRgb2x1, {InputDType::kU8, {1, 1, 2, 3, 1}}).ok());  // rank 5
  EXPECT_FALSE(TensorFromImage(kRgb2x1, {InputDType::kU8, {1, 0, 2, 3}}).ok());
  EXPECT_FALSE(TensorFromImage(kRgb2x1, {InputDType::kU8, {6}}).ok());
  EXPECT_FALSE(TensorFromImage(kRgb2x1, {InputDType::kU8, {}}).ok());
  EXPECT_FALSE(TensorFromImage(Image{}, {InputDType::kU8, {1, 1, 2, 3}}).ok());
  TwinQuantization twin;
  auto wrong_twin = TensorFromImage(kRgb2x1, {InputDType::kI8, {1, 1, 2, 3}}, twin);
  ASSERT_FALSE(wrong_twin.ok());
  EXPECT_NE(wrong_twin.status().message().find("float32"), std::string::npos);
  std::vector<uint8_t> small(5);
  EXPECT_FALSE(WriteTensorFromImage(kRgb2x1, {InputDType::kU8, {1, 1, 2, 3}}, std::nullopt,
                                    small.data(), small.size())
                   .ok());
}

TEST(TensorFromLcg, DtypeRules) {
  auto u8 = TensorFromLcg(1, {InputDType::kU8, {1, 4}});
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(*u8, (std::vector<uint8_t>{60, 94, 129, 180}));
  auto i8 = TensorFromLcg(1, {InputDType::kI8, {2, 2}});
  ASSERT_TRUE(i8.ok());
  EXPECT_EQ(*i8, (std::vector<uint8_t>{60 ^ 0x80, 94 ^ 0x80, 129 ^ 0x80, 180 ^ 0x80}));
  EXPECT_FALSE(TensorFromLcg(1, {InputDType::kF32, {4}}).ok());  // needs the twin
  auto f32 = TensorFromLcg(1, {InputDType::kF32, {4}}, TwinQuantization{InputDType::kI8, 0.25f, 1});
  ASSERT_TRUE(f32.ok());
  EXPECT_EQ(AsFloats(*f32)[0], static_cast<float>(60 - 128 - 1) * 0.25f);
}

}  // namespace
}  // namespace wisp
