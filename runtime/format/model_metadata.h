// What a model says about itself beyond its graph, and the .wisp metadata keys that hold it.
//
// The TFLite importer fills these from TFLite Metadata (runtime/import/tflite_metadata.h);
// `wisp convert --input-range/--labels` write the same keys and asset, so every reader (wisp run,
// wisp inspect, the JS API, the server's manifests) has one place to look:
//   display_name, author, license       free text from the model's author
//   input_range                         "lo,hi": the real range image pixels map to (float inputs)
//   input.<i>.mean, input.<i>.std       normalization (x - mean) / std, comma-separated per channel
//   input.<i>.range                     "lo,hi": what that normalization maps pixels 0..255 to
//   input.<i>.value_range               "min;max" (each comma-separated per channel): the input's
//                                       value statistics
//   labels_source                       "imagenet_labels.txt (output 0)": where labels.txt came
//   from associated_files                    "name (TYPE, owner); ...": every associated file
//   metadata_warnings                   optional metadata the importer could not read, and why
// and the asset "labels.txt" (one label per line).
// Portable: no OS calls, no exceptions.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "runtime/format/model.h"

namespace wisp {

inline constexpr const char* kDisplayNameKey = "display_name";
inline constexpr const char* kAuthorKey = "author";
inline constexpr const char* kLicenseKey = "license";
inline constexpr const char* kInputRangeKey = "input_range";
inline constexpr const char* kLabelsSourceKey = "labels_source";
inline constexpr const char* kAssociatedFilesKey = "associated_files";
inline constexpr const char* kMetadataWarningsKey = "metadata_warnings";
inline constexpr const char* kLabelsAsset = "labels.txt";
inline constexpr const char* kInputMeanSuffix = "mean";
inline constexpr const char* kInputStdSuffix = "std";
inline constexpr const char* kInputRangeSuffix = "range";
inline constexpr const char* kInputValueRangeSuffix = "value_range";

// "input.<index>.<suffix>"
std::string InputMetadataKey(size_t index, const char* suffix);

// Lines of a labels file: "\r\n" or "\n" separated, trailing empty lines dropped.
std::vector<std::string> SplitLabels(const std::string& text);

// The model's embedded labels (asset labels.txt), or none.
std::vector<std::string> ModelLabels(const Model& model);

struct InputNormalization {
  std::string mean, std, range, value_range;  // as stored; empty when absent
};

struct ModelMetadataSummary {
  std::string name;  // display_name, else the model's name
  std::string description, version, author, license;
  std::string input_range;                 // the key input_range
  std::vector<InputNormalization> inputs;  // one per graph input
  size_t num_labels = 0;
  std::string labels_source;
  std::string associated_files;
  std::string warnings;
};

ModelMetadataSummary SummarizeMetadata(const Model& model);

}  // namespace wisp
