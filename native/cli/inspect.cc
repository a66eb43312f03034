#include <cstdio>

#include <nlohmann/json.hpp>

#include "native/cli/backend.h"
#include "native/cli/commands.h"
#include "native/cli/model_file.h"
#include "native/cli/output_format.h"
#include "runtime/format/model_metadata.h"
#include "runtime/interpreter/interpreter.h"
#include "runtime/kernels/microkernels/config.h"

namespace wisp::cli {
namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
  bool verify = true;
  std::string backend = "wisp";
};

nlohmann::json TensorJson(const Model& m, int32_t index) {
  const TensorDesc& t = m.tensors()[index];
  nlohmann::json j = {{"index", index},           {"name", t.name},   {"dtype", DTypeName(t.dtype)},
                      {"shape", t.shape},         {"bytes", t.bytes}, {"constant", t.is_constant()},
                      {"variable", t.is_variable}};
  if (!t.quant.empty()) {
    j["quantization"] = {
        {"scale", t.quant.scale}, {"zero_point", t.quant.zero_point}, {"axis", t.quant.axis}};
  }
  return j;
}

// The model's own description (runtime/format/model_metadata.h), as the server's documents have it.
nlohmann::json MetadataSummaryJson(const ModelMetadataSummary& s) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const InputNormalization& in : s.inputs) {
    inputs.push_back(
        {{"mean", in.mean}, {"std", in.std}, {"range", in.range}, {"value_range", in.value_range}});
  }
  return {{"name", s.name},
          {"description", s.description},
          {"version", s.version},
          {"author", s.author},
          {"license", s.license},
          {"input_range", s.input_range},
          {"inputs", inputs},
          {"labels", s.num_labels},
          {"labels_source", s.labels_source},
          {"associated_files", s.associated_files},
          {"warnings", s.warnings}};
}

std::string QuantString(const TensorDesc& t) {
  if (t.quant.empty()) return "";
  if (t.quant.per_channel()) {
    return StrFormat("per-channel(axis %d, %zu scales)", t.quant.axis, t.quant.scale.size());
  }
  return StrFormat("scale %.9g zp %d", static_cast<double>(t.quant.scale[0]),
                   t.quant.zero_point[0]);
}

int RunInspect(const InspectArgs& args) {
  auto loaded = LoadModelFile(args.model, args.verify);
  if (!loaded.ok()) return Fail(loaded.status().message());
  const Model& m = **loaded;
  auto provider = MakeBackend(args.backend, 1);
  if (!provider.ok()) return Fail(provider.status().message());
  InterpreterOptions options;
  options.kernels.provider = provider->get();
  auto interp = Interpreter::Create(*loaded, options);
  size_t intermediates = 0;
  for (const TensorDesc& t : m.tensors()) {
    if (!t.is_constant() && !t.is_variable) intermediates += t.bytes;
  }
  size_t weights = 0;
  for (const TensorDesc& t : m.tensors()) {
    if (t.is_constant()) weights += t.bytes;
  }

  nlohmann::json j;
  j["file"] = args.model;
  j["name"] = m.name();
  j["version"] = m.version();
  j["description"] = m.description();
  j["producer"] = m.producer();
  j["sha256"] = m.content_sha256_hex();
  j["file_bytes"] = m.size();
  j["weight_bytes"] = weights;
  nlohmann::json meta = nlohmann::json::object();
  if (m.fb().metadata()) {
    for (const fb::KeyValue* kv : *m.fb().metadata()) {
      meta[kv->key() ? kv->key()->str() : ""] = kv->value() ? kv->value()->str() : "";
    }
  }
  j["metadata"] = meta;
  const ModelMetadataSummary summary = SummarizeMetadata(m);
  j["model_metadata"] = MetadataSummaryJson(summary);
  j["assets"] = nlohmann::json::array();
  for (const Asset& a : m.assets()) {
    j["assets"].push_back({{"name", a.name}, {"media_type", a.media_type}, {"bytes", a.size}});
  }
  j["inputs"] = nlohmann::json::array();
  for (int32_t i : m.inputs()) j["inputs"].push_back(TensorJson(m, i));
  j["outputs"] = nlohmann::json::array();
  for (int32_t i : m.outputs()) j["outputs"].push_back(TensorJson(m, i));
  j["tensors"] = nlohmann::json::array();
  for (size_t i = 0; i < m.tensors().size(); ++i) {
    j["tensors"].push_back(TensorJson(m, static_cast<int32_t>(i)));
  }
  j["operators"] = nlohmann::json::array();
  for (size_t i = 0; i < m.operators().size(); ++i) {
    const OperatorDesc& op = m.operators()[i];
    nlohmann::json o = {{"index", i},
                        {"type", OpTypeName(op.type)},
                        {"inputs", op.inputs},
                        {"outputs", op.outputs}};
    if (interp.ok()) {
      o["implementation"] = (*interp)->kernel_implementation(i);
      o["backend"] = (*interp)->kernel_backend(i);
      if (*provider && !(*provider)->decline_reason(i).empty()) {
        o["declined"] = (*provider)->decline_reason(i);
      }
    }
    j["operators"].push_back(o);
  }
  j["microkernel_isa"] = Microkernels().isa;
  j["backend"] = args.backend;
  if (interp.ok()) {
    j["ops_on_backend"] = args.backend == "wisp"
                              ? m.operators().size()
                              : (*interp)->num_ops_on_backend(args.backend.c_str());
  }
  j["microkernel_isa_levels"] = MicrokernelIsaLevels();
  j["intermediate_bytes_naive"] = intermediates;
  if (interp.ok()) {
    j["arena_bytes"] = (*interp)->arena_bytes();
    j["arena_bytes_naive"] = (*interp)->naive_arena_bytes();
  } else {
    j["prepare_error"] = interp.status().message();
  }

  if (args.json) {
    std::printf("%s\n", j.dump(1).c_str());
    return interp.ok() ? 0 : 1;
  }

  std::printf("model       %s\n", args.model.c_str());
  std::printf("name        %s   version %s   producer %s\n", m.name().c_str(), m.version().c_str(),
              m.producer().c_str());
  if (!m.description().empty()) std::printf("description %s\n", m.description().c_str());
  std::printf("sha256      %s\n", m.content_sha256_hex().c_str());
  std::printf("size        %zu bytes (%zu bytes of weights)\n", m.size(), weights);
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    std::printf("metadata    %s = %s\n", it.key().c_str(), it.value().get<std::string>().c_str());
  }
  for (const Asset& a : m.assets()) {
    std::printf("asset       %s (%s, %zu bytes)\n", a.name.c_str(), a.media_type.c_str(), a.size);
  }
  if (summary.num_labels > 0) {
    std::printf("labels      %zu%s%s\n", summary.num_labels,
                summary.labels_source.empty() ? "" : " from ", summary.labels_source.c_str());
  }
  if (!summary.warnings.empty()) {
    std::printf("warning     metadata: %s\n", summary.warnings.c_str());
  }
  auto print_io = [&](const char* what, const std::vector<int32_t>& list) {
    for (int32_t i : list) {
      const TensorDesc& t = m.tensors()[i];
      std::printf("%-11s #%d '%s' %s %s %s\n", what, i, t.name.c_str(), DTypeName(t.dtype),
                  ShapeToString(t.shape).c_str(), QuantString(t).c_str());
    }
  };
  print_io("input", m.inputs());
  print_io("output", m.outputs());
  std::printf("\ntensors (%zu):\n", m.tensors().size());
  for (size_t i = 0; i < m.tensors().size(); ++i) {
    const TensorDesc& t = m.tensors()[i];
    std::printf("  %4zu %-8s %-20s %-9s %s  %s\n", i,
                t.is_constant() ? "const" : (t.is_variable ? "variable" : ""),
                ShapeToString(t.shape).c_str(), DTypeName(t.dtype), t.name.c_str(),
                QuantString(t).c_str());
  }
  std::printf("\nmicrokernels %s\n", IsaLine().c_str());
  if (interp.ok()) {
    std::printf("backend      %s\n", BackendSummary(**interp, args.backend).c_str());
  }
  std::printf("operators (%zu):\n", m.operators().size());
  for (size_t i = 0; i < m.operators().size(); ++i) {
    const OperatorDesc& op = m.operators()[i];
    std::string ins, outs;
    for (int32_t t : op.inputs) ins += (ins.empty() ? "" : ",") + std::to_string(t);
    for (int32_t t : op.outputs) outs += (outs.empty() ? "" : ",") + std::to_string(t);
    std::printf("  %4zu %-28s in [%s] out [%s] %s\n", i, OpTypeName(op.type), ins.c_str(),
                outs.c_str(), interp.ok() ? (*interp)->kernel_implementation(i) : "");
    const std::string declined = *provider ? (*provider)->decline_reason(i) : "";
    if (!declined.empty()) std::printf("         (%s)\n", declined.c_str());
  }
  std::printf("\nintermediate tensors, naive sum  %zu bytes\n", intermediates);
  if (interp.ok()) {
    std::printf("arena (planned)                  %zu bytes (%.1f%% of the naive sum)\n",
                (*interp)->arena_bytes(),
                intermediates ? 100.0 * static_cast<double>((*interp)->arena_bytes()) /
                                    static_cast<double>(intermediates)
                              : 0.0);
    return 0;
  }
  return Fail("cannot prepare the model: " + interp.status().message());
}

}  // namespace

void AddInspectCommand(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Show tensors, operators, quantization, arena size, sha256 and metadata");
  cmd->add_option("model", args->model, ".wisp or .tflite")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "machine-readable output");
  cmd->add_option("--backend", args->backend,
                  "show which operators this backend takes: wisp or xnnpack (built with "
                  "WISP_XNNPACK)")
      ->check(CLI::IsMember({"wisp", "xnnpack"}));
  cmd->callback([args] { ExitCode() = RunInspect(*args); });
}

}  // namespace wisp::cli
