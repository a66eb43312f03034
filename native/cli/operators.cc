// `wisp operators`: what the kernel registry implements, with dtypes and constraints. The
// --markdown form is docs/operators.md verbatim, checked by the operators_doc test.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "native/cli/commands.h"
#include "runtime/kernels/registry.h"

namespace wisp::cli {
namespace {

struct OperatorsArgs {
  bool markdown = false;
  bool json = false;
};

std::vector<fb::OpType> SortedByName() {
  std::vector<fb::OpType> types = KernelRegistry::Global().Registered();
  std::sort(types.begin(), types.end(), [](fb::OpType a, fb::OpType b) {
    return std::strcmp(OpTypeName(a), OpTypeName(b)) < 0;
  });
  return types;
}

// Markdown table cells cannot hold a bare '|'.
std::string Cell(const char* text) {
  std::string s;
  for (const char* p = text; *p; ++p) s += *p == '|' ? std::string("\\|") : std::string(1, *p);
  return s.empty() ? "—" : s;
}

int RunOperators(const OperatorsArgs& a) {
  const KernelRegistry& registry = KernelRegistry::Global();
  const std::vector<fb::OpType> types = SortedByName();
  if (a.json) {
    nlohmann::json ops = nlohmann::json::array();
    for (fb::OpType t : types) {
      ops.push_back({{"operator", OpTypeName(t)},
                     {"dtypes", registry.Support(t).dtypes},
                     {"constraints", registry.Support(t).constraints}});
    }
    std::printf("%s\n", nlohmann::json{{"operators", ops}}.dump(2).c_str());
    return 0;
  }
  if (a.markdown) {
    std::printf(
        "# Supported operators\n\n"
        "Generated from the kernel registry (`runtime/kernels/register_*.cc`) by\n"
        "`wisp operators --markdown`; do not edit by hand. The `operators_doc` test fails when\n"
        "this file is stale; regenerate it with\n\n"
        "    build/native/native/cli/wisp operators --markdown > docs/operators.md\n\n"
        "%zu operators. A model using any other operator is refused when the interpreter is\n"
        "created (\"no kernel for ...\", naming the operators). *dtypes* are those of the\n"
        "operator's tensors (`a -> b`: input -> output); *constraints* are what the kernel's\n"
        "`Prepare` refuses beyond dtypes, each refusal an error naming the tensor at fault.\n"
        "Quantized means int8/uint8/int16 with a scale and zero point.\n\n"
        "| operator | dtypes | constraints |\n|---|---|---|\n",
        types.size());
    for (fb::OpType t : types) {
      std::printf("| `%s` | %s | %s |\n", OpTypeName(t), Cell(registry.Support(t).dtypes).c_str(),
                  Cell(registry.Support(t).constraints).c_str());
    }
    return 0;
  }
  for (fb::OpType t : types) {
    std::printf("%-30s %s\n%-30s %s\n", OpTypeName(t), registry.Support(t).dtypes, "",
                registry.Support(t).constraints);
  }
  return 0;
}

}  // namespace

void AddOperatorsCommand(CLI::App& app) {
  auto args = std::make_shared<OperatorsArgs>();
  CLI::App* cmd = app.add_subcommand("operators", "List the supported operators and their dtypes");
  auto* md = cmd->add_flag("--markdown", args->markdown, "print docs/operators.md");
  cmd->add_flag("--json", args->json, "machine-readable output")->excludes(md);
  cmd->callback([args] { ExitCode() = RunOperators(*args); });
}

}  // namespace wisp::cli
