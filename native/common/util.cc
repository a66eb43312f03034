#include "native/common/util.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

namespace wisp::common {

std::string Sha256Raw(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string HexEncode(std::string_view raw) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string HexDecode(std::string_view hex) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string raw;
  raw.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    raw.push_back(static_cast<char>(hi < 0 || lo < 0 ? 0 : hi * 16 + lo));
  }
  return raw;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256Raw(data)); }

std::string ContentEtag(std::string_view data) {
  return "\"" + Sha256Hex(data).substr(0, 32) + "\"";
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return InvalidArgument("not base64: %zu characters, not a multiple of 4", text.size());
  }
  std::string buf(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return InvalidArgument("not base64: a character outside the alphabet");
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock does not strip the padding.
  if (!text.empty() && text.back() == '=') len--;
  if (text.size() >= 2 && text[text.size() - 2] == '=') len--;
  buf.resize(len);
  return buf;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return false;
    i += n + 1;
  }
  return true;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  return HexEncode(raw);
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256Stream::Update(const void* data, size_t size) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size);
}
std::string Sha256Stream::FinalHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

Result<FileDigest> HashFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open '%s': %s", path.c_str(), std::strerror(errno));
  Sha256Stream h;
  std::string buf(1 << 20, '\0');
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return IoError("cannot read '%s': %s", path.c_str(), std::strerror(err));
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return FileDigest{h.FinalHex(), total};
}

// ---- Ed25519 ----
Ed25519Key::~Ed25519Key() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Status Ed25519Key::LoadPrivatePem(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  "cannot open signing key " + path + ": " + std::strerror(errno) +
                      " (create one with: openssl genpkey -algorithm ed25519 -out " + path + ")");
  }
  EVP_PKEY* pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!pkey) return InvalidArgument("signing key %s is not a PEM private key", path.c_str());
  if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return InvalidArgument("signing key %s is not an Ed25519 key", path.c_str());
  }
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_));
  pkey_ = pkey;
  return Status::Ok();
}

std::string Ed25519Key::Sign(std::string_view message) const {
  if (!pkey_) return {};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_)) != 1)
    return {};
  size_t len = 64;
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1)
    return {};
  sig.resize(len);
  return sig;
}

std::string Ed25519Key::PublicKeyRaw() const {
  if (!pkey_) return {};
  size_t len = 32;
  std::string raw(len, '\0');
  if (EVP_PKEY_get_raw_public_key(static_cast<EVP_PKEY*>(pkey_),
                                  reinterpret_cast<unsigned char*>(raw.data()), &len) != 1)
    return {};
  raw.resize(len);
  return raw;
}

std::string Ed25519Key::PublicKeyPem() const {
  if (!pkey_) return {};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), static_cast<EVP_PKEY*>(pkey_));
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Ed25519Key::KeyId() const { return Sha256Hex(PublicKeyRaw()).substr(0, 16); }

bool Ed25519Verify(std::string_view public_key_raw, std::string_view message,
                   std::string_view signature_raw) {
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key_raw.data()),
      public_key_raw.size());
  if (!pkey) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok =
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature_raw.data()),
                       signature_raw.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  EVP_PKEY_free(pkey);
  return ok;
}

// ---- gzip ----
Result<std::string> GzipCompress(std::string_view data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Internal("gzip: cannot initialise the compressor (level %d)", level);
  }
  std::string compressed(deflateBound(&zs, data.size()) + 32, '\0');
  std::string* out = &compressed;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&zs, Z_FINISH);
  out->resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Internal("gzip: compression ended with zlib code %d", rc);
  return compressed;
}

Result<std::string> GzipDecompress(std::string_view data) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Internal("gzip: cannot initialise the inflater");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string plain;
  std::string* out = &plain;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out->append(buf, sizeof(buf) - zs.avail_out);
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return InvalidArgument("not a complete gzip stream (zlib code %d)", rc);
  return plain;
}

std::string NowRfc3339() { return Rfc3339(std::time(nullptr)); }

std::string Rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<int64_t> ParseRfc3339(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SSZ, 20 characters.
  static const char kShape[] = "dddd-dd-ddTdd:dd:ddZ";
  const Status malformed(StatusCode::kInvalidArgument,
                         "'" + text + "' is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  if (text.size() != sizeof(kShape) - 1) return malformed;
  for (size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return malformed;
  }
  std::tm tm{};
  auto num = [&](size_t at, size_t n) { return std::stoi(text.substr(at, n)); };
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return malformed;
  return static_cast<int64_t>(timegm(&tm));
}

Result<int64_t> ParseDuration(const std::string& text) {
  const Status malformed(
      StatusCode::kInvalidArgument,
      "'" + text + "' is not a positive duration (90s, 30m, 12h, 7d or seconds)");
  if (text.empty() || text.size() > 12) return malformed;
  static const std::string kUnits = "smhd";
  static const int64_t kSeconds[] = {1, 60, 3600, 86400};
  int64_t unit = 1;
  std::string digits = text;
  if (size_t u = kUnits.find(text.back()); u != std::string::npos) {
    unit = kSeconds[u];
    digits.pop_back();
  }
  if (digits.empty()) return malformed;
  int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return malformed;
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return malformed;
  return n * unit;
}

}  // namespace wisp::common
