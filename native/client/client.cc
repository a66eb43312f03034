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

#include "native/client/json_field.h"
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
using namespace wisp::common;  // Sha256Hex, Ed25519Verify, ...

namespace {

// The client's API reports errors as text; file helpers return a Status.
bool Check(const Status& s, std::string* error) {
  if (!s.ok() && error) *error = s.message();
  return s.ok();
}

}  // namespace

bool ServerUrl::Parse(const std::string& url, ServerUrl* out, std::string* error) {
  *out = ServerUrl{};
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    out->tls = true;
    out->port = "443";
  } else {
    *error = "server URL must start with http:// or https://";
    return false;
  }
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  out->base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out->base_path.empty() && out->base_path.back() == '/') out->base_path.pop_back();
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) {
      *error = "malformed IPv6 host in " + url;
      return false;
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
    *error = "malformed server URL " + url;
    return false;
  }
  return true;
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

enum class Outcome { kOk, kRetry, kFailed };

// One request/response exchange on an open stream (plain or TLS).
template <class S>
Outcome Exchange(S& stream, beast::tcp_stream& lowest, beast::flat_buffer& buffer,
                 std::chrono::milliseconds timeout, http::request<http::string_body>& req,
                 bool reused, const std::function<bool(const char*, size_t)>& on_data,
                 HttpResponse* out, bool* keep_alive, std::string* error) {
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
    *error = "HTTP " + std::string(req.method_string()) + " " + std::string(req.target()) +
             " failed: " + ec.message();
    return Outcome::kFailed;
  }
  CopyHead(parser, out);
  char chunk[64 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    lowest.expires_after(timeout);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      *error = "reading response to " + std::string(req.method_string()) + " " +
               std::string(req.target()) + ": " + ec.message();
      return Outcome::kFailed;
    }
    size_t n = sizeof(chunk) - parser.get().body().size;
    if (n > 0 && !on_data(chunk, n)) {
      *error = "cancelled";
      return Outcome::kFailed;
    }
  }
  *keep_alive = parser.keep_alive();
  return Outcome::kOk;
}

}  // namespace

bool HttpClient::Stream(const std::string& method, const std::string& target,
                        const Headers& headers, const std::string& body,
                        const std::function<bool(const char*, size_t)>& on_data, HttpResponse* out,
                        std::string* error) {
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
      if (ec) {
        *error = "cannot resolve " + url_.host + ": " + ec.message();
        return false;
      }
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
        *error = "cannot connect to " + url_.host + ":" + url_.port + ": " + ec.message();
        return false;
      }
      m.buffer.clear();
    }
    bool keep_alive = false;
    Outcome o = m.tls ? Exchange(*m.tls, m.lowest(), m.buffer, timeout, req, reused, on_data, out,
                                 &keep_alive, error)
                      : Exchange(*m.plain, m.lowest(), m.buffer, timeout, req, reused, on_data, out,
                                 &keep_alive, error);
    if (o == Outcome::kRetry) {
      m.Reset();
      continue;
    }
    if (o == Outcome::kFailed || !keep_alive) m.Reset();
    return o == Outcome::kOk;
  }
  *error = "HTTP " + method + " " + target + " failed";
  return false;
}

bool HttpClient::Request(const std::string& method, const std::string& target,
                         const Headers& headers, const std::string& body, HttpResponse* out,
                         std::string* error) {
  std::string collected;
  bool ok = Stream(
      method, target, headers, body,
      [&](const char* d, size_t n) {
        collected.append(d, n);
        return true;
      },
      out, error);
  out->body = std::move(collected);
  return ok;
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

bool HashFile(const std::string& path, std::string* hex, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Sha256Stream h;
  char buf[1 << 16];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    h.Update(buf, static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  *hex = h.FinalHex();
  *size = total;
  return true;
}

}  // namespace

namespace {

// Verifies the manifest's Ed25519 signature over its `signature.signed` string (or, for a manifest
// without one, over the canonical {name, sha256, size, version} of its own fields) and checks that
// every signed field equals the manifest's field of the same name. On success `fields` holds the
// signed fields: what sequence and expiry checks must use when a key is pinned.
bool VerifySigned(const json& m, const std::string& public_key_base64, json* fields,
                  std::string* error) {
  if (!m.is_object() || !m.contains("signature") || !m["signature"].is_object()) {
    *error = "manifest is not signed";
    return false;
  }
  std::string key, sig;
  if (!Base64Decode(public_key_base64, &key) || key.size() != 32) {
    *error = "pinned public key is not base64 of 32 bytes";
    return false;
  }
  const json& s = m["signature"];
  if (!Base64Decode(FieldOr<std::string>(s, "value", ""), &sig)) {
    *error = "signature is not base64";
    return false;
  }
  std::string message = FieldOr<std::string>(s, "signed", "");
  if (message.empty()) {
    message = json{{"name", FieldOr<std::string>(m, "name", "")},
                   {"version", FieldOr<int64_t>(m, "version", 0)},
                   {"sha256", FieldOr<std::string>(m, "sha256", "")},
                   {"size", FieldOr<uint64_t>(m, "size", 0)}}
                  .dump();
  }
  if (!Ed25519Verify(key, message, sig)) {
    *error = "manifest signature does not verify with the pinned key";
    return false;
  }
  *fields = json::parse(message, nullptr, false);
  if (!fields->is_object()) {
    *error = "the signed string is not a JSON object";
    return false;
  }
  for (const char* required : {"name", "version", "sha256", "size"}) {
    if (!fields->contains(required)) {
      *error = std::string("the signed fields lack '") + required + "'";
      return false;
    }
  }
  // Never trust the unsigned outer fields: each must equal its signed counterpart.
  for (auto& [k, v] : fields->items()) {
    if (!m.contains(k) || m[k] != v) {
      *error = "the manifest's '" + k + "' does not match its signed value (" + v.dump() + ")";
      return false;
    }
  }
  return true;
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
bool CheckFreshness(const json& fields, const std::string& what, const std::string& channel,
                    int64_t stored, const std::string& keeping, std::string* error) {
  if (fields.contains("channel") && fields["channel"] != channel) {
    *error =
        what + ": the manifest is for channel " + fields["channel"].dump() + "; refused" + keeping;
    return false;
  }
  if (fields.contains("expires")) {
    int64_t expires = 0;
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (!fields["expires"].is_string() ||
        !ParseRfc3339(fields["expires"].get<std::string>(), &expires)) {
      *error = what + ": the manifest's expires " + fields["expires"].dump() +
               " is not an RFC 3339 UTC time; refused" + keeping;
      return false;
    }
    if (now >= expires) {
      *error = what + ": the manifest expired at " + fields["expires"].get<std::string>() +
               " (now " + Rfc3339(now) + "); a stale or frozen mirror? refused" + keeping;
      return false;
    }
  }
  const bool has_sequence = fields.contains("sequence") && fields["sequence"].is_number_integer();
  if (stored > 0 && !has_sequence) {
    *error = what + ": the manifest carries no sequence, but sequence " + std::to_string(stored) +
             " was accepted before; refused" + keeping;
    return false;
  }
  if (has_sequence && fields["sequence"].get<int64_t>() < stored) {
    *error = what + ": the manifest's sequence " +
             std::to_string(fields["sequence"].get<int64_t>()) + " is lower than sequence " +
             std::to_string(stored) + " already accepted (a replayed old manifest); refused" +
             keeping;
    return false;
  }
  return true;
}

}  // namespace

bool VerifyManifestSignature(const std::string& manifest_json, const std::string& public_key_base64,
                             std::string* error) {
  json fields;
  return VerifySigned(json::parse(manifest_json, nullptr, false), public_key_base64, &fields,
                      error);
}

bool Pull(const std::string& server, const std::string& name, const PullOptions& options,
          PullResult* result, std::string* error) {
  ServerUrl url;
  if (!ServerUrl::Parse(server, &url, error)) return false;
  if (!CheckName(name)) {
    *error = "invalid model name '" + name + "'";
    return false;
  }
  if (options.version < 0) {
    *error = "invalid version " + std::to_string(options.version);
    return false;
  }
  const bool pinned = options.version > 0;
  if (!pinned && !CheckName(options.channel)) {
    *error = "invalid channel name '" + options.channel + "'";
    return false;
  }
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
  if (!Check(MakeDirsDurable(state_dir), error)) return false;

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
  if (sequences.contains(server_key) && sequences[server_key].is_object()) {
    stored_sequence = FieldOr<int64_t>(sequences[server_key], options.channel.c_str(), 0);
  }
  Headers h = auth;
  int64_t held_expires = 0;
  const bool held_expired =
      have_state &&
      ParseRfc3339(FieldOr<std::string>(state["manifest"], "expires", ""), &held_expires) &&
      held_expires <= static_cast<int64_t>(std::time(nullptr));
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
  HttpResponse res;
  if (!client.Request("GET", resolve_target, h, "", &res, error)) return false;
  if (res.status == 304 && have_state) {
    result->state = PullResult::State::kUpToDate;
    result->version = state["version"].get<int64_t>();
    result->previous_version = state.value("previous_version", int64_t{0});
    result->sha256 = state["manifest"].value("sha256", "");
    result->path = model_dir + "/v" + std::to_string(result->version) + "/model.wisp";
    return true;
  }
  if (res.status != 200) {
    *error = std::string(pinned ? "resolving version: HTTP " : "resolving channel: HTTP ") +
             std::to_string(res.status) + ": " + res.ErrorMessage();
    return false;
  }
  json manifest = json::parse(res.body, nullptr, false);
  // Field types are checked here: a reply with a string version or a numeric name is malformed,
  // not a reason to throw.
  if (!manifest.is_object() || !manifest.contains("version") ||
      !manifest["version"].is_number_integer() || !manifest.contains("sha256") ||
      !manifest["sha256"].is_string() || !manifest.contains("size") ||
      !manifest["size"].is_number_unsigned() ||
      FieldOr<std::string>(manifest, "name", "") != name) {
    *error = "server returned a malformed manifest";
    return false;
  }
  json signed_fields;
  if (!options.public_key_base64.empty() &&
      !VerifySigned(manifest, options.public_key_base64, &signed_fields, error)) {
    return false;
  }
  const json& fields = options.public_key_base64.empty() ? manifest : signed_fields;
  if (!CheckFreshness(fields, what, options.channel, stored_sequence, keeping, error)) return false;
  const int64_t sequence = FieldOr<int64_t>(fields, "sequence", 0);
  const int64_t version = manifest["version"].get<int64_t>();
  const std::string sha = manifest["sha256"].get<std::string>();
  const uint64_t size = manifest["size"].get<uint64_t>();
  if (version <= 0 || sha.size() != 64 || (pinned && version != options.version)) {
    *error = "server returned a malformed manifest";
    return false;
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
  if (!Check(MakeDirsDurable(vdir), error)) return false;

  // 2. Reuse a verified artifact already in the cache (e.g. a rollback to the previous version).
  std::string have_sha;
  uint64_t have_size = 0;
  bool present =
      HashFile(final_path, &have_sha, &have_size) && have_sha == sha && have_size == size;
  result->state = present ? PullResult::State::kSwitched : PullResult::State::kDownloaded;

  if (!present) {
    // 3. Download, resuming a partial file with Range/If-Range.
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
      *error = "cannot write " + part_path + ": " + std::strerror(errno);
      return false;
    }
    Headers dh = auth;
    if (have > 0) {
      dh.emplace_back("Range", "bytes=" + std::to_string(have) + "-");
      dh.emplace_back("If-Range", "\"" + sha + "\"");
    }
    std::string download = FieldOr<std::string>(
        manifest, "download_url",
        "/v1/models/" + name + "/versions/" + std::to_string(version) + "/model.wisp");
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
    bool ok = client.Stream("GET", download, dh, "", tee, &dres, error);
    if (dres.status == 200 && have > 0 && !started) {
      // Empty 200 body with a non-empty partial file; cannot happen for a real artifact.
      have = 0;
    }
    ::fsync(fd);
    ::close(fd);
    result->resumed_from = dres.status == 206 ? have : 0;
    result->bytes_downloaded = received;
    if (!ok) {
      if (write_failed) *error = "writing " + part_path + " failed";
      return false;  // the partial file stays for the next attempt
    }
    if (dres.status == 416) {
      fs::remove(part_path, ec);
      *error = "server refused the resume range; partial download discarded, retry";
      return false;
    }
    if (dres.status != 200 && dres.status != 206) {
      HttpResponse e;
      e.status = dres.status;
      e.body = err_body;
      *error = "download: HTTP " + std::to_string(dres.status) + ": " + e.ErrorMessage();
      return false;
    }
    uint64_t total = (dres.status == 206 ? have : 0) + received;
    std::string got = hasher->FinalHex();
    if (total != size || got != sha) {
      fs::remove(part_path, ec);
      *error = "downloaded artifact does not match the manifest (size " + std::to_string(total) +
               " vs " + std::to_string(size) + ", sha256 " + got + " vs " + sha + "); discarded";
      return false;
    }
    if (!Check(RenameDurable(part_path, final_path), error)) return false;
  }

  // 4. Record the manifest and what the channel points to now.
  if (!Check(WriteFileAtomic(vdir + "/manifest.json", manifest.dump(2)), error)) return false;
  json new_state = {{"channel", pinned ? "" : options.channel},
                    {"version", version},
                    {"etag", res.Header("etag")},
                    {"previous_version", result->previous_version},
                    {"manifest", manifest}};
  if (!Check(WriteFileAtomic(state_path, new_state.dump(2)), error)) return false;
  if (sequence > stored_sequence) {
    if (!sequences.contains(server_key) || !sequences[server_key].is_object()) {
      sequences[server_key] = json::object();
    }
    sequences[server_key][options.channel] = sequence;
    if (!Check(WriteFileAtomic(sequences_path, sequences.dump(2)), error)) return false;
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
  return true;
}

bool Publish(const std::string& server, const std::string& token, const std::string& file,
             const std::string& name, const std::string& label, const std::string& channel,
             std::string* manifest_json, std::string* error) {
  ServerUrl url;
  if (!ServerUrl::Parse(server, &url, error)) return false;
  if (!CheckName(name) || (!channel.empty() && !CheckName(channel))) {
    *error = "invalid model or channel name";
    return false;
  }
  Result<std::string> read = ReadFileText(file);
  if (!Check(read.status(), error)) return false;
  std::string body = std::move(read).value();
  HttpClient client(url, 300000);
  Headers h = {{"Authorization", AuthHeader(token)},
               {"Content-Type", "application/octet-stream"},
               {"Content-SHA256", Sha256Hex(body)}};
  if (!label.empty()) h.emplace_back("X-Wisp-Label", label);
  std::string target = "/v1/models/" + name + "/versions";
  if (!channel.empty()) target += "?channel=" + channel;
  HttpResponse res;
  if (!client.Request("POST", target, h, body, &res, error)) return false;
  if (res.status != 201) {
    *error = "publish: HTTP " + std::to_string(res.status) + ": " + res.ErrorMessage();
    return false;
  }
  *manifest_json = res.body;
  return true;
}

bool SetChannel(const std::string& server, const std::string& token, const std::string& name,
                const std::string& channel, int64_t version, std::string* response_json,
                std::string* error) {
  ServerUrl url;
  if (!ServerUrl::Parse(server, &url, error)) return false;
  if (!CheckName(name) || !CheckName(channel)) {
    *error = "invalid model or channel name";
    return false;
  }
  HttpClient client(url);
  HttpResponse res;
  if (!client.Request("PUT", "/v1/models/" + name + "/channels/" + channel,
                      {{"Authorization", AuthHeader(token)}, {"Content-Type", "application/json"}},
                      json{{"version", version}}.dump(), &res, error)) {
    return false;
  }
  if (res.status != 200) {
    *error = "channel: HTTP " + std::to_string(res.status) + ": " + res.ErrorMessage();
    return false;
  }
  *response_json = res.body;
  return true;
}

bool ListModels(const std::string& server, const std::string& token, std::string* models_json,
                std::string* error) {
  ServerUrl url;
  if (!ServerUrl::Parse(server, &url, error)) return false;
  HttpClient client(url);
  Headers h;
  if (!token.empty()) h.emplace_back("Authorization", AuthHeader(token));
  HttpResponse res;
  if (!client.Request("GET", "/v1/models", h, "", &res, error)) return false;
  if (res.status != 200) {
    *error = "listing models: HTTP " + std::to_string(res.status) + ": " + res.ErrorMessage();
    return false;
  }
  json j = json::parse(res.body, nullptr, false);
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
    *error = "server returned a malformed model list";
    return false;
  }
  *models_json = res.body;
  return true;
}

bool DeleteVersion(const std::string& server, const std::string& token, const std::string& name,
                   int64_t version, std::string* error) {
  ServerUrl url;
  if (!ServerUrl::Parse(server, &url, error)) return false;
  if (!CheckName(name)) {
    *error = "invalid model name '" + name + "'";
    return false;
  }
  if (version <= 0) {
    *error = "invalid version " + std::to_string(version) + " (versions start at 1)";
    return false;
  }
  HttpClient client(url);
  HttpResponse res;
  if (!client.Request("DELETE", "/v1/models/" + name + "/versions/" + std::to_string(version),
                      {{"Authorization", AuthHeader(token)}}, "", &res, error)) {
    return false;
  }
  if (res.status != 204) {
    *error = "delete: HTTP " + std::to_string(res.status) + ": " + res.ErrorMessage();
    return false;
  }
  return true;
}

}  // namespace wisp::client
