// The bearer-token file parser: it either names the line at fault or yields tokens with an id,
// a 32-byte digest and at least one valid scope, ids unique.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "native/server/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  wisp::Result<wisp::server::TokenFile> file = wisp::server::ParseTokenFile(text);
  if (!file.ok()) {
    if (file.status().message().find("token file line ") == std::string::npos) std::abort();
    return 0;
  }
  std::set<std::string> ids;
  for (const wisp::server::Token& t : file->tokens) {
    if (t.id.empty() || t.digest.size() != 32 || t.scopes.empty()) std::abort();
    if (t.id.find_first_of(" \t\r\n") != std::string::npos) std::abort();
    if (!ids.insert(t.id).second) std::abort();
    (void)t.Allows(wisp::server::TokenAction::kPublish, "vision-1");
  }
  return 0;
}
