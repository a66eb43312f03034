// One entry point for model bytes of either format: a .wisp is used in place, a .tflite is
// imported in memory first. Shared by the CLI, the server and the WASM bindings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/core/status.h"
#include "runtime/format/model.h"

namespace wisp {

enum class ModelFormat { kUnknown, kWisp, kTflite };

ModelFormat DetectModelFormat(const uint8_t* bytes, size_t size);
const char* ModelFormatName(ModelFormat format);

struct ModelLoadOptions {
  bool verify_sha256 = false;
  std::string name;  // for imported .tflite models
  // Model::bytes() must be a whole .wisp file (the server stores it): an imported .tflite's
  // weights are copied into it instead of being used in place.
  bool complete_wisp_bytes = false;
};

// `bytes` must outlive the model unless it is a .tflite imported without a `keepalive` (into a
// new buffer); `keepalive` owns them when given, and then an imported .tflite's weights are used
// in place (ImportTfliteBorrowing) and the model holds on to `keepalive`.
Result<std::shared_ptr<const Model>> LoadModelBytes(const uint8_t* bytes, size_t size,
                                                    std::shared_ptr<const void> keepalive,
                                                    const ModelLoadOptions& options = {});

}  // namespace wisp
