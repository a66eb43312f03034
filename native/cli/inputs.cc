#include "native/cli/inputs.h"

#include <cstdio>
#include <optional>

#include "native/image/image_decode.h"
#include "native/platform/file_io.h"
#include "runtime/preprocess/lcg.h"
#include "runtime/preprocess/tensor_from_image.h"

namespace wisp::cli {
namespace {

Result<InputTensorTarget> TargetFor(const TensorDesc& t) {
  InputTensorTarget target;
  switch (t.dtype) {
    case DType::UINT8:
      target.dtype = InputDType::kU8;
      break;
    case DType::INT8:
      target.dtype = InputDType::kI8;
      break;
    case DType::FLOAT32:
      target.dtype = InputDType::kF32;
      break;
    default:
      return Unsupported("input '%s' has dtype %s; images and seeds feed uint8/int8/float32",
                         t.name.c_str(), DTypeName(t.dtype));
  }
  target.shape.assign(t.shape.begin(), t.shape.end());
  return target;
}

// Float inputs are produced as the dequantized values of an 8-bit "twin" tensor, which is how the
// float goldens were made and keeps the conversion exact.
// `source` says where `range` came from, for the error message.
Result<std::optional<TwinQuantization>> TwinFor(const TensorDesc& t, const std::string& range,
                                                const char* source = "--input-range") {
  if (t.dtype != DType::FLOAT32) return std::optional<TwinQuantization>();
  if (range.empty()) {
    // Float models differ (MobileNets take -1..1, others 0..1 or raw 0..255) and this one does
    // not say: guessing would give plausible-looking wrong answers.
    return InvalidArgument(
        "input '%s' is float32 and the model does not record the pixel range it expects: give "
        "--input-range 0,1, 0,255 or -1,1 (or record it with wisp convert --input-range)",
        t.name.c_str());
  }
  TwinQuantization twin;
  if (range == "0,1") {
    twin = {InputDType::kI8, 1.0f / 255.0f, -128};
  } else if (range == "0,255") {
    twin = {InputDType::kI8, 1.0f, -128};
  } else if (range == "-1,1") {
    twin = {InputDType::kU8, 2.0f / 255.0f, 128};
  } else {
    return InvalidArgument("%s must be 0,1 or 0,255 or -1,1 (got '%s'); give --input-range", source,
                           range.c_str());
  }
  return std::optional<TwinQuantization>(twin);
}

// Whether an input can take a picture: [1, H, W, C] with C 1 or 3, or [1, H, W], each side at
// least 16 pixels. Models carry no "this is an image" flag yet, so an audio spectrogram such as
// [1, 49, 10, 1] is told apart by its shape: resizing a photo into it would run silently and
// mean nothing.
Status CheckImageInput(const TensorDesc& t, const std::string& image_path) {
  const Shape& s = t.shape;
  const bool rank_ok = (s.size() == 4 && (s[3] == 1 || s[3] == 3)) || s.size() == 3;
  const bool image = rank_ok && s[0] == 1 && s[1] >= 16 && s[2] >= 16;
  if (image) return Status::Ok();
  return InvalidArgument(
      "--image %s: input 0 '%s' (%s %s) is not an image (expected [1,H,W,1|3] or [1,H,W] with "
      "H and W at least 16); give its data with --input FILE or --random SEED",
      image_path.c_str(), t.name.c_str(), DTypeName(t.dtype), ShapeToString(s).c_str());
}

}  // namespace

Result<std::vector<std::vector<uint8_t>>> BuildInputs(const Model& model, const InputSpec& spec) {
  const size_t n = model.inputs().size();
  std::vector<std::vector<uint8_t>> inputs(n);
  if (!spec.files.empty()) {
    if (spec.files.size() != n) {
      return InvalidArgument("the model has %zu inputs but %zu input files were given", n,
                             spec.files.size());
    }
    for (size_t i = 0; i < n; ++i) {
      const TensorDesc& t = model.tensors()[model.inputs()[i]];
      WISP_ASSIGN_OR_RETURN(inputs[i], ReadFileBytes(spec.files[i]));
      if (inputs[i].size() != t.bytes) {
        return InvalidArgument("%s has %zu bytes but input %zu ('%s', %s %s) needs %zu",
                               spec.files[i].c_str(), inputs[i].size(), i, t.name.c_str(),
                               DTypeName(t.dtype), ShapeToString(t.shape).c_str(), t.bytes);
      }
    }
    return inputs;
  }
  if (!spec.image.empty()) {
    if (n != 1) {
      return InvalidArgument("--image needs a model with one input; this one has %zu", n);
    }
    const TensorDesc& t = model.tensors()[model.inputs()[0]];
    WISP_RETURN_IF_ERROR(CheckImageInput(t, spec.image));
    WISP_ASSIGN_OR_RETURN(Image image, DecodeImageFile(spec.image));
    WISP_ASSIGN_OR_RETURN(InputTensorTarget target, TargetFor(t));
    // An explicit --input-range, else the range the model records (`wisp convert --input-range`
    // or the normalization of its TFLite Metadata), said out loud when it is used.
    const bool from_model = spec.input_range.empty();
    const std::string range = from_model ? model.Metadata(kInputRangeKey) : spec.input_range;
    WISP_ASSIGN_OR_RETURN(
        std::optional<TwinQuantization> twin,
        TwinFor(t, range, from_model ? "the model's input_range metadata" : "--input-range"));
    if (twin && from_model) {
      const std::string mean = model.Metadata(InputMetadataKey(0, kInputMeanSuffix));
      const std::string std = model.Metadata(InputMetadataKey(0, kInputStdSuffix));
      std::fprintf(stderr, "input range %s from the model's metadata%s\n", range.c_str(),
                   mean.empty() ? "" : (" (mean " + mean + ", std " + std + ")").c_str());
    }
    auto tensor = TensorFromImage(image, target, twin);
    if (!tensor.ok()) return tensor.status().WithContext(spec.image);
    inputs[0] = std::move(*tensor);
    return inputs;
  }
  if (spec.seed >= 0) {
    for (size_t i = 0; i < n; ++i) {
      const TensorDesc& t = model.tensors()[model.inputs()[i]];
      const uint32_t seed = static_cast<uint32_t>(spec.seed + static_cast<int64_t>(i));
      auto target = TargetFor(t);
      if (target.ok()) {
        WISP_ASSIGN_OR_RETURN(std::optional<TwinQuantization> twin, TwinFor(t, "-1,1"));
        WISP_ASSIGN_OR_RETURN(inputs[i], TensorFromLcg(seed, *target, twin));
      } else {
        // Integer tensors of other widths: raw LCG bytes.
        inputs[i].resize(t.bytes);
        FillLcgUint8(seed, inputs[i].data(), inputs[i].size());
      }
    }
    return inputs;
  }
  return InvalidArgument("give one of --input FILE[,FILE...], --image FILE or --random SEED");
}

}  // namespace wisp::cli
