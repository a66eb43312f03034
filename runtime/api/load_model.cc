#include "runtime/api/load_model.h"

#include <cstring>

#include "runtime/import/tflite_importer.h"

namespace wisp {

ModelFormat DetectModelFormat(const uint8_t* bytes, size_t size) {
  if (size < 8) return ModelFormat::kUnknown;
  if (std::memcmp(bytes + 4, "WISP", 4) == 0) return ModelFormat::kWisp;
  if (std::memcmp(bytes + 4, "TFL3", 4) == 0) return ModelFormat::kTflite;
  return ModelFormat::kUnknown;
}

const char* ModelFormatName(ModelFormat format) {
  switch (format) {
    case ModelFormat::kWisp:
      return "wisp";
    case ModelFormat::kTflite:
      return "tflite";
    default:
      return "unknown";
  }
}

Result<std::shared_ptr<const Model>> LoadModelBytes(const uint8_t* bytes, size_t size,
                                                    std::shared_ptr<const void> keepalive,
                                                    const ModelLoadOptions& options) {
  switch (DetectModelFormat(bytes, size)) {
    case ModelFormat::kWisp:
      return Model::Load(bytes, size, std::move(keepalive), LoadOptions{options.verify_sha256});
    case ModelFormat::kTflite: {
      ImportOptions import;
      import.name = options.name;
      import.record_sha256 = false;
      // A full import: the weights copied into a .wisp of its own.
      auto import_copy = [bytes, size, import]() -> Result<std::shared_ptr<const Model>> {
        WISP_ASSIGN_OR_RETURN(std::vector<uint8_t> wisp_bytes, ImportTflite(bytes, size, import));
        return Model::Load(std::move(wisp_bytes), LoadOptions{false});
      };
      if (keepalive == nullptr || options.complete_wisp_bytes) return import_copy();
      // The caller keeps the bytes alive: the weights are used where they are. The content hash
      // (asked for rarely) is that of the .wisp a full import makes, as without borrowing.
      WISP_ASSIGN_OR_RETURN(ImportedModel imported, ImportTfliteBorrowing(bytes, size, import));
      auto content_sha256 = [import_copy, keepalive]() -> std::string {
        Result<std::shared_ptr<const Model>> model = import_copy();
        return model.ok() ? (*model)->content_sha256_hex() : std::string();
      };
      return Model::Load(std::move(imported.wisp), LoadOptions{false}, std::move(imported.borrowed),
                         keepalive, std::move(content_sha256));
    }
    default:
      return InvalidModel(
          "not a model: expected a .wisp ('WISP') or .tflite ('TFL3') identifier at byte offset 4");
  }
}

}  // namespace wisp
