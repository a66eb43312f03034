// The narrow seam between wisp-server and the inference runtime. The server never parses model
// files itself: publishing asks the engine to validate (and convert) an upload, and prediction asks
// it to load a validated .wisp once and run it. The real implementation on top of runtime/ is wired
// in later (see MakeDefaultModelEngine in default_engine.cc); tests use a FakeModelEngine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"  // Status and Result only (inline; the server does not link it)

namespace wisp::server {

// dtype strings: "float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool".
struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;       // -1 for a dynamic dimension
  std::vector<float> scale;         // empty when not quantized; one entry per channel otherwise
  std::vector<int64_t> zero_point;  // same length as scale
};

// What a model says about itself (runtime/format/model_metadata.h: TFLite Metadata kept by the
// importer, or `wisp convert` options), shown as "metadata" in manifests. Empty when unknown.
struct ModelAbout {
  std::string name;  // the model's display name (not the registry name)
  std::string description, version, author, license;
  std::string input_range;               // "lo,hi" image pixels map to, when recorded
  uint64_t labels = 0;                   // embedded labels.txt lines
  std::string labels_source;             // e.g. "imagenet_labels.txt (output 0)"
  std::vector<std::string> label_names;  // the embedded labels.txt, a line each (metadata document)
};

struct ValidatedModel {
  std::vector<uint8_t> wisp_bytes;  // the bytes to store (converted when the upload was .tflite)
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  ModelAbout about;
};

// A tensor crossing the seam: raw little-endian element bytes in `dtype`, dense, row-major.
struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

// A model loaded once and kept by the server for prediction. Unless it says it is safe to call
// concurrently (concurrent_predict), the server serialises calls to Predict on one LoadedModel
// (one mutex per loaded model); different LoadedModels may run concurrently on different threads.
class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;
  // `inputs` are in the order of inputs(), with exactly the specified dtype and a concrete shape.
  virtual Result<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) = 0;
  // Predict may run on several threads at once (the implementation keeps its own pool).
  virtual bool concurrent_predict() const { return false; }
};

class ModelEngine {
 public:
  virtual ~ModelEngine() = default;
  // A short identifier shown in /readyz and logs ("wisp-runtime", "fake", "unavailable").
  virtual std::string name() const = 0;
  // Whether the engine can validate models at all; /readyz reports not ready otherwise.
  virtual bool available() const { return true; }
  // Validates an upload: it must be a .wisp or .tflite the runtime can load, and it must run once
  // on all-zero inputs; the engine decides the format by content. A converted .tflite is named
  // `model_name` (the registry name). On error the message says why (shown to the client with
  // 400 "invalid_model", whatever the StatusCode).
  virtual Result<ValidatedModel> Validate(const std::vector<uint8_t>& upload,
                                          const std::string& model_name) = 0;
  // Loads bytes that Validate produced earlier (wisp_bytes) for prediction.
  virtual Result<std::shared_ptr<LoadedModel>> Load(const std::vector<uint8_t>& wisp_bytes) = 0;
};

// The engine that the wisp-server binary uses (default_engine.cc). Until the runtime lands this
// is an engine that refuses every upload with a clear message.
std::unique_ptr<ModelEngine> MakeDefaultModelEngine();

}  // namespace wisp::server
