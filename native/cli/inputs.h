// Builds model input bytes for `wisp run` / `wisp bench` from raw files, an image, or a seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/format/model.h"
#include "runtime/format/model_metadata.h"

namespace wisp::cli {

struct InputSpec {
  std::vector<std::string> files;  // raw little-endian bytes, one per input
  std::string image;               // decoded, resized and converted to the input dtype
  int64_t seed = -1;               // the goldens' 32-bit LCG
  // Float models: the real range image pixels map to ("0,1", "0,255" or "-1,1"); empty: the
  // range the model records (kInputRangeKey), else an error.
  std::string input_range;
};

Result<std::vector<std::vector<uint8_t>>> BuildInputs(const Model& model, const InputSpec& spec);

}  // namespace wisp::cli
