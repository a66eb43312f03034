// Builds the raw bytes of a model input tensor from an Image (or from the LCG), following the
// golden manifest's `preprocessing` recipes: resize with ResizeBilinearHalfPixel, then
//   uint8:   q = pixel
//   int8:    q = pixel - 128
//   float32: x = float(q_twin - zp) * scale with the quantized twin model's input quantization
//            (q_twin = pixel - 128 for an int8 twin, pixel for a uint8 twin), or, without a twin,
//            x = float(pixel) * (1.0f / 255.0f), i.e. [0, 1].
// (1.0f/255.0f is the float32 scale of the int8 twins of both float image models with zero point
// -128, so the default and the twin rule agree there.) Output bytes are little-endian, which
// every target we build for (x86-64, AArch64, WebAssembly) is.
// Portable: no OS calls, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/preprocess/image.h"

namespace wisp {

// Element types this module can produce. Deliberately separate from the runtime's tensor dtype
// so that this file does not depend on the core; an adapter maps between the two.
enum class InputDType { kU8, kI8, kF32 };

const char* InputDTypeName(InputDType dtype);
size_t InputDTypeSize(InputDType dtype);

struct InputTensorTarget {
  InputDType dtype = InputDType::kU8;
  // Images: [1, H, W, C] (NHWC, C = 3 for RGB or 1 for gray) or [1, H, W] (gray).
  // LCG: any shape with positive dimensions.
  std::vector<int64_t> shape;
};

// Input quantization of the quantized twin of a float model (real = (q - zero_point) * scale).
struct TwinQuantization {
  InputDType twin_dtype = InputDType::kI8;  // kI8 or kU8
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// Number of bytes of a tensor of this dtype and shape; error for non-positive dimensions or a
// size that does not fit in size_t.
Result<size_t> TensorByteSize(const InputTensorTarget& target);

// Writes the tensor for `image` into dst (exactly TensorByteSize(target) bytes). The image is
// resized to the target H, W when they differ, then its channels are adapted: RGB -> gray only
// when the image is not already gray (RgbToGray, BT.601 luma; for R == G == B it is the value
// itself), gray -> RGB by replication. `twin` is only meaningful for float32 targets.
Status WriteTensorFromImage(const Image& image, const InputTensorTarget& target,
                            const std::optional<TwinQuantization>& twin, uint8_t* dst,
                            size_t dst_size);

Result<std::vector<uint8_t>> TensorFromImage(
    const Image& image, const InputTensorTarget& target,
    const std::optional<TwinQuantization>& twin = std::nullopt);

// The LCG input of `lcg_spec` for this target: uint8 q = b, int8 q = b - 128; float32 needs the
// twin (x = float(q_twin - zp) * scale, q_twin drawn as for the twin's dtype).
Result<std::vector<uint8_t>> TensorFromLcg(
    uint32_t seed, const InputTensorTarget& target,
    const std::optional<TwinQuantization>& twin = std::nullopt);

}  // namespace wisp
