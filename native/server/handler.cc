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
// Predict body limits: a JSON number with its separator and indentation rarely takes more than
// 32 bytes ("-1.2345678901234567e-123, "); the slack covers the wrapper and names.
constexpr uint64_t kJsonBytesPerNumber = 32;
constexpr uint64_t kPredictSlackBytes = 64 << 10;
// An outcome report is four small integers: a few hundred bytes, 4 KiB with room to spare.
constexpr uint64_t kReportBodyBytes = 4 << 10;

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

Result<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 2 < in.size() ? hex(in[i + 1]) : -1, lo = hi < 0 ? -1 : hex(in[i + 2]);
      if (hi < 0 || lo < 0) return InvalidArgument("bad percent-encoding at offset %zu", i);
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
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

// An engine output as nested JSON arrays (the batch dimension of 1 dropped). kInternal when the
// engine returned data that does not match its own dtype and shape.
// `keep_batch`: as TF Serving's columnar "outputs", with the batch dimension.
Result<json> TensorToJson(const Tensor& t, bool keep_batch = false) {
  size_t es = DtypeSize(t.dtype);
  size_t count = 1;
  for (auto d : t.shape) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
  if (es == 0 || t.data.size() != count * es) {
    return Status(StatusCode::kInternal, "engine returned a malformed output '" + t.name + "'");
  }
  std::vector<int64_t> shape = t.shape;
  if (!keep_batch && !shape.empty() && shape[0] == 1) shape.erase(shape.begin());  // batch of 1
  size_t index = 0;
  return Nest(t, shape, 0, &index);
}

// "values": "real": each quantized output as float32 real values, (q - zero_point) * scale.
Status DequantizeOutputs(const std::vector<TensorSpec>& specs, std::vector<Tensor>* outs) {
  for (size_t i = 0; i < outs->size() && i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    Tensor& t = (*outs)[i];
    if (spec.scale.empty()) continue;
    if (spec.scale.size() != 1) {
      return InvalidArgument("output '%s' is quantized per channel: ask for raw values",
                             spec.name.c_str());
    }
    const size_t es = DtypeSize(t.dtype);
    if (es == 0 || t.data.size() % es != 0) {
      return Status(StatusCode::kInternal, "engine returned a malformed output '" + t.name + "'");
    }
    std::vector<uint8_t> real(t.data.size() / es * sizeof(float));
    for (size_t k = 0; k < t.data.size() / es; ++k) {
      int64_t q = 0;
      const uint8_t* p = t.data.data() + k * es;
      if (t.dtype == "int8")
        q = static_cast<int8_t>(*p);
      else if (t.dtype == "uint8")
        q = *p;
      else if (t.dtype == "int16") {
        int16_t x;
        std::memcpy(&x, p, 2);
        q = x;
      } else if (t.dtype == "int32") {
        int32_t x;
        std::memcpy(&x, p, 4);
        q = x;
      } else
        return Status(StatusCode::kInvalidArgument,
                      "output '" + t.name + "' of dtype " + t.dtype + " has no real values");
      const float f = static_cast<float>(q - spec.zero_point[0]) * spec.scale[0];
      std::memcpy(real.data() + k * sizeof(float), &f, sizeof(float));
    }
    t.dtype = "float32";
    t.data = std::move(real);
  }
  return Status::Ok();
}

// The outputs of one instance: the single output's value, or an object keyed by output name.
Result<json> OutputsToJson(const std::vector<Tensor>& outs, bool keep_batch = false) {
  if (outs.size() == 1) return TensorToJson(outs[0], keep_batch);
  json obj = json::object();
  for (auto& out : outs) {
    WISP_ASSIGN_OR_RETURN(obj[out.name], TensorToJson(out, keep_batch));
  }
  return obj;
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

Reply ModelNotFound(const std::string& name) {
  return ErrorReply(404, "model_not_found", "no model named '" + name + "'");
}

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

Reply StatusReply(const Status& status, std::initializer_list<ErrorCodeName> names) {
  struct Mapping {
    StatusCode code;
    unsigned http;
    const char* name;
  };
  static constexpr Mapping kMappings[] = {
      {StatusCode::kInvalidArgument, 400, "bad_request"},
      {StatusCode::kMalformed, 400, "malformed_json"},
      {StatusCode::kOutOfRange, 400, "bad_request"},
      {StatusCode::kInvalidModel, 400, "invalid_model"},
      {StatusCode::kUnsupported, 400, "bad_request"},
      {StatusCode::kNotFound, 404, "not_found"},
      {StatusCode::kFailedPrecondition, 409, "conflict"},
      {StatusCode::kResourceExhausted, 507, "insufficient_storage"},
      {StatusCode::kDataLoss, 500, "artifact_corrupt"},
      {StatusCode::kIoError, 500, "storage_error"},
  };
  Mapping m{status.code(), 500, "internal"};
  for (const Mapping& known : kMappings) {
    if (known.code == status.code()) m = known;
  }
  for (const ErrorCodeName& given : names) {
    if (given.code == status.code()) m.name = given.name;
  }
  return ErrorReply(m.http, m.name, status.message());
}

namespace {

std::string JoinScopes(const Token& t) {
  std::string out;
  for (const std::string& s : t.scopes) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

Handler::Handler(const ServerConfig& cfg, Registry* registry, ModelEngine* engine, Metrics* metrics,
                 const Ed25519Key* key, std::vector<Token> tokens)
    : cfg_(cfg),
      registry_(registry),
      engine_(engine),
      metrics_(metrics),
      key_(key),
      tokens_(std::move(tokens)),
      audit_(cfg.data_dir + "/audit.log"),
      file_cache_(cfg.file_cache_bytes,
                  [](const std::shared_ptr<const std::string>& data) { return data->size(); }),
      etag_cache_(cfg.etag_cache_entries),
      loaded_(cfg.model_cache_entries) {}

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
      Result<std::string> decoded = PercentDecode(raw, false);
      std::string seg = decoded.ok() ? std::move(decoded).value() : std::string();
      if (!decoded.ok() || seg == "." || seg == ".." || seg.find('/') != std::string::npos ||
          seg.find('\\') != std::string::npos || seg.find('\0') != std::string::npos ||
          seg.size() > 255) {
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
        Result<std::string> k = PercentDecode(pair.substr(0, eq), true);
        Result<std::string> v = eq == std::string_view::npos
                                    ? Result<std::string>(std::string())
                                    : PercentDecode(pair.substr(eq + 1), true);
        if (!k.ok() || !v.ok()) {
          t.ok = false;
          return t;
        }
        t.query[*k] = *v;
      }
      s = amp + 1;
    }
  }
  return t;
}

bool Handler::Authorized(const RequestHeader& req) const {
  const Token* t = FindToken(req);
  return t && t->Allows(TokenAction::kRead, "");
}

const Token* Handler::FindToken(const RequestHeader& req) const {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return nullptr;
  std::string_view v(it->value().data(), it->value().size());
  if (v.size() < 7 || Lower(std::string(v.substr(0, 7))) != "bearer ") return nullptr;
  std::string digest = Sha256Raw(Trim(v.substr(7)));
  const Token* match = nullptr;
  for (auto& t : tokens_) {
    if (ConstantTimeEquals(t.digest, digest)) match = &t;  // no early exit
  }
  return match;
}

std::string Handler::TokenId(const RequestHeader& req) const {
  if (req.find(http::field::authorization) == req.end()) return "";
  // A configured token's id names it without revealing it; an unknown credential gets no
  // digest in the log, as it may be a mistyped password.
  const Token* t = FindToken(req);
  return t ? t->id : "invalid";
}

bool Handler::IsWrite(const RequestHeader& req, const Target& t) {
  auto m = req.method();
  if (m != http::verb::post && m != http::verb::put && m != http::verb::delete_) return false;
  // Predictions and outcome reports are reads: they change nothing an operator owns (a report
  // can end a rollout only by the limits the operator set).
  if (!t.segments.empty() && (t.segments.back().find(":predict") != std::string::npos ||
                              t.segments.back().find(":report") != std::string::npos)) {
    return false;
  }
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

std::optional<Reply> Handler::Precheck(const RequestHeader& req, const std::string& client) {
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
  const bool write = IsWrite(req, t);
  bool needs_token = write || !cfg_.public_reads;
  if (!needs_token) return std::nullopt;
  // The scope a write needs, from its route (publish, channel or delete) and model name; a path
  // no route takes is left to Route (404/405) once a valid token is shown.
  TokenAction action = TokenAction::kRead;
  std::string model;
  if (write) {
    RouteLookup lookup = LookUp(t, req.method());
    const RouteEntry* route = lookup.by_pattern;
    action = !route                                 ? TokenAction::kPublish
             : route->fn == &Handler::Publish       ? TokenAction::kPublish
             : route->fn == &Handler::DeleteVersion ? TokenAction::kDelete
                                                    : TokenAction::kChannel;
    if (route) model = lookup.match["name"];
  }
  const Token* token = FindToken(req);
  if (token &&
      (model.empty() ? write || token->Allows(action, model) : token->Allows(action, model))) {
    return std::nullopt;
  }
  Reply r = tokens_.empty() ? ErrorReply(403, "forbidden",
                                         "this server has no tokens configured (--token-file)")
            : token         ? ErrorReply(403, "forbidden",
                                         "token '" + token->id + "' may not " + TokenActionName(action) +
                                             (model.empty() ? std::string() : " model '" + model + "'") +
                                             " (its scopes: " + JoinScopes(*token) + ")")
                            : ErrorReply(401, "unauthorized", "a valid bearer token is required");
  if (!tokens_.empty() && !token) r.Set("WWW-Authenticate", "Bearer");
  r.close = true;
  r.route = "auth";
  AddCors(req, &r);
  if (write) Audit(req, t, client, r);
  return r;
}

void Handler::Audit(const RequestHeader& req, const Target& t, const std::string& client,
                    const Reply& r) {
  RouteLookup lookup = LookUp(t, req.method());
  const RouteEntry* route = lookup.by_pattern;
  const char* action = !route                                 ? nullptr
                       : route->fn == &Handler::Publish       ? "publish"
                       : route->fn == &Handler::PutChannel    ? "set_channel"
                       : route->fn == &Handler::AbortRollout  ? "abort_rollout"
                       : route->fn == &Handler::DeleteChannel ? "delete_channel"
                       : route->fn == &Handler::DeleteVersion ? "delete_version"
                                                              : nullptr;
  if (!action) return;  // not a registry write (404/405 paths)
  json entry = {{"time", NowRfc3339()},
                {"token", req.find(http::field::authorization) == req.end() ? "-" : TokenId(req)},
                {"client", client.empty() ? "-" : client},
                {"action", action},
                {"model", lookup.match["name"]},
                {"status", r.status}};
  if (!lookup.match["channel"].empty()) entry["channel"] = lookup.match["channel"];
  if (!lookup.match["v"].empty()) entry["version"] = lookup.match.version();
  json body = r.body ? json::parse(*r.body, nullptr, /*allow_exceptions=*/false) : json();
  if (r.status < 300) {
    entry["result"] = "ok";
    // What the write did, from its answer: the version published or the channel's move.
    if (body.is_object() && body.contains("version")) entry["version"] = body["version"];
    if (body.is_object() && body.contains("previous_version")) {
      entry["previous_version"] = body["previous_version"];
    }
    // A channel write that staged, re-tuned, finished or aborted a rollout says so.
    if (body.is_object() && body.contains("action") && body["action"].is_string()) {
      entry["action"] = body["action"];
    }
    if (body.is_object() && body.contains("rollout") && body["rollout"].is_object()) {
      entry["rollout"] = body["rollout"];
    }
  } else {
    entry["result"] = body.is_object() && body.contains("error") && body["error"].is_object()
                          ? body["error"].value("code", "error")
                          : "error";
  }
  Status s = audit_.Append(entry);
  if (!s.ok()) std::cerr << "wisp-server: audit log: " << s.message() << std::endl;
}

Reply Handler::GetAudit(const Request& req, const RouteMatch& m) {
  const Token* token = FindToken(req);
  if (!token) {
    Reply r = ErrorReply(401, "unauthorized", "an admin bearer token is required");
    if (!tokens_.empty()) r.Set("WWW-Authenticate", "Bearer");
    return r;
  }
  if (!token->Allows(TokenAction::kAdmin, "")) {
    return ErrorReply(403, "forbidden", "token '" + token->id + "' is not an admin token");
  }
  auto number = [&](const char* key, uint64_t def) -> Result<uint64_t> {
    auto it = m.target->query.find(key);
    if (it == m.target->query.end()) return def;
    if (it->second.empty() || it->second.size() > 12 ||
        !std::all_of(it->second.begin(), it->second.end(), ::isdigit)) {
      return InvalidArgument("%s must be a non-negative integer", key);
    }
    return std::stoull(it->second);
  };
  Result<uint64_t> after = number("after", 0);
  Result<uint64_t> limit = number("limit", 100);
  if (!after.ok()) return StatusReply(after.status());
  if (!limit.ok()) return StatusReply(limit.status());
  Result<json> page = audit_.Page(*after, std::clamp<uint64_t>(*limit, 1, 1000));
  if (!page.ok()) return StatusReply(page.status());
  Reply r;
  r.Set("Cache-Control", "no-store");
  r.SetBody(JsonText(*page), kJson);
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
  if (!t.ok) return {};
  // A predict route by its pattern: one with an invalid name is answered 400 by Route, and its
  // body is held to the small limit of an unknown model meanwhile.
  RouteLookup lookup = LookUp(t, req.method());
  const RouteEntry* route = lookup.by_pattern;
  const bool by_channel = route && route->fn == &Handler::PredictChannel;
  const bool by_default = route && route->fn == &Handler::PredictDefault;
  if (route && route->fn == &Handler::ReportOutcome) {
    PredictBudget report;
    report.body_limit = std::min<uint64_t>(kReportBodyBytes, cfg_.max_body_bytes);
    return report;
  }
  if (!route || (route->fn != &Handler::PredictVersion && !by_channel && !by_default)) return {};
  const VersionInfo* info = nullptr;
  auto snap = registry_->Get(lookup.match["name"]);
  int64_t v = 0;
  if (snap && by_channel) {
    auto it = snap->channels.find(lookup.match["channel"]);
    if (it != snap->channels.end()) v = it->second;
  } else if (snap && by_default) {
    v = DefaultVersion(*snap);
  } else if (snap) {
    v = lookup.match.version();
  }
  if (snap) {
    auto it = snap->versions.find(v);
    if (it != snap->versions.end()) info = &it->second;
  }
  // `snap` keeps `info` alive only in here; BudgetFor copies what it needs.
  return BudgetFor(req, info);
}

Reply Handler::Handle(const Request& req, const std::string& client) {
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
            "X-Wisp-Label, X-Wisp-Client");
      r.Set("Access-Control-Max-Age", "600");
    }
  } else {
    std::optional<Reply> denied = Precheck(req, client);
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
      if (IsWrite(req, t)) Audit(req, t, client, r);
    }
  }
  if (req.method() == http::verb::head) {
    r.head = true;
  }
  ShapeTfServingError(req, &r);
  AddCors(req, &r);
  return r;
}

void Handler::ShapeTfServingError(const RequestHeader& req, Reply* r) {
  if (r->status < 400 || !r->body) return;
  Target t = ParseTarget(std::string_view(req.target().data(), req.target().size()));
  const auto& s = t.segments;
  const bool tf_path = t.ok && s.size() >= 3 && s[0] == "v1" && s[1] == "models" &&
                       (s.back().find(":predict") != std::string::npos || s.back() == "metadata" ||
                        (s.size() >= 4 && s[3] == "labels"));
  if (!tf_path) return;
  json j = json::parse(*r->body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return;
  json flat = {{"error", j["error"].value("message", "")}, {"code", j["error"].value("code", "")}};
  // The Content-Type (JSON) is already set.
  r->SetShared(std::make_shared<const std::string>(JsonText(flat) + "\n"), "");
}

const std::string& Handler::RouteMatch::operator[](std::string_view param) const {
  for (auto& [k, v] : params) {
    if (k == param) return v;
  }
  static const std::string kNone;
  return kNone;
}

int64_t Handler::RouteMatch::version() const {
  Result<int64_t> v = ParseVersion((*this)["v"]);
  return v.ok() ? *v : 0;
}

const std::vector<Handler::RouteEntry>& Handler::Routes() {
  using V = http::verb;
  static const std::vector<RouteEntry> kRoutes = {
      {{V::get}, "/healthz", &Handler::Healthz, "/healthz"},
      {{V::get}, "/readyz", &Handler::Readyz, "/readyz"},
      {{V::get}, "/metrics", &Handler::MetricsText, "/metrics"},
      {{V::get}, "/v1/models", &Handler::ListModels, "/v1/models"},
      {{V::get}, "/v1/signing-key", &Handler::SigningKey, "/v1/signing-key"},
      {{V::get}, "/v1/audit", &Handler::GetAudit, "/v1/audit"},
      {{V::get}, "/v1/models/{name}", &Handler::GetModel, "/v1/models/{name}"},
      {{V::post}, "/v1/models/{name}/versions", &Handler::Publish, "/v1/models/{name}/versions"},
      {{V::get},
       "/v1/models/{name}/versions/{v}",
       &Handler::GetManifest,
       "/v1/models/{name}/versions/{v}"},
      {{V::delete_},
       "/v1/models/{name}/versions/{v}",
       &Handler::DeleteVersion,
       "/v1/models/{name}/versions/{v}"},
      {{V::post},
       "/v1/models/{name}/versions/{v}:predict",
       &Handler::PredictVersion,
       "/v1/models/{name}/versions/{v}:predict"},
      {{V::get},
       "/v1/models/{name}/versions/{v}/model.wisp",
       &Handler::GetArtifact,
       "/v1/models/{name}/versions/{v}/model.wisp"},
      {{V::get},
       "/v1/models/{name}/channels/{channel}",
       &Handler::GetChannel,
       "/v1/models/{name}/channels/{channel}"},
      {{V::put},
       "/v1/models/{name}/channels/{channel}",
       &Handler::PutChannel,
       "/v1/models/{name}/channels/{channel}"},
      {{V::delete_},
       "/v1/models/{name}/channels/{channel}",
       &Handler::DeleteChannel,
       "/v1/models/{name}/channels/{channel}"},
      {{V::delete_},
       "/v1/models/{name}/channels/{channel}/rollout",
       &Handler::AbortRollout,
       "/v1/models/{name}/channels/{channel}/rollout"},
      {{V::post},
       "/v1/models/{name}/versions/{v}:report",
       &Handler::ReportOutcome,
       "/v1/models/{name}/versions/{v}:report"},
      {{V::post},
       "/v1/models/{name}/channels/{channel}:predict",
       &Handler::PredictChannel,
       "/v1/models/{name}/channels/{channel}:predict"},
      // TF Serving's REST paths: labels are channels; a path without a version or label means
      // the `stable` channel, else the latest version.
      {{V::post},
       "/v1/models/{name}:predict",
       &Handler::PredictDefault,
       "/v1/models/{name}:predict"},
      {{V::get},
       "/v1/models/{name}/metadata",
       &Handler::GetModelMetadata,
       "/v1/models/{name}/metadata"},
      {{V::get},
       "/v1/models/{name}/versions/{v}/metadata",
       &Handler::GetVersionMetadata,
       "/v1/models/{name}/versions/{v}/metadata"},
      {{V::get},
       "/v1/models/{name}/labels/{channel}",
       &Handler::GetChannel,
       "/v1/models/{name}/labels/{label}"},
      {{V::get},
       "/v1/models/{name}/labels/{channel}/metadata",
       &Handler::GetLabelMetadata,
       "/v1/models/{name}/labels/{label}/metadata"},
      {{V::post},
       "/v1/models/{name}/labels/{channel}:predict",
       &Handler::PredictChannel,
       "/v1/models/{name}/labels/{label}:predict"},
  };
  return kRoutes;
}

namespace {

// A route pattern split into segments: a literal, or a parameter with an optional ":action"
// suffix ("{v}:predict").
struct PatternSegment {
  std::string literal;  // empty for a parameter
  std::string param;
  std::string action;  // ":predict" or empty
};

std::vector<PatternSegment> SplitPattern(std::string_view pattern) {
  std::vector<PatternSegment> out;
  size_t start = 1;
  while (start < pattern.size()) {
    size_t slash = pattern.find('/', start);
    if (slash == std::string_view::npos) slash = pattern.size();
    std::string_view seg = pattern.substr(start, slash - start);
    PatternSegment p;
    size_t close = seg.find('}');
    if (!seg.empty() && seg[0] == '{' && close != std::string_view::npos) {
      p.param = std::string(seg.substr(1, close - 1));
      p.action = std::string(seg.substr(close + 1));
    } else {
      p.literal = std::string(seg);
    }
    out.push_back(std::move(p));
    start = slash + 1;
  }
  return out;
}

// Matches one path segment. Where some route has a "{param}:action" segment (`actions_here`),
// a segment holding ':' is an action call: it matches only such a segment, and the parameter is
// what precedes the first ':'. Elsewhere a parameter takes the whole segment (and its rule may
// refuse the ':').
bool MatchSegment(const PatternSegment& p, const std::string& seg, bool actions_here,
                  std::string* value) {
  if (p.param.empty()) return seg == p.literal;
  size_t colon = seg.find(':');
  if (p.action.empty()) {
    if (colon != std::string::npos && actions_here) return false;
    *value = seg;
    return true;
  }
  if (colon == std::string::npos || seg.compare(colon, std::string::npos, p.action) != 0) {
    return false;
  }
  *value = seg.substr(0, colon);
  return true;
}

// What a path parameter must look like, and the 400 answer when it does not.
struct ParamRule {
  const char* param;
  bool (*valid)(const std::string&);
  const char* code;
  const char* message;
};

bool ValidVersion(const std::string& s) { return ParseVersion(s).ok(); }

constexpr ParamRule kParamRules[] = {
    {"name", IsValidName, "invalid_name", "model names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
    {"v", ValidVersion, "invalid_version", "versions are positive integers"},
    {"channel", IsValidName, "invalid_name",
     "channel names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
};

const ParamRule* RuleFor(const std::string& param) {
  for (auto& rule : kParamRules) {
    if (param == rule.param) return &rule;
  }
  return nullptr;
}

// "GET, HEAD, POST, PUT, DELETE" order, whatever order the table lists methods in.
std::string AllowHeader(const std::vector<http::verb>& methods) {
  static const std::pair<http::verb, const char*> kOrder[] = {{http::verb::get, "GET, HEAD"},
                                                              {http::verb::post, "POST"},
                                                              {http::verb::put, "PUT"},
                                                              {http::verb::delete_, "DELETE"}};
  std::string allow;
  for (auto& [verb, text] : kOrder) {
    if (std::find(methods.begin(), methods.end(), verb) == methods.end()) continue;
    if (!allow.empty()) allow += ", ";
    allow += text;
  }
  return allow;
}

}  // namespace

std::vector<Handler::RouteInfo> Handler::RouteTable() {
  std::vector<RouteInfo> out;
  std::vector<std::vector<http::verb>> methods;
  for (auto& e : Routes()) {
    size_t i = 0;
    while (i < out.size() && out[i].pattern != e.pattern) ++i;
    if (i == out.size()) {
      out.push_back({"", e.pattern, e.name});
      methods.emplace_back();
    }
    methods[i].insert(methods[i].end(), e.methods.begin(), e.methods.end());
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].allow = AllowHeader(methods[i]);
  return out;
}

Handler::RouteLookup Handler::LookUp(const Target& t, http::verb method) {
  static const std::vector<std::vector<PatternSegment>> kPatterns = [] {
    std::vector<std::vector<PatternSegment>> out;
    for (auto& e : Routes()) out.push_back(SplitPattern(e.pattern));
    return out;
  }();
  static const std::vector<bool> kActionsAt = [] {
    std::vector<bool> out;
    for (auto& pattern : kPatterns) {
      for (size_t i = 0; i < pattern.size(); ++i) {
        if (out.size() <= i) out.resize(i + 1);
        if (!pattern[i].action.empty()) out[i] = true;
      }
    }
    return out;
  }();
  const auto& s = t.segments;
  if (method == http::verb::head) method = http::verb::get;

  // One pass over the table: the first route matching path and method, the methods of every
  // route matching the path, and the earliest invalid parameter of any route the path is
  // under (its pattern goes on past the parameter, or the path ends there).
  RouteLookup out;
  out.match.target = &t;
  size_t invalid_at = s.size();
  const auto& routes = Routes();
  for (size_t r = 0; r < routes.size(); ++r) {
    const auto& pattern = kPatterns[r];
    std::vector<std::pair<std::string, std::string>> params;
    size_t i = 0;
    std::string route_so_far;
    bool params_valid = true;
    for (; i < pattern.size() && i < s.size(); ++i) {
      std::string value;
      if (!MatchSegment(pattern[i], s[i], kActionsAt[i], &value)) break;
      route_so_far +=
          "/" + (pattern[i].param.empty() ? pattern[i].literal : "{" + pattern[i].param + "}");
      if (pattern[i].param.empty()) continue;
      const ParamRule* rule = RuleFor(pattern[i].param);
      if (params_valid && rule && !rule->valid(value)) {
        params_valid = false;
        bool under = i + 1 < pattern.size() || i + 1 == s.size();
        if (under && i < invalid_at) {
          invalid_at = i;
          out.invalid_code = rule->code;
          out.invalid_message = rule->message;
          out.invalid_route = route_so_far;
        }
      }
      params.emplace_back(pattern[i].param, std::move(value));
    }
    if (i != pattern.size() || i != s.size()) continue;
    const bool method_ok = std::find(routes[r].methods.begin(), routes[r].methods.end(), method) !=
                           routes[r].methods.end();
    if (method_ok && !out.by_pattern) {
      out.by_pattern = &routes[r];
      out.match.params = params;
    }
    if (!params_valid) continue;
    if (!out.path_match) out.path_match = &routes[r];
    out.allowed.insert(out.allowed.end(), routes[r].methods.begin(), routes[r].methods.end());
    if (method_ok && !out.found) {
      out.found = &routes[r];
      out.by_pattern = out.found;
      out.match.params = std::move(params);
    }
  }
  return out;
}

Reply Handler::Route(const Request& req, const Target& t) {
  const auto& s = t.segments;
  http::verb method = req.method() == http::verb::head ? http::verb::get : req.method();
  RouteLookup lookup = LookUp(t, method);
  Reply r;
  if (lookup.invalid_code) {
    r = ErrorReply(400, lookup.invalid_code, lookup.invalid_message);
    r.route = lookup.invalid_route;
  } else if (lookup.found) {
    r = (this->*lookup.found->fn)(req, lookup.match);
    r.route = lookup.found->name;
  } else if (lookup.path_match) {
    std::string allow = AllowHeader(lookup.allowed);
    r = ErrorReply(405, "method_not_allowed", "method not allowed here; allowed: " + allow);
    r.Set("Allow", allow);
    r.route = lookup.path_match->name;
  } else if (!cfg_.web_dir.empty() && (s.empty() || s[0] != "v1")) {
    if (method != http::verb::get) {
      r = ErrorReply(405, "method_not_allowed", "method not allowed here; allowed: GET, HEAD");
      r.Set("Allow", "GET, HEAD");
    } else {
      r = Static(req, t);
    }
    r.route = "static";
  } else {
    r = ErrorReply(404, "not_found", "unknown endpoint");
    r.route = "other";
  }
  return r;
}

Reply Handler::Healthz(const Request&, const RouteMatch&) {
  Reply r;
  r.Set("Cache-Control", "no-store");
  r.SetBody("{\"status\":\"ok\"}\n", kJson);
  return r;
}

Reply Handler::Readyz(const Request&, const RouteMatch&) {
  Reply r;
  r.Set("Cache-Control", "no-store");
  bool ready = engine_->available();
  json j = {{"status", ready ? "ready" : "not_ready"},
            {"engine", engine_->name()},
            {"models", registry_->model_count()}};
  if (!ready) j["reason"] = "model engine unavailable: publishing and prediction are disabled";
  r.status = ready ? 200 : 503;
  r.SetBody(JsonText(j) + "\n", kJson);
  return r;
}

Reply Handler::MetricsText(const Request& req, const RouteMatch&) {
  if (!cfg_.public_reads && !Authorized(req)) {
    return ErrorReply(401, "unauthorized", "a valid bearer token is required");
  }
  Reply r;
  r.Set("Cache-Control", "no-store");
  Caches caches = cache_stats();
  r.SetBody(
      metrics_->Render(loaded_models(), registry_->model_count(),
                       {{"file", caches.files}, {"etag", caches.etags}, {"model", caches.models}}) +
          RolloutMetrics(),
      "text/plain; version=0.0.4; charset=utf-8");
  return r;
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

Result<std::string> Handler::ReadVerified(const std::string& path,
                                          const std::string& sha256) const {
  Result<std::string> data = ReadFileText(path);
  if (!data.ok()) {
    return Status(data.status().code(), "artifact unreadable: " + data.status().message());
  }
  std::string actual = Sha256Hex(*data);
  if (actual == sha256) return data;
  // Name the file relative to the data directory: clients need not learn the server's layout.
  std::string rel =
      path.rfind(cfg_.data_dir + "/", 0) == 0 ? path.substr(cfg_.data_dir.size() + 1) : path;
  Status corrupt(StatusCode::kDataLoss, "artifact corrupt: " + rel + " has sha256 " + actual +
                                            ", the registry recorded " + sha256 +
                                            "; refusing to serve or run it");
  std::cerr << "wisp-server: " << corrupt.message() << std::endl;
  return corrupt;
}

Result<std::shared_ptr<const std::string>> Handler::LoadCached(const std::string& key,
                                                               const std::string& path,
                                                               const std::string* sha256) {
  if (auto hit = file_cache_.Get(key)) return *hit;
  Result<std::string> data = sha256 ? ReadVerified(path, *sha256) : ReadFileText(path);
  if (!data.ok()) return data.status();
  return file_cache_.Put(key, std::make_shared<const std::string>(std::move(data).value()));
}

Handler::Caches Handler::cache_stats() const {
  return {file_cache_.stats(), etag_cache_.stats(), loaded_.stats()};
}

Reply Handler::ListModels(const Request& req, const RouteMatch&) {
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

Reply Handler::GetModel(const Request& req, const RouteMatch& m) {
  const std::string& name = m["name"];
  auto s = registry_->Get(name);
  if (!s) return ModelNotFound(name);
  return ServeBytes(req, s->model_json.body, s->model_json.etag, kJson, "no-cache", false);
}

Reply Handler::GetManifest(const Request& req, const RouteMatch& m) {
  const std::string& name = m["name"];
  const std::string& vs = m["v"];
  const int64_t v = m.version();
  auto s = registry_->Get(name);
  if (!s) return ModelNotFound(name);
  auto it = s->manifest_json.find(v);
  if (it == s->manifest_json.end()) {
    return ErrorReply(404, "version_not_found", "model '" + name + "' has no version " + vs);
  }
  return ServeBytes(req, it->second.body, it->second.etag, kJson, "public, max-age=300", false);
}

Reply Handler::Metadata(const Request& req, const ModelSnapshot& s, int64_t version) {
  auto it = s.metadata_json.find(version);
  if (it == s.metadata_json.end()) {
    return ErrorReply(404, "version_not_found",
                      version == 0
                          ? "model '" + s.name + "' has no version"
                          : "model '" + s.name + "' has no version " + std::to_string(version));
  }
  return ServeBytes(req, it->second.body, it->second.etag, kJson, "no-cache", false);
}

Reply Handler::GetModelMetadata(const Request& req, const RouteMatch& m) {
  auto s = registry_->Get(m["name"]);
  if (!s) return ModelNotFound(m["name"]);
  return Metadata(req, *s, DefaultVersion(*s));
}

Reply Handler::GetVersionMetadata(const Request& req, const RouteMatch& m) {
  auto s = registry_->Get(m["name"]);
  if (!s) return ModelNotFound(m["name"]);
  return Metadata(req, *s, m.version());
}

// The stable random id a client sends to be assigned consistently during rollouts ("" if none).
static std::string ClientId(const RequestHeader& req) {
  auto it = req.find("X-Wisp-Client");
  if (it == req.end() || it->value().size() > 128) return "";
  return Trim(std::string_view(it->value().data(), it->value().size()));
}

Reply Handler::OnChannel(const Request& req, const RouteMatch& m,
                         const std::function<Reply(const ModelSnapshot&, int64_t)>& then) {
  const std::string& name = m["name"];
  const std::string& ch = m["channel"];
  auto snap = registry_->Get(name);
  if (!snap) return ModelNotFound(name);
  const int64_t v = ChannelVersionFor(*snap, ch, ClientId(req));
  if (v == 0) {
    return ErrorReply(404, "channel_not_found", "model '" + name + "' has no channel '" + ch + "'");
  }
  Reply r = then(*snap, v);
  // Shared caches must key the answer by client while a rollout splits them.
  if (snap->rollouts.count(ch)) r.Set("Vary", "X-Wisp-Client");
  return r;
}

Reply Handler::GetLabelMetadata(const Request& req, const RouteMatch& m) {
  return OnChannel(req, m, [&](const ModelSnapshot& s, int64_t v) { return Metadata(req, s, v); });
}

Reply Handler::GetChannel(const Request& req, const RouteMatch& m) {
  return OnChannel(req, m, [&](const ModelSnapshot& s, int64_t v) {
    const std::string& ch = m["channel"];
    const std::string cache = "public, max-age=" + std::to_string(cfg_.channel_max_age_s);
    auto rollout = s.rollouts.find(ch);
    Reply r;
    if (rollout == s.rollouts.end()) {
      // Render writes a channel document for every channel of the snapshot.
      const RenderedJson& doc = s.channel_json.at(ch);
      r = ServeBytes(req, doc.body, doc.etag, kJson, cache, false);
    } else {
      // The manifest this client gets (signed, same sequence either way) plus the rollout's live
      // state: versions, percent, limits and the reports so far.
      const Rollout& ro = rollout->second;
      const RenderedJson& doc = v == ro.version ? s.rollout_json.at(ch) : s.channel_json.at(ch);
      json body = json::parse(*doc.body);
      auto [base_counts, new_counts] = registry_->RolloutReports(s.name, ch);
      auto counts = [](const OutcomeCounts& c) {
        return json{{"reports", c.reports},         {"loads", c.loads},
                    {"load_errors", c.load_errors}, {"runs", c.runs},
                    {"run_errors", c.run_errors},   {"error_rate", c.ErrorRate()}};
      };
      const int64_t base = s.channels.at(ch);
      body["rollout"] = {
          {"version", ro.version},
          {"base_version", base},
          {"percent", ro.percent},
          {"started", ro.started},
          {"max_error_rate", ro.max_error_rate < 0 ? json(nullptr) : json(ro.max_error_rate)},
          {"min_reports", ro.min_reports},
          {"margin", ro.margin},
          {"reports",
           {{std::to_string(base), counts(base_counts)},
            {std::to_string(ro.version), counts(new_counts)}}},
          {"client_in_rollout", v == ro.version}};
      std::string text = JsonText(body);
      const std::string etag = ContentEtag(text);
      r = ServeBytes(req, std::make_shared<const std::string>(std::move(text)), etag, kJson, cache,
                     false);
    }
    r.Set("X-Wisp-Model-Version", std::to_string(v));
    return r;
  });
}

Reply Handler::GetArtifact(const Request& req, const RouteMatch& m) {
  const std::string& name = m["name"];
  const std::string& vs = m["v"];
  const int64_t v = m.version();
  auto s = registry_->Get(name);
  if (!s) return ModelNotFound(name);
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
    auto cached =
        LoadCached(info.gzip_sha256, registry_->ArtifactPath(name, v, true), &info.gzip_sha256);
    if (cached.ok()) {
      std::shared_ptr<const std::string> data = std::move(cached).value();
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
      r.artifact = r.status == 200;
      // RFC 9530: the digest of the selected representation, here the gzip-coded bytes.
      if (r.status != 304) r.Set("Repr-Digest", ReprDigest(info.gzip_sha256));
      return r;
    }
  }
  auto data = LoadCached(info.sha256, registry_->ArtifactPath(name, v, false), &info.sha256);
  if (!data.ok()) {
    // Corrupt (kDataLoss) or unreadable: either way the server's own store failed, never a 404.
    const Status& failed = data.status();
    return StatusReply(failed.code() == StatusCode::kDataLoss
                           ? failed
                           : Status(StatusCode::kIoError, failed.message()));
  }
  Reply r = ServeBytes(req, *data, etag, "application/octet-stream", kImmutable, true);
  if (info.gzip_size > 0) r.Set("Vary", "Accept-Encoding");
  r.Set("X-Wisp-Model-Version", vs);
  r.artifact = r.status == 200 || r.status == 206;
  // RFC 9530: the whole artifact's digest, also on 206 replies (a client checks the file it
  // assembles from ranges against it), beside the ETag.
  if (r.status != 304) r.Set("Repr-Digest", ReprDigest(info.sha256));
  return r;
}

Reply Handler::SigningKey(const Request&, const RouteMatch&) {
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

Reply Handler::Publish(const Request& req, const RouteMatch& m) {
  const std::string& name = m["name"];
  const Target& t = *m.target;
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
    return ErrorReply(400, "invalid_model", "model rejected: " + validated.status().message());
  }
  if (validated.value().wisp_bytes.empty()) {
    return ErrorReply(500, "internal", "engine accepted the model but produced no bytes");
  }
  Result<VersionInfo> published = registry_->Publish(name, validated.value(), label);
  if (!published.ok()) {
    return StatusReply(published.status(), {{StatusCode::kInvalidArgument, "invalid_label"}});
  }
  const VersionInfo& info = published.value();
  // Point a channel at the new version in the same request when asked (?channel=stable).
  if (t.query.count("channel")) {
    const std::string& ch = t.query.at("channel");
    if (!IsValidName(ch)) return ErrorReply(400, "invalid_name", "invalid channel name");
    Result<int64_t> set = registry_->SetChannel(name, ch, info.version);
    if (!set.ok()) return StatusReply(set.status(), {{StatusCode::kNotFound, "version_not_found"}});
  }
  auto snap = registry_->Get(name);
  Reply r;
  r.status = 201;
  r.SetShared(snap->manifest_json.at(info.version).body, kJson);
  r.Set("Location", "/v1/models/" + name + "/versions/" + std::to_string(info.version));
  r.Set("Cache-Control", "no-store");
  return r;
}

Reply Handler::PutChannel(const Request& req, const RouteMatch& m) {
  const std::string& name = m["name"];
  const std::string& ch = m["channel"];
  json j = json::parse(req.body(), nullptr, false);
  if (j.is_discarded()) return ErrorReply(400, "malformed_json", "request body is not valid JSON");
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int64_t>() <= 0) {
    return ErrorReply(400, "bad_request", "expected {\"version\": <positive integer>}");
  }
  int64_t v = j["version"].get<int64_t>();
  // Models are never removed: once seen, a kNotFound from the registry is about the version.
  auto before = registry_->Get(name);
  if (!before) return ModelNotFound(name);
  if (j.contains("rollout") && !j["rollout"].is_null()) return StageRollout(j, name, ch, v);
  const bool ends_rollout = before->rollouts.count(ch) > 0;
  const bool finishes = ends_rollout && before->rollouts.at(ch).version == v;
  Result<int64_t> set = registry_->SetChannel(name, ch, v);
  if (!set.ok()) return StatusReply(set.status(), {{StatusCode::kNotFound, "version_not_found"}});
  const int64_t prev = set.value();
  Reply r;
  json out = {{"name", name},
              {"channel", ch},
              {"version", v},
              {"previous_version", prev ? json(prev) : json(nullptr)}};
  if (ends_rollout) out["action"] = finishes ? "finish_rollout" : "abort_rollout";
  r.SetBody(JsonText(out), kJson);
  r.Set("Cache-Control", "no-store");
  return r;
}

Reply Handler::StageRollout(const json& j, const std::string& name, const std::string& ch,
                            int64_t v) {
  const json& spec = j["rollout"];
  auto number = [&](const char* key, double lo, double hi, double def) -> Result<double> {
    if (!spec.contains(key) || spec[key].is_null()) return def;
    if (!spec[key].is_number() || !(spec[key].get<double>() >= lo && spec[key].get<double>() <= hi))
      return InvalidArgument("rollout.%s must be a number in [%g, %g]", key, lo, hi);
    return spec[key].get<double>();
  };
  if (!spec.is_object() || !spec.contains("percent")) {
    return ErrorReply(400, "bad_request",
                      "expected \"rollout\": {\"percent\": (0, 100], \"max_error_rate\": "
                      "[0, 1], \"min_reports\": n, \"margin\": [0, 1]}");
  }
  Rollout r;
  r.version = v;
  Result<double> percent = number("percent", 0, 100, 0);
  Result<double> max_rate = number("max_error_rate", 0, 1, -1);
  Result<double> min_reports = number("min_reports", 1, 1e12, 1);
  Result<double> margin = number("margin", 0, 1, 0);
  for (const Result<double>* n : {&percent, &max_rate, &min_reports, &margin}) {
    if (!n->ok()) return ErrorReply(400, "bad_request", n->status().message());
  }
  if (*percent <= 0) return ErrorReply(400, "bad_request", "rollout.percent must be above 0");
  r.percent = *percent;
  r.max_error_rate = *max_rate;
  r.min_reports = static_cast<int64_t>(*min_reports);
  r.margin = *margin;
  auto before = registry_->Get(name);
  const bool retune = before && before->rollouts.count(ch) && before->rollouts.at(ch).version == v;
  if (Status staged = registry_->StageRollout(name, ch, r); !staged.ok()) {
    return StatusReply(staged, {{StatusCode::kNotFound, "not_found"}});
  }
  auto s = registry_->Get(name);
  json out = {{"name", name},
              {"channel", ch},
              {"version", s->channels.at(ch)},
              {"action", retune ? "change_rollout" : "stage_rollout"},
              {"rollout",
               {{"version", v},
                {"percent", r.percent},
                {"max_error_rate", r.max_error_rate < 0 ? json(nullptr) : json(r.max_error_rate)},
                {"min_reports", r.min_reports},
                {"margin", r.margin}}}};
  Reply reply;
  reply.SetBody(JsonText(out), kJson);
  reply.Set("Cache-Control", "no-store");
  return reply;
}

Reply Handler::AbortRollout(const Request&, const RouteMatch& m) {
  Result<RolloutEnd> end =
      registry_->AbortRollout(m["name"], m["channel"], "aborted by an operator");
  if (!end.ok()) return StatusReply(end.status(), {{StatusCode::kNotFound, "rollout_not_found"}});
  json out = {{"name", m["name"]},
              {"channel", m["channel"]},
              {"version", end->base_version},
              {"rollout", {{"version", end->version}, {"state", end->state}}}};
  Reply r;
  r.SetBody(JsonText(out), kJson);
  r.Set("Cache-Control", "no-store");
  return r;
}

Reply Handler::ReportOutcome(const Request& req, const RouteMatch& m) {
  json j = json::parse(req.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return ErrorReply(400, "malformed_json", "a report is a JSON object");
  }
  OutcomeCounts c;
  c.reports = 1;
  for (auto [key, field] : {std::pair{"loads", &c.loads},
                            {"load_errors", &c.load_errors},
                            {"runs", &c.runs},
                            {"run_errors", &c.run_errors}}) {
    if (!j.contains(key)) continue;
    // Bounded so that one report cannot outweigh every other client's by itself.
    if (!j[key].is_number_unsigned() || j[key].get<uint64_t>() > 1000000) {
      return ErrorReply(400, "bad_request",
                        std::string(key) + " must be an integer in [0, 1000000]");
    }
    *field = j[key].get<int64_t>();
  }
  if (c.events() == 0) {
    return ErrorReply(400, "bad_request",
                      "a report counts at least one of loads, load_errors, runs, run_errors");
  }
  auto ended = registry_->Report(m["name"], m.version(), c);
  if (!ended.ok()) return StatusReply(ended.status(), {{StatusCode::kNotFound, "not_found"}});
  for (auto& [ch, end] : *ended) {
    automatic_rollbacks_++;
    json entry = {{"time", NowRfc3339()},
                  {"token", "-"},
                  {"client", "-"},
                  {"action", "rollback"},
                  {"model", m["name"]},
                  {"channel", ch},
                  {"version", end.base_version},
                  {"rollout", RolloutEndToJson(end)},
                  {"status", 200},
                  {"result", "ok"}};
    if (Status s = audit_.Append(entry); !s.ok()) {
      std::cerr << "wisp-server: audit log: " << s.message() << std::endl;
    }
    std::cerr << "wisp-server: model " << m["name"] << " channel " << ch << ": " << end.reason
              << std::endl;
  }
  Reply r;
  r.status = 202;
  json out = {{"accepted", true}};
  if (!ended->empty()) {
    json rolled = json::array();
    for (auto& [ch, end] : *ended) rolled.push_back({{"channel", ch}, {"reason", end.reason}});
    out["rolled_back"] = rolled;
  }
  r.SetBody(JsonText(out), kJson);
  r.Set("Cache-Control", "no-store");
  return r;
}

std::string Handler::RolloutMetrics() const {
  std::string out =
      "# HELP wisp_rollout_percent Share of clients (percent) given a channel's rollout version.\n"
      "# TYPE wisp_rollout_percent gauge\n";
  std::string reports =
      "# HELP wisp_rollout_reports_total Outcomes reported during a rollout, by version and kind.\n"
      "# TYPE wisp_rollout_reports_total counter\n";
  for (auto& s : registry_->List()) {
    for (auto& [ch, r] : s->rollouts) {
      const std::string base = std::to_string(s->channels.at(ch));
      const std::string v = std::to_string(r.version);
      const std::string labels = "model=\"" + s->name + "\",channel=\"" + ch + "\"";
      out += "wisp_rollout_percent{" + labels + ",version=\"" + v + "\",base_version=\"" + base +
             "\"} " + JsonText(json(r.percent)) + "\n";
      auto [base_counts, new_counts] = registry_->RolloutReports(s->name, ch);
      for (auto [version, c] : {std::pair{base, base_counts}, {v, new_counts}}) {
        for (auto [kind, n] : {std::pair{"reports", c.reports},
                               {"loads", c.loads},
                               {"load_errors", c.load_errors},
                               {"runs", c.runs},
                               {"run_errors", c.run_errors}}) {
          reports += "wisp_rollout_reports_total{" + labels + ",version=\"" + version +
                     "\",kind=\"" + kind + "\"} " + std::to_string(n) + "\n";
        }
      }
    }
  }
  return out + reports +
         "# HELP wisp_rollout_automatic_rollbacks_total Rollouts the server aborted by their "
         "limits.\n# TYPE wisp_rollout_automatic_rollbacks_total counter\n"
         "wisp_rollout_automatic_rollbacks_total " +
         std::to_string(automatic_rollbacks_.load()) + "\n";
}

Reply Handler::DeleteChannel(const Request&, const RouteMatch& m) {
  const std::string& name = m["name"];
  const std::string& ch = m["channel"];
  if (Status deleted = registry_->DeleteChannel(name, ch); !deleted.ok()) {
    return StatusReply(deleted, {{StatusCode::kNotFound, "channel_not_found"}});
  }
  Reply r;
  r.status = 204;
  r.no_length = true;
  return r;
}

Reply Handler::DeleteVersion(const Request&, const RouteMatch& m) {
  const std::string& name = m["name"];
  const int64_t v = m.version();
  if (!registry_->Get(name)) return ModelNotFound(name);  // then kNotFound is the version's
  if (Status deleted = registry_->DeleteVersion(name, v); !deleted.ok()) {
    return StatusReply(deleted, {{StatusCode::kNotFound, "version_not_found"},
                                 {StatusCode::kFailedPrecondition, "version_in_use"}});
  }
  loaded_.Erase({name, v});
  Reply r;
  r.status = 204;
  r.no_length = true;
  return r;
}

size_t Handler::loaded_models() const { return loaded_.size(); }

Result<std::shared_ptr<Handler::Loaded>> Handler::GetLoaded(const std::string& name,
                                                            int64_t version) {
  // An entry evicted while in use stays alive for its users and is loaded again when next asked.
  std::shared_ptr<Loaded> entry =
      loaded_.GetOrInsert({name, version}, [] { return std::make_shared<Loaded>(); });
  std::lock_guard lock(entry->mu);
  if (!entry->model) {
    auto snap = registry_->Get(name);
    auto it = snap ? snap->versions.find(version) : decltype(snap->versions.end()){};
    if (!snap || it == snap->versions.end()) {
      loaded_.Erase({name, version});
      return NotFound("version %lld is gone", static_cast<long long>(version));
    }
    Result<std::string> data =
        ReadVerified(registry_->ArtifactPath(name, version, false), it->second.sha256);
    if (!data.ok()) {
      loaded_.Erase({name, version});
      return data.status();
    }
    auto loaded = engine_->Load(std::vector<uint8_t>(data->begin(), data->end()));
    if (!loaded.ok()) {
      loaded_.Erase({name, version});
      return loaded.status();
    }
    entry->model = loaded.value();
  }
  return entry;
}

Reply Handler::PredictVersion(const Request& req, const RouteMatch& m) {
  return Predict(req, m["name"], m.version());
}

Reply Handler::PredictChannel(const Request& req, const RouteMatch& m) {
  return OnChannel(req, m,
                   [&](const ModelSnapshot& s, int64_t v) { return Predict(req, s.name, v); });
}

Reply Handler::PredictDefault(const Request& req, const RouteMatch& m) {
  const std::string& name = m["name"];
  auto snap = registry_->Get(name);
  if (!snap) return ModelNotFound(name);
  const int64_t v = DefaultVersion(*snap);
  if (v == 0) return ErrorReply(404, "version_not_found", "model '" + name + "' has no version");
  return Predict(req, name, v);
}

Reply Handler::Predict(const Request& req, const std::string& name, int64_t version) {
  auto snap = registry_->Get(name);
  if (!snap) return ModelNotFound(name);
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
  auto loaded = GetLoaded(name, version);
  if (!loaded.ok()) {
    const Status& s = loaded.status();
    if (s.code() == StatusCode::kDataLoss) return StatusReply(s);
    return ErrorReply(500, "load_failed", "model failed to load: " + s.message());
  }
  std::shared_ptr<Loaded> entry = std::move(loaded).value();
  const auto& specs = entry->model->inputs();
  const bool raw = budget.raw;

  std::vector<std::vector<Tensor>> batches;
  PredictBody body_info;
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
    Result<std::vector<std::vector<Tensor>>> parsed =
        ParsePredictJson(req.body(), specs, cfg_.max_predict_batch, &body_info);
    if (!parsed.ok()) {
      return StatusReply(parsed.status(), {{StatusCode::kOutOfRange, "too_deep"}});
    }
    batches = std::move(parsed).value();
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
    if (!result.ok()) return ErrorReply(400, "inference_failed", result.status().message());
    if (raw) {
      last = std::move(result.value());
      break;
    }
    if (body_info.real_values) {
      Status s = DequantizeOutputs(entry->model->outputs(), &result.value());
      if (!s.ok()) return StatusReply(s);
    }
    Result<json> prediction =
        OutputsToJson(result.value(), /*keep_batch=*/body_info.format == PredictFormat::kColumnar);
    if (!prediction.ok()) return StatusReply(prediction.status());
    predictions.push_back(std::move(prediction).value());
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
    Result<json> prediction = OutputsToJson(last);
    if (!prediction.ok()) return StatusReply(prediction.status());
    predictions.push_back(std::move(prediction).value());
  }
  if (body_info.format == PredictFormat::kColumnar) {
    r.SetBody(JsonText(json{{"outputs", predictions.at(0)}}), kJson);
  } else {
    r.SetBody(JsonText(json{{"predictions", predictions}}), kJson);
  }
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
  auto cached = LoadCached(key, canon.string());
  if (!cached.ok()) return ErrorReply(404, "not_found", "no such file");
  std::shared_ptr<const std::string> data = std::move(cached).value();
  std::string type = ContentTypeFor(canon.string());
  bool wasm = type == "application/wasm";
  std::string etag = etag_cache_.Get(key).value_or("");
  if (etag.empty()) etag = etag_cache_.Put(key, ContentEtag(*data));
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
