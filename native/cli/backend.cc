#include "native/cli/backend.h"

#include <map>

#ifdef WISP_HAVE_XNNPACK
#include "native/xnnpack/xnnpack_provider.h"
#endif

namespace wisp::cli {

Result<std::unique_ptr<KernelProvider>> MakeBackend(const std::string& name, int threads) {
  if (name == "wisp") return std::unique_ptr<KernelProvider>();
#ifdef WISP_HAVE_XNNPACK
  if (name == "xnnpack") {
    auto provider = XnnpackProvider::Create(threads);
    if (!provider.ok()) return provider.status();
    return std::unique_ptr<KernelProvider>(std::move(*provider));
  }
#else
  if (name == "xnnpack") {
    return Unsupported("this wisp was built without the XNNPACK backend (WISP_XNNPACK=OFF)");
  }
#endif
  return InvalidArgument("unknown backend '%s'", name.c_str());
}

std::string BackendSummary(const Interpreter& interp, const std::string& backend) {
  const size_t total = interp.model().operators().size();
  if (backend == "wisp") return "wisp: all " + std::to_string(total) + " operators";
  std::map<std::string, int> by_type;
  size_t taken = 0;
  for (size_t i = 0; i < total; ++i) {
    if (backend == interp.kernel_backend(i)) {
      ++taken;
      ++by_type[OpTypeName(interp.model().operators()[i].type)];
    }
  }
  std::string types;
  for (const auto& [type, count] : by_type) {
    types += (types.empty() ? "" : ", ") + type + " " + std::to_string(count);
  }
  return backend + ": " + std::to_string(taken) + " of " + std::to_string(total) + " operators" +
         (types.empty() ? "" : " (" + types + ")") + ", wisp: " + std::to_string(total - taken);
}

}  // namespace wisp::cli
