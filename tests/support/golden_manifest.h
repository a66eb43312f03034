// Reader for goldens/manifest.json (see goldens/README.md in the shared folder): one GoldenCase
// per (model, input) pair, with every path already made absolute.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace wisp::testing {

struct GoldenTensor {
  std::string file;  // absolute path of the raw little-endian tensor bytes
  std::string name;
  int tensor_index = -1;
  std::string dtype;  // "int8", "uint8", "float32", "int64"
  std::vector<int64_t> shape;
  bool quantized = false;  // scale/zero_point are meaningful (all quantization here is per-tensor)
  float scale = 0.0f;
  int32_t zero_point = 0;
  size_t bytes = 0;
  std::string sha256;
};

struct GoldenTop5Entry {
  int index = -1;
  std::string label;
  double raw = 0.0;
  double score = 0.0;
};

struct GoldenCase {
  std::string id;          // "<model>/<case>"
  std::string model_name;  // file name of the model without ".tflite"
  std::string model_path;  // absolute
  std::string model_sha256;
  std::string case_name;
  // Image source: absolute path of the original file (BMP/JPEG), and the pre-decoded PPM when the
  // manifest keeps one (JPEGs), else empty.
  std::string source_image;
  std::string decoded_image;
  std::optional<uint32_t> lcg_seed;  // set for LCG inputs instead of an image
  std::string preprocessing;
  std::vector<GoldenTensor> inputs;
  std::vector<GoldenTensor> outputs;
  std::vector<GoldenTop5Entry> top5;  // empty when the model is not a classifier
  std::vector<int> top5_indices;

  bool is_float_model() const;
};

struct GoldenManifest {
  std::string resize_spec;
  std::string lcg_spec;
  std::vector<GoldenCase> cases;
};

// Parses SharedRoot()/goldens/manifest.json (or the given file).
Result<GoldenManifest> LoadGoldenManifest();
Result<GoldenManifest> LoadGoldenManifest(const std::string& manifest_path);
// Just the cases of LoadGoldenManifest().
Result<std::vector<GoldenCase>> LoadGoldenCases();

const GoldenCase* FindGoldenCase(const std::vector<GoldenCase>& cases, const std::string& id);

// The float models' inputs are their int8 twin's input dequantized with the twin's input
// quantization ("mlperf_tiny_vww_96_float/cat" -> "mlperf_tiny_vww_96_int8/cat"). Returns null
// when `c` is not a float model or has no twin case.
const GoldenCase* FindInt8Twin(const std::vector<GoldenCase>& cases, const GoldenCase& c);

}  // namespace wisp::testing
