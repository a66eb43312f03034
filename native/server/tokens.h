// The bearer-token file of wisp-server. One token per line; blank lines and lines starting with
// '#' are ignored, fields are separated by spaces or tabs:
//
//   <id> sha256:<64 hex digits> <scope> [<scope> ...]    a named token, stored as its digest
//   <id> <secret> <scope> [<scope> ...]                  the same, secret in plain (warned)
//   <secret>                                             a legacy line: scope admin (warned)
//
// Scopes: `read` (reads when --public-reads is off), `publish:<model glob>`,
// `channel:<model glob>` (move or delete channels), `delete:<model glob>` (delete versions), and
// `admin` (everything). Globs are shell patterns on the model name (`vision-*`, `*`). Secrets are
// kept only as sha256 digests and compared in constant time; the id names the token in the access
// log (a legacy line's id is "sha256:" and its digest's first 8 hex digits).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace wisp::server {

// What a request needs a token for.
enum class TokenAction { kRead, kPublish, kChannel, kDelete, kAdmin };

struct Token {
  std::string id;
  std::string digest;               // raw sha256 of the secret (32 bytes)
  std::vector<std::string> scopes;  // as written in the file, validated

  // Whether a scope of this token covers `action` on model `model`.
  bool Allows(TokenAction action, const std::string& model) const;
};

// A secret given in plain: scope admin, id from its digest.
Token AdminToken(std::string_view secret);

struct TokenFile {
  std::vector<Token> tokens;
  std::vector<std::string> warnings;  // for the server's log: plain secrets in the file
};

// Parses the text of a token file (kept apart from the file reading so it can be fuzzed). Errors
// name the line: an unknown scope, a malformed digest, a named token without scopes, a
// duplicate id.
Result<TokenFile> ParseTokenFile(std::string_view text);

// Reads and parses `path`.
Result<TokenFile> ReadTokenFile(const std::string& path);

const char* TokenActionName(TokenAction action);

}  // namespace wisp::server
