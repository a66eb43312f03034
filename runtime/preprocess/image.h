// Decoded 8-bit images and the pixel operations the model inputs are built from.
// Portable: no OS calls, no exceptions, no file I/O (this compiles into the WASM runtime).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace wisp {

// Interleaved 8-bit pixels, rows top-down, no row padding: pixel (x, y) channel c is at
// pixels[(y * width + x) * channels + c]. channels is 1 (gray) or 3 (RGB); decoders drop alpha.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;

  size_t PixelCount() const { return static_cast<size_t>(width) * static_cast<size_t>(height); }
  // True when the dimensions are positive and pixels holds exactly width*height*channels bytes.
  bool IsValid() const;
};

// Largest width or height ResizeBilinearHalfPixel accepts (in or out); keeps its 64-bit sums
// far from overflow.
constexpr int kMaxResizeDimension = 1 << 20;

// Integer-only bilinear resize with half-pixel centres, exactly the golden manifest's
// `resize_spec`. Every channel is resized independently, so any channel count works.
// Same size in and out is the identity. Returns an empty Image (width 0) when `in` is not valid
// or out_w/out_h are not positive or any side exceeds kMaxResizeDimension; callers that need a
// message check this up front.
Image ResizeBilinearHalfPixel(const Image& in, int out_w, int out_h);

// ITU-R BT.601 luma in 16-bit fixed point, the same weights libjpeg uses for RGB->gray:
// Y = (19595 R + 38470 G + 7471 B + 32768) >> 16. The weights sum to 65536, so a pixel with
// R == G == B maps to exactly that value. A 1-channel image is returned unchanged.
Image RgbToGray(const Image& rgb);

// Replicates the gray channel into R, G and B. A 3-channel image is returned unchanged.
Image GrayToRgb(const Image& gray);

// True for 1-channel images and for 3-channel images in which every pixel has R == G == B.
bool IsGray(const Image& image);

}  // namespace wisp
