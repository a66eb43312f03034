// The bearer-token file of wisp-server: one token per line; blank lines and lines starting with
// '#' are ignored, surrounding spaces, tabs and carriage returns are not part of a token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace wisp::server {

// Parses the text of a token file (kept apart from the file reading so it can be fuzzed).
std::vector<std::string> ParseTokens(std::string_view text);

// Reads and parses `path`.
Result<std::vector<std::string>> ReadTokens(const std::string& path);

}  // namespace wisp::server
