// Image file decoding for the native tools and tests (BMP, PNG, JPEG, PPM/PGM) into wisp::Image.
// Native only: uses libpng, libjpeg-turbo and the file system. The WASM build receives pixels
// decoded by the browser instead.
//
// Output: 8-bit interleaved, rows top-down, alpha dropped. Gray sources (PNG gray / gray+alpha,
// grayscale JPEG, PGM, palettised BMP/PNG whose palette entries all have R == G == B) give a
// 1-channel Image, everything else 3-channel RGB.
//
// Malformed input (truncated data, bad headers, sizes above kMaxDecodeDimension, corrupt
// compressed data) returns an error whose message says what is wrong; it never aborts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/preprocess/image.h"

namespace wisp {

// Larger widths or heights are rejected before any pixel memory is allocated.
constexpr int kMaxDecodeDimension = 16384;

enum class ImageFormat { kUnknown, kBmp, kPng, kJpeg, kPnm };

const char* ImageFormatName(ImageFormat format);

// From the leading magic bytes ("BM", PNG signature, FF D8 FF, "P5"/"P6").
ImageFormat DetectImageFormat(const uint8_t* data, size_t size);

// Detects the format and decodes.
Result<Image> DecodeImage(const uint8_t* data, size_t size);
Result<Image> DecodeImage(const std::vector<uint8_t>& bytes);
// Reads the whole file, then DecodeImage; errors are prefixed with the path.
Result<Image> DecodeImageFile(const std::string& path);

// BMP: uncompressed (BI_RGB) 1/4/8-bit palettised, 16/24/32-bit, and BI_BITFIELDS 16/32-bit;
// bottom-up and top-down; BITMAPCOREHEADER (OS/2) through BITMAPV5HEADER. RLE is unsupported.
Result<Image> DecodeBmp(const uint8_t* data, size_t size);
// PNG (libpng): every colour type and bit depth; 16-bit samples are scaled to 8 bits with
// rounding (png_set_scale_16); gamma and colour profiles are ignored (raw sample values).
Result<Image> DecodePng(const uint8_t* data, size_t size);
// JPEG (libjpeg-turbo) with JDCT_ISLOW and the library's default (fancy) upsampling, i.e. the
// same pixels as `djpeg -dct int`. Warnings about corrupt entropy-coded data (including a
// premature end of file, which libjpeg would pad with gray) are errors here. CMYK is unsupported.
Result<Image> DecodeJpeg(const uint8_t* data, size_t size);
// Binary PPM (P6) and PGM (P5), any maxval 1..65535 (scaled to 0..255 with rounding).
Result<Image> DecodePnm(const uint8_t* data, size_t size);

}  // namespace wisp
