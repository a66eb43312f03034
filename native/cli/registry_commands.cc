// `wisp pull`, `wisp publish`, `wisp channel`: the edge-device and operator side of wisp-server.
#include "native/cli/commands.h"

namespace wisp::cli {

void AddRegistryCommands(CLI::App& app) {
#ifndef WISP_HAVE_CLIENT
  (void)app;
#endif
}

}  // namespace wisp::cli
