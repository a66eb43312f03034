#include "native/server/tokens.h"

#include "native/server/util.h"

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

bool ReadTokens(const std::string& path, std::vector<std::string>* tokens, std::string* error) {
  std::string text;
  if (!ReadFile(path, &text)) {
    *error = "cannot read token file " + path;
    return false;
  }
  *tokens = ParseTokens(text);
  return true;
}

}  // namespace wisp::server
