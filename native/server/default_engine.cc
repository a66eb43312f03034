// The engine wisp-server uses: the portable runtime. Validation is a real load (every index and
// byte range checked, .tflite imported), a prepare, and one run on all-zero inputs, so a model
// that is acknowledged is a model that runs.
#include <cstring>
#include <mutex>

#include "native/server/model_engine.h"
#include "runtime/api/load_model.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp::server {
namespace {

TensorSpec SpecOf(const TensorDesc& t) {
  TensorSpec s;
  s.name = t.name;
  s.dtype = DTypeName(t.dtype);
  s.shape.assign(t.shape.begin(), t.shape.end());
  s.scale = t.quant.scale;
  s.zero_point.assign(t.quant.zero_point.begin(), t.quant.zero_point.end());
  return s;
}

class RuntimeModel : public LoadedModel {
 public:
  RuntimeModel(std::unique_ptr<Interpreter> interp) : interp_(std::move(interp)) {
    for (size_t i = 0; i < interp_->num_inputs(); ++i) inputs_.push_back(SpecOf(interp_->input(i)));
    for (size_t i = 0; i < interp_->num_outputs(); ++i) {
      outputs_.push_back(SpecOf(interp_->output(i)));
    }
  }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }

  EngineResult<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) override {
    using R = EngineResult<std::vector<Tensor>>;
    if (inputs.size() != interp_->num_inputs()) {
      return R::Error(
          StrFormat("the model has %zu inputs, got %zu", interp_->num_inputs(), inputs.size()));
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorDesc& t = interp_->input(i);
      if (inputs[i].dtype != DTypeName(t.dtype)) {
        return R::Error(StrFormat("input %zu ('%s') must be %s, got %s", i, t.name.c_str(),
                                  DTypeName(t.dtype), inputs[i].dtype.c_str()));
      }
      Status s = interp_->SetInput(i, inputs[i].data.data(), inputs[i].data.size());
      if (!s.ok()) return R::Error(s.message());
    }
    Status s = interp_->Invoke();
    if (!s.ok()) return R::Error(s.message());
    std::vector<Tensor> out;
    for (size_t o = 0; o < interp_->num_outputs(); ++o) {
      const TensorDesc& t = interp_->output(o);
      Tensor tensor;
      tensor.name = t.name;
      tensor.dtype = DTypeName(t.dtype);
      tensor.shape.assign(t.shape.begin(), t.shape.end());
      tensor.data.assign(interp_->output_data(o), interp_->output_data(o) + t.bytes);
      out.push_back(std::move(tensor));
    }
    return out;
  }

 private:
  std::unique_ptr<Interpreter> interp_;
  std::vector<TensorSpec> inputs_, outputs_;
};

class RuntimeEngine : public ModelEngine {
 public:
  std::string name() const override { return "wisp-runtime"; }

  EngineResult<ValidatedModel> Validate(const std::vector<uint8_t>& upload,
                                        const std::string& model_name) override {
    using R = EngineResult<ValidatedModel>;
    ModelLoadOptions options;
    options.verify_sha256 = true;  // a .wisp upload must be intact
    options.name = model_name;
    // The upload vector outlives this call only as long as the caller keeps it: copy .wisp bytes
    // into memory the model owns.
    auto owned = std::make_shared<std::vector<uint8_t>>(upload);
    auto model = LoadModelBytes(owned->data(), owned->size(), owned, options);
    if (!model.ok()) return R::Error(model.status().ToString());
    auto interp = Interpreter::Create(*model);
    if (!interp.ok()) return R::Error(interp.status().ToString());
    for (size_t i = 0; i < (*interp)->num_inputs(); ++i) {
      std::memset((*interp)->input_data(i), 0, (*interp)->input(i).bytes);
    }
    Status s = (*interp)->Invoke();
    if (!s.ok()) return R::Error("the model does not run on zero inputs: " + s.ToString());
    ValidatedModel v;
    v.wisp_bytes.assign((*model)->bytes(), (*model)->bytes() + (*model)->size());
    for (size_t i = 0; i < (*interp)->num_inputs(); ++i)
      v.inputs.push_back(SpecOf((*interp)->input(i)));
    for (size_t i = 0; i < (*interp)->num_outputs(); ++i) {
      v.outputs.push_back(SpecOf((*interp)->output(i)));
    }
    return v;
  }

  EngineResult<std::shared_ptr<LoadedModel>> Load(const std::vector<uint8_t>& wisp_bytes) override {
    using R = EngineResult<std::shared_ptr<LoadedModel>>;
    auto model = Model::Load(wisp_bytes, LoadOptions{false});
    if (!model.ok()) return R::Error(model.status().ToString());
    auto interp = Interpreter::Create(*model);
    if (!interp.ok()) return R::Error(interp.status().ToString());
    return std::shared_ptr<LoadedModel>(std::make_shared<RuntimeModel>(std::move(*interp)));
  }
};

}  // namespace

std::unique_ptr<ModelEngine> MakeDefaultModelEngine() { return std::make_unique<RuntimeEngine>(); }

}  // namespace wisp::server
