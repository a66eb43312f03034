// Small building blocks shared by the server, the client and the CLI: digests, base64, Ed25519,
// gzip and RFC 3339 times (wisp_common). Files are native/platform/file_io.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace wisp::common {

// ---- digests and encodings ----
std::string Sha256Hex(std::string_view data);
std::string Sha256Raw(std::string_view data);  // 32 raw bytes
// Strong ETag of a generated document or static file: the first 128 bits of its sha256, quoted.
std::string ContentEtag(std::string_view data);
std::string HexEncode(std::string_view raw);
// Hex digits to bytes; a trailing odd digit is ignored, a non-hex pair decodes as 0 (callers pass
// digests they wrote themselves).
std::string HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view raw);
// kInvalidArgument on malformed input.
Result<std::string> Base64Decode(std::string_view text);
// Constant-time comparison (CRYPTO_memcmp); false when sizes differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): what JSON
// documents such as index.json and manifests can hold.
bool IsValidUtf8(std::string_view s);
// Random hex string of 2*bytes characters (RAND_bytes).
std::string RandomHex(size_t bytes);

// Streaming sha256 for downloads.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(const void* data, size_t size);
  std::string FinalHex();

 private:
  void* ctx_;
};

// A file's sha256 (hex) and size, read in blocks (artifacts may be large).
struct FileDigest {
  std::string sha256;
  uint64_t size = 0;
};
Result<FileDigest> HashFile(const std::string& path);

// ---- Ed25519 ----
class Ed25519Key {
 public:
  Ed25519Key() = default;
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;
  // Loads a PEM private key (openssl genpkey -algorithm ed25519 -out key.pem).
  Status LoadPrivatePem(const std::string& path);
  bool loaded() const { return pkey_ != nullptr; }
  std::string Sign(std::string_view message) const;  // 64 raw bytes, empty on failure
  std::string PublicKeyRaw() const;                  // 32 raw bytes
  std::string PublicKeyPem() const;
  // First 16 hex characters of sha256(raw public key).
  std::string KeyId() const;

 private:
  void* pkey_ = nullptr;
};

// Verifies an Ed25519 signature with a raw 32-byte public key.
bool Ed25519Verify(std::string_view public_key_raw, std::string_view message,
                   std::string_view signature_raw);

// ---- gzip (zlib, gzip container) ----
Result<std::string> GzipCompress(std::string_view data, int level = 9);
// kInvalidArgument unless `data` is one complete gzip stream.
Result<std::string> GzipDecompress(std::string_view data);

// The current UTC time as RFC 3339 ("2026-11-22T21:58:00Z").
std::string NowRfc3339();
// Seconds since the Unix epoch as RFC 3339 UTC ("2026-11-22T21:58:00Z"), and back (only that
// exact form: four-digit year, 'T', seconds, 'Z').
std::string Rfc3339(int64_t unix_seconds);
Result<int64_t> ParseRfc3339(const std::string& text);
// "90s", "30m", "12h", "7d" (or plain seconds) as seconds; kInvalidArgument for anything else or
// zero.
Result<int64_t> ParseDuration(const std::string& text);

}  // namespace wisp::common
