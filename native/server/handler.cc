#include "native/server/handler.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "native/server/json_text.h"
#include "native/server/predict_json.h"

namespace wisp::server {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr uint64_t kFileCacheLimit = 1ull << 30;
// Predict body limits: a JSON number with its separator and indentation rarely takes more than
// 32 bytes ("-1.2345678901234567e-123, "); the slack covers the wrapper and names.
constexpr uint64_t kJsonBytesPerNumber = 32;
constexpr uint64_t kPredictSlackBytes = 64 << 10;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string_view::npos) return {};
  size_t b = s.find_last_not_of(" \t");
  return std::string(s.substr(a, b - a + 1));
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    std::string item = Trim(s.substr(start, comma - start));
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

// The Repr-Digest field value (RFC 9530) of a hex sha256: sha-256=:<base64 of the raw digest>:.
std::string ReprDigest(const std::string& sha256_hex) {
  return "sha-256=:" + Base64Encode(HexDecode(sha256_hex)) + ":";
}

// "If-None-Match: W/"a", "b"" matches `etag` (weak comparison, as RFC 9110 requires here).
bool EtagListMatches(std::string_view header, const std::vector<std::string>& etags) {
  for (auto& item : SplitList(header)) {
    if (item == "*") return true;
    std::string tag = item.rfind("W/", 0) == 0 ? item.substr(2) : item;
    for (auto& e : etags) {
      if (tag == e) return true;
    }
  }
  return false;
}

bool AcceptsGzip(std::string_view header) {
  bool gzip = false, star = false, gzip_listed = false;
  for (auto& item : SplitList(header)) {
    std::string coding = Lower(Trim(item.substr(0, item.find(';'))));
    double q = 1.0;
    size_t qpos = item.find("q=");
    if (qpos != std::string::npos) q = std::atof(item.c_str() + qpos + 2);
    if (coding == "gzip" || coding == "x-gzip") {
      gzip_listed = true;
      gzip = q > 0;
    } else if (coding == "*") {
      star = q > 0;
    }
  }
  return gzip_listed ? gzip : star;
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        exp--;
      }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

json ElementAt(const Tensor& t, size_t i) {
  const uint8_t* p = t.data.data();
  if (t.dtype == "float32") {
    float f;
    std::memcpy(&f, p + i * 4, 4);
    return std::isfinite(f) ? json(f) : json(nullptr);
  }
  if (t.dtype == "float16") {
    uint16_t h;
    std::memcpy(&h, p + i * 2, 2);
    float f = HalfToFloat(h);
    return std::isfinite(f) ? json(f) : json(nullptr);
  }
  if (t.dtype == "int8") return static_cast<int8_t>(p[i]);
  if (t.dtype == "uint8") return p[i];
  if (t.dtype == "bool") return p[i] != 0;
  if (t.dtype == "int16") {
    int16_t x;
    std::memcpy(&x, p + i * 2, 2);
    return x;
  }
  if (t.dtype == "int32") {
    int32_t x;
    std::memcpy(&x, p + i * 4, 4);
    return x;
  }
  if (t.dtype == "int64") {
    int64_t x;
    std::memcpy(&x, p + i * 8, 8);
    return x;
  }
  return nullptr;
}

json Nest(const Tensor& t, const std::vector<int64_t>& shape, size_t dim, size_t* index) {
  if (dim == shape.size()) return ElementAt(t, (*index)++);
  json arr = json::array();
  for (int64_t i = 0; i < shape[dim]; ++i) arr.push_back(Nest(t, shape, dim + 1, index));
  return arr;
}

bool TensorToJson(const Tensor& t, json* out, std::string* error) {
  size_t es = DtypeSize(t.dtype);
  size_t count = 1;
  for (auto d : t.shape) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
  if (es == 0 || t.data.size() != count * es) {
    *error = "engine returned a malformed output '" + t.name + "'";
    return false;
  }
  std::vector<int64_t> shape = t.shape;
  if (!shape.empty() && shape[0] == 1) shape.erase(shape.begin());  // drop the batch of 1
  size_t index = 0;
  *out = Nest(t, shape, 0, &index);
  return true;
}

std::string ContentTypeFor(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".wasm", "application/wasm"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".svg", "image/svg+xml"},
      {".bmp", "image/bmp"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".txt", "text/plain; charset=utf-8"},
      {".wisp", "application/octet-stream"},
      {".tflite", "application/octet-stream"},
      {".webmanifest", "application/manifest+json"}};
  auto it = kTypes.find(Lower(fs::path(path).extension().string()));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

std::string QuotedEtag(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

void Reply::SetBody(std::string text, const std::string& content_type) {
  SetShared(std::make_shared<const std::string>(std::move(text)), content_type);
}

void Reply::SetShared(std::shared_ptr<const std::string> data, const std::string& content_type) {
  length = data ? data->size() : 0;
  offset = 0;
  body = std::move(data);
  if (!content_type.empty()) Set("Content-Type", content_type);
}

Reply ErrorReply(unsigned status, const std::string& code, const std::string& message) {
  Reply r;
  r.status = status;
  json j = {{"error", {{"code", code}, {"message", message}}}};
  r.SetBody(JsonText(j) + "\n", kJson);
  r.Set("Cache-Control", "no-store");
  return r;
}

Handler::Handler(const ServerConfig& cfg, Registry* registry, ModelEngine* engine, Metrics* metrics,
                 const Ed25519Key* key, std::vector<std::string> tokens)
    : cfg_(cfg), registry_(registry), engine_(engine), metrics_(metrics), key_(key) {
  for (auto& t : tokens) token_digests_.push_back(Sha256Raw(t));
}

Handler::Target Handler::ParseTarget(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path[0] != '/') {
    t.ok = false;
    return t;
  }
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view raw = path.substr(start, slash - start);
    if (!raw.empty()) {
      std::string seg;
      if (!PercentDecode(raw, false, &seg) || seg == "." || seg == ".." ||
          seg.find('/') != std::string::npos || seg.find('\\') != std::string::npos ||
          seg.find('\0') != std::string::npos || seg.size() > 255) {
        t.ok = false;
        return t;
      }
      t.segments.push_back(std::move(seg));
    }
    start = slash + 1;
  }
  if (q != std::string_view::npos) {
    std::string_view qs = target.substr(q + 1);
    size_t s = 0;
    while (s <= qs.size()) {
      size_t amp = qs.find('&', s);
      if (amp == std::string_view::npos) amp = qs.size();
      std::string_view pair = qs.substr(s, amp - s);
      if (!pair.empty()) {
        size_t eq = pair.find('=');
        std::string k, v;
        if (!PercentDecode(pair.substr(0, eq), true, &k) ||
            (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &v))) {
          t.ok = false;
          return t;
        }
        t.query[k] = v;
      }
      s = amp + 1;
    }
  }
  return t;
}

bool Handler::Authorized(const RequestHeader& req) const {
  std::string id = TokenId(req);
  return !id.empty() && id != "invalid";
}

std::string Handler::TokenId(const RequestHeader& req) const {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return "";
  std::string_view v(it->value().data(), it->value().size());
  if (v.size() < 7 || Lower(std::string(v.substr(0, 7))) != "bearer ") return "invalid";
  std::string digest = Sha256Raw(Trim(v.substr(7)));
  const std::string* match = nullptr;
  for (auto& d : token_digests_) {
    if (ConstantTimeEquals(d, digest)) match = &d;  // no early exit
  }
  // The first 32 bits of a configured token's sha256 name it without revealing it; an unknown
  // credential gets no digest in the log, as it may be a mistyped password.
  return match ? "sha256:" + HexEncode(match->substr(0, 4)) : "invalid";
}

bool Handler::IsWrite(const RequestHeader& req, const Target& t) {
  auto m = req.method();
  if (m != http::verb::post && m != http::verb::put && m != http::verb::delete_) return false;
  if (!t.segments.empty() && t.segments.back().find(":predict") != std::string::npos) return false;
  return true;
}

void Handler::AddCors(const RequestHeader& req, Reply* r) const {
  auto it = req.find(http::field::origin);
  if (it == req.end() || cfg_.cors_origins.empty()) return;
  std::string origin(it->value());
  bool any =
      std::find(cfg_.cors_origins.begin(), cfg_.cors_origins.end(), "*") != cfg_.cors_origins.end();
  bool listed = std::find(cfg_.cors_origins.begin(), cfg_.cors_origins.end(), origin) !=
                cfg_.cors_origins.end();
  if (!any && !listed) return;
  r->Set("Access-Control-Allow-Origin", any ? "*" : origin);
  if (!any) r->Set("Vary", "Origin");
  r->Set("Access-Control-Expose-Headers",
         "ETag, Repr-Digest, Content-Length, Content-Range, Accept-Ranges, Content-Encoding, "
         "Location, X-Wisp-Model-Version, X-Wisp-Dtype, X-Wisp-Shape");
}

std::optional<Reply> Handler::Precheck(const RequestHeader& req) {
  // RFC 9112 6.1: a request whose Transfer-Encoding does not end in "chunked" cannot be framed,
  // and one that also has Content-Length is a smuggling attempt; both are answered 400 and the
  // connection is closed. (Beast frames "xchunked" + Content-Length by the length.)
  auto te = req.find(http::field::transfer_encoding);
  if (te != req.end()) {
    auto codings = SplitList(std::string_view(te->value().data(), te->value().size()));
    bool chunked_last = !codings.empty() && Lower(codings.back()) == "chunked";
    if (!chunked_last || req.find(http::field::content_length) != req.end()) {
      Reply r = ErrorReply(400, "bad_framing",
                           chunked_last ? "Transfer-Encoding and Content-Length together"
                                        : "Transfer-Encoding '" + std::string(te->value()) +
                                              "' does not end in chunked");
      r.close = true;
      r.route = "framing";
      AddCors(req, &r);
      return r;
    }
  }
  Target t = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  if (!t.ok || req.method() == http::verb::options) return std::nullopt;
  bool api = !t.segments.empty() && t.segments[0] == "v1";
  if (!api) return std::nullopt;
  bool needs_token = IsWrite(req, t) || !cfg_.public_reads;
  if (!needs_token || Authorized(req)) return std::nullopt;
  Reply r =
      token_digests_.empty()
          ? ErrorReply(403, "forbidden", "this server has no tokens configured (--token-file)")
          : ErrorReply(401, "unauthorized", "a valid bearer token is required");
  if (!token_digests_.empty()) r.Set("WWW-Authenticate", "Bearer");
  r.close = true;
  r.route = "auth";
  AddCors(req, &r);
  return r;
}

uint64_t Handler::PredictBudget::Reservation(uint64_t body_bytes) const {
  // The body is held while it is decoded; raw inputs are one copy of it, JSON inputs at most
  // 8 bytes per number of at least 2 body bytes, and never more than a full batch of inputs.
  if (raw) return 2 * body_bytes;
  uint64_t decoded = 4 * body_bytes;
  if (input_bytes) decoded = std::min(decoded, input_bytes * batch);
  return body_bytes + decoded;
}

Handler::PredictBudget Handler::BudgetFor(const RequestHeader& req, const VersionInfo* info) const {
  PredictBudget b;
  b.predict = true;
  b.batch = cfg_.max_predict_batch;
  auto ct = req.find(http::field::content_type);
  b.raw = ct != req.end() && std::string(ct->value()).rfind("application/octet-stream", 0) == 0;
  // Unknown models are answered 404 whatever the body: a small limit suffices.
  b.body_limit = kPredictSlackBytes;
  if (info) {
    uint64_t elements = 0, bytes = 0;
    bool dynamic = false;
    for (auto& spec : info->inputs) {
      uint64_t n = StaticElementCount(spec);
      if (n == 0) dynamic = true;
      elements += n;
      bytes += n * DtypeSize(spec.dtype);
    }
    if (dynamic) {
      b.body_limit = cfg_.max_body_bytes;  // the model does not say; only the global limit does
    } else {
      b.input_bytes = bytes;
      b.body_limit =
          b.raw ? bytes
                : elements * kJsonBytesPerNumber * cfg_.max_predict_batch + kPredictSlackBytes;
    }
  }
  b.body_limit = std::min<uint64_t>(b.body_limit, cfg_.max_body_bytes);
  return b;
}

Handler::PredictBudget Handler::Budget(const RequestHeader& req) const {
  Target t = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  const auto& s = t.segments;
  if (!t.ok || req.method() != http::verb::post || s.size() != 5 || s[0] != "v1" ||
      s[1] != "models") {
    return {};
  }
  const std::string suffix = ":predict";
  const std::string& last = s[4];
  if (last.size() <= suffix.size() ||
      last.compare(last.size() - suffix.size(), suffix.size(), suffix) != 0 ||
      (s[3] != "versions" && s[3] != "channels")) {
    return {};
  }
  std::string which = last.substr(0, last.size() - suffix.size());
  const VersionInfo* info = nullptr;
  auto snap = registry_->Get(s[2]);
  int64_t v = 0;
  if (snap && s[3] == "channels") {
    auto it = snap->channels.find(which);
    if (it != snap->channels.end()) v = it->second;
  } else if (snap) {
    ParseVersion(which, &v);
  }
  if (snap) {
    auto it = snap->versions.find(v);
    if (it != snap->versions.end()) info = &it->second;
  }
  // `snap` keeps `info` alive only in here; BudgetFor copies what it needs.
  return BudgetFor(req, info);
}

Reply Handler::Handle(const Request& req) {
  Target t = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  Reply r;
  if (!t.ok) {
    r = ErrorReply(400, "bad_path", "malformed or disallowed request path");
  } else if (req.method() == http::verb::options) {
    r.status = 204;
    r.no_length = true;
    r.route = "preflight";
    r.Set("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    auto origin = req.find(http::field::origin);
    if (origin != req.end() && !cfg_.cors_origins.empty()) {
      r.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
      r.Set("Access-Control-Allow-Headers",
            "Authorization, Content-Type, If-None-Match, If-Range, Range, Content-SHA256, Digest, "
            "X-Wisp-Label");
      r.Set("Access-Control-Max-Age", "600");
    }
  } else {
    std::optional<Reply> denied = Precheck(req);
    if (denied) {
      // The body was read: the connection may go on, unless its framing was the problem.
      if (denied->route == "auth") denied->close = false;
      r = std::move(*denied);
    } else {
      try {
        r = Route(req, t);
      } catch (const std::exception& e) {
        r = ErrorReply(500, "internal", std::string("internal error: ") + e.what());
      }
    }
  }
  if (req.method() == http::verb::head) {
    r.head = true;
  }
  AddCors(req, &r);
  return r;
}

Reply Handler::Route(const Request& req, const Target& t) {
  const auto& s = t.segments;
  auto m = req.method();
  bool get = m == http::verb::get || m == http::verb::head;
  auto not_allowed = [&](const std::string& allow, const std::string& route) {
    Reply r = ErrorReply(405, "method_not_allowed", "method not allowed here; allowed: " + allow);
    r.Set("Allow", allow);
    r.route = route;
    return r;
  };
  auto finish = [](Reply r, const std::string& route) {
    r.route = route;
    return r;
  };

  if (s.size() == 1 && (s[0] == "healthz" || s[0] == "readyz" || s[0] == "metrics")) {
    if (!get) return not_allowed("GET, HEAD", "/" + s[0]);
    Reply r;
    r.Set("Cache-Control", "no-store");
    if (s[0] == "healthz") {
      r.SetBody("{\"status\":\"ok\"}\n", kJson);
    } else if (s[0] == "readyz") {
      bool ready = engine_->available();
      json j = {{"status", ready ? "ready" : "not_ready"},
                {"engine", engine_->name()},
                {"models", registry_->model_count()}};
      if (!ready) j["reason"] = "model engine unavailable: publishing and prediction are disabled";
      r.status = ready ? 200 : 503;
      r.SetBody(JsonText(j) + "\n", kJson);
    } else {
      if (!cfg_.public_reads && !Authorized(req)) {
        return finish(ErrorReply(401, "unauthorized", "a valid bearer token is required"),
                      "/metrics");
      }
      r.SetBody(metrics_->Render(loaded_models(), registry_->model_count()),
                "text/plain; version=0.0.4; charset=utf-8");
    }
    return finish(std::move(r), "/" + s[0]);
  }

  if (!s.empty() && s[0] == "v1") {
    if (s.size() == 2 && s[1] == "models") {
      if (!get) return not_allowed("GET, HEAD", "/v1/models");
      return finish(ListModels(req), "/v1/models");
    }
    if (s.size() == 2 && s[1] == "signing-key") {
      if (!get) return not_allowed("GET, HEAD", "/v1/signing-key");
      return finish(SigningKey(), "/v1/signing-key");
    }
    if (s.size() >= 3 && s[1] == "models") {
      const std::string& name = s[2];
      if (!IsValidName(name)) {
        return finish(
            ErrorReply(400, "invalid_name", "model names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
            "/v1/models/{name}");
      }
      if (s.size() == 3) {
        if (!get) return not_allowed("GET, HEAD", "/v1/models/{name}");
        return finish(GetModel(req, name), "/v1/models/{name}");
      }
      if (s[3] == "versions") {
        if (s.size() == 4) {
          if (m != http::verb::post) return not_allowed("POST", "/v1/models/{name}/versions");
          return finish(Publish(req, name, t), "/v1/models/{name}/versions");
        }
        std::string vs = s[4];
        bool predict = false;
        size_t colon = vs.find(':');
        if (colon != std::string::npos) {
          if (vs.substr(colon) != ":predict" || s.size() != 5) {
            return finish(ErrorReply(404, "not_found", "unknown endpoint"), "other");
          }
          predict = true;
          vs = vs.substr(0, colon);
        }
        int64_t v = 0;
        if (!ParseVersion(vs, &v)) {
          return finish(ErrorReply(400, "invalid_version", "versions are positive integers"),
                        "/v1/models/{name}/versions/{v}");
        }
        if (predict) {
          if (m != http::verb::post)
            return not_allowed("POST", "/v1/models/{name}/versions/{v}:predict");
          return finish(Predict(req, name, v), "/v1/models/{name}/versions/{v}:predict");
        }
        if (s.size() == 5) {
          if (get) return finish(GetManifest(req, name, vs), "/v1/models/{name}/versions/{v}");
          if (m == http::verb::delete_) {
            return finish(DeleteVersion(name, vs), "/v1/models/{name}/versions/{v}");
          }
          return not_allowed("GET, HEAD, DELETE", "/v1/models/{name}/versions/{v}");
        }
        if (s.size() == 6 && s[5] == "model.wisp") {
          if (!get) return not_allowed("GET, HEAD", "/v1/models/{name}/versions/{v}/model.wisp");
          return finish(GetArtifact(req, name, vs), "/v1/models/{name}/versions/{v}/model.wisp");
        }
      }
      if (s[3] == "channels" && s.size() == 5) {
        std::string ch = s[4];
        bool predict = false;
        size_t colon = ch.find(':');
        if (colon != std::string::npos) {
          if (ch.substr(colon) != ":predict") {
            return finish(ErrorReply(404, "not_found", "unknown endpoint"), "other");
          }
          predict = true;
          ch = ch.substr(0, colon);
        }
        if (!IsValidName(ch)) {
          return finish(ErrorReply(400, "invalid_name",
                                   "channel names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
                        "/v1/models/{name}/channels/{channel}");
        }
        if (predict) {
          if (m != http::verb::post) {
            return not_allowed("POST", "/v1/models/{name}/channels/{channel}:predict");
          }
          auto snap = registry_->Get(name);
          auto it = snap ? snap->channels.find(ch) : decltype(snap->channels.end()){};
          if (!snap) {
            return finish(ErrorReply(404, "model_not_found", "no model named '" + name + "'"),
                          "/v1/models/{name}/channels/{channel}:predict");
          }
          if (it == snap->channels.end()) {
            return finish(ErrorReply(404, "channel_not_found",
                                     "model '" + name + "' has no channel '" + ch + "'"),
                          "/v1/models/{name}/channels/{channel}:predict");
          }
          return finish(Predict(req, name, it->second),
                        "/v1/models/{name}/channels/{channel}:predict");
        }
        const std::string route = "/v1/models/{name}/channels/{channel}";
        if (get) return finish(GetChannel(req, name, ch), route);
        if (m == http::verb::put) return finish(PutChannel(req, name, ch), route);
        if (m == http::verb::delete_) return finish(DeleteChannel(name, ch), route);
        return not_allowed("GET, HEAD, PUT, DELETE", route);
      }
    }
    return finish(ErrorReply(404, "not_found", "unknown endpoint"), "other");
  }

  if (!cfg_.web_dir.empty()) {
    if (!get) return not_allowed("GET, HEAD", "static");
    return finish(Static(req, t), "static");
  }
  return finish(ErrorReply(404, "not_found", "unknown endpoint"), "other");
}

Reply Handler::ServeBytes(const Request& req, std::shared_ptr<const std::string> data,
                          const std::string& etag, const std::string& content_type,
                          const std::string& cache_control, bool allow_range) {
  Reply r;
  r.Set("ETag", etag);
  r.Set("Cache-Control", cache_control);
  if (allow_range) r.Set("Accept-Ranges", "bytes");
  auto inm = req.find(http::field::if_none_match);
  if (inm != req.end() &&
      EtagListMatches(std::string_view(inm->value().data(), inm->value().size()), {etag})) {
    r.status = 304;
    r.no_length = true;
    return r;
  }
  const size_t size = data->size();
  auto range = req.find(http::field::range);
  if (allow_range && range != req.end()) {
    bool use_range = true;
    auto if_range = req.find(http::field::if_range);
    if (if_range != req.end() && std::string(if_range->value()) != etag) use_range = false;
    std::string spec(range->value());
    if (use_range && spec.rfind("bytes=", 0) == 0 && spec.find(',') == std::string::npos) {
      std::string rs = Trim(spec.substr(6));
      size_t dash = rs.find('-');
      bool valid = dash != std::string::npos;
      std::string a = valid ? rs.substr(0, dash) : "", b = valid ? rs.substr(dash + 1) : "";
      auto digits = [](const std::string& x) {
        return !x.empty() && x.size() <= 18 && std::all_of(x.begin(), x.end(), ::isdigit);
      };
      uint64_t first = 0, last = 0;
      bool satisfiable = true;
      if (valid && digits(a) && (b.empty() || digits(b))) {
        first = std::stoull(a);
        last = b.empty() ? size - 1 : std::min<uint64_t>(std::stoull(b), size - 1);
        if (!b.empty() && std::stoull(b) < first) valid = false;
        if (first >= size) satisfiable = false;
      } else if (valid && a.empty() && digits(b)) {
        uint64_t n = std::stoull(b);
        if (n == 0 || size == 0) {
          satisfiable = false;
        } else {
          first = n >= size ? 0 : size - n;
          last = size - 1;
        }
      } else {
        valid = false;
      }
      if (valid && !satisfiable) {
        Reply e =
            ErrorReply(416, "range_not_satisfiable",
                       "requested range is outside the " + std::to_string(size) + "-byte body");
        e.Set("Content-Range", "bytes */" + std::to_string(size));
        e.Set("ETag", etag);
        return e;
      }
      if (valid) {
        r.status = 206;
        r.SetShared(std::move(data), content_type);
        r.offset = first;
        r.length = last - first + 1;
        r.Set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                   std::to_string(size));
        return r;
      }
    }
  }
  r.SetShared(std::move(data), content_type);
  return r;
}

bool Handler::ReadVerified(const std::string& path, const std::string& sha256, std::string* data,
                           std::string* error) const {
  std::string read_error;
  if (!ReadFile(path, data, &read_error)) {
    *error = "artifact unreadable: " + read_error;
    return false;
  }
  std::string actual = Sha256Hex(*data);
  if (actual == sha256) return true;
  // Name the file relative to the data directory: clients need not learn the server's layout.
  std::string rel =
      path.rfind(cfg_.data_dir + "/", 0) == 0 ? path.substr(cfg_.data_dir.size() + 1) : path;
  *error = "artifact corrupt: " + rel + " has sha256 " + actual + ", the registry recorded " +
           sha256 + "; refusing to serve or run it";
  std::cerr << "wisp-server: " << *error << std::endl;
  data->clear();
  return false;
}

std::shared_ptr<const std::string> Handler::LoadCached(const std::string& key,
                                                       const std::string& path,
                                                       const std::string* sha256,
                                                       std::string* error) {
  {
    std::lock_guard lock(cache_mu_);
    auto it = file_cache_.find(key);
    if (it != file_cache_.end()) return it->second;
  }
  auto data = std::make_shared<std::string>();
  std::string ignored;
  if (sha256) {
    if (!ReadVerified(path, *sha256, data.get(), error ? error : &ignored)) return nullptr;
  } else if (!ReadFile(path, data.get(), error)) {
    return nullptr;
  }
  std::shared_ptr<const std::string> result = std::move(data);
  std::lock_guard lock(cache_mu_);
  if (file_cache_bytes_ + result->size() <= kFileCacheLimit) {
    auto [it, inserted] = file_cache_.emplace(key, result);
    if (inserted) file_cache_bytes_ += result->size();
    return it->second;
  }
  return result;
}

Reply Handler::ListModels(const Request& req) {
  json models = json::array();
  for (auto& s : registry_->List()) {
    json channels = json::object();
    for (auto& [ch, v] : s->channels) channels[ch] = v;
    json versions = json::array();
    for (auto& [v, info] : s->versions) versions.push_back(v);
    models.push_back({{"name", s->name},
                      {"latest_version",
                       s->versions.empty() ? json(nullptr) : json(s->versions.rbegin()->first)},
                      {"versions", versions},
                      {"channels", channels},
                      {"url", "/v1/models/" + s->name}});
  }
  auto body = std::make_shared<const std::string>(JsonText(json{{"models", models}}));
  return ServeBytes(req, body, ContentEtag(*body), kJson, "no-cache", false);
}

Reply Handler::GetModel(const Request& req, const std::string& name) {
  auto s = registry_->Get(name);
  if (!s) return ErrorReply(404, "model_not_found", "no model named '" + name + "'");
  return ServeBytes(req, s->model_json.body, s->model_json.etag, kJson, "no-cache", false);
}

Reply Handler::GetManifest(const Request& req, const std::string& name, const std::string& vs) {
  int64_t v = 0;
  ParseVersion(vs, &v);
  auto s = registry_->Get(name);
  if (!s) return ErrorReply(404, "model_not_found", "no model named '" + name + "'");
  auto it = s->manifest_json.find(v);
  if (it == s->manifest_json.end()) {
    return ErrorReply(404, "version_not_found", "model '" + name + "' has no version " + vs);
  }
  return ServeBytes(req, it->second.body, it->second.etag, kJson, "public, max-age=300", false);
}

Reply Handler::GetChannel(const Request& req, const std::string& name, const std::string& ch) {
  auto s = registry_->Get(name);
  if (!s) return ErrorReply(404, "model_not_found", "no model named '" + name + "'");
  auto it = s->channel_json.find(ch);
  if (it == s->channel_json.end()) {
    return ErrorReply(404, "channel_not_found", "model '" + name + "' has no channel '" + ch + "'");
  }
  Reply r = ServeBytes(req, it->second.body, it->second.etag, kJson,
                       "public, max-age=" + std::to_string(cfg_.channel_max_age_s), false);
  r.Set("X-Wisp-Model-Version", std::to_string(s->channels.at(ch)));
  return r;
}

Reply Handler::GetArtifact(const Request& req, const std::string& name, const std::string& vs) {
  int64_t v = 0;
  ParseVersion(vs, &v);
  auto s = registry_->Get(name);
  if (!s) return ErrorReply(404, "model_not_found", "no model named '" + name + "'");
  auto it = s->versions.find(v);
  if (it == s->versions.end()) {
    return ErrorReply(404, "version_not_found", "model '" + name + "' has no version " + vs);
  }
  const VersionInfo& info = it->second;
  auto ae = req.find(http::field::accept_encoding);
  bool gzip = info.gzip_size > 0 && ae != req.end() &&
              AcceptsGzip(std::string_view(ae->value().data(), ae->value().size())) &&
              req.find(http::field::range) == req.end();
  std::string etag = QuotedEtag(info.sha256);
  if (gzip) {
    // A corrupt gzip copy is logged and skipped: the identity artifact is served instead.
    std::string gz_error;
    auto data = LoadCached(info.gzip_sha256, registry_->ArtifactPath(name, v, true),
                           &info.gzip_sha256, &gz_error);
    if (data) {
      // A distinct strong validator for the encoded representation; If-None-Match with either
      // validator is a match (the content is the same model).
      std::string gz_etag = QuotedEtag(info.sha256 + "-gzip");
      auto inm = req.find(http::field::if_none_match);
      Reply r;
      if (inm != req.end() &&
          EtagListMatches(std::string_view(inm->value().data(), inm->value().size()),
                          {etag, gz_etag})) {
        r.status = 304;
        r.no_length = true;
        r.Set("ETag", gz_etag);
        r.Set("Cache-Control", kImmutable);
      } else {
        r = ServeBytes(req, data, gz_etag, "application/octet-stream", kImmutable, false);
      }
      r.Set("Content-Encoding", "gzip");
      r.Set("Vary", "Accept-Encoding");
      r.Set("X-Wisp-Model-Version", vs);
      // RFC 9530: the digest of the selected representation, here the gzip-coded bytes.
      if (r.status != 304) r.Set("Repr-Digest", ReprDigest(info.gzip_sha256));
      return r;
    }
  }
  std::string error;
  auto data =
      LoadCached(info.sha256, registry_->ArtifactPath(name, v, false), &info.sha256, &error);
  if (!data) {
    bool corrupt = error.rfind("artifact corrupt", 0) == 0;
    return ErrorReply(500, corrupt ? "artifact_corrupt" : "storage_error", error);
  }
  Reply r = ServeBytes(req, data, etag, "application/octet-stream", kImmutable, true);
  if (info.gzip_size > 0) r.Set("Vary", "Accept-Encoding");
  r.Set("X-Wisp-Model-Version", vs);
  // RFC 9530: the whole artifact's digest, also on 206 replies (a client checks the file it
  // assembles from ranges against it), beside the ETag.
  if (r.status != 304) r.Set("Repr-Digest", ReprDigest(info.sha256));
  return r;
}

Reply Handler::SigningKey() {
  if (!key_ || !key_->loaded()) {
    return ErrorReply(404, "no_signing_key", "this server does not sign manifests");
  }
  json j = {{"algorithm", "ed25519"},
            {"key_id", key_->KeyId()},
            {"public_key", Base64Encode(key_->PublicKeyRaw())},
            {"public_key_pem", key_->PublicKeyPem()}};
  Reply r;
  r.SetBody(JsonText(j), kJson);
  r.Set("Cache-Control", "no-cache");
  return r;
}

Reply Handler::Publish(const Request& req, const std::string& name, const Target& t) {
  if (!engine_->available()) {
    return ErrorReply(503, "engine_unavailable",
                      "this build has no model engine: models cannot be validated, publishing "
                      "is disabled");
  }
  const std::string& body = req.body();
  if (body.empty()) return ErrorReply(400, "empty_body", "the request body must be the model file");
  // Optional integrity headers.
  auto cs = req.find("Content-SHA256");
  if (cs != req.end()) {
    std::string want = Lower(Trim(std::string(cs->value())));
    if (want != Sha256Hex(body)) {
      return ErrorReply(400, "digest_mismatch", "Content-SHA256 does not match the body");
    }
  }
  auto dg = req.find("Digest");
  if (dg != req.end()) {
    for (auto& item : SplitList(std::string(dg->value()))) {
      size_t eq = item.find('=');
      if (eq == std::string::npos) continue;
      if (Lower(item.substr(0, eq)) == "sha-256" &&
          item.substr(eq + 1) != Base64Encode(Sha256Raw(body))) {
        return ErrorReply(400, "digest_mismatch", "Digest sha-256 does not match the body");
      }
    }
  }
  std::string label;
  if (t.query.count("label")) label = t.query.at("label");
  auto lh = req.find("X-Wisp-Label");
  if (lh != req.end()) label = std::string(lh->value());
  if (label.size() > 256) return ErrorReply(400, "invalid_label", "labels are at most 256 bytes");
  // Checked before validation, which may be slow; the registry checks again with tensor names.
  if (!IsValidUtf8(label)) return ErrorReply(400, "invalid_label", "the label is not valid UTF-8");

  std::vector<uint8_t> bytes(body.begin(), body.end());
  auto validated = engine_->Validate(bytes, name);
  if (!validated.ok()) {
    return ErrorReply(400, "invalid_model", "model rejected: " + validated.error());
  }
  if (validated.value().wisp_bytes.empty()) {
    return ErrorReply(500, "internal", "engine accepted the model but produced no bytes");
  }
  VersionInfo info;
  RegistryError err;
  if (!registry_->Publish(name, validated.value(), label, &info, &err)) {
    return ErrorReply(err.status, err.code, err.message);
  }
  // Point a channel at the new version in the same request when asked (?channel=stable).
  if (t.query.count("channel")) {
    const std::string& ch = t.query.at("channel");
    int64_t prev = 0;
    if (!IsValidName(ch)) return ErrorReply(400, "invalid_name", "invalid channel name");
    if (!registry_->SetChannel(name, ch, info.version, &prev, &err)) {
      return ErrorReply(err.status, err.code, err.message);
    }
  }
  auto snap = registry_->Get(name);
  Reply r;
  r.status = 201;
  r.SetShared(snap->manifest_json.at(info.version).body, kJson);
  r.Set("Location", "/v1/models/" + name + "/versions/" + std::to_string(info.version));
  r.Set("Cache-Control", "no-store");
  return r;
}

Reply Handler::PutChannel(const Request& req, const std::string& name, const std::string& ch) {
  json j = json::parse(req.body(), nullptr, false);
  if (j.is_discarded()) return ErrorReply(400, "malformed_json", "request body is not valid JSON");
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int64_t>() <= 0) {
    return ErrorReply(400, "bad_request", "expected {\"version\": <positive integer>}");
  }
  int64_t v = j["version"].get<int64_t>(), prev = 0;
  RegistryError err;
  if (!registry_->SetChannel(name, ch, v, &prev, &err)) {
    return ErrorReply(err.status, err.code, err.message);
  }
  Reply r;
  json out = {{"name", name},
              {"channel", ch},
              {"version", v},
              {"previous_version", prev ? json(prev) : json(nullptr)}};
  r.SetBody(JsonText(out), kJson);
  r.Set("Cache-Control", "no-store");
  return r;
}

Reply Handler::DeleteChannel(const std::string& name, const std::string& ch) {
  RegistryError err;
  if (!registry_->DeleteChannel(name, ch, &err))
    return ErrorReply(err.status, err.code, err.message);
  Reply r;
  r.status = 204;
  r.no_length = true;
  return r;
}

Reply Handler::DeleteVersion(const std::string& name, const std::string& vs) {
  int64_t v = 0;
  ParseVersion(vs, &v);
  RegistryError err;
  if (!registry_->DeleteVersion(name, v, &err))
    return ErrorReply(err.status, err.code, err.message);
  {
    std::lock_guard lock(loaded_mu_);
    loaded_.erase({name, v});
  }
  Reply r;
  r.status = 204;
  r.no_length = true;
  return r;
}

size_t Handler::loaded_models() const {
  std::lock_guard lock(loaded_mu_);
  return loaded_.size();
}

std::shared_ptr<Handler::Loaded> Handler::GetLoaded(const std::string& name, int64_t version,
                                                    std::string* error) {
  std::shared_ptr<Loaded> entry;
  {
    std::lock_guard lock(loaded_mu_);
    auto& slot = loaded_[{name, version}];
    if (!slot) slot = std::make_shared<Loaded>();
    entry = slot;
  }
  std::lock_guard lock(entry->mu);
  if (!entry->model) {
    auto snap = registry_->Get(name);
    auto it = snap ? snap->versions.find(version) : decltype(snap->versions.end()){};
    if (!snap || it == snap->versions.end()) {
      *error = "version " + std::to_string(version) + " is gone";
      std::lock_guard l2(loaded_mu_);
      loaded_.erase({name, version});
      return nullptr;
    }
    std::string data;
    if (!ReadVerified(registry_->ArtifactPath(name, version, false), it->second.sha256, &data,
                      error)) {
      std::lock_guard l2(loaded_mu_);
      loaded_.erase({name, version});
      return nullptr;
    }
    auto loaded = engine_->Load(std::vector<uint8_t>(data.begin(), data.end()));
    if (!loaded.ok()) {
      *error = loaded.error();
      std::lock_guard l2(loaded_mu_);
      loaded_.erase({name, version});
      return nullptr;
    }
    entry->model = loaded.value();
  }
  return entry;
}

Reply Handler::Predict(const Request& req, const std::string& name, int64_t version) {
  auto snap = registry_->Get(name);
  if (!snap) return ErrorReply(404, "model_not_found", "no model named '" + name + "'");
  if (!snap->versions.count(version)) {
    return ErrorReply(404, "version_not_found",
                      "model '" + name + "' has no version " + std::to_string(version));
  }
  if (!engine_->available()) {
    return ErrorReply(503, "engine_unavailable", "this build has no model engine");
  }
  // Callers over HTTP were refused before the body was read; in-process callers are held to the
  // same limit.
  PredictBudget budget = BudgetFor(req, &snap->versions.at(version));
  if (req.body().size() > budget.body_limit) {
    return ErrorReply(413, "payload_too_large",
                      "predict body exceeds the limit of " + std::to_string(budget.body_limit) +
                          " bytes for this model");
  }
  std::string error;
  auto entry = GetLoaded(name, version, &error);
  if (!entry) {
    if (error.rfind("artifact corrupt", 0) == 0) return ErrorReply(500, "artifact_corrupt", error);
    return ErrorReply(500, "load_failed", "model failed to load: " + error);
  }
  const auto& specs = entry->model->inputs();
  const bool raw = budget.raw;

  std::vector<std::vector<Tensor>> batches;
  if (raw) {
    if (specs.size() != 1) {
      return ErrorReply(400, "bad_request",
                        "raw tensor bodies need a single-input model; this one has " +
                            std::to_string(specs.size()) + " inputs");
    }
    Tensor t;
    t.name = specs[0].name;
    t.dtype = specs[0].dtype;
    t.shape = specs[0].shape;
    auto sh = req.find("X-Wisp-Shape");
    if (sh != req.end()) {
      t.shape.clear();
      for (auto& d : SplitList(std::string(sh->value()))) {
        if (d.empty() || d.size() > 9 || !std::all_of(d.begin(), d.end(), ::isdigit)) {
          return ErrorReply(400, "bad_request", "X-Wisp-Shape is a comma-separated list of dims");
        }
        t.shape.push_back(std::stoll(d));
      }
      // The engine is promised inputs of the model's shape; only dynamic dimensions are free.
      bool match = t.shape.size() == specs[0].shape.size();
      for (size_t i = 0; match && i < t.shape.size(); ++i) {
        if (specs[0].shape[i] != -1 && specs[0].shape[i] != t.shape[i]) match = false;
      }
      if (!match) {
        return ErrorReply(400, "shape_mismatch",
                          "X-Wisp-Shape " + ShapeString(t.shape) + " does not match input '" +
                              specs[0].name + "' of shape " + ShapeString(specs[0].shape));
      }
    }
    size_t count = 1;
    for (auto d : t.shape) {
      if (d < 0) return ErrorReply(400, "bad_request", "dynamic input shape: send X-Wisp-Shape");
      count *= static_cast<size_t>(d);
    }
    size_t es = DtypeSize(t.dtype);
    if (es == 0 || req.body().size() != count * es) {
      return ErrorReply(400, "bad_request",
                        "raw body must be " + std::to_string(count * es) + " bytes (" + t.dtype +
                            " " + ShapeString(t.shape) + "), got " +
                            std::to_string(req.body().size()));
    }
    t.data.assign(req.body().begin(), req.body().end());
    batches.push_back({std::move(t)});
  } else {
    RegistryError err;
    if (!ParsePredictJson(req.body(), specs, cfg_.max_predict_batch, &batches, &err)) {
      return ErrorReply(err.status, err.code, err.message);
    }
  }

  json predictions = json::array();
  std::vector<Tensor> last;
  for (auto& inputs : batches) {
    std::unique_lock<std::mutex> lock(entry->mu, std::defer_lock);
    if (!entry->model->concurrent_predict()) lock.lock();
    auto t0 = std::chrono::steady_clock::now();
    auto result = entry->model->Predict(inputs);
    metrics_->ObserveInference(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!result.ok()) return ErrorReply(400, "inference_failed", result.error());
    if (raw) {
      last = std::move(result.value());
      break;
    }
    const auto& outs = result.value();
    if (outs.size() == 1) {
      json o;
      if (!TensorToJson(outs[0], &o, &error)) return ErrorReply(500, "internal", error);
      predictions.push_back(std::move(o));
    } else {
      json obj = json::object();
      for (auto& out : outs) {
        json o;
        if (!TensorToJson(out, &o, &error)) return ErrorReply(500, "internal", error);
        obj[out.name] = std::move(o);
      }
      predictions.push_back(std::move(obj));
    }
  }
  Reply r;
  r.Set("Cache-Control", "no-store");
  r.Set("X-Wisp-Model-Version", std::to_string(version));
  auto accept = req.find(http::field::accept);
  bool want_json = accept != req.end() &&
                   std::string(accept->value()).find("application/json") != std::string::npos;
  if (raw && last.size() == 1 && !want_json) {
    std::string shape;
    for (size_t i = 0; i < last[0].shape.size(); ++i)
      shape += (i ? "," : "") + std::to_string(last[0].shape[i]);
    r.Set("X-Wisp-Dtype", last[0].dtype);
    r.Set("X-Wisp-Shape", shape);
    r.SetBody(std::string(last[0].data.begin(), last[0].data.end()), "application/octet-stream");
    return r;
  }
  if (raw) {
    json obj = json::object();
    for (auto& out : last) {
      json o;
      if (!TensorToJson(out, &o, &error)) return ErrorReply(500, "internal", error);
      obj[out.name] = std::move(o);
    }
    predictions.push_back(last.size() == 1 ? obj.begin().value() : obj);
  }
  r.SetBody(JsonText(json{{"predictions", predictions}}), kJson);
  return r;
}

Reply Handler::Static(const Request& req, const Target& t) {
  for (auto& seg : t.segments) {
    if (seg.empty() || seg[0] == '.') {
      return ErrorReply(404, "not_found", "no such file");
    }
  }
  fs::path root = fs::path(cfg_.web_dir);
  fs::path p = root;
  for (auto& seg : t.segments) p /= seg;
  std::error_code ec;
  if (fs::is_directory(p, ec)) p /= "index.html";
  // Symlinks must not lead outside the web root.
  fs::path canon_root = fs::canonical(root, ec);
  fs::path canon = fs::canonical(p, ec);
  if (ec || !fs::is_regular_file(canon, ec)) return ErrorReply(404, "not_found", "no such file");
  auto rel = canon.lexically_relative(canon_root);
  if (rel.empty() || *rel.begin() == "..") return ErrorReply(404, "not_found", "no such file");
  struct stat st {};
  if (::stat(canon.c_str(), &st) != 0) return ErrorReply(404, "not_found", "no such file");
  std::string key = "static:" + canon.string() + ":" + std::to_string(st.st_size) + ":" +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  auto data = LoadCached(key, canon.string());
  if (!data) return ErrorReply(404, "not_found", "no such file");
  std::string type = ContentTypeFor(canon.string());
  bool wasm = type == "application/wasm";
  std::string etag;
  {
    std::lock_guard lock(cache_mu_);
    auto it = etag_cache_.find(key);
    if (it != etag_cache_.end()) etag = it->second;
  }
  if (etag.empty()) {
    etag = ContentEtag(*data);
    std::lock_guard lock(cache_mu_);
    etag_cache_[key] = etag;
  }
  Reply r = ServeBytes(req, data, etag, type, wasm ? kImmutable : "no-cache", true);
  if (cfg_.cross_origin_isolation) {
    // Pages served from --web are cross-origin isolated, so the threaded WebAssembly variant
    // (SharedArrayBuffer) works; every resource they load from this server is same-origin.
    r.Set("Cross-Origin-Opener-Policy", "same-origin");
    r.Set("Cross-Origin-Embedder-Policy", "require-corp");
  }
  return r;
}

}  // namespace wisp::server
