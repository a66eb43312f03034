// Converts TensorFlow Lite (.tflite) models to .wisp.
//
// The reader is our own (schemas/tflite.fbs, derived from the published TFLite schema). Every
// byte of the input is distrusted: the FlatBuffers Verifier runs first, then every index, byte
// range and shape is checked before use, so a truncated, corrupt or hostile file yields an error
// naming the tensor, operator or byte offset at fault.
//
// Mapping (tensor and operator indices are preserved, so "tensor 12" means the same tensor in
// both files):
// - Only subgraph 0 is imported; operators that call other subgraphs are unsupported.
// - Every tensor keeps its name, shape (`shape`, not `shape_signature`), dtype, quantization and,
//   for constants, its bytes (copied into the .wisp data section; ImportTfliteBorrowing leaves
//   aligned ones in the source instead). Tensors created by the importer (an int64 axis
//   rewritten as int32) are appended after the TFLite tensors.
// - Operators keep TFLite's input order; options absent from the file take the schema defaults.
//   UNIDIRECTIONAL_SEQUENCE_LSTM always gets 24 inputs (-1 for absent ones) plus its
//   intermediates. PADV2 whose pad value equals the zero value becomes PAD.
// - Unsupported operators, custom operators and unsupported tensor dtypes are all listed in one
//   kUnsupported error ("unsupported operators: #12 ROUND, #30 CUSTOM(...)").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/format/model.h"

namespace wisp {

struct ImportOptions {
  std::string name;         // model name; the CLI passes the file stem. Empty: "model".
  std::string version;      // model version string, free-form
  std::string description;  // empty: none (the TFLite description goes to metadata)
  // Contents of a labels file, embedded as asset "labels.txt" (text/plain). Empty: no asset.
  std::string labels;
  // Extra metadata key/value pairs, written after (and overriding) the importer's own keys.
  std::vector<std::pair<std::string, std::string>> metadata;
  // Record the content sha256 in the .wisp. A model imported to be run at once (LoadModelBytes)
  // skips it: hashing megabytes is a visible share of a cold start in WebAssembly, and
  // Model::content_sha256_hex() computes the same value if anyone asks.
  bool record_sha256 = true;
};

// True when the bytes carry the TFLite FlatBuffers identifier "TFL3" (offset 4).
bool LooksLikeTflite(const uint8_t* data, size_t size);

// Imports subgraph 0 of a .tflite file and returns the bytes of an equivalent .wisp file.
// Metadata written: source_format=tflite, tflite_schema_version, tflite_description,
// tflite_min_runtime_version (when the file records them) and input_layout=NHWC when every graph
// input has rank 4.
Result<std::vector<uint8_t>> ImportTflite(const uint8_t* data, size_t size,
                                          const ImportOptions& opts = {});

// An import to run at once, without copying the weights: constants whose elements are aligned
// in `data` (to their size) stay there (`borrowed`, for Model::Load; the rest are copied as
// above), so `data` must outlive the model. Saves a copy of the weights and the memory it takes: in
// a browser's cold start, megabytes written to fresh WebAssembly pages.
struct ImportedModel {
  std::vector<uint8_t> wisp;
  std::vector<BorrowedBytes> borrowed;
};
Result<ImportedModel> ImportTfliteBorrowing(const uint8_t* data, size_t size,
                                            const ImportOptions& opts = {});

}  // namespace wisp
