#include "runtime/preprocess/tensor_from_image.h"

#include <cstring>
#include <limits>
#include <string>

#include "runtime/core/flip_bytes.h"
#include "runtime/preprocess/lcg.h"

namespace wisp {

const char* InputDTypeName(InputDType dtype) {
  switch (dtype) {
    case InputDType::kU8:
      return "uint8";
    case InputDType::kI8:
      return "int8";
    case InputDType::kF32:
      return "float32";
  }
  return "unknown";
}

size_t InputDTypeSize(InputDType dtype) { return dtype == InputDType::kF32 ? 4 : 1; }

namespace {

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Status CheckTwin(const InputTensorTarget& target, const std::optional<TwinQuantization>& twin) {
  if (!twin) return Status::Ok();
  if (target.dtype != InputDType::kF32) {
    return InvalidArgument("twin quantization given for a %s tensor; it only applies to float32",
                           InputDTypeName(target.dtype));
  }
  if (twin->twin_dtype == InputDType::kF32) {
    return InvalidArgument("the quantized twin's dtype must be int8 or uint8, not float32");
  }
  return Status::Ok();
}

void StoreFloat(float value, uint8_t* dst) { std::memcpy(dst, &value, sizeof(value)); }

// The quantized twin's value for an 8-bit source value v (a pixel or an LCG byte).
int32_t TwinQ(uint8_t v, InputDType twin_dtype) {
  return twin_dtype == InputDType::kI8 ? static_cast<int32_t>(v) - 128 : static_cast<int32_t>(v);
}

// Converts 8-bit source values (pixels or LCG bytes) to the target's element bytes.
void ConvertBytes(const uint8_t* values, size_t count, InputDType dtype,
                  const std::optional<TwinQuantization>& twin, uint8_t* dst) {
  switch (dtype) {
    case InputDType::kU8:
      std::memcpy(dst, values, count);
      return;
    case InputDType::kI8:
      FlipBytes(values, count, dst);  // int8 q = v - 128 has the bit pattern of v ^ 0x80
      return;
    case InputDType::kF32:
      if (twin) {
        for (size_t i = 0; i < count; ++i) {
          StoreFloat(
              DequantizeTwin(TwinQ(values[i], twin->twin_dtype), twin->scale, twin->zero_point),
              dst + 4 * i);
        }
      } else {
        const float inv255 = 1.0f / 255.0f;
        for (size_t i = 0; i < count; ++i) {
          StoreFloat(static_cast<float>(values[i]) * inv255, dst + 4 * i);
        }
      }
      return;
  }
}

}  // namespace

Result<size_t> TensorByteSize(const InputTensorTarget& target) {
  if (target.shape.empty()) return InvalidArgument("tensor shape is empty");
  size_t count = 1;
  for (int64_t dim : target.shape) {
    if (dim <= 0) {
      return InvalidArgument("tensor shape %s has a non-positive dimension",
                             ShapeToString(target.shape).c_str());
    }
    const uint64_t udim = static_cast<uint64_t>(dim);
    if (udim > std::numeric_limits<size_t>::max() / 4 / count) {
      return InvalidArgument("tensor shape %s is too large", ShapeToString(target.shape).c_str());
    }
    count *= static_cast<size_t>(udim);
  }
  return count * InputDTypeSize(target.dtype);
}

Status WriteTensorFromImage(const Image& image, const InputTensorTarget& target,
                            const std::optional<TwinQuantization>& twin, uint8_t* dst,
                            size_t dst_size) {
  if (!image.IsValid()) {
    return InvalidArgument("image %dx%dx%d with %zu bytes is not a valid image", image.width,
                           image.height, image.channels, image.pixels.size());
  }
  if (image.channels != 1 && image.channels != 3) {
    return InvalidArgument("image has %d channels; expected 1 (gray) or 3 (RGB)", image.channels);
  }
  WISP_RETURN_IF_ERROR(CheckTwin(target, twin));
  const std::vector<int64_t>& shape = target.shape;
  const bool nhwc = shape.size() == 4;
  if (!(nhwc || shape.size() == 3) || shape[0] != 1) {
    return InvalidArgument("image tensor shape %s: expected [1, H, W, C] or [1, H, W]",
                           ShapeToString(shape).c_str());
  }
  const int64_t want_channels = nhwc ? shape[3] : 1;
  if (want_channels != 1 && want_channels != 3) {
    return InvalidArgument("image tensor shape %s: channels must be 1 or 3",
                           ShapeToString(shape).c_str());
  }
  if (shape[1] <= 0 || shape[2] <= 0 || shape[1] > kMaxResizeDimension ||
      shape[2] > kMaxResizeDimension) {
    return InvalidArgument("image tensor shape %s: height and width must be in 1..%d",
                           ShapeToString(shape).c_str(), kMaxResizeDimension);
  }
  if (image.width > kMaxResizeDimension || image.height > kMaxResizeDimension) {
    return InvalidArgument("image %dx%d is larger than %d on a side", image.width, image.height,
                           kMaxResizeDimension);
  }
  Result<size_t> bytes = TensorByteSize(target);
  if (!bytes.ok()) return bytes.status();
  if (dst_size != *bytes) {
    return InvalidArgument("destination has %zu bytes; tensor %s %s needs %zu", dst_size,
                           InputDTypeName(target.dtype), ShapeToString(shape).c_str(), *bytes);
  }
  const int out_h = static_cast<int>(shape[1]);
  const int out_w = static_cast<int>(shape[2]);

  // Resize first (at the image's own channel count, exactly as the goldens were made), then
  // adapt the channels; copies are only made when a step changes something.
  const Image* current = &image;
  Image resized;
  if (image.width != out_w || image.height != out_h) {
    resized = ResizeBilinearHalfPixel(image, out_w, out_h);
    if (!resized.IsValid()) return Internal("resize to %dx%d failed", out_w, out_h);
    current = &resized;
  }
  Image adapted;
  if (current->channels != want_channels) {
    adapted = want_channels == 1 ? RgbToGray(*current) : GrayToRgb(*current);
    current = &adapted;
  }
  ConvertBytes(current->pixels.data(), current->pixels.size(), target.dtype, twin, dst);
  return Status::Ok();
}

Result<std::vector<uint8_t>> TensorFromImage(const Image& image, const InputTensorTarget& target,
                                             const std::optional<TwinQuantization>& twin) {
  Result<size_t> bytes = TensorByteSize(target);
  if (!bytes.ok()) return bytes.status();
  std::vector<uint8_t> out(*bytes);
  WISP_RETURN_IF_ERROR(WriteTensorFromImage(image, target, twin, out.data(), out.size()));
  return out;
}

Result<std::vector<uint8_t>> TensorFromLcg(uint32_t seed, const InputTensorTarget& target,
                                           const std::optional<TwinQuantization>& twin) {
  WISP_RETURN_IF_ERROR(CheckTwin(target, twin));
  if (target.dtype == InputDType::kF32 && !twin) {
    return InvalidArgument(
        "a float32 LCG input is defined through the quantized twin's (scale, zero_point); none "
        "given");
  }
  Result<size_t> bytes = TensorByteSize(target);
  if (!bytes.ok()) return bytes.status();
  const size_t count = *bytes / InputDTypeSize(target.dtype);
  std::vector<uint8_t> raw(count);
  FillLcgUint8(seed, raw.data(), count);  // the bytes b_k every dtype rule starts from
  std::vector<uint8_t> out(*bytes);
  ConvertBytes(raw.data(), count, target.dtype, twin, out.data());
  return out;
}

}  // namespace wisp
