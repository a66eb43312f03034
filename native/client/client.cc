#include "native/client/client.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "native/client/json_field.h"
#include "native/common/chunker.h"
#include "native/common/util.h"
#include "native/platform/file_io.h"

namespace wisp::client {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using namespace wisp::common;  // Sha256Hex, Ed25519Verify, Chunk, ...

namespace {

// A reply other than the one expected: "publish: HTTP 409: <the server's message>", with the
// StatusCode the HTTP status means (see client.h).
Status HttpError(const std::string& what, const HttpResponse& res) {
  StatusCode code = StatusCode::kIoError;
  if (res.status == 404) {
    code = StatusCode::kNotFound;
  } else if (res.status == 409) {
    code = StatusCode::kFailedPrecondition;
  } else if (res.status == 507) {
    code = StatusCode::kResourceExhausted;
  } else if (res.status >= 400 && res.status < 500) {
    code = StatusCode::kInvalidArgument;
  }
  return Status(code, what + ": HTTP " + std::to_string(res.status) + ": " + res.ErrorMessage());
}

Status Refused(std::string message) {
  return Status(StatusCode::kInvalidModel, std::move(message));
}

}  // namespace

Result<ServerUrl> ServerUrl::Parse(const std::string& url) {
  ServerUrl parsed;
  ServerUrl* out = &parsed;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    out->tls = true;
    out->port = "443";
  } else {
    return InvalidArgument("server URL must start with http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  out->base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out->base_path.empty() && out->base_path.back() == '/') out->base_path.pop_back();
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) {
      return Status(StatusCode::kInvalidArgument, "malformed IPv6 host in " + url);
    }
    out->host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      out->port = hostport.substr(close + 2);
  } else {
    size_t colon = hostport.rfind(':');
    out->host = hostport.substr(0, colon);
    if (colon != std::string::npos) out->port = hostport.substr(colon + 1);
  }
  if (out->host.empty() || out->port.empty()) {
    return Status(StatusCode::kInvalidArgument, "malformed server URL " + url);
  }
  return parsed;
}

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpResponse::ErrorMessage() const {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    return FieldOr<std::string>(j["error"], "message", body);
  }
  // TF Serving's paths answer {"error": "<message>", "code": ...}.
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    return j["error"].get<std::string>();
  }
  return body.empty() ? "HTTP " + std::to_string(status) : body;
}

struct HttpClient::Impl {
  net::io_context ioc;
  std::optional<ssl::context> tls_ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  unsigned timeout_ms = 30000;

  bool connected() const { return plain.has_value() || tls.has_value(); }
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
  void Reset() {
    if (connected()) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    plain.reset();
    tls.reset();
  }
};

HttpClient::HttpClient(ServerUrl url, unsigned timeout_ms) : impl_(new Impl), url_(std::move(url)) {
  impl_->timeout_ms = timeout_ms;
}

HttpClient::~HttpClient() { impl_->Reset(); }

namespace {

template <class Parser>
void CopyHead(const Parser& p, HttpResponse* out) {
  const auto& msg = p.get();
  out->status = msg.result_int();
  out->headers.clear();
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = out->headers.emplace(name, std::string(f.value()));
    if (!inserted) it->second += ", " + std::string(f.value());
  }
}

// How an exchange ended when it did not fail.
enum class Outcome { kKeepAlive, kClose, kRetry };

// One request/response exchange on an open stream (plain or TLS). kRetry: a reused connection
// failed before the response began (the server closed it while idle).
template <class S>
Result<Outcome> Exchange(S& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
                         std::chrono::milliseconds timeout, http::request<http::string_body>& req,
                         bool reused, const std::function<bool(const char*, size_t)>& on_data,
                         HttpResponse* out) {
  beast::error_code ec;
  lowest.expires_after(timeout);
  http::write(stream, req, ec);
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (req.method() == http::verb::head) parser.skip(true);
  if (!ec) http::read_header(stream, buffer, parser, ec);
  if (ec) {
    // A keep-alive connection the server closed while idle: retry once on a fresh one.
    if (reused) return Outcome::kRetry;
    return Status(StatusCode::kIoError, "HTTP " + std::string(req.method_string()) + " " +
                                            std::string(req.target()) + " failed: " + ec.message());
  }
  CopyHead(parser, out);
  char chunk[64 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    lowest.expires_after(timeout);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    // What arrived before an error is delivered too: a download cut mid-way keeps every byte it
    // received, so the next attempt resumes after them.
    size_t n = sizeof(chunk) - parser.get().body().size;
    if (n > 0 && !on_data(chunk, n)) return Status(StatusCode::kIoError, "cancelled");
    if (ec) {
      return Status(StatusCode::kIoError, "reading response to " +
                                              std::string(req.method_string()) + " " +
                                              std::string(req.target()) + ": " + ec.message());
    }
  }
  return parser.keep_alive() ? Outcome::kKeepAlive : Outcome::kClose;
}

}  // namespace

Status HttpClient::Stream(const std::string& method, const std::string& target,
                          const Headers& headers, const std::string& body,
                          const std::function<bool(const char*, size_t)>& on_data,
                          HttpResponse* out) {
  Impl& m = *impl_;
  const auto timeout = std::chrono::milliseconds(m.timeout_ms);
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(url_.base_path + target);
  req.version(11);
  req.set(http::field::host, url_.host + ":" + url_.port);
  req.set(http::field::user_agent, "wisp-client");
  for (auto& [k, v] : headers) req.set(k, v);
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = m.connected();
    beast::error_code ec;
    if (!reused) {
      tcp::resolver resolver(m.ioc);
      auto results = resolver.resolve(url_.host, url_.port, ec);
      if (ec)
        return Status(StatusCode::kIoError, "cannot resolve " + url_.host + ": " + ec.message());
      if (url_.tls) {
        if (!m.tls_ctx) {
          m.tls_ctx.emplace(ssl::context::tls_client);
          m.tls_ctx->set_default_verify_paths();  // honours SSL_CERT_FILE / SSL_CERT_DIR
          m.tls_ctx->set_verify_mode(ssl::verify_peer);
        }
        m.tls.emplace(m.ioc, *m.tls_ctx);
        SSL_set_tlsext_host_name(m.tls->native_handle(), url_.host.c_str());
        m.tls->set_verify_callback(ssl::host_name_verification(url_.host));
      } else {
        m.plain.emplace(m.ioc);
      }
      m.lowest().expires_after(timeout);
      m.lowest().connect(results, ec);
      if (!ec && m.tls) m.tls->handshake(ssl::stream_base::client, ec);
      if (ec) {
        m.Reset();
        return Status(StatusCode::kIoError,
                      "cannot connect to " + url_.host + ":" + url_.port + ": " + ec.message());
      }
      m.buffer.clear();
    }
    Result<Outcome> o =
        m.tls ? Exchange(*m.tls, m.lowest(), m.buffer, timeout, req, reused, on_data, out)
              : Exchange(*m.plain, m.lowest(), m.buffer, timeout, req, reused, on_data, out);
    if (o.ok() && *o == Outcome::kRetry) {
      m.Reset();
      continue;
    }
    if (!o.ok() || *o == Outcome::kClose) m.Reset();
    return o.status();
  }
  return Status(StatusCode::kIoError, "HTTP " + method + " " + target + " failed");
}

Result<HttpResponse> HttpClient::Request(const std::string& method, const std::string& target,
                                         const Headers& headers, const std::string& body) {
  HttpResponse res;
  std::string collected;
  WISP_RETURN_IF_ERROR(Stream(
      method, target, headers, body,
      [&](const char* d, size_t n) {
        collected.append(d, n);
        return true;
      },
      &res));
  res.body = std::move(collected);
  return res;
}

// ---------------------------------------------------------------------------------------------

namespace {

std::string AuthHeader(const std::string& token) { return "Bearer " + token; }

bool CheckName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

}  // namespace

namespace {

// Verifies the manifest's Ed25519 signature over its `signature.signed` string (or, for a manifest
// without one, over the canonical {name, sha256, size, version} of its own fields) and checks that
// every signed field equals the manifest's field of the same name. Returns the signed fields:
// what sequence and expiry checks must use when a key is pinned.
Result<json> VerifySigned(const json& m, const std::string& public_key_base64) {
  if (!m.is_object() || !m.contains("signature") || !m["signature"].is_object()) {
    return Refused("manifest is not signed");
  }
  Result<std::string> key = Base64Decode(public_key_base64);
  if (!key.ok() || key->size() != 32) {
    return InvalidArgument("pinned public key is not base64 of 32 bytes");
  }
  const json& s = m["signature"];
  Result<std::string> sig = Base64Decode(FieldOr<std::string>(s, "value", ""));
  if (!sig.ok()) return Refused("signature is not base64");
  std::string message = FieldOr<std::string>(s, "signed", "");
  if (message.empty()) {
    message = json{{"name", FieldOr<std::string>(m, "name", "")},
                   {"version", FieldOr<int64_t>(m, "version", 0)},
                   {"sha256", FieldOr<std::string>(m, "sha256", "")},
                   {"size", FieldOr<uint64_t>(m, "size", 0)}}
                  .dump();
  }
  if (!Ed25519Verify(*key, message, *sig)) {
    return Refused("manifest signature does not verify with the pinned key");
  }
  json fields = json::parse(message, nullptr, false);
  if (!fields.is_object()) return Refused("the signed string is not a JSON object");
  for (const char* required : {"name", "version", "sha256", "size"}) {
    if (!fields.contains(required)) {
      return Refused(std::string("the signed fields lack '") + required + "'");
    }
  }
  // Never trust the unsigned outer fields: each must equal its signed counterpart.
  for (auto& [k, v] : fields.items()) {
    if (!m.contains(k) || m[k] != v) {
      return Refused("the manifest's '" + k + "' does not match its signed value (" + v.dump() +
                     ")");
    }
  }
  return fields;
}

// The highest channel sequences accepted, per server and channel, for one model:
// <cache>/<name>/sequences.json = {"<server URL>": {"<channel>": sequence}}.
std::string ServerKey(const ServerUrl& u) {
  return std::string(u.tls ? "https://" : "http://") + u.host + ":" + u.port + u.base_path;
}

json ReadJsonObject(const std::string& path) {
  Result<std::string> text = ReadFileText(path);
  json j = text.ok() ? json::parse(*text, nullptr, false) : json();
  return j.is_object() ? j : json::object();
}

// Refuses a channel manifest that is expired, for another channel, or older (by sequence) than
// one already accepted from this server. `fields` are the signed fields with a pinned key, else
// the manifest itself. `stored` is the highest sequence accepted so far (0: none).
Status CheckFreshness(const json& fields, const std::string& what, const std::string& channel,
                      int64_t stored, const std::string& keeping) {
  if (fields.contains("channel") && fields["channel"] != channel) {
    return Refused(what + ": the manifest is for channel " + fields["channel"].dump() +
                   "; refused" + keeping);
  }
  if (fields.contains("expires")) {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    Result<int64_t> expires = fields["expires"].is_string()
                                  ? ParseRfc3339(fields["expires"].get<std::string>())
                                  : Result<int64_t>(InvalidArgument("not a string"));
    if (!expires.ok()) {
      return Refused(what + ": the manifest's expires " + fields["expires"].dump() +
                     " is not an RFC 3339 UTC time; refused" + keeping);
    }
    if (now >= *expires) {
      return Refused(what + ": the manifest expired at " + fields["expires"].get<std::string>() +
                     " (now " + Rfc3339(now) + "); a stale or frozen mirror? refused" + keeping);
    }
  }
  const bool has_sequence = fields.contains("sequence") && fields["sequence"].is_number_integer();
  if (stored > 0 && !has_sequence) {
    return Refused(what + ": the manifest carries no sequence, but sequence " +
                   std::to_string(stored) + " was accepted before; refused" + keeping);
  }
  if (has_sequence && fields["sequence"].get<int64_t>() < stored) {
    return Refused(what + ": the manifest's sequence " +
                   std::to_string(fields["sequence"].get<int64_t>()) + " is lower than sequence " +
                   std::to_string(stored) + " already accepted (a replayed old manifest); refused" +
                   keeping);
  }
  return Status::Ok();
}

// ---- delta updates ----

// What a delta update produced: `reused` bytes copied from the cached base file, `fetched` bytes
// received in ranges. `attempted` is false when there was nothing to gain (no chunk list, or no
// chunk in common): the caller then downloads the artifact without counting it as a failure.
struct DeltaOutcome {
  bool attempted = false;
  bool cancelled = false;
  uint64_t reused = 0;
  uint64_t fetched = 0;
};

struct ArtifactRef {
  std::string name;
  int64_t version = 0;
  std::string sha256;
  uint64_t size = 0;
  std::string download_url;
};

// The version manifest's gear64k-v1 chunk list, checked to tile [0, size) exactly. The resolved
// manifest is the version manifest for a pinned pull; a channel manifest only links to it
// (`manifest_url`), so it is fetched. The list is not signed and need not be: every chunk and the
// rebuilt file are checked against digests, the file against the (verified) manifest's sha256.
Result<std::vector<Chunk>> FetchChunkList(HttpClient& client, const Headers& auth,
                                          const json& resolved, const ArtifactRef& a) {
  json m = resolved;
  if (!m.contains("chunking")) {
    const std::string target =
        FieldOr<std::string>(resolved, "manifest_url",
                             "/v1/models/" + a.name + "/versions/" + std::to_string(a.version));
    WISP_ASSIGN_OR_RETURN(const HttpResponse res, client.Request("GET", target, auth, ""));
    if (res.status != 200) return HttpError("fetching the version manifest for its chunks", res);
    m = json::parse(res.body, nullptr, false);
    if (!m.is_object() || FieldOr<std::string>(m, "sha256", "") != a.sha256 ||
        FieldOr<uint64_t>(m, "size", 0) != a.size) {
      return Refused("the version manifest at " + target + " does not describe the artifact " +
                     a.sha256);
    }
  }
  if (!m.contains("chunking") || !m["chunking"].is_object()) {
    return Status(StatusCode::kNotFound, "the version manifest lists no chunks");
  }
  const json& c = m["chunking"];
  if (FieldOr<std::string>(c, "algorithm", "") != common::kChunkingAlgorithm) {
    return Status(StatusCode::kNotFound, "chunking algorithm " +
                                             FieldOr<std::string>(c, "algorithm", "(none)") +
                                             " is not " + common::kChunkingAlgorithm);
  }
  std::vector<Chunk> chunks;
  uint64_t next = 0;
  const json list = c.value("chunks", json());
  if (!list.is_array()) return Refused("the manifest's chunking has no chunk array");
  for (const json& e : list) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() ||
        !e[1].is_number_unsigned() || !e[2].is_string() || e[0].get<uint64_t>() != next ||
        e[1].get<uint64_t>() == 0 || e[2].get<std::string>().size() != 64) {
      return Refused("chunk " + std::to_string(chunks.size()) + " of the manifest is malformed (" +
                     e.dump() + ")");
    }
    chunks.push_back({next, e[1].get<uint64_t>(), e[2].get<std::string>()});
    next += chunks.back().size;
  }
  if (next != a.size) {
    return Refused("the manifest's chunks cover " + std::to_string(next) +
                   " bytes, the artifact has " + std::to_string(a.size));
  }
  return chunks;
}

Status WriteAll(int fd, const char* d, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, d, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      return Status(StatusCode::kIoError, "writing " + path + ": " + std::strerror(errno));
    d += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Rebuilds the artifact into `out_path` from the cached `base_path` and Range requests for the
// chunks it lacks (adjacent missing chunks are one range). Every chunk is checked against its
// digest as it is written and the whole file against the manifest's sha256 and size; any mismatch
// is an error (the caller falls back to a full download).
Status DeltaDownload(HttpClient& client, const Headers& auth, const json& resolved,
                     const ArtifactRef& a, const std::string& base_path,
                     const std::string& out_path,
                     const std::function<bool(uint64_t, uint64_t)>& progress, DeltaOutcome* out) {
  Result<std::vector<Chunk>> listed = FetchChunkList(client, auth, resolved, a);
  if (!listed.ok() && listed.status().code() == StatusCode::kNotFound) return Status::Ok();
  WISP_ASSIGN_OR_RETURN(const std::vector<Chunk> chunks, std::move(listed));
  WISP_ASSIGN_OR_RETURN(const std::string base, ReadFileText(base_path));
  std::unordered_map<std::string, ChunkSpan> local;  // chunk sha256 -> where it is in `base`
  for (const Chunk& c : common::ChunkData(base))
    local.emplace(c.sha256, ChunkSpan{c.offset, c.size});
  // A chunk is reused only with the listed size too: a list that lies about sizes must not make
  // us read past the base file's chunk.
  auto held = [&](const Chunk& c) -> const ChunkSpan* {
    auto it = local.find(c.sha256);
    return it != local.end() && it->second.size == c.size ? &it->second : nullptr;
  };
  uint64_t reusable = 0;
  for (const Chunk& c : chunks) {
    if (held(c)) reusable += c.size;
  }
  if (reusable == 0) return Status::Ok();  // nothing in common: a plain download is as good
  out->attempted = true;

  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(StatusCode::kIoError, "cannot write " + out_path + ": " + std::strerror(errno));
  }
  Sha256Stream whole;
  uint64_t written = 0;
  auto append = [&](const Chunk& c, const char* d) -> Status {
    if (Sha256Hex(std::string_view(d, c.size)) != c.sha256) {
      return Refused("chunk at offset " + std::to_string(c.offset) + " (" + std::to_string(c.size) +
                     " bytes) does not match its sha256 " + c.sha256);
    }
    WISP_RETURN_IF_ERROR(WriteAll(fd, d, c.size, out_path));
    whole.Update(d, c.size);
    written += c.size;
    if (progress && !progress(written, a.size)) {
      out->cancelled = true;
      return Status(StatusCode::kIoError, "cancelled");
    }
    return Status::Ok();
  };
  auto rebuild = [&]() -> Status {
    for (size_t i = 0; i < chunks.size();) {
      if (const ChunkSpan* hit = held(chunks[i])) {
        out->reused += chunks[i].size;
        WISP_RETURN_IF_ERROR(append(chunks[i], base.data() + hit->offset));
        ++i;
        continue;
      }
      size_t j = i;
      while (j < chunks.size() && !held(chunks[j])) ++j;
      const uint64_t first = chunks[i].offset;
      const uint64_t last = chunks[j - 1].offset + chunks[j - 1].size - 1;
      const std::string range = std::to_string(first) + "-" + std::to_string(last);
      Headers h = auth;
      h.emplace_back("Range", "bytes=" + range);
      // Another artifact under this URL must not be spliced in: If-Range turns it into a 200.
      h.emplace_back("If-Range", "\"" + a.sha256 + "\"");
      WISP_ASSIGN_OR_RETURN(const HttpResponse res, client.Request("GET", a.download_url, h, ""));
      out->fetched += res.body.size();
      const std::string expected = "bytes " + range + "/" + std::to_string(a.size);
      if (res.status != 206 || res.Header("content-range") != expected ||
          res.body.size() != last - first + 1) {
        return Refused("range " + range + " of " + a.download_url + " answered HTTP " +
                       std::to_string(res.status) + " with Content-Range '" +
                       res.Header("content-range") + "' and " + std::to_string(res.body.size()) +
                       " bytes");
      }
      for (size_t k = i; k < j; ++k) {
        WISP_RETURN_IF_ERROR(append(chunks[k], res.body.data() + (chunks[k].offset - first)));
      }
      i = j;
    }
    const std::string got = whole.FinalHex();
    if (written != a.size || got != a.sha256) {
      return Refused("the rebuilt artifact does not match the manifest (size " +
                     std::to_string(written) + " vs " + std::to_string(a.size) + ", sha256 " + got +
                     " vs " + a.sha256 + ")");
    }
    if (::fsync(fd) != 0) {
      return Status(StatusCode::kIoError, "fsync " + out_path + ": " + std::strerror(errno));
    }
    return Status::Ok();
  };
  Status rebuilt = rebuild();
  ::close(fd);
  return rebuilt;
}

// The cached version to rebuild `version` from: the one the channel (or pin) held, else the
// newest other version with an artifact on disk; 0 when there is none.
int64_t DeltaBase(const std::string& model_dir, int64_t version, int64_t held) {
  std::error_code ec;
  auto usable = [&](int64_t v) {
    return v > 0 && v != version &&
           fs::is_regular_file(model_dir + "/v" + std::to_string(v) + "/model.wisp", ec);
  };
  if (usable(held)) return held;
  int64_t best = 0;
  for (auto& e : fs::directory_iterator(model_dir, ec)) {
    const std::string f = e.path().filename().string();
    if (f.size() < 2 || f[0] != 'v' || f.find_first_not_of("0123456789", 1) != std::string::npos) {
      continue;
    }
    const int64_t v = std::atoll(f.c_str() + 1);
    if (usable(v) && v > best) best = v;
  }
  return best;
}

}  // namespace

Status VerifyManifestSignature(const std::string& manifest_json,
                               const std::string& public_key_base64) {
  return VerifySigned(json::parse(manifest_json, nullptr, false), public_key_base64).status();
}

Result<PullResult> Pull(const std::string& server, const std::string& name,
                        const PullOptions& options) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  if (!CheckName(name)) {
    return Status(StatusCode::kInvalidArgument, "invalid model name '" + name + "'");
  }
  if (options.version < 0) {
    return Status(StatusCode::kInvalidArgument,
                  "invalid version " + std::to_string(options.version));
  }
  const bool pinned = options.version > 0;
  if (!pinned && !CheckName(options.channel)) {
    return Status(StatusCode::kInvalidArgument, "invalid channel name '" + options.channel + "'");
  }
  PullResult pulled;
  PullResult* result = &pulled;
  HttpClient client(url, options.timeout_ms);
  Headers auth;
  if (!options.token.empty()) auth.emplace_back("Authorization", AuthHeader(options.token));

  // A pinned version resolves through its (immutable) manifest, a channel through the channel
  // document; both are recorded alike, so the rest of the pull does not care which it was.
  const std::string model_dir = options.cache_dir + "/" + name;
  const std::string state_dir = model_dir + (pinned ? "/pinned" : "/channels");
  const std::string state_path =
      state_dir + "/" + (pinned ? "v" + std::to_string(options.version) : options.channel) +
      ".json";
  const std::string resolve_target =
      "/v1/models/" + name +
      (pinned ? "/versions/" + std::to_string(options.version) : "/channels/" + options.channel);
  WISP_RETURN_IF_ERROR(MakeDirsDurable(state_dir));

  // 1. Resolve the channel or version, revalidating with the ETag we stored last time.
  json state;
  if (Result<std::string> text = ReadFileText(state_path); text.ok()) {
    state = json::parse(*text, nullptr, false);
  }
  bool have_state = state.is_object() && state.contains("version") && state.contains("etag") &&
                    state.contains("manifest") && state["manifest"].is_object();
  const std::string keeping =
      have_state
          ? "; keeping v" + std::to_string(state["version"].get<int64_t>()) + " already pulled"
          : "";
  const std::string what = name + "@" + options.channel + " from " + server;
  const std::string sequences_path = model_dir + "/sequences.json";
  json sequences = ReadJsonObject(sequences_path);
  const std::string server_key = ServerKey(url);
  int64_t stored_sequence = 0;
  // Sequences are per channel; a pinned version is checked by its digest, not against them.
  if (!pinned && sequences.contains(server_key) && sequences[server_key].is_object()) {
    stored_sequence = FieldOr<int64_t>(sequences[server_key], options.channel.c_str(), 0);
  }
  Headers h = auth;
  if (options.client_id.empty()) {
    WISP_ASSIGN_OR_RETURN(result->client_id, CacheClientId(options.cache_dir));
  } else {
    result->client_id = options.client_id;
  }
  if (!pinned) h.emplace_back("X-Wisp-Client", result->client_id);
  const Result<int64_t> held_expires =
      ParseRfc3339(FieldOr<std::string>(state["manifest"], "expires", ""));
  const bool held_expired = have_state && held_expires.ok() &&
                            held_expires.value() <= static_cast<int64_t>(std::time(nullptr));
  // When what we hold has expired, no If-None-Match: a 304 must not keep us on it unchecked.
  if (have_state && !held_expired) {
    std::string path =
        model_dir + "/v" + std::to_string(state["version"].get<int64_t>()) + "/model.wisp";
    std::error_code ec;
    if (fs::exists(path, ec) &&
        fs::file_size(path, ec) == state["manifest"].value("size", uint64_t{0})) {
      h.emplace_back("If-None-Match", state["etag"].get<std::string>());
    } else {
      have_state = false;
    }
  }
  WISP_ASSIGN_OR_RETURN(const HttpResponse res, client.Request("GET", resolve_target, h, ""));
  if (res.status == 304 && have_state) {
    result->state = PullResult::State::kUpToDate;
    result->version = state["version"].get<int64_t>();
    result->previous_version = state.value("previous_version", int64_t{0});
    result->sha256 = state["manifest"].value("sha256", "");
    result->path = model_dir + "/v" + std::to_string(result->version) + "/model.wisp";
    return pulled;
  }
  if (res.status != 200) return HttpError(pinned ? "resolving version" : "resolving channel", res);
  json manifest = json::parse(res.body, nullptr, false);
  // Field types are checked here: a reply with a string version or a numeric name is malformed,
  // not a reason to throw.
  if (!manifest.is_object() || !manifest.contains("version") ||
      !manifest["version"].is_number_integer() || !manifest.contains("sha256") ||
      !manifest["sha256"].is_string() || !manifest.contains("size") ||
      !manifest["size"].is_number_unsigned() ||
      FieldOr<std::string>(manifest, "name", "") != name) {
    return Refused("server returned a malformed manifest");
  }
  json signed_fields;
  if (!options.public_key_base64.empty()) {
    WISP_ASSIGN_OR_RETURN(signed_fields, VerifySigned(manifest, options.public_key_base64));
  }
  const json& fields = options.public_key_base64.empty() ? manifest : signed_fields;
  WISP_RETURN_IF_ERROR(CheckFreshness(fields, what, options.channel, stored_sequence, keeping));
  const int64_t sequence = FieldOr<int64_t>(fields, "sequence", 0);
  const int64_t version = manifest["version"].get<int64_t>();
  const std::string sha = manifest["sha256"].get<std::string>();
  const uint64_t size = manifest["size"].get<uint64_t>();
  if (version <= 0 || sha.size() != 64 || (pinned && version != options.version)) {
    return Refused("server returned a malformed manifest");
  }
  const std::string vdir = model_dir + "/v" + std::to_string(version);
  const std::string final_path = vdir + "/model.wisp";
  const std::string part_path = final_path + ".part";
  result->version = version;
  result->sha256 = sha;
  result->path = final_path;
  result->previous_version = 0;
  if (have_state && state["version"].get<int64_t>() != version) {
    result->previous_version = state["version"].get<int64_t>();
  } else if (have_state) {
    result->previous_version = state.value("previous_version", int64_t{0});
  }
  WISP_RETURN_IF_ERROR(MakeDirsDurable(vdir));

  // 2. Reuse a verified artifact already in the cache (e.g. a rollback to the previous version).
  Result<FileDigest> have_digest = HashFile(final_path);
  bool present = have_digest.ok() && have_digest->sha256 == sha && have_digest->size == size;
  result->state = present ? PullResult::State::kSwitched : PullResult::State::kDownloaded;

  std::string download = FieldOr<std::string>(
      manifest, "download_url",
      "/v1/models/" + name + "/versions/" + std::to_string(version) + "/model.wisp");
  uint64_t delta_fetched = 0;
  std::error_code part_ec;
  if (!present && !(fs::exists(part_path, part_ec) && fs::file_size(part_path, part_ec) > 0)) {
    // 3a. A delta update from another cached version (never over a partial download, which a
    // resume finishes more cheaply).
    const int64_t base =
        DeltaBase(model_dir, version, have_state ? state["version"].get<int64_t>() : 0);
    if (base > 0) {
      const std::string delta_path = final_path + ".delta";
      const ArtifactRef ref{name, version, sha, size, download};
      DeltaOutcome d;
      Status rebuilt = DeltaDownload(client, auth, manifest, ref,
                                     model_dir + "/v" + std::to_string(base) + "/model.wisp",
                                     delta_path, options.progress, &d);
      delta_fetched = d.fetched;
      if (d.cancelled) {
        fs::remove(delta_path, part_ec);
        result->bytes_downloaded = d.fetched;
        return rebuilt;
      }
      if (rebuilt.ok() && d.attempted) rebuilt = RenameDurable(delta_path, final_path);
      if (rebuilt.ok() && d.attempted) {
        present = true;
        result->delta_base_version = base;
        result->delta_reused_bytes = d.reused;
        result->bytes_downloaded = d.fetched;
      } else {
        fs::remove(delta_path, part_ec);
        // Whatever went wrong, a full download below still gets the artifact.
        if (!rebuilt.ok()) {
          result->delta_error = "delta update from v" + std::to_string(base) +
                                " failed, downloading the whole artifact: " + rebuilt.message();
        }
      }
    }
  }

  if (!present) {
    // 3b. Download, resuming a partial file with Range/If-Range.
    auto hasher = std::make_unique<Sha256Stream>();
    uint64_t have = 0;
    std::error_code ec;
    if (fs::exists(part_path, ec)) {
      uint64_t part_size = fs::file_size(part_path, ec);
      if (part_size > 0 && part_size < size) {
        // Hash what we already have so the final digest covers the whole file.
        int fd = ::open(part_path.c_str(), O_RDONLY | O_CLOEXEC);
        char buf[1 << 16];
        for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof(buf))) > 0;) {
          hasher->Update(buf, static_cast<size_t>(n));
          have += static_cast<uint64_t>(n);
        }
        if (fd >= 0) ::close(fd);
      } else {
        fs::remove(part_path, ec);
      }
    }
    int fd = ::open(part_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status(StatusCode::kIoError,
                    "cannot write " + part_path + ": " + std::strerror(errno));
    }
    Headers dh = auth;
    if (have > 0) {
      dh.emplace_back("Range", "bytes=" + std::to_string(have) + "-");
      dh.emplace_back("If-Range", "\"" + sha + "\"");
    }
    bool started = false, write_failed = false;
    uint64_t received = 0;
    HttpResponse dres;
    std::function<bool(const char*, size_t)> sink = [&](const char* d, size_t n) {
      if (!started) {
        started = true;
        if (dres.status == 200 && have > 0) {
          // The server ignored the range: start over.
          if (::ftruncate(fd, 0) != 0) return false;
          hasher = std::make_unique<Sha256Stream>();
          have = 0;
        }
      }
      if (dres.status != 200 && dres.status != 206) return true;  // error body: collect below
      size_t off = 0;
      while (off < n) {
        ssize_t w = ::write(fd, d + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          write_failed = true;
          return false;
        }
        off += static_cast<size_t>(w);
      }
      hasher->Update(d, n);
      received += n;
      if (options.progress && !options.progress(have + received, size)) return false;
      return true;
    };
    std::string err_body;
    auto tee = [&](const char* d, size_t n) {
      if (dres.status != 200 && dres.status != 206) {
        if (err_body.size() < 4096) err_body.append(d, n);
        return true;
      }
      return sink(d, n);
    };
    Status streamed = client.Stream("GET", download, dh, "", tee, &dres);
    if (dres.status == 200 && have > 0 && !started) {
      // Empty 200 body with a non-empty partial file; cannot happen for a real artifact.
      have = 0;
    }
    ::fsync(fd);
    ::close(fd);
    result->resumed_from = dres.status == 206 ? have : 0;
    result->bytes_downloaded = delta_fetched + received;
    if (!streamed.ok()) {
      // The partial file stays for the next attempt.
      if (write_failed) return Status(StatusCode::kIoError, "writing " + part_path + " failed");
      return streamed;
    }
    if (dres.status == 416) {
      fs::remove(part_path, ec);
      return Status(StatusCode::kIoError,
                    "server refused the resume range; partial download discarded, retry");
    }
    if (dres.status != 200 && dres.status != 206) {
      dres.body = err_body;
      return HttpError("download", dres);
    }
    uint64_t total = (dres.status == 206 ? have : 0) + received;
    std::string got = hasher->FinalHex();
    if (total != size || got != sha) {
      fs::remove(part_path, ec);
      return Refused("downloaded artifact does not match the manifest (size " +
                     std::to_string(total) + " vs " + std::to_string(size) + ", sha256 " + got +
                     " vs " + sha + "); discarded");
    }
    WISP_RETURN_IF_ERROR(RenameDurable(part_path, final_path));
  }

  // 4. Record the manifest and what the channel points to now.
  WISP_RETURN_IF_ERROR(WriteFileAtomic(vdir + "/manifest.json", manifest.dump(2)));
  json new_state = {{"channel", pinned ? "" : options.channel},
                    {"version", version},
                    {"etag", res.Header("etag")},
                    {"previous_version", result->previous_version},
                    {"manifest", manifest}};
  WISP_RETURN_IF_ERROR(WriteFileAtomic(state_path, new_state.dump(2)));
  if (sequence > stored_sequence) {
    if (!sequences.contains(server_key) || !sequences[server_key].is_object()) {
      sequences[server_key] = json::object();
    }
    sequences[server_key][options.channel] = sequence;
    WISP_RETURN_IF_ERROR(WriteFileAtomic(sequences_path, sequences.dump(2)));
  }

  // 5. Keep what any channel points to and its previous version, and every pinned version;
  // drop older versions.
  std::set<int64_t> keep = {version};
  if (result->previous_version) keep.insert(result->previous_version);
  std::error_code ec;
  for (const char* dir : {"/channels", "/pinned"}) {
    for (auto& e : fs::directory_iterator(model_dir + dir, ec)) {
      Result<std::string> t = ReadFileText(e.path().string());
      if (!t.ok()) continue;
      json s = json::parse(*t, nullptr, false);
      if (!s.is_object()) continue;
      keep.insert(FieldOr<int64_t>(s, "version", 0));
      keep.insert(FieldOr<int64_t>(s, "previous_version", 0));
    }
  }
  for (auto& e : fs::directory_iterator(model_dir, ec)) {
    std::string f = e.path().filename().string();
    if (f.size() < 2 || f[0] != 'v' || !e.is_directory()) continue;
    int64_t v = std::atoll(f.c_str() + 1);
    if (!keep.count(v)) fs::remove_all(e.path(), ec);
  }
  return pulled;
}

Result<std::string> Publish(const std::string& server, const std::string& token,
                            const std::string& file, const std::string& name,
                            const std::string& label, const std::string& channel) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  if (!CheckName(name) || (!channel.empty() && !CheckName(channel))) {
    return InvalidArgument("invalid model or channel name");
  }
  WISP_ASSIGN_OR_RETURN(const std::string body, ReadFileText(file));
  HttpClient client(url, 300000);
  Headers h = {{"Authorization", AuthHeader(token)},
               {"Content-Type", "application/octet-stream"},
               {"Content-SHA256", Sha256Hex(body)}};
  if (!label.empty()) h.emplace_back("X-Wisp-Label", label);
  std::string target = "/v1/models/" + name + "/versions";
  if (!channel.empty()) target += "?channel=" + channel;
  WISP_ASSIGN_OR_RETURN(HttpResponse res, client.Request("POST", target, h, body));
  if (res.status != 201) return HttpError("publish", res);
  return std::move(res.body);
}

Result<std::string> SetChannel(const std::string& server, const std::string& token,
                               const std::string& name, const std::string& channel, int64_t version,
                               const RolloutSpec* rollout) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  if (!CheckName(name) || !CheckName(channel)) {
    return InvalidArgument("invalid model or channel name");
  }
  json body = {{"version", version}};
  if (rollout) {
    json r = {{"percent", rollout->percent}, {"margin", rollout->margin}};
    if (rollout->max_error_rate >= 0) r["max_error_rate"] = rollout->max_error_rate;
    if (rollout->min_reports > 0) r["min_reports"] = rollout->min_reports;
    body["rollout"] = r;
  }
  HttpClient client(url);
  WISP_ASSIGN_OR_RETURN(
      HttpResponse res,
      client.Request("PUT", "/v1/models/" + name + "/channels/" + channel,
                     {{"Authorization", AuthHeader(token)}, {"Content-Type", "application/json"}},
                     body.dump()));
  if (res.status != 200) return HttpError("channel", res);
  return std::move(res.body);
}

Result<std::string> AbortRollout(const std::string& server, const std::string& token,
                                 const std::string& name, const std::string& channel) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  if (!CheckName(name) || !CheckName(channel)) {
    return InvalidArgument("invalid model or channel name");
  }
  HttpClient client(url);
  WISP_ASSIGN_OR_RETURN(
      HttpResponse res,
      client.Request("DELETE", "/v1/models/" + name + "/channels/" + channel + "/rollout",
                     {{"Authorization", AuthHeader(token)}}, ""));
  if (res.status != 200) return HttpError("abort rollout", res);
  return std::move(res.body);
}

Result<std::string> CacheClientId(const std::string& cache_dir) {
  const std::string path = cache_dir + "/client-id";
  auto valid = [](const std::string& id) {
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  };
  if (Result<std::string> text = ReadFileText(path); text.ok()) {
    std::string id = text->substr(0, text->find('\n'));
    if (valid(id)) return id;
  }
  WISP_RETURN_IF_ERROR(MakeDirsDurable(cache_dir));
  std::string id = RandomHex(16);
  WISP_RETURN_IF_ERROR(WriteFileAtomic(path, id + "\n"));
  return id;
}

Status Report(const std::string& server, const std::string& name, int64_t version,
              const Outcomes& outcomes, const std::string& client_id, const std::string& token,
              unsigned timeout_ms) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  if (!CheckName(name) || version <= 0) {
    return InvalidArgument("invalid model name or version for a report");
  }
  if (outcomes.empty()) return Status::Ok();
  HttpClient client(url, timeout_ms);
  Headers h = {{"Content-Type", "application/json"}};
  if (!client_id.empty()) h.emplace_back("X-Wisp-Client", client_id);
  if (!token.empty()) h.emplace_back("Authorization", AuthHeader(token));
  json body = {{"loads", outcomes.loads},
               {"load_errors", outcomes.load_errors},
               {"runs", outcomes.runs},
               {"run_errors", outcomes.run_errors}};
  WISP_ASSIGN_OR_RETURN(HttpResponse res, client.Request("POST",
                                                         "/v1/models/" + name + "/versions/" +
                                                             std::to_string(version) + ":report",
                                                         h, body.dump()));
  if (res.status != 202 && res.status != 200) return HttpError("report", res);
  return Status::Ok();
}

Result<std::string> ListModels(const std::string& server, const std::string& token) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  HttpClient client(url);
  Headers h;
  if (!token.empty()) h.emplace_back("Authorization", AuthHeader(token));
  WISP_ASSIGN_OR_RETURN(HttpResponse res, client.Request("GET", "/v1/models", h, ""));
  if (res.status != 200) return HttpError("listing models", res);
  json j = json::parse(res.body, nullptr, false);
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
    return Refused("server returned a malformed model list");
  }
  return std::move(res.body);
}

Status DeleteVersion(const std::string& server, const std::string& token, const std::string& name,
                     int64_t version) {
  WISP_ASSIGN_OR_RETURN(const ServerUrl url, ServerUrl::Parse(server));
  if (!CheckName(name)) {
    return Status(StatusCode::kInvalidArgument, "invalid model name '" + name + "'");
  }
  if (version <= 0) {
    return Status(StatusCode::kInvalidArgument,
                  "invalid version " + std::to_string(version) + " (versions start at 1)");
  }
  HttpClient client(url);
  WISP_ASSIGN_OR_RETURN(
      HttpResponse res,
      client.Request("DELETE", "/v1/models/" + name + "/versions/" + std::to_string(version),
                     {{"Authorization", AuthHeader(token)}}, ""));
  if (res.status != 204) return HttpError("delete", res);
  return Status::Ok();
}

}  // namespace wisp::client
