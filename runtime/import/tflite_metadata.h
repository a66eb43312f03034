// Reads TFLite Metadata: the "M001" FlatBuffer a .tflite keeps in the buffer of its metadata entry
// "TFLITE_METADATA" (schemas/tflite_metadata.fbs, a subset of tflite-support's
// metadata_schema.fbs), and the associated files (labels) in the zip appended to the .tflite.
//
// Everything here is optional information about a model that imports without it, so the
// importer never fails on it: a buffer that does not verify is an error the importer turns into
// a warning, and a missing, compressed or corrupt associated file is a warning of its own. Every
// string is cut to a bounded length and made printable ASCII; labels keep their bytes.
// Portable: no OS calls, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace wisp {

// The name of the tflite Metadata entry that holds the metadata FlatBuffer.
inline constexpr const char* kTfliteMetadataEntry = "TFLITE_METADATA";

struct TfliteAssociatedFile {
  std::string name;
  std::string type;   // AssociatedFileType name: "TENSOR_AXIS_LABELS", "DESCRIPTIONS", ...
  std::string owner;  // "model", "subgraph", "input 0", "output 1"
};

struct TfliteTensorMetadata {
  std::string name, description;
  std::vector<float> mean, std;  // NormalizationOptions: x' = (x - mean) / std, per channel
  std::vector<float> min, max;   // Stats: the tensor's value range, per channel
};

struct TfliteMetadata {
  std::string name, description, version, author, license, min_parser_version;
  std::vector<TfliteTensorMetadata> inputs;  // subgraph 0, in SubGraph.inputs order
  std::vector<TfliteAssociatedFile> files;   // every associated file, model-level first
  // The first TENSOR_AXIS_LABELS file of an output tensor, read from the appended zip.
  int labels_output = -1;
  std::string labels_file;
  std::string labels;
  std::vector<std::string> warnings;  // optional parts that could not be read, and why
};

// Parses `buffer` (the TFLITE_METADATA bytes, any alignment) and reads the labels file from the
// zip at the end of `file` (the whole .tflite). Fails only when the buffer itself is not a valid
// metadata FlatBuffer; the message names the byte offset or field.
Result<TfliteMetadata> ReadTfliteMetadata(const uint8_t* buffer, size_t buffer_size,
                                          const uint8_t* file, size_t file_size);

// "[-1, 1]"-style pixel range that normalization maps [0, 255] to, as "lo,hi" with %g numbers,
// or "" when mean/std are missing, differ per channel, or std is not positive.
std::string NormalizedPixelRange(const std::vector<float>& mean, const std::vector<float>& std);

}  // namespace wisp
