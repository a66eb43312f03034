#include <cstdio>

#include "native/cli/commands.h"
#include "native/cli/inputs.h"
#include "native/cli/model_file.h"
#include "native/platform/file_io.h"
#include "runtime/import/tflite_importer.h"

namespace wisp::cli {
namespace {

struct ConvertArgs {
  std::string input, output, name, version, description, labels, input_range;
};

int RunConvert(const ConvertArgs& args) {
  auto bytes = ReadFileBytes(args.input);
  if (!bytes.ok()) return Fail(bytes.status().message());
  if (DetectModelFormat(bytes->data(), bytes->size()) != ModelFormat::kTflite) {
    return Fail(args.input + ": not a .tflite file (no 'TFL3' identifier at byte offset 4)");
  }
  ImportOptions options;
  options.name = args.name.empty() ? FileStem(args.input) : args.name;
  options.version = args.version;
  options.description = args.description;
  if (!args.labels.empty()) {
    auto labels = ReadFileText(args.labels);
    if (!labels.ok()) return Fail(labels.status().message());
    options.labels = *labels;
  }
  if (!args.input_range.empty()) options.metadata.emplace_back(kInputRangeKey, args.input_range);
  auto wisp_bytes = ImportTflite(bytes->data(), bytes->size(), options);
  if (!wisp_bytes.ok()) return Fail(args.input + ": " + wisp_bytes.status().message());
  // Prove the result loads before replacing anything on disk.
  auto check = Model::Load(*wisp_bytes, LoadOptions{true});
  if (!check.ok())
    return Fail("internal error: converted model does not load: " + check.status().message());
  Status s = WriteFileAtomic(args.output, wisp_bytes->data(), wisp_bytes->size());
  if (!s.ok()) return Fail(s.message());
  std::printf("wrote %s (%zu bytes, %zu tensors, %zu operators, sha256 %s)\n", args.output.c_str(),
              wisp_bytes->size(), (*check)->tensors().size(), (*check)->operators().size(),
              (*check)->content_sha256_hex().c_str());
  return 0;
}

}  // namespace

void AddConvertCommand(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert a .tflite model to .wisp");
  cmd->add_option("input", args->input, "input .tflite")->required()->check(CLI::ExistingFile);
  cmd->add_option("output", args->output, "output .wisp")->required();
  cmd->add_option("--name", args->name, "model name (default: input file stem)");
  cmd->add_option("--version", args->version, "version string");
  cmd->add_option("--description", args->description, "description");
  cmd->add_option("--input-range", args->input_range,
                  "float models: real range of image pixels the model expects, recorded for "
                  "`wisp run --image` (0,1 | 0,255 | -1,1)")
      ->check(CLI::IsMember({"0,1", "0,255", "-1,1"}));
  cmd->add_option("--labels", args->labels, "labels file to embed (one label per line)")
      ->check(CLI::ExistingFile);
  cmd->callback([args] { ExitCode() = RunConvert(*args); });
}

}  // namespace wisp::cli
