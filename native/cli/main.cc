#include <cstdio>

#include "native/cli/commands.h"

namespace wisp::cli {

int& ExitCode() {
  static int code = 0;
  return code;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "wisp: %s\n", message.c_str());
  ExitCode() = 1;
  return 1;
}

}  // namespace wisp::cli

int main(int argc, char** argv) {
  CLI::App app{"wisp: run quantized neural networks (.wisp, .tflite) natively"};
  app.require_subcommand(1);
  wisp::cli::AddConvertCommand(app);
  wisp::cli::AddInspectCommand(app);
  wisp::cli::AddRunCommand(app);
  wisp::cli::AddBenchCommand(app);
  wisp::cli::AddRegistryCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return wisp::cli::ExitCode();
}
