#pragma once

#include <memory>
#include <string>

#include "runtime/api/load_model.h"

namespace wisp::cli {

// Maps a .wisp (used in place) or reads and imports a .tflite.
Result<std::shared_ptr<const Model>> LoadModelFile(const std::string& path, bool verify_sha256);

// Labels: --labels FILE when given, else the model's embedded labels.txt, else none.
Result<std::vector<std::string>> LoadLabels(const Model& model, const std::string& labels_path);

// "models/foo.tflite" -> "foo"
std::string FileStem(const std::string& path);

}  // namespace wisp::cli
