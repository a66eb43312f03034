#include "native/cli/model_file.h"

#include "native/platform/file_io.h"
#include "native/platform/mapped_file.h"
#include "runtime/format/model_metadata.h"

namespace wisp::cli {

std::string FileStem(const std::string& path) {
  size_t start = path.find_last_of('/');
  start = start == std::string::npos ? 0 : start + 1;
  size_t end = path.find_last_of('.');
  if (end == std::string::npos || end < start) end = path.size();
  return path.substr(start, end - start);
}

Result<std::shared_ptr<const Model>> LoadModelFile(const std::string& path, bool verify_sha256) {
  WISP_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  ModelLoadOptions options;
  options.verify_sha256 = verify_sha256;
  options.name = FileStem(path);
  auto model = LoadModelBytes(file->data(), file->size(), file, options);
  if (!model.ok()) return model.status().WithContext(path);
  return model;
}

Result<std::vector<std::string>> LoadLabels(const Model& model, const std::string& labels_path) {
  if (labels_path.empty()) return ModelLabels(model);
  WISP_ASSIGN_OR_RETURN(std::string text, ReadFileText(labels_path));
  return SplitLabels(text);
}

}  // namespace wisp::cli
