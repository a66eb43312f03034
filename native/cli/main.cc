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
  app.name("wisp");
  app.require_subcommand(1);
  app.set_version_flag("--version", "wisp " WISP_VERSION);
  wisp::cli::AddConvertCommand(app);
  wisp::cli::AddInspectCommand(app);
  wisp::cli::AddRunCommand(app);
  wisp::cli::AddBenchCommand(app);
  wisp::cli::AddOperatorsCommand(app);
  wisp::cli::AddRegistryCommands(app);
  if (argc <= 1) {
    // A bare `wisp` names no command: usage on stderr and exit 2, as for any other usage error
    // (issue 13), instead of CLI11's internal "subcommand required" code. `wisp --help` is the
    // successful way to ask for it.
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (105, 106, 109, ...) mean nothing to a shell script: usage errors are 2,
    // as in getopt tools; --help and --version are successes.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return wisp::cli::ExitCode();
}
