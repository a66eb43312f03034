// The `wisp` subcommands. Each returns the process exit code; errors go to stderr.
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace wisp::cli {

void AddConvertCommand(CLI::App& app);
void AddInspectCommand(CLI::App& app);
void AddRunCommand(CLI::App& app);
void AddBenchCommand(CLI::App& app);
void AddOperatorsCommand(CLI::App& app);
void AddRegistryCommands(CLI::App& app);  // pull, publish, channel, models, delete

// Set by a subcommand's callback; main returns it.
int& ExitCode();
int Fail(const std::string& message);

}  // namespace wisp::cli
