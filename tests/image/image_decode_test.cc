#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>
#include <png.h>

#include <gtest/gtest.h>

#include "native/image/image_decode.h"
#include "tests/support/shared_data.h"

namespace wisp {
namespace {

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------------------------------------
// Test image writers (independent of the decoder under test).

Image PatternImage(int width, int height, int channels, uint32_t seed) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.pixels.resize(static_cast<size_t>(width) * height * channels);
  std::mt19937 rng(seed);
  for (uint8_t& p : image.pixels) p = static_cast<uint8_t>(rng());
  return image;
}

// A smooth image: JPEG reproduces it closely, so a round trip can use a tight tolerance.
Image SmoothImage(int width, int height, int channels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        image.pixels.push_back(static_cast<uint8_t>(40 + x * 3 + y * 2 + c * 30));
      }
    }
  }
  return image;
}

void PutLe16(Bytes* b, size_t at, uint32_t v) {
  (*b)[at] = static_cast<uint8_t>(v);
  (*b)[at + 1] = static_cast<uint8_t>(v >> 8);
}
void PutLe32(Bytes* b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*b)[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

struct BmpOptions {
  int bits = 24;  // 1, 4, 8 (palettised from a gray or colour palette), 24, 32
  bool top_down = false;
  bool color_palette = false;  // for <= 8 bits: a non-gray palette
  bool bitfields_32 = false;   // 32-bit BI_BITFIELDS with masks in a V4 header
};

// Palette used for <= 8 bits: entry i = gray level i * 255 / (n - 1), or coloured entries.
std::vector<uint8_t> TestPaletteRgb(int bits, bool color) {
  const int n = 1 << bits;
  std::vector<uint8_t> rgb;
  for (int i = 0; i < n; ++i) {
    const uint8_t v = static_cast<uint8_t>(i * 255 / (n - 1));
    rgb.push_back(v);
    rgb.push_back(color ? static_cast<uint8_t>(255 - v) : v);
    rgb.push_back(color ? static_cast<uint8_t>(v / 2) : v);
  }
  return rgb;
}

// Encodes `indices` (palette images) or `rgb` pixels as a BMP; returns the bytes.
Bytes WriteBmp(int width, int height, const BmpOptions& o, const std::vector<uint8_t>& data) {
  const uint32_t header_size = o.bitfields_32 ? 108 : 40;
  const uint32_t colors = o.bits <= 8 ? (1u << o.bits) : 0;
  const uint32_t offset = 14 + header_size + colors * 4;
  const size_t stride = (static_cast<size_t>(width) * o.bits + 31) / 32 * 4;
  Bytes b(offset + stride * height, 0);
  b[0] = 'B';
  b[1] = 'M';
  PutLe32(&b, 2, static_cast<uint32_t>(b.size()));
  PutLe32(&b, 10, offset);
  PutLe32(&b, 14, header_size);
  PutLe32(&b, 18, static_cast<uint32_t>(width));
  PutLe32(&b, 22, static_cast<uint32_t>(o.top_down ? -height : height));
  PutLe16(&b, 26, 1);
  PutLe16(&b, 28, static_cast<uint32_t>(o.bits));
  PutLe32(&b, 30, o.bitfields_32 ? 3 : 0);
  PutLe32(&b, 46, colors);
  if (o.bitfields_32) {
    PutLe32(&b, 54, 0x00FF0000);  // red
    PutLe32(&b, 58, 0x0000FF00);  // green
    PutLe32(&b, 62, 0x000000FF);  // blue
    PutLe32(&b, 66, 0xFF000000);  // alpha
  }
  const std::vector<uint8_t> palette = TestPaletteRgb(o.bits <= 8 ? o.bits : 1, o.color_palette);
  for (uint32_t i = 0; i < colors; ++i) {
    b[14 + header_size + 4 * i] = palette[3 * i + 2];
    b[14 + header_size + 4 * i + 1] = palette[3 * i + 1];
    b[14 + header_size + 4 * i + 2] = palette[3 * i];
  }
  for (int y = 0; y < height; ++y) {
    const int stored = o.top_down ? y : height - 1 - y;
    uint8_t* row = b.data() + offset + stride * stored;
    for (int x = 0; x < width; ++x) {
      const size_t i = static_cast<size_t>(y) * width + x;
      if (o.bits <= 8) {
        const int bit = x * o.bits;
        row[bit / 8] |= static_cast<uint8_t>(data[i] << (8 - o.bits - bit % 8));
      } else {
        uint8_t* p = row + x * (o.bits / 8);
        p[0] = data[3 * i + 2];
        p[1] = data[3 * i + 1];
        p[2] = data[3 * i];
        if (o.bits == 32) p[3] = 0x5A;  // alpha / unused, must be ignored
      }
    }
  }
  return b;
}

void PngWriteToVector(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}
void PngFlushNothing(png_structp) {}

// Writes `rows` (already in the PNG's sample layout) with libpng.
Bytes WritePng(int width, int height, int color_type, int bit_depth,
               const std::vector<std::vector<uint8_t>>& rows, bool interlaced = false,
               const std::vector<png_color>& palette = {}) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    ADD_FAILURE() << "libpng write failed";
    return {};
  }
  png_set_write_fn(png, &out, PngWriteToVector, PngFlushNothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height),
               bit_depth, color_type, interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!palette.empty()) {
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  }
  png_write_info(png, info);
  std::vector<png_bytep> pointers;
  for (const auto& r : rows) pointers.push_back(const_cast<png_bytep>(r.data()));
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

// Rows of an 8-bit image with `channels` samples per pixel taken from `image`, plus an alpha
// sample (value 77) when `alpha`.
std::vector<std::vector<uint8_t>> Rows8(const Image& image, bool alpha) {
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < image.height; ++y) {
    std::vector<uint8_t> row;
    for (int x = 0; x < image.width; ++x) {
      for (int c = 0; c < image.channels; ++c) {
        row.push_back(
            image.pixels[(static_cast<size_t>(y) * image.width + x) * image.channels + c]);
      }
      if (alpha) row.push_back(77);
    }
    rows.push_back(row);
  }
  return rows;
}

Bytes WriteJpeg(const Image& image, int quality) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  for (int i = 0; i < cinfo.num_components; ++i) {  // 4:4:4, no chroma subsampling
    cinfo.comp_info[i].h_samp_factor = 1;
    cinfo.comp_info[i].v_samp_factor = 1;
  }
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(image.pixels.data() + static_cast<size_t>(cinfo.next_scanline) *
                                                       image.width * image.channels);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

Bytes WritePnm(const Image& image, int maxval = 255, const std::string& comment = "") {
  std::string header = image.channels == 3 ? "P6\n" : "P5\n";
  if (!comment.empty()) header += "# " + comment + "\n";
  header += std::to_string(image.width) + " " + std::to_string(image.height) + "\n" +
            std::to_string(maxval) + "\n";
  Bytes b(header.begin(), header.end());
  for (uint8_t p : image.pixels) {
    if (maxval == 255) {
      b.push_back(p);
    } else {
      const uint32_t v = (p * static_cast<uint32_t>(maxval) + 127) / 255;
      if (maxval > 255) b.push_back(static_cast<uint8_t>(v >> 8));
      b.push_back(static_cast<uint8_t>(v));
    }
  }
  return b;
}

int MaxAbsDiff(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size() && i < b.pixels.size(); ++i) {
    worst = std::max(worst, std::abs(int{a.pixels[i]} - int{b.pixels[i]}));
  }
  return worst;
}

#define ASSERT_DECODES(var, bytes)                                    \
  auto var##_result = DecodeImage(bytes);                             \
  ASSERT_TRUE(var##_result.ok()) << var##_result.status().ToString(); \
  const Image& var = *var##_result

::testing::AssertionResult FailsWith(const Result<Image>& result, const std::string& fragment) {
  if (result.ok()) return ::testing::AssertionFailure() << "decoded, expected an error";
  if (result.status().message().find(fragment) == std::string::npos) {
    return ::testing::AssertionFailure() << "error \"" << result.status().message()
                                         << "\" does not mention \"" << fragment << "\"";
  }
  return ::testing::AssertionSuccess();
}

// Every strict prefix of a valid file must be rejected (never crash, never return garbage).
void ExpectEveryTruncationFails(const Bytes& file, size_t step = 1) {
  for (size_t n = 0; n < file.size(); n += step) {
    auto r = DecodeImage(file.data(), n);
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " of " << file.size() << " bytes decoded";
    ASSERT_FALSE(r.status().message().empty());
  }
}

uint32_t Crc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

// Rewrites every chunk CRC of a (mutated) PNG, so that fuzzing reaches the inflate, filter and
// IHDR paths instead of stopping at the first CRC check. Stops at an implausible chunk length.
void FixPngCrcs(Bytes* png) {
  size_t pos = 8;
  while (pos + 12 <= png->size()) {
    const uint32_t length = (uint32_t{(*png)[pos]} << 24) | (uint32_t{(*png)[pos + 1]} << 16) |
                            (uint32_t{(*png)[pos + 2]} << 8) | (*png)[pos + 3];
    if (length > png->size() - pos - 12) return;
    const uint32_t crc = Crc32(png->data() + pos + 4, 4 + size_t{length});
    for (int i = 0; i < 4; ++i) {
      (*png)[pos + 8 + length + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    }
    pos += 12 + size_t{length};
  }
}

// Random corruptions: the decoder may succeed or fail, but must not crash, and anything it
// returns must be a consistent image.
void FuzzDecode(const Bytes& file, uint32_t seed, int iterations, bool fix_png_crcs = false) {
  std::mt19937 rng(seed);
  int decoded = 0;
  for (int i = 0; i < iterations; ++i) {
    Bytes mutated = file;
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % mutated.size();
      switch (rng() % 3) {
        case 0:
          mutated[at] = static_cast<uint8_t>(rng());
          break;
        case 1:
          mutated[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        default:
          mutated[at] = (rng() & 1) ? 0xFF : 0x00;
          break;
      }
    }
    if (rng() % 4 == 0) mutated.resize(rng() % mutated.size());
    if (fix_png_crcs) FixPngCrcs(&mutated);
    auto r = DecodeImage(mutated);
    if (r.ok()) {
      ++decoded;
      ASSERT_TRUE(r->IsValid());
      ASSERT_TRUE(r->channels == 1 || r->channels == 3);
    } else {
      ASSERT_FALSE(r.status().message().empty());
    }
  }
  // Visible in the test log: how many mutants still decoded (the rest were rejected).
  std::printf("fuzz seed %u: %d of %d mutated files decoded, %d rejected\n", seed, decoded,
              iterations, iterations - decoded);
}

// ---------------------------------------------------------------------------------------------
// BMP

TEST(BmpDecode, Rgb24BottomUpAndTopDown) {
  for (bool top_down : {false, true}) {
    for (int width : {1, 2, 3, 5, 13}) {  // every row-padding remainder
      const Image src = PatternImage(width, 7, 3, 11u + width);
      BmpOptions o;
      o.top_down = top_down;
      ASSERT_DECODES(img, WriteBmp(width, 7, o, src.pixels));
      EXPECT_EQ(img.width, width);
      EXPECT_EQ(img.height, 7);
      EXPECT_EQ(img.channels, 3);
      EXPECT_EQ(img.pixels, src.pixels) << "top_down " << top_down << " width " << width;
    }
  }
}

TEST(BmpDecode, Rgb32IgnoresTheFourthByte) {
  const Image src = PatternImage(6, 4, 3, 5);
  BmpOptions o;
  o.bits = 32;
  ASSERT_DECODES(img, WriteBmp(6, 4, o, src.pixels));
  EXPECT_EQ(img.pixels, src.pixels);
  o.bitfields_32 = true;  // BI_BITFIELDS with a BITMAPV4HEADER
  ASSERT_DECODES(img2, WriteBmp(6, 4, o, src.pixels));
  EXPECT_EQ(img2.pixels, src.pixels);
}

TEST(BmpDecode, PalettisedGrayGivesOneChannel) {
  for (int bits : {1, 4, 8}) {
    const int n = 1 << bits;
    std::vector<uint8_t> indices(9 * 5);
    std::mt19937 rng(static_cast<uint32_t>(bits));
    for (uint8_t& i : indices) i = static_cast<uint8_t>(rng() % n);
    BmpOptions o;
    o.bits = bits;
    ASSERT_DECODES(img, WriteBmp(9, 5, o, indices));
    ASSERT_EQ(img.channels, 1) << bits;
    const std::vector<uint8_t> palette = TestPaletteRgb(bits, false);
    for (size_t i = 0; i < indices.size(); ++i) {
      ASSERT_EQ(img.pixels[i], palette[3 * indices[i]]) << bits << " bits, pixel " << i;
    }
  }
}

TEST(BmpDecode, PalettisedColourGivesRgb) {
  std::vector<uint8_t> indices(4 * 3);
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<uint8_t>(i * 20);
  BmpOptions o;
  o.bits = 8;
  o.color_palette = true;
  ASSERT_DECODES(img, WriteBmp(4, 3, o, indices));
  ASSERT_EQ(img.channels, 3);
  const std::vector<uint8_t> palette = TestPaletteRgb(8, true);
  for (size_t i = 0; i < indices.size(); ++i) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(img.pixels[3 * i + c], palette[3 * indices[i] + c]);
  }
}

TEST(BmpDecode, TruncatedAndMalformed) {
  const Image src = PatternImage(5, 4, 3, 9);
  const Bytes good = WriteBmp(5, 4, BmpOptions{}, src.pixels);
  ExpectEveryTruncationFails(Bytes(good.begin(), good.end() - 3));  // all pixel bytes needed
  EXPECT_TRUE(FailsWith(DecodeBmp(good.data(), good.size() - 4), "truncated"));

  Bytes huge = good;
  PutLe32(&huge, 18, 20000);
  EXPECT_TRUE(FailsWith(DecodeImage(huge), "exceeds"));
  Bytes huge_h = good;
  PutLe32(&huge_h, 22, static_cast<uint32_t>(-70000));
  EXPECT_TRUE(FailsWith(DecodeImage(huge_h), "exceeds"));
  Bytes int_min = good;
  PutLe32(&int_min, 22, 0x80000000u);
  EXPECT_FALSE(DecodeImage(int_min).ok());
  Bytes zero = good;
  PutLe32(&zero, 18, 0);
  EXPECT_TRUE(FailsWith(DecodeImage(zero), "invalid image size"));
  Bytes header = good;
  PutLe32(&header, 14, 7);
  EXPECT_TRUE(FailsWith(DecodeImage(header), "header size"));
  Bytes depth = good;
  PutLe16(&depth, 28, 7);
  EXPECT_TRUE(FailsWith(DecodeImage(depth), "bit depth"));
  Bytes rle = good;
  PutLe32(&rle, 30, 1);
  EXPECT_TRUE(FailsWith(DecodeImage(rle), "RLE8"));
  Bytes offset = good;
  PutLe32(&offset, 10, 0xFFFFFFF0u);
  EXPECT_TRUE(FailsWith(DecodeImage(offset), "pixel data"));
}

TEST(BmpDecode, PaletteIndexOutOfRange) {
  std::vector<uint8_t> indices(4, 200);
  BmpOptions o;
  o.bits = 8;
  Bytes b = WriteBmp(2, 2, o, indices);
  // Declare a 16-entry palette: index 200 is now out of range.
  PutLe32(&b, 46, 16);
  EXPECT_TRUE(FailsWith(DecodeImage(b), "palette index 200"));
}

TEST(BmpDecode, FuzzedFilesNeverCrash) {
  const Image src = PatternImage(7, 5, 3, 1);
  FuzzDecode(WriteBmp(7, 5, BmpOptions{}, src.pixels), 1, 2000);
  std::vector<uint8_t> indices(35, 3);
  BmpOptions o;
  o.bits = 4;
  FuzzDecode(WriteBmp(7, 5, o, indices), 2, 2000);
}

// ---------------------------------------------------------------------------------------------
// PNG

TEST(PngDecode, RgbAndRgbaDropAlpha) {
  const Image src = PatternImage(11, 6, 3, 21);
  for (bool interlaced : {false, true}) {
    ASSERT_DECODES(rgb, WritePng(11, 6, PNG_COLOR_TYPE_RGB, 8, Rows8(src, false), interlaced));
    EXPECT_EQ(rgb.channels, 3);
    EXPECT_EQ(rgb.pixels, src.pixels);
    ASSERT_DECODES(rgba, WritePng(11, 6, PNG_COLOR_TYPE_RGBA, 8, Rows8(src, true), interlaced));
    EXPECT_EQ(rgba.channels, 3);
    EXPECT_EQ(rgba.pixels, src.pixels);
  }
}

TEST(PngDecode, GrayAndGrayAlphaGiveOneChannel) {
  const Image src = PatternImage(9, 4, 1, 22);
  ASSERT_DECODES(gray, WritePng(9, 4, PNG_COLOR_TYPE_GRAY, 8, Rows8(src, false)));
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.pixels, src.pixels);
  ASSERT_DECODES(ga, WritePng(9, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8, Rows8(src, true)));
  EXPECT_EQ(ga.channels, 1);
  EXPECT_EQ(ga.pixels, src.pixels);
}

TEST(PngDecode, OneBitGrayExpandsToFullRange) {
  // 10 pixels per row, 1 bit each: 1 0 1 1 0 0 0 1 | 1 0 (packed MSB first).
  std::vector<std::vector<uint8_t>> rows = {{0xB1, 0x80}, {0x00, 0x40}};
  ASSERT_DECODES(img, WritePng(10, 2, PNG_COLOR_TYPE_GRAY, 1, rows));
  ASSERT_EQ(img.channels, 1);
  const std::vector<uint8_t> expected = {255, 0, 255, 255, 0, 0, 0, 255, 255, 0,
                                         0,   0, 0,   0,   0, 0, 0, 0,   0,   255};
  EXPECT_EQ(img.pixels, expected);
}

TEST(PngDecode, SixteenBitScalesWithRounding) {
  // png_set_scale_16 rounds v * 255 / 65535 to the nearest integer.
  std::vector<std::vector<uint8_t>> rows = {{0x00, 0x00, 0x12, 0x34, 0xFF, 0xFF}};
  ASSERT_DECODES(img, WritePng(1, 1, PNG_COLOR_TYPE_RGB, 16, rows));
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels[0], 0);
  EXPECT_EQ(img.pixels[1], (0x1234 * 255 + 32767) / 65535);
  EXPECT_EQ(img.pixels[2], 255);
}

TEST(PngDecode, PaletteGrayAndColour) {
  std::vector<png_color> gray_palette, colour_palette;
  for (int i = 0; i < 4; ++i) {
    const png_byte v = static_cast<png_byte>(i * 80);
    gray_palette.push_back({v, v, v});
    colour_palette.push_back({v, static_cast<png_byte>(255 - v), 9});
  }
  std::vector<std::vector<uint8_t>> rows = {{0, 1, 2}, {3, 2, 1}};
  ASSERT_DECODES(gray, WritePng(3, 2, PNG_COLOR_TYPE_PALETTE, 8, rows, false, gray_palette));
  EXPECT_EQ(gray.channels, 1);
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{0, 80, 160, 240, 160, 80}));
  ASSERT_DECODES(colour, WritePng(3, 2, PNG_COLOR_TYPE_PALETTE, 8, rows, false, colour_palette));
  EXPECT_EQ(colour.channels, 3);
  EXPECT_EQ(colour.pixels[3 * 3 + 0], 240);
  EXPECT_EQ(colour.pixels[3 * 3 + 1], 15);
  EXPECT_EQ(colour.pixels[3 * 3 + 2], 9);
}

TEST(PngDecode, TruncatedAndMalformed) {
  const Image src = PatternImage(8, 5, 3, 23);
  const Bytes good = WritePng(8, 5, PNG_COLOR_TYPE_RGB, 8, Rows8(src, false));
  ExpectEveryTruncationFails(good);
  EXPECT_TRUE(FailsWith(DecodePng(good.data(), good.size() - 1), "truncated"));

  // IHDR width 20000 with a valid CRC: rejected by size, before any allocation.
  Bytes huge = good;
  huge[16] = 0;
  huge[17] = 0;
  huge[18] = 0x4E;
  huge[19] = 0x20;
  const uint32_t crc = Crc32(huge.data() + 12, 17);  // chunk type + 13 data bytes
  huge[29] = static_cast<uint8_t>(crc >> 24);
  huge[30] = static_cast<uint8_t>(crc >> 16);
  huge[31] = static_cast<uint8_t>(crc >> 8);
  huge[32] = static_cast<uint8_t>(crc);
  auto r = DecodeImage(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("PNG"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("exceeds"), std::string::npos) << r.status().message();

  Bytes bad_crc = good;
  bad_crc[20] ^= 1;  // IHDR data changed, CRC not
  EXPECT_TRUE(FailsWith(DecodeImage(bad_crc), "CRC"));
  EXPECT_TRUE(FailsWith(DecodePng(good.data() + 1, good.size() - 1), "signature"));
}

TEST(PngDecode, FuzzedFilesNeverCrash) {
  const Image src = PatternImage(7, 5, 3, 24);
  FuzzDecode(WritePng(7, 5, PNG_COLOR_TYPE_RGB, 8, Rows8(src, false)), 3, 2000);
  FuzzDecode(WritePng(7, 5, PNG_COLOR_TYPE_RGB, 8, Rows8(src, false), true), 4, 1000);
  FuzzDecode(WritePng(7, 5, PNG_COLOR_TYPE_RGB, 8, Rows8(src, false)), 8, 3000, true);
  FuzzDecode(WritePng(7, 5, PNG_COLOR_TYPE_RGB, 8, Rows8(src, false), true), 9, 3000, true);
  const Image gray = PatternImage(9, 3, 1, 25);
  FuzzDecode(WritePng(9, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 8, Rows8(gray, true)), 10, 2000, true);
}

// ---------------------------------------------------------------------------------------------
// JPEG

TEST(JpegDecode, RoundTripRgbAndGray) {
  const Image rgb = SmoothImage(24, 16, 3);
  ASSERT_DECODES(img, WriteJpeg(rgb, 100));
  EXPECT_EQ(img.width, 24);
  EXPECT_EQ(img.height, 16);
  EXPECT_EQ(img.channels, 3);
  EXPECT_LE(MaxAbsDiff(img, rgb), 3);
  const Image gray = SmoothImage(17, 9, 1);
  ASSERT_DECODES(gimg, WriteJpeg(gray, 100));
  EXPECT_EQ(gimg.channels, 1);
  EXPECT_LE(MaxAbsDiff(gimg, gray), 2);
}

TEST(JpegDecode, TruncatedAndMalformed) {
  const Bytes good = WriteJpeg(PatternImage(16, 16, 3, 31), 90);
  ExpectEveryTruncationFails(good);
  auto cut = DecodeJpeg(good.data(), good.size() * 2 / 3);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("JPEG"), std::string::npos);

  // SOF0: FF C0, length (2), precision (1), height (2), width (2).
  Bytes huge = good;
  size_t sof = 0;
  for (size_t i = 2; i + 1 < huge.size(); ++i) {
    if (huge[i] == 0xFF && huge[i + 1] == 0xC0) {
      sof = i;
      break;
    }
  }
  ASSERT_NE(sof, 0u);
  huge[sof + 7] = 0x4E;  // width 20000
  huge[sof + 8] = 0x20;
  EXPECT_TRUE(FailsWith(DecodeImage(huge), "exceeds"));
  const Bytes not_jpeg = {0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02};
  EXPECT_FALSE(DecodeImage(not_jpeg).ok());
}

TEST(JpegDecode, FuzzedFilesNeverCrash) {
  FuzzDecode(WriteJpeg(PatternImage(16, 8, 3, 32), 80), 5, 1500);
  FuzzDecode(WriteJpeg(SmoothImage(9, 9, 1), 80), 6, 1000);
}

// ---------------------------------------------------------------------------------------------
// PPM / PGM

TEST(PnmDecode, RoundTrips) {
  const Image rgb = PatternImage(5, 3, 3, 41);
  ASSERT_DECODES(p6, WritePnm(rgb, 255, "a comment"));
  EXPECT_EQ(p6.channels, 3);
  EXPECT_EQ(p6.pixels, rgb.pixels);
  const Image gray = PatternImage(4, 6, 1, 42);
  ASSERT_DECODES(p5, WritePnm(gray));
  EXPECT_EQ(p5.channels, 1);
  EXPECT_EQ(p5.pixels, gray.pixels);
  ASSERT_DECODES(p5_16, WritePnm(gray, 65535));
  EXPECT_EQ(p5_16.pixels, gray.pixels);
  ASSERT_DECODES(p5_15, WritePnm(gray, 15));
  EXPECT_LE(MaxAbsDiff(p5_15, gray), 9);
}

TEST(PnmDecode, TruncatedAndMalformed) {
  const Bytes good = WritePnm(PatternImage(5, 3, 3, 43));
  ExpectEveryTruncationFails(good);
  const std::string huge = "P6\n20000 20000\n255\n";
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes(huge.begin(), huge.end())), "exceeds"));
  const std::string overflow = "P6\n99999999999 1\n255\n";
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes(overflow.begin(), overflow.end())), "too large"));
  const std::string bad_max = "P5\n1 1\n0\nx";
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes(bad_max.begin(), bad_max.end())), "maxval"));
  const std::string letters = "P5\nab 1\n255\nx";
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes(letters.begin(), letters.end())), "width"));
  const std::string above = "P5\n1 1\n15\n\x20";
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes(above.begin(), above.end())), "above maxval"));
}

TEST(PnmDecode, FuzzedFilesNeverCrash) { FuzzDecode(WritePnm(PatternImage(6, 4, 3, 44)), 7, 2000); }

// ---------------------------------------------------------------------------------------------
// Dispatch and files

TEST(DecodeImage, UnknownAndEmpty) {
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes{}), "empty"));
  const std::string gif = "GIF89a....";
  EXPECT_TRUE(FailsWith(DecodeImage(Bytes(gif.begin(), gif.end())), "unrecognised"));
  EXPECT_EQ(DetectImageFormat(reinterpret_cast<const uint8_t*>("BM"), 2), ImageFormat::kBmp);
}

TEST(DecodeImageFile, MissingFileNamesThePath) {
  auto r = DecodeImageFile("/nonexistent/dir/picture.png");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/picture.png"), std::string::npos);
}

struct SharedImage {
  const char* file;
  int width, height, channels;
};

TEST(SharedImages, DecodeWithTheDocumentedSizes) {
  const SharedImage images[] = {
      {"bird.bmp", 512, 343, 3},         {"cat.bmp", 512, 341, 3},   {"dragonfly.bmp", 512, 418, 3},
      {"grace_hopper.bmp", 512, 600, 3}, {"squat.bmp", 500, 610, 3}, {"parrot.jpg", 512, 929, 3},
      {"mnist_nine.bmp", 28, 28, 1},  // 8-bit palettised, R == G == B
  };
  for (const SharedImage& s : images) {
    const std::string path = testing::SharedPath(std::string("images/") + s.file);
    auto img = DecodeImageFile(path);
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    EXPECT_EQ(img->width, s.width) << s.file;
    EXPECT_EQ(img->height, s.height) << s.file;
    EXPECT_EQ(img->channels, s.channels) << s.file;
    EXPECT_TRUE(img->IsValid()) << s.file;
  }
}

TEST(SharedImages, ParrotJpegMatchesDjpegIslowPixels) {
  auto jpeg = DecodeImageFile(testing::SharedPath("images/parrot.jpg"));
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  auto ppm = DecodeImageFile(testing::SharedPath("goldens/decoded_images/parrot.ppm"));
  ASSERT_TRUE(ppm.ok()) << ppm.status().ToString();
  ASSERT_EQ(jpeg->width, ppm->width);
  ASSERT_EQ(jpeg->height, ppm->height);
  ASSERT_EQ(jpeg->channels, ppm->channels);
  EXPECT_EQ(jpeg->pixels, ppm->pixels);
}

TEST(SharedImages, TruncatedSharedFilesFail) {
  for (const char* file : {"images/cat.bmp", "images/parrot.jpg"}) {
    auto bytes = testing::ReadFileBytes(testing::SharedPath(file));
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    for (size_t keep : {size_t{10}, size_t{100}, bytes->size() / 2, bytes->size() - 1}) {
      EXPECT_FALSE(DecodeImage(bytes->data(), keep).ok()) << file << " cut to " << keep;
    }
  }
}

}  // namespace
}  // namespace wisp
