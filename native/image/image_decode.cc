#include "native/image/image_decode.h"

#include <cerrno>
#include <csetjmp>
#include <cstddef>
#include <cstdio>  // before jpeglib.h, which uses FILE and size_t
#include <cstring>
#include <new>

#include <jpeglib.h>
// After jpeglib.h: defines the J_MESSAGE_CODE enum (JWRN_*) used to classify warnings.
#include <jerror.h>
#include <png.h>

#include "runtime/util/little_endian.h"

namespace wisp {

namespace {

// ---------------------------------------------------------------------------------------------
// Shared helpers

Status CheckDimensions(const char* format, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) {
    return InvalidArgument("%s: invalid image size %lldx%lld", format,
                           static_cast<long long>(width), static_cast<long long>(height));
  }
  if (width > kMaxDecodeDimension || height > kMaxDecodeDimension) {
    return InvalidArgument("%s: image size %lldx%lld exceeds the limit of %dx%d", format,
                           static_cast<long long>(width), static_cast<long long>(height),
                           kMaxDecodeDimension, kMaxDecodeDimension);
  }
  return Status::Ok();
}

// Sizes the pixel buffer; the dimensions were checked, so this is at most 16384^2 * 3 bytes,
// but that can still fail on a small machine and must not escape as an exception.
Status AllocatePixels(Image* image, int width, int height, int channels) {
  image->width = width;
  image->height = height;
  image->channels = channels;
  try {
    image->pixels.assign(
        static_cast<size_t>(width) * static_cast<size_t>(height) * static_cast<size_t>(channels),
        0);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("cannot allocate %dx%dx%d pixels", width, height, channels);
  }
  return Status::Ok();
}

// Keeps channel 0 of an RGB image whose palette was all gray.
Image KeepFirstChannel(const Image& rgb) {
  Image gray;
  gray.width = rgb.width;
  gray.height = rgb.height;
  gray.channels = 1;
  gray.pixels.resize(rgb.PixelCount());
  for (size_t i = 0; i < gray.pixels.size(); ++i) gray.pixels[i] = rgb.pixels[3 * i];
  return gray;
}

// ---------------------------------------------------------------------------------------------
// BMP

constexpr uint32_t kBiRgb = 0;
constexpr uint32_t kBiRle8 = 1;
constexpr uint32_t kBiRle4 = 2;
constexpr uint32_t kBiBitfields = 3;
constexpr uint32_t kBiJpeg = 4;
constexpr uint32_t kBiPng = 5;
constexpr uint32_t kBiAlphaBitfields = 6;

const char* BmpCompressionName(uint32_t compression) {
  switch (compression) {
    case kBiRle8:
      return "RLE8";
    case kBiRle4:
      return "RLE4";
    case kBiJpeg:
      return "embedded JPEG";
    case kBiPng:
      return "embedded PNG";
    default:
      return "unknown";
  }
}

// One colour channel of a BI_BITFIELDS pixel: value = (pixel & mask) >> shift, scaled from
// 0..max to 0..255 with rounding.
struct BitfieldChannel {
  uint32_t mask = 0;
  int shift = 0;
  uint32_t max = 0;

  uint8_t Extract(uint32_t pixel) const {
    if (max == 0) return 0;
    const uint32_t v = (pixel & mask) >> shift;
    return static_cast<uint8_t>((static_cast<uint64_t>(v) * 255 + max / 2) / max);
  }
};

Status MakeBitfieldChannel(uint32_t mask, const char* name, BitfieldChannel* out) {
  out->mask = mask;
  if (mask == 0) return Status::Ok();
  int shift = 0;
  while (((mask >> shift) & 1u) == 0) ++shift;
  const uint32_t max = mask >> shift;
  if ((max & (max + 1)) != 0) {
    return InvalidArgument("BMP: %s bit mask 0x%08x is not contiguous", name, mask);
  }
  out->shift = shift;
  out->max = max;
  return Status::Ok();
}

Result<Image> DecodeBmpImpl(const uint8_t* data, size_t size) {
  if (size < 18 || data[0] != 'B' || data[1] != 'M') {
    return InvalidArgument("BMP: file too short or missing the 'BM' signature");
  }
  const uint32_t pixel_offset = ReadLe32(data + 10);
  const uint32_t header_size = ReadLe32(data + 14);
  if (header_size != 12 && header_size != 40 && header_size != 52 && header_size != 56 &&
      header_size != 64 && header_size != 108 && header_size != 124) {
    return InvalidArgument("BMP: unknown info header size %u", header_size);
  }
  if (size < 14 + static_cast<size_t>(header_size)) {
    return InvalidArgument("BMP: truncated info header (%zu bytes, header needs %u)", size,
                           14 + header_size);
  }
  const uint8_t* info = data + 14;
  int64_t width = 0, raw_height = 0;
  uint32_t planes = 0, bits = 0, compression = kBiRgb, colors_used = 0;
  size_t palette_entry_size = 4;
  if (header_size == 12) {  // BITMAPCOREHEADER (OS/2 1.x): 16-bit sizes, 3-byte palette entries
    width = ReadLe16(info + 4);
    raw_height = ReadLe16(info + 6);
    planes = ReadLe16(info + 8);
    bits = ReadLe16(info + 10);
    palette_entry_size = 3;
  } else {
    width = static_cast<int32_t>(ReadLe32(info + 4));
    raw_height = static_cast<int32_t>(ReadLe32(info + 8));
    planes = ReadLe16(info + 12);
    bits = ReadLe16(info + 14);
    compression = ReadLe32(info + 16);
    colors_used = ReadLe32(info + 32);
  }
  const bool bottom_up = raw_height > 0;
  const int64_t height = raw_height < 0 ? -raw_height : raw_height;
  WISP_RETURN_IF_ERROR(CheckDimensions("BMP", width, height));
  if (planes != 1) return InvalidArgument("BMP: %u colour planes (must be 1)", planes);

  size_t palette_offset = 14 + static_cast<size_t>(header_size);
  BitfieldChannel red, green, blue;
  const bool bitfields = compression == kBiBitfields || compression == kBiAlphaBitfields;
  if (compression != kBiRgb && !bitfields) {
    return Unsupported("BMP: compression %u (%s) is not supported", compression,
                       BmpCompressionName(compression));
  }
  if (bitfields) {
    if (bits != 16 && bits != 32) {
      return InvalidArgument("BMP: bit-field compression with %u bits per pixel", bits);
    }
    // BITMAPINFOHEADER keeps the masks right after the header; later headers contain them.
    size_t masks_offset = 14 + 40;
    if (header_size == 40) palette_offset += compression == kBiAlphaBitfields ? 16 : 12;
    if (size < masks_offset + 12) return InvalidArgument("BMP: truncated colour bit masks");
    WISP_RETURN_IF_ERROR(MakeBitfieldChannel(ReadLe32(data + masks_offset), "red", &red));
    WISP_RETURN_IF_ERROR(MakeBitfieldChannel(ReadLe32(data + masks_offset + 4), "green", &green));
    WISP_RETURN_IF_ERROR(MakeBitfieldChannel(ReadLe32(data + masks_offset + 8), "blue", &blue));
  } else if (bits == 16) {  // BI_RGB 16-bit is X1R5G5B5
    WISP_RETURN_IF_ERROR(MakeBitfieldChannel(0x7C00, "red", &red));
    WISP_RETURN_IF_ERROR(MakeBitfieldChannel(0x03E0, "green", &green));
    WISP_RETURN_IF_ERROR(MakeBitfieldChannel(0x001F, "blue", &blue));
  }
  if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32) {
    return InvalidArgument("BMP: unsupported bit depth %u", bits);
  }

  // Palette (1/4/8 bits per pixel). Colours are stored B, G, R (, reserved).
  std::vector<uint8_t> palette;  // R, G, B triples
  bool gray_palette = false;
  if (bits <= 8) {
    const uint32_t max_colors = 1u << bits;
    const uint32_t count = colors_used == 0 || colors_used > max_colors ? max_colors : colors_used;
    if (palette_offset + static_cast<size_t>(count) * palette_entry_size > size) {
      return InvalidArgument(
          "BMP: truncated palette (%u entries at offset %zu, file has %zu bytes)", count,
          palette_offset, size);
    }
    palette.resize(3 * static_cast<size_t>(count));
    gray_palette = true;
    for (uint32_t i = 0; i < count; ++i) {
      const uint8_t* entry = data + palette_offset + i * palette_entry_size;
      palette[3 * i] = entry[2];
      palette[3 * i + 1] = entry[1];
      palette[3 * i + 2] = entry[0];
      if (entry[0] != entry[1] || entry[0] != entry[2]) gray_palette = false;
    }
  }

  const int w = static_cast<int>(width);
  const int h = static_cast<int>(height);
  const uint64_t row_bits = static_cast<uint64_t>(w) * bits;
  const uint64_t stride = (row_bits + 31) / 32 * 4;  // rows are padded to 4 bytes
  const uint64_t row_bytes = (row_bits + 7) / 8;
  // The last row's padding is often missing in the wild, so only the pixels themselves count.
  const uint64_t needed = static_cast<uint64_t>(pixel_offset) + stride * (h - 1) + row_bytes;
  if (pixel_offset < 14 + header_size || needed > size) {
    return InvalidArgument(
        "BMP: pixel data truncated or misplaced (%dx%d at %u bits needs %llu bytes from offset "
        "%u, file has %zu)",
        w, h, bits, static_cast<unsigned long long>(stride * (h - 1) + row_bytes), pixel_offset,
        size);
  }

  Image image;
  const int channels = bits <= 8 && gray_palette ? 1 : 3;
  WISP_RETURN_IF_ERROR(AllocatePixels(&image, w, h, channels));
  const size_t palette_count = palette.size() / 3;
  for (int y = 0; y < h; ++y) {
    const int stored_row = bottom_up ? h - 1 - y : y;
    const uint8_t* row = data + pixel_offset + static_cast<uint64_t>(stored_row) * stride;
    uint8_t* out = image.pixels.data() + static_cast<size_t>(y) * w * channels;
    for (int x = 0; x < w; ++x) {
      if (bits <= 8) {
        const uint32_t bit_pos = static_cast<uint32_t>(x) * bits;
        const uint32_t byte = row[bit_pos / 8];
        const uint32_t index = (byte >> (8 - bits - bit_pos % 8)) & ((1u << bits) - 1);
        if (index >= palette_count) {
          return InvalidArgument(
              "BMP: pixel (%d, %d) uses palette index %u; the palette has %zu "
              "entries",
              x, y, index, palette_count);
        }
        if (channels == 1) {
          out[x] = palette[3 * index];
        } else {
          std::memcpy(out + 3 * x, &palette[3 * index], 3);
        }
      } else if (bits == 24 || (bits == 32 && !bitfields)) {
        const uint8_t* p = row + static_cast<size_t>(x) * (bits / 8);  // B, G, R (, unused)
        out[3 * x] = p[2];
        out[3 * x + 1] = p[1];
        out[3 * x + 2] = p[0];
      } else {
        const uint32_t pixel = bits == 16 ? ReadLe16(row + 2 * static_cast<size_t>(x))
                                          : ReadLe32(row + 4 * static_cast<size_t>(x));
        out[3 * x] = red.Extract(pixel);
        out[3 * x + 1] = green.Extract(pixel);
        out[3 * x + 2] = blue.Extract(pixel);
      }
    }
  }
  return image;
}

// ---------------------------------------------------------------------------------------------
// PNG. libpng reports errors by longjmp; every function that calls into libpng sets its own
// jump point and holds no C++ objects with destructors, and all state lives in PngDecoder,
// which the caller owns, so nothing is skipped or left indeterminate by a longjmp.

struct PngDecoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t position = 0;
  char error[512] = {};
  char last_warning[256] = {};  // libpng explains some errors in a preceding warning

  // Filled by ReadPngHeader.
  png_uint_32 width = 0, height = 0;
  int color_type = 0;
  bool gray_palette = false;
  int channels = 0;
  std::vector<png_bytep> rows;  // sized by the caller between the two libpng phases

  ~PngDecoder() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr);
  }
};

void PngOnError(png_structp png, png_const_charp message) {
  auto* decoder = static_cast<PngDecoder*>(png_get_error_ptr(png));
  if (decoder->last_warning[0] != '\0') {
    std::snprintf(decoder->error, sizeof(decoder->error), "%s (%s)", message,
                  decoder->last_warning);
  } else {
    std::snprintf(decoder->error, sizeof(decoder->error), "%s", message);
  }
  png_longjmp(png, 1);
}

// Warnings alone are benign (e.g. an unknown ancillary chunk); the last one is kept because an
// error can follow it ("Image width exceeds user limit in IHDR" then "Invalid IHDR data").
void PngOnWarning(png_structp png, png_const_charp message) {
  auto* decoder = static_cast<PngDecoder*>(png_get_error_ptr(png));
  std::snprintf(decoder->last_warning, sizeof(decoder->last_warning), "%s", message);
}

void PngRead(png_structp png, png_bytep out, png_size_t count) {
  auto* decoder = static_cast<PngDecoder*>(png_get_io_ptr(png));
  if (decoder->size - decoder->position < count) {
    png_error(png, "truncated PNG data (file ends early)");
  }
  std::memcpy(out, decoder->data + decoder->position, count);
  decoder->position += count;
}

// Phase 1: header, then the transformations that turn any PNG into 8-bit gray or RGB.
bool ReadPngHeader(PngDecoder* d) {
  if (setjmp(png_jmpbuf(d->png))) return false;
  png_set_read_fn(d->png, d, PngRead);
  png_set_user_limits(d->png, kMaxDecodeDimension, kMaxDecodeDimension);
  png_read_info(d->png, d->info);
  int bit_depth = 0, interlace = 0;
  png_get_IHDR(d->png, d->info, &d->width, &d->height, &bit_depth, &d->color_type, &interlace,
               nullptr, nullptr);
  if (bit_depth == 16) png_set_scale_16(d->png);
  if (d->color_type == PNG_COLOR_TYPE_PALETTE) {
    png_colorp palette = nullptr;
    int palette_size = 0;
    d->gray_palette = false;
    if (png_get_PLTE(d->png, d->info, &palette, &palette_size) == PNG_INFO_PLTE) {
      d->gray_palette = true;
      for (int i = 0; i < palette_size; ++i) {
        if (palette[i].red != palette[i].green || palette[i].red != palette[i].blue) {
          d->gray_palette = false;
        }
      }
    }
    png_set_palette_to_rgb(d->png);
  }
  if (d->color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
    png_set_expand_gray_1_2_4_to_8(d->png);
  }
  // tRNS is never expanded to alpha and real alpha channels are stripped: alpha is dropped.
  if (d->color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(d->png);
  png_set_interlace_handling(d->png);
  png_read_update_info(d->png, d->info);
  d->channels = png_get_channels(d->png, d->info);
  return true;
}

// Phase 2: every row (all interlace passes), then the chunks after the image data.
bool ReadPngPixels(PngDecoder* d) {
  if (setjmp(png_jmpbuf(d->png))) return false;
  png_read_image(d->png, d->rows.data());
  png_read_end(d->png, nullptr);
  return true;
}

Result<Image> DecodePngImpl(const uint8_t* data, size_t size) {
  if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
    return InvalidArgument("PNG: missing PNG signature");
  }
  PngDecoder d;
  d.data = data;
  d.size = size;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, PngOnError, PngOnWarning);
  if (d.png == nullptr) return ResourceExhausted("PNG: cannot create the libpng reader");
  d.info = png_create_info_struct(d.png);
  if (d.info == nullptr) return ResourceExhausted("PNG: cannot create the libpng info struct");
  if (!ReadPngHeader(&d)) return InvalidArgument("PNG: %s", d.error);
  WISP_RETURN_IF_ERROR(CheckDimensions("PNG", d.width, d.height));
  if (d.channels != 1 && d.channels != 3) {
    return Internal("PNG: %d channels after transformations (colour type %d)", d.channels,
                    d.color_type);
  }
  Image image;
  WISP_RETURN_IF_ERROR(
      AllocatePixels(&image, static_cast<int>(d.width), static_cast<int>(d.height), d.channels));
  d.rows.resize(d.height);
  for (png_uint_32 y = 0; y < d.height; ++y) {
    d.rows[y] = image.pixels.data() + static_cast<size_t>(y) * d.width * d.channels;
  }
  if (!ReadPngPixels(&d)) return InvalidArgument("PNG: %s", d.error);
  if (d.gray_palette && image.channels == 3) return KeepFirstChannel(image);
  return image;
}

// ---------------------------------------------------------------------------------------------
// JPEG. Same longjmp discipline as PNG: all state is in the caller-owned JpegDecoder.

struct JpegErrorManager {
  jpeg_error_mgr base;  // first member: libjpeg sees a jpeg_error_mgr*
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct JpegDecoder {
  jpeg_decompress_struct cinfo;
  JpegErrorManager error;
  bool created = false;

  JpegDecoder() {
    std::memset(&cinfo, 0, sizeof(cinfo));
    std::memset(&error, 0, sizeof(error));
  }
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&cinfo);  // safe in any state, even mid-decode
  }
};

[[noreturn]] void JpegOnError(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

void JpegOnMessage(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  // A warning. These concern metadata only and djpeg's pixels do not depend on them; every other
  // warning means corrupt image data (libjpeg would substitute gray blocks), which is an error.
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC ||
      code == JWRN_EXTRANEOUS_DATA) {
    return;
  }
  JpegOnError(cinfo);
}

enum class JpegHeaderResult { kOk, kError, kTablesOnly, kUnsupportedColor };

// Phase 1: header and output setup up to jpeg_start_decompress (which allocates the decoder's own
// buffers, so the size check must come first).
JpegHeaderResult ReadJpegHeader(JpegDecoder* d, const uint8_t* data, size_t size) {
  jpeg_decompress_struct* cinfo = &d->cinfo;
  cinfo->err = jpeg_std_error(&d->error.base);
  d->error.base.error_exit = JpegOnError;
  d->error.base.emit_message = JpegOnMessage;
  if (setjmp(d->error.jump)) return JpegHeaderResult::kError;
  jpeg_create_decompress(cinfo);
  d->created = true;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) return JpegHeaderResult::kTablesOnly;
  if (cinfo->image_width > static_cast<JDIMENSION>(kMaxDecodeDimension) ||
      cinfo->image_height > static_cast<JDIMENSION>(kMaxDecodeDimension)) {
    return JpegHeaderResult::kOk;  // the caller reports the size
  }
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      return JpegHeaderResult::kUnsupportedColor;
    default:
      cinfo->out_color_space = JCS_RGB;
      break;
  }
  cinfo->dct_method = JDCT_ISLOW;  // `djpeg -dct int`
  jpeg_start_decompress(cinfo);
  return JpegHeaderResult::kOk;
}

// Phase 2: scanlines straight into the image, then the end of the stream.
bool ReadJpegPixels(JpegDecoder* d, Image* image) {
  if (setjmp(d->error.jump)) return false;
  jpeg_decompress_struct* cinfo = &d->cinfo;
  const size_t row_size = static_cast<size_t>(image->width) * image->channels;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = image->pixels.data() + cinfo->output_scanline * row_size;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
      std::snprintf(d->error.message, sizeof(d->error.message), "no scanline data at row %u",
                    cinfo->output_scanline);
      return false;
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

Result<Image> DecodeJpegImpl(const uint8_t* data, size_t size) {
  if (size < 3 || data[0] != 0xFF || data[1] != 0xD8) {
    return InvalidArgument("JPEG: missing the SOI marker (FF D8)");
  }
  JpegDecoder d;
  switch (ReadJpegHeader(&d, data, size)) {
    case JpegHeaderResult::kOk:
      break;
    case JpegHeaderResult::kError:
      return InvalidArgument("JPEG: %s", d.error.message);
    case JpegHeaderResult::kTablesOnly:
      return InvalidArgument("JPEG: abbreviated stream with tables only, no image");
    case JpegHeaderResult::kUnsupportedColor:
      return Unsupported("JPEG: CMYK/YCCK colour space is not supported");
  }
  WISP_RETURN_IF_ERROR(CheckDimensions("JPEG", d.cinfo.image_width, d.cinfo.image_height));
  const int channels = d.cinfo.output_components;
  if (channels != 1 && channels != 3) {
    return Unsupported("JPEG: %d output components", channels);
  }
  Image image;
  WISP_RETURN_IF_ERROR(AllocatePixels(&image, static_cast<int>(d.cinfo.output_width),
                                      static_cast<int>(d.cinfo.output_height), channels));
  if (!ReadJpegPixels(&d, &image)) return InvalidArgument("JPEG: %s", d.error.message);
  return image;
}

// ---------------------------------------------------------------------------------------------
// PPM / PGM (binary)

// Reads one unsigned decimal header field, skipping whitespace and '#' comments before it.
Status ReadPnmField(const uint8_t* data, size_t size, size_t* pos, const char* name,
                    uint32_t* value) {
  while (*pos < size) {
    const uint8_t c = data[*pos];
    if (c == '#') {
      while (*pos < size && data[*pos] != '\n' && data[*pos] != '\r') ++*pos;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      ++*pos;
    } else {
      break;
    }
  }
  if (*pos >= size) return InvalidArgument("PNM: header truncated before the %s", name);
  if (data[*pos] < '0' || data[*pos] > '9') {
    return InvalidArgument("PNM: expected a number for the %s at byte %zu", name, *pos);
  }
  uint64_t v = 0;
  while (*pos < size && data[*pos] >= '0' && data[*pos] <= '9') {
    v = v * 10 + static_cast<uint64_t>(data[*pos] - '0');
    if (v > 0xFFFFFFFFu) return InvalidArgument("PNM: %s is too large", name);
    ++*pos;
  }
  *value = static_cast<uint32_t>(v);
  return Status::Ok();
}

Result<Image> DecodePnmImpl(const uint8_t* data, size_t size) {
  if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6')) {
    return InvalidArgument("PNM: not a binary PGM (P5) or PPM (P6) file");
  }
  const int channels = data[1] == '6' ? 3 : 1;
  size_t pos = 2;
  uint32_t width = 0, height = 0, maxval = 0;
  WISP_RETURN_IF_ERROR(ReadPnmField(data, size, &pos, "width", &width));
  WISP_RETURN_IF_ERROR(ReadPnmField(data, size, &pos, "height", &height));
  WISP_RETURN_IF_ERROR(ReadPnmField(data, size, &pos, "maxval", &maxval));
  WISP_RETURN_IF_ERROR(CheckDimensions("PNM", width, height));
  if (maxval == 0 || maxval > 65535)
    return InvalidArgument("PNM: maxval %u not in 1..65535", maxval);
  // Exactly one whitespace byte separates the header from the raster.
  if (pos >= size ||
      !(data[pos] == ' ' || data[pos] == '\t' || data[pos] == '\n' || data[pos] == '\r')) {
    return InvalidArgument("PNM: missing whitespace after maxval");
  }
  ++pos;
  const size_t sample_bytes = maxval < 256 ? 1 : 2;
  const uint64_t samples = static_cast<uint64_t>(width) * height * channels;
  if (size - pos < samples * sample_bytes) {
    return InvalidArgument("PNM: pixel data truncated (%ux%u needs %llu bytes, %zu present)", width,
                           height, static_cast<unsigned long long>(samples * sample_bytes),
                           size - pos);
  }
  Image image;
  WISP_RETURN_IF_ERROR(
      AllocatePixels(&image, static_cast<int>(width), static_cast<int>(height), channels));
  const uint8_t* raster = data + pos;
  if (maxval == 255) {
    std::memcpy(image.pixels.data(), raster, static_cast<size_t>(samples));
    return image;
  }
  for (uint64_t i = 0; i < samples; ++i) {
    const uint32_t v = sample_bytes == 1 ? raster[i]
                                         : (static_cast<uint32_t>(raster[2 * i]) << 8) |
                                               raster[2 * i + 1];  // big-endian
    if (v > maxval) {
      return InvalidArgument("PNM: sample %llu has value %u above maxval %u",
                             static_cast<unsigned long long>(i), v, maxval);
    }
    image.pixels[static_cast<size_t>(i)] = static_cast<uint8_t>((v * 255 + maxval / 2) / maxval);
  }
  return image;
}

}  // namespace

const char* ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kPnm:
      return "PNM";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

ImageFormat DetectImageFormat(const uint8_t* data, size_t size) {
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return ImageFormat::kBmp;
  if (size >= 8 && png_sig_cmp(data, 0, 8) == 0) return ImageFormat::kPng;
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
    return ImageFormat::kJpeg;
  }
  if (size >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '6')) return ImageFormat::kPnm;
  return ImageFormat::kUnknown;
}

Result<Image> DecodeBmp(const uint8_t* data, size_t size) { return DecodeBmpImpl(data, size); }
Result<Image> DecodePng(const uint8_t* data, size_t size) { return DecodePngImpl(data, size); }
Result<Image> DecodeJpeg(const uint8_t* data, size_t size) { return DecodeJpegImpl(data, size); }
Result<Image> DecodePnm(const uint8_t* data, size_t size) { return DecodePnmImpl(data, size); }

Result<Image> DecodeImage(const uint8_t* data, size_t size) {
  switch (DetectImageFormat(data, size)) {
    case ImageFormat::kBmp:
      return DecodeBmp(data, size);
    case ImageFormat::kPng:
      return DecodePng(data, size);
    case ImageFormat::kJpeg:
      return DecodeJpeg(data, size);
    case ImageFormat::kPnm:
      return DecodePnm(data, size);
    case ImageFormat::kUnknown:
      break;
  }
  if (size == 0) return InvalidArgument("image data is empty");
  return Unsupported(
      "unrecognised image format (first bytes %02x %02x); expected BMP, PNG, JPEG, "
      "PPM or PGM",
      data[0], size > 1 ? data[1] : 0);
}

Result<Image> DecodeImage(const std::vector<uint8_t>& bytes) {
  return DecodeImage(bytes.data(), bytes.size());
}

Result<Image> DecodeImageFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    return Status(err == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  path + ": cannot open: " + std::strerror(err));
  }
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  size_t n = 0;
  // Far beyond any image we accept (16384^2 * 4 bytes uncompressed); stops reading /dev/zero.
  constexpr size_t kMaxFileSize = size_t{1} << 31;
  bool too_large = false;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    if (bytes.size() + n > kMaxFileSize) {
      too_large = true;
      break;
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  const bool read_error = std::ferror(file) != 0;
  std::fclose(file);
  if (read_error) return IoError("%s: read error", path.c_str());
  if (too_large) return InvalidArgument("%s: file larger than 2 GiB", path.c_str());
  Result<Image> image = DecodeImage(bytes);
  if (!image.ok()) return image.status().WithContext(path);
  return image;
}

}  // namespace wisp
