#include "native/server/tokens.h"

#include "native/platform/file_io.h"

namespace wisp::server {

std::vector<std::string> ParseTokens(std::string_view text) {
  std::vector<std::string> tokens;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string_view::npos || line[a] == '#') continue;
    const size_t b = line.find_last_not_of(" \t\r");
    tokens.emplace_back(line.substr(a, b - a + 1));
  }
  return tokens;
}

Result<std::vector<std::string>> ReadTokens(const std::string& path) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) {
    return Status(text.status().code(),
                  "cannot read token file " + path + ": " + text.status().message());
  }
  return ParseTokens(*text);
}

}  // namespace wisp::server
