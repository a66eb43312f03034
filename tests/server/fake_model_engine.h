// FakeModelEngine: a TEST-ONLY stand-in for the runtime-backed ModelEngine, so HTTP, storage and
// registry behaviour can be tested before the runtime lands. It does not parse real models.
//   * an upload starting with "FAKEWISP" is a valid .wisp;
//   * one starting with "FAKETFL3" is a valid ".tflite" and is "converted" by rewriting the magic
//     to "FAKEWISP" (so the stored bytes differ from the upload, like a real conversion);
//   * anything else is rejected with "bad magic".
// Every model has one float32 input "x" [1,4] and one float32 output "y" [1,4]; y = 2 * x.
// An input whose first element is 999 makes Predict sleep 300 ms (for shutdown tests).
#pragma once

#include <chrono>
#include <cstring>
#include <thread>

#include "native/server/model_engine.h"

namespace wisp::server::testing {

class FakeLoadedModel : public LoadedModel {
 public:
  FakeLoadedModel() {
    inputs_ = {TensorSpec{"x", "float32", {1, 4}, {}, {}}};
    outputs_ = {TensorSpec{"y", "float32", {1, 4}, {}, {}}};
  }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  Result<std::vector<Tensor>> Predict(const std::vector<Tensor>& in) override {
    if (in.size() != 1 || in[0].dtype != "float32" || in[0].data.size() != 16) {
      return InvalidArgument("fake model wants one float32 [1,4] input");
    }
    float x[4];
    std::memcpy(x, in[0].data.data(), 16);
    if (x[0] == 999.0f) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (float& v : x) v *= 2;
    Tensor out{"y", "float32", {1, 4}, std::vector<uint8_t>(16)};
    std::memcpy(out.data.data(), x, 16);
    return std::vector<Tensor>{out};
  }

 private:
  std::vector<TensorSpec> inputs_, outputs_;
};

class FakeModelEngine : public ModelEngine {
 public:
  std::string name() const override { return "fake"; }
  Result<ValidatedModel> Validate(const std::vector<uint8_t>& upload, const std::string&) override {
    auto starts = [&](const char* magic) {
      return upload.size() >= 8 && std::memcmp(upload.data(), magic, 8) == 0;
    };
    ValidatedModel m;
    if (starts("FAKEWISP")) {
      m.wisp_bytes = upload;
    } else if (starts("FAKETFL3")) {
      m.wisp_bytes = upload;
      std::memcpy(m.wisp_bytes.data(), "FAKEWISP", 8);
    } else {
      return InvalidModel("not a .wisp or .tflite model (bad magic)");
    }
    FakeLoadedModel spec;
    m.inputs = spec.inputs();
    m.outputs = spec.outputs();
    m.about.label_names = {"a", "b", "c", "d"};  // one per output value
    return m;
  }
  Result<std::shared_ptr<LoadedModel>> Load(const std::vector<uint8_t>& bytes) override {
    if (bytes.size() < 8 || std::memcmp(bytes.data(), "FAKEWISP", 8) != 0) {
      return InvalidModel("bad magic");
    }
    return std::shared_ptr<LoadedModel>(std::make_shared<FakeLoadedModel>());
  }
};

}  // namespace wisp::server::testing
