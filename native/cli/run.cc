#include <chrono>
#include <cstdio>

#include "native/cli/backend.h"
#include "native/cli/commands.h"
#include "native/cli/inputs.h"
#include "native/cli/model_file.h"
#include "native/cli/output_format.h"
#include "native/platform/file_io.h"
#include "native/platform/thread_pool.h"
#include "runtime/interpreter/interpreter.h"

namespace wisp::cli {
namespace {

struct RunArgs {
  std::string model;
  std::string inputs;  // comma-separated
  std::string image;
  int64_t seed = -1;
  std::string labels;
  int top = 0;
  std::string save_outputs;
  std::string input_range;
  int threads = 1;
  bool reference = false;
  std::string backend = "wisp";
};

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size() && !s.empty()) {
    size_t c = s.find(',', pos);
    if (c == std::string::npos) c = s.size();
    out.push_back(s.substr(pos, c - pos));
    pos = c + 1;
  }
  return out;
}

int RunRun(const RunArgs& args) {
  auto loaded = LoadModelFile(args.model, false);
  if (!loaded.ok()) return Fail(loaded.status().message());
  const Model& m = **loaded;

  InputSpec spec;
  spec.files = SplitComma(args.inputs);
  spec.image = args.image;
  spec.seed = args.seed;
  spec.input_range = args.input_range;
  auto inputs = BuildInputs(m, spec);
  if (!inputs.ok()) return Fail(inputs.status().message());

  std::unique_ptr<NativeThreadPool> pool;
  auto provider = MakeBackend(args.backend, args.threads);
  if (!provider.ok()) return Fail(provider.status().message());
  InterpreterOptions options;
  options.kernels.reference_only = args.reference;
  options.kernels.provider = provider->get();
  if (args.threads > 1) {
    pool = std::make_unique<NativeThreadPool>(args.threads);
    options.thread_pool = pool.get();
  }
  auto interp = Interpreter::Create(*loaded, options);
  if (!interp.ok()) return Fail(interp.status().message());
  for (size_t i = 0; i < inputs->size(); ++i) {
    Status s = (*interp)->SetInput(i, (*inputs)[i].data(), (*inputs)[i].size());
    if (!s.ok()) return Fail(s.message());
  }
  const auto t0 = std::chrono::steady_clock::now();
  Status s = (*interp)->Invoke();
  const auto t1 = std::chrono::steady_clock::now();
  if (!s.ok()) return Fail(s.message());

  auto labels = LoadLabels(m, args.labels);
  if (!labels.ok()) return Fail(labels.status().message());
  if (!labels->empty()) {
    // Labels name the classes of an output: some output's last dimension must match their count
    // (ImageNet's 1001 lines on a 2-class model would print confident nonsense).
    bool fits = false;
    std::string sides;
    for (size_t o = 0; o < (*interp)->num_outputs(); ++o) {
      const TensorDesc& t = (*interp)->output(o);
      const int64_t classes = t.shape.empty() ? 1 : t.shape.back();
      fits |= classes == static_cast<int64_t>(labels->size());
      sides += StrFormat("%soutput %zu '%s' has %lld", o ? ", " : "", o, t.name.c_str(),
                         static_cast<long long>(classes));
    }
    if (!fits) {
      return Fail(StrFormat("%s has %zu labels but %s classes",
                            args.labels.empty() ? "the model's labels.txt" : args.labels.c_str(),
                            labels->size(), sides.c_str()));
    }
  }
  const int top = args.top > 0 ? args.top : (labels->empty() ? 0 : 5);

  for (size_t o = 0; o < (*interp)->num_outputs(); ++o) {
    const TensorDesc& t = (*interp)->output(o);
    const uint8_t* data = (*interp)->output_data(o);
    std::printf("output %zu '%s' %s %s\n", o, t.name.c_str(), DTypeName(t.dtype),
                ShapeToString(t.shape).c_str());
    if (top > 0 && t.num_elements > 1) {
      for (int64_t idx : TopK(t, data, top)) {
        const std::string label = static_cast<size_t>(idx) < labels->size()
                                      ? (*labels)[static_cast<size_t>(idx)]
                                      : std::string();
        std::printf("  %6lld  %.6f  %s\n", static_cast<long long>(idx), ElementAsReal(t, data, idx),
                    label.c_str());
      }
    } else {
      const int64_t n = std::min<int64_t>(t.num_elements, 16);
      std::printf("  ");
      for (int64_t i = 0; i < n; ++i) std::printf("%.6g ", ElementAsReal(t, data, i));
      std::printf("%s\n", t.num_elements > n ? "..." : "");
    }
    if (!args.save_outputs.empty()) {
      Status ms = MakeDirectories(args.save_outputs);
      if (!ms.ok()) return Fail(ms.message());
      const std::string path = args.save_outputs + "/output" + std::to_string(o) + ".bin";
      Status ws = WriteFileAtomic(path, data, t.bytes);
      if (!ws.ok()) return Fail(ws.message());
    }
  }
  std::fprintf(stderr, "invoke: %.3f ms\n",
               std::chrono::duration<double, std::milli>(t1 - t0).count());
  return 0;
}

}  // namespace

void AddRunCommand(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model once and print its outputs");
  cmd->add_option("model", args->model, ".wisp or .tflite")->required()->check(CLI::ExistingFile);
  auto* in = cmd->add_option("--input", args->inputs,
                             "raw little-endian tensor bytes, one file per input, comma-separated");
  auto* img = cmd->add_option("--image", args->image, "BMP, PNG, JPEG or PPM image")
                  ->check(CLI::ExistingFile);
  auto* rnd = cmd->add_option("--random", args->seed, "seed of the 32-bit LCG input generator");
  in->excludes(img)->excludes(rnd);
  img->excludes(rnd);
  cmd->add_option("--labels", args->labels, "labels file (default: labels embedded in the model)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--top", args->top, "print the top K classes");
  cmd->add_option("--save-outputs", args->save_outputs,
                  "write each output as raw little-endian bytes: DIR/output0.bin, ...");
  cmd->add_option("--input-range", args->input_range,
                  "float models: real range of image pixels (0,1 | 0,255 | -1,1); default: "
                  "the range the model records, else an error")
      ->check(CLI::IsMember({"0,1", "0,255", "-1,1"}));
  cmd->add_option("--threads", args->threads, "worker threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--reference", args->reference, "use only the reference kernels");
  cmd->add_option("--backend", args->backend, "kernels: wisp or xnnpack (built with WISP_XNNPACK)")
      ->check(CLI::IsMember({"wisp", "xnnpack"}));
  cmd->callback([args] { ExitCode() = RunRun(*args); });
}

}  // namespace wisp::cli
