// Builds model input bytes for `wisp run` / `wisp bench` from raw files, an image, or a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/format/model.h"

namespace wisp::cli {

struct InputSpec {
  std::vector<std::string> files;  // raw little-endian bytes, one per input
  std::string image;               // decoded, resized and converted to the input dtype
  int64_t seed = -1;               // the goldens' 32-bit LCG
  // Float models: the real range image pixels map to ("0,1", "0,255" or "-1,1").
  std::string input_range = "0,1";
};

Result<std::vector<std::vector<uint8_t>>> BuildInputs(const Model& model, const InputSpec& spec);

}  // namespace wisp::cli
