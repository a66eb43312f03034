// The engine wisp-server uses: the portable runtime. Validation is a real load (every index and
// byte range checked, .tflite imported), a prepare, and one run on all-zero inputs, so a model
// that is acknowledged is a model that runs.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "native/server/model_engine.h"
#include "runtime/api/load_model.h"
#include "runtime/format/model_metadata.h"
#include "runtime/interpreter/interpreter.h"
#include "runtime/interpreter/prepared_weights.h"

namespace wisp::server {
namespace {

// The runtime's error with its kind spelled out in the message ("invalid model: ..."), as clients
// of the server see engine errors.
Status Named(const Status& s) { return Status(s.code(), s.ToString()); }

TensorSpec SpecOf(const TensorDesc& t) {
  TensorSpec s;
  s.name = t.name;
  s.dtype = DTypeName(t.dtype);
  s.shape.assign(t.shape.begin(), t.shape.end());
  s.scale = t.quant.scale;
  s.zero_point.assign(t.quant.zero_point.begin(), t.quant.zero_point.end());
  return s;
}

// A pool of interpreters over one loaded model, so that concurrent predictions run side by side:
// each interpreter has its own arena, the packed weights are shared (PreparedWeights). The pool
// grows on demand up to one interpreter per hardware thread; a request beyond that waits for
// one to come back.
class RuntimeModel : public LoadedModel {
 public:
  // The first interpreter is created here, so a model that cannot be prepared fails the load;
  // it publishes the packed weights the others reuse.
  static Result<std::shared_ptr<LoadedModel>> Create(std::shared_ptr<const Model> model) {
    std::shared_ptr<RuntimeModel> m(new RuntimeModel(std::move(model)));
    auto first = Interpreter::Create(m->model_, m->options());
    if (!first.ok()) return Named(first.status());
    for (size_t i = 0; i < (*first)->num_inputs(); ++i) {
      m->inputs_.push_back(SpecOf((*first)->input(i)));
    }
    for (size_t i = 0; i < (*first)->num_outputs(); ++i) {
      m->outputs_.push_back(SpecOf((*first)->output(i)));
    }
    m->idle_.push_back(std::move(*first));
    m->created_ = 1;
    return std::shared_ptr<LoadedModel>(m);
  }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  bool concurrent_predict() const override { return true; }

  Result<std::vector<Tensor>> Predict(const std::vector<Tensor>& inputs) override {
    auto interp = Acquire();
    if (!interp.ok()) return interp.status();
    auto result = Run(*interp.value(), inputs);
    Release(std::move(interp.value()));
    return result;
  }

 private:
  explicit RuntimeModel(std::shared_ptr<const Model> model)
      : model_(std::move(model)),
        max_interpreters_(std::max(1u, std::thread::hardware_concurrency())) {}

  InterpreterOptions options() {
    InterpreterOptions o;
    o.kernels.shared_weights = &weights_;
    return o;
  }

  Result<std::unique_ptr<Interpreter>> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!idle_.empty()) {
        std::unique_ptr<Interpreter> interp = std::move(idle_.back());
        idle_.pop_back();
        return interp;
      }
      if (created_ < max_interpreters_) break;
      returned_.wait(lock);
    }
    ++created_;
    lock.unlock();
    auto interp = Interpreter::Create(model_, options());
    if (!interp.ok()) {
      std::lock_guard<std::mutex> relock(mu_);
      --created_;
      return Named(interp.status());
    }
    return std::move(*interp);
  }

  void Release(std::unique_ptr<Interpreter> interp) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back(std::move(interp));
    }
    returned_.notify_one();
  }

  static Result<std::vector<Tensor>> Run(Interpreter& interp, const std::vector<Tensor>& inputs) {
    if (inputs.size() != interp.num_inputs()) {
      return InvalidArgument("the model has %zu inputs, got %zu", interp.num_inputs(),
                             inputs.size());
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorDesc& t = interp.input(i);
      if (inputs[i].dtype != DTypeName(t.dtype)) {
        return InvalidArgument("input %zu ('%s') must be %s, got %s", i, t.name.c_str(),
                               DTypeName(t.dtype), inputs[i].dtype.c_str());
      }
      WISP_RETURN_IF_ERROR(interp.SetInput(i, inputs[i].data.data(), inputs[i].data.size()));
    }
    WISP_RETURN_IF_ERROR(interp.Invoke());
    std::vector<Tensor> out;
    for (size_t o = 0; o < interp.num_outputs(); ++o) {
      const TensorDesc& t = interp.output(o);
      Tensor tensor;
      tensor.name = t.name;
      tensor.dtype = DTypeName(t.dtype);
      tensor.shape.assign(t.shape.begin(), t.shape.end());
      tensor.data.assign(interp.output_data(o), interp.output_data(o) + t.bytes);
      out.push_back(std::move(tensor));
    }
    return out;
  }

  std::shared_ptr<const Model> model_;
  PreparedWeights weights_;
  const unsigned max_interpreters_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Interpreter>> idle_;
  unsigned created_ = 0;
  std::vector<TensorSpec> inputs_, outputs_;
};

class RuntimeEngine : public ModelEngine {
 public:
  std::string name() const override { return "wisp-runtime"; }

  Result<ValidatedModel> Validate(const std::vector<uint8_t>& upload,
                                  const std::string& model_name) override {
    ModelLoadOptions options;
    options.verify_sha256 = true;  // a .wisp upload must be intact
    options.name = model_name;
    options.complete_wisp_bytes = true;  // its bytes are what the registry stores
    // The upload vector outlives this call only as long as the caller keeps it: copy .wisp bytes
    // into memory the model owns.
    auto owned = std::make_shared<std::vector<uint8_t>>(upload);
    auto model = LoadModelBytes(owned->data(), owned->size(), owned, options);
    if (!model.ok()) return Named(model.status());
    auto interp = Interpreter::Create(*model);
    if (!interp.ok()) return Named(interp.status());
    for (size_t i = 0; i < (*interp)->num_inputs(); ++i) {
      std::memset((*interp)->input_data(i), 0, (*interp)->input(i).bytes);
    }
    Status s = (*interp)->Invoke();
    if (!s.ok()) {
      return Status(s.code(), "the model does not run on zero inputs: " + s.ToString());
    }
    ValidatedModel v;
    v.wisp_bytes.assign((*model)->bytes(), (*model)->bytes() + (*model)->size());
    for (size_t i = 0; i < (*interp)->num_inputs(); ++i)
      v.inputs.push_back(SpecOf((*interp)->input(i)));
    for (size_t i = 0; i < (*interp)->num_outputs(); ++i) {
      v.outputs.push_back(SpecOf((*interp)->output(i)));
    }
    const ModelMetadataSummary md = SummarizeMetadata(**model);
    v.about = {md.name,        md.description, md.version,       md.author,           md.license,
               md.input_range, md.num_labels,  md.labels_source, ModelLabels(**model)};
    return v;
  }

  Result<std::shared_ptr<LoadedModel>> Load(const std::vector<uint8_t>& wisp_bytes) override {
    auto model = Model::Load(wisp_bytes, LoadOptions{false});
    if (!model.ok()) return Named(model.status());
    return RuntimeModel::Create(*model);
  }
};

}  // namespace

std::unique_ptr<ModelEngine> MakeDefaultModelEngine() { return std::make_unique<RuntimeEngine>(); }

}  // namespace wisp::server
