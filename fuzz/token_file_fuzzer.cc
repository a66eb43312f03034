// The bearer-token file parser: tokens are non-empty, trimmed and never comments.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "native/server/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::string& token : wisp::server::ParseTokens(text)) {
    if (token.empty() || token[0] == '#' || token.find('\n') != std::string::npos) std::abort();
    const char first = token.front(), last = token.back();
    if (first == ' ' || first == '\t' || first == '\r' || last == ' ' || last == '\t' ||
        last == '\r') {
      std::abort();
    }
  }
  return 0;
}
