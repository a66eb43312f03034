#include "native/server/tokens.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "native/platform/file_io.h"
#include "native/server/common.h"

namespace wisp::server {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

// "read", "admin", or "<action>:<glob>" with a non-empty glob.
bool ValidScope(std::string_view s) {
  if (s == "read" || s == "admin") return true;
  for (std::string_view prefix : {"publish:", "channel:", "delete:"}) {
    if (s.substr(0, prefix.size()) == prefix && s.size() > prefix.size()) return true;
  }
  return false;
}

}  // namespace

const char* TokenActionName(TokenAction action) {
  switch (action) {
    case TokenAction::kRead:
      return "read";
    case TokenAction::kPublish:
      return "publish";
    case TokenAction::kChannel:
      return "channel";
    case TokenAction::kDelete:
      return "delete";
    case TokenAction::kAdmin:
      return "admin";
  }
  return "?";
}

bool Token::Allows(TokenAction action, const std::string& model) const {
  const std::string prefix = std::string(TokenActionName(action)) + ":";
  for (const std::string& scope : scopes) {
    if (scope == "admin") return true;
    if (action == TokenAction::kRead && scope == "read") return true;
    if (scope.compare(0, prefix.size(), prefix) == 0 &&
        fnmatch(scope.c_str() + prefix.size(), model.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

Token AdminToken(std::string_view secret) {
  Token t;
  t.digest = Sha256Raw(secret);
  t.id = "sha256:" + HexEncode(t.digest.substr(0, 4));
  t.scopes = {"admin"};
  return t;
}

Result<TokenFile> ParseTokenFile(std::string_view text) {
  TokenFile file;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_no;
    const std::vector<std::string_view> f = Fields(line);
    if (f.empty() || f[0][0] == '#') continue;
    const std::string where = "token file line " + std::to_string(line_no);
    if (f.size() == 1) {
      Token t = AdminToken(f[0]);
      const Token* same = nullptr;
      for (const Token& other : file.tokens) {
        if (other.id == t.id) same = &other;
      }
      if (same && same->digest == t.digest) {  // the same secret twice: one token
        file.warnings.push_back(where + ": repeats an earlier token (" + t.id + "); ignored");
        continue;
      }
      if (same) {
        return InvalidArgument("%s: token id '%s' is used twice", where.c_str(), t.id.c_str());
      }
      file.warnings.push_back(where + ": a plain token with scope admin (" + t.id +
                              "); write \"<id> sha256:<hex> <scopes>\" to store only its digest "
                              "and limit what it may do");
      file.tokens.push_back(std::move(t));
      continue;
    }
    if (f.size() < 3) {
      return InvalidArgument("%s: a named token needs \"<id> <secret or sha256:hex> <scope>...\"",
                             where.c_str());
    }
    Token t;
    t.id = std::string(f[0]);
    if (f[1].substr(0, 7) == "sha256:") {
      if (!IsHex64(f[1].substr(7))) {
        return InvalidArgument("%s: token '%s': sha256: needs 64 hex digits", where.c_str(),
                               t.id.c_str());
      }
      t.digest = HexDecode(f[1].substr(7));
    } else {
      t.digest = Sha256Raw(f[1]);
      file.warnings.push_back(where + ": token '" + t.id +
                              "' is written in plain; store it as sha256:" + HexEncode(t.digest));
    }
    for (size_t i = 2; i < f.size(); ++i) {
      if (!ValidScope(f[i])) {
        return InvalidArgument(
            "%s: token '%s': unknown scope '%.*s' (read, admin, publish:<glob>, "
            "channel:<glob>, delete:<glob>)",
            where.c_str(), t.id.c_str(), static_cast<int>(std::min<size_t>(f[i].size(), 64)),
            f[i].data());
      }
      t.scopes.emplace_back(f[i]);
    }
    for (const Token& other : file.tokens) {
      if (other.id == t.id) {
        return InvalidArgument("%s: token id '%s' is used twice", where.c_str(), t.id.c_str());
      }
    }
    file.tokens.push_back(std::move(t));
  }
  return file;
}

Result<TokenFile> ReadTokenFile(const std::string& path) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) {
    return Status(text.status().code(),
                  "cannot read token file " + path + ": " + text.status().message());
  }
  Result<TokenFile> parsed = ParseTokenFile(*text);
  if (!parsed.ok()) return Status(parsed.status().code(), path + ": " + parsed.status().message());
  return parsed;
}

}  // namespace wisp::server
