#include "runtime/format/model_metadata.h"

namespace wisp {

std::string InputMetadataKey(size_t index, const char* suffix) {
  return "input." + std::to_string(index) + "." + suffix;
}

std::vector<std::string> SplitLabels(const std::string& text) {
  std::vector<std::string> labels;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(std::move(line));
    pos = nl + 1;
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  return labels;
}

std::vector<std::string> ModelLabels(const Model& model) {
  const Asset* asset = model.FindAsset(kLabelsAsset);
  if (asset == nullptr) return {};
  return SplitLabels(std::string(reinterpret_cast<const char*>(asset->data), asset->size));
}

ModelMetadataSummary SummarizeMetadata(const Model& model) {
  ModelMetadataSummary s;
  s.name = model.Metadata(kDisplayNameKey);
  if (s.name.empty()) s.name = model.name();
  s.description = model.description();
  s.version = model.version();
  s.author = model.Metadata(kAuthorKey);
  s.license = model.Metadata(kLicenseKey);
  s.input_range = model.Metadata(kInputRangeKey);
  for (size_t i = 0; i < model.inputs().size(); ++i) {
    s.inputs.push_back({model.Metadata(InputMetadataKey(i, kInputMeanSuffix)),
                        model.Metadata(InputMetadataKey(i, kInputStdSuffix)),
                        model.Metadata(InputMetadataKey(i, kInputRangeSuffix)),
                        model.Metadata(InputMetadataKey(i, kInputValueRangeSuffix))});
  }
  s.num_labels = ModelLabels(model).size();
  s.labels_source = model.Metadata(kLabelsSourceKey);
  s.associated_files = model.Metadata(kAssociatedFilesKey);
  s.warnings = model.Metadata(kMetadataWarningsKey);
  return s;
}

}  // namespace wisp
