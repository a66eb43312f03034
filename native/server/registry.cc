#include "native/server/registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "native/server/json_text.h"

namespace wisp::server {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool IsValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

Result<int64_t> ParseVersion(const std::string& s) {
  const Status invalid(StatusCode::kInvalidArgument,
                       "'" + s + "' is not a version (a positive integer of at most 18 digits)");
  if (s.empty() || s.size() > 18 || s[0] == '0') return invalid;
  int64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return invalid;
    x = x * 10 + (c - '0');
  }
  return x;
}

namespace {

json SpecToJson(const TensorSpec& t) {
  json j = {{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}};
  if (!t.scale.empty()) {
    j["quantization"] = {{"scale", t.scale}, {"zero_point", t.zero_point}};
  } else {
    j["quantization"] = nullptr;
  }
  return j;
}

Result<TensorSpec> SpecFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("a tensor spec is not a JSON object");
  TensorSpec spec;
  TensorSpec* t = &spec;
  t->name = j.value("name", "");
  t->dtype = j.value("dtype", "");
  t->shape = j.value("shape", std::vector<int64_t>{});
  if (j.contains("quantization") && j["quantization"].is_object()) {
    t->scale = j["quantization"].value("scale", std::vector<float>{});
    t->zero_point = j["quantization"].value("zero_point", std::vector<int64_t>{});
  }
  return spec;
}

json AboutToJson(const ModelAbout& a) {
  return {{"name", a.name},       {"description", a.description},
          {"version", a.version}, {"author", a.author},
          {"license", a.license}, {"input_range", a.input_range},
          {"labels", a.labels},   {"labels_source", a.labels_source}};
}

ModelAbout AboutFromJson(const json& j) {
  ModelAbout a;
  if (!j.is_object()) return a;
  a.name = j.value("name", "");
  a.description = j.value("description", "");
  a.version = j.value("version", "");
  a.author = j.value("author", "");
  a.license = j.value("license", "");
  a.input_range = j.value("input_range", "");
  a.labels = j.value("labels", uint64_t{0});
  a.labels_source = j.value("labels_source", "");
  return a;
}

// [[offset, size, "sha256"], ...]: the form of index.json and of the manifest's "chunking".
json ChunksToJson(const std::vector<Chunk>& chunks) {
  json a = json::array();
  for (const Chunk& c : chunks) a.push_back(json::array({c.offset, c.size, c.sha256}));
  return a;
}

// A chunk list from index.json, or none when it is absent or does not tile the artifact exactly
// (a list that fails its own invariants would only send clients to a full download later).
std::vector<Chunk> ChunksFromJson(const json& j, uint64_t artifact_size) {
  std::vector<Chunk> chunks;
  if (!j.is_array()) return chunks;
  uint64_t next = 0;
  for (const json& e : j) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_number_unsigned() ||
        !e[1].is_number_unsigned() || !e[2].is_string() || e[0].get<uint64_t>() != next ||
        e[1].get<uint64_t>() == 0 || e[2].get<std::string>().size() != 64) {
      return {};
    }
    chunks.push_back({next, e[1].get<uint64_t>(), e[2].get<std::string>()});
    next += chunks.back().size;
  }
  if (next != artifact_size) return {};
  return chunks;
}

json VersionToIndexJson(const VersionInfo& v) {
  json in = json::array(), out = json::array();
  for (auto& t : v.inputs) in.push_back(SpecToJson(t));
  for (auto& t : v.outputs) out.push_back(SpecToJson(t));
  return {{"version", v.version},
          {"label", v.label},
          {"size", v.size},
          {"sha256", v.sha256},
          {"created", v.created},
          {"gzip_size", v.gzip_size},
          {"gzip_sha256", v.gzip_sha256},
          {"chunks", ChunksToJson(v.chunks)},
          {"inputs", in},
          {"outputs", out},
          {"metadata", AboutToJson(v.about)},
          {"label_names", v.about.label_names}};
}

// One entry of index.json's "versions"; kInvalidArgument when it is malformed.
Result<VersionInfo> VersionFromIndexJson(const json& j) {
  VersionInfo info;
  VersionInfo* v = &info;
  try {
    v->version = j.at("version").get<int64_t>();
    v->label = j.value("label", "");
    v->size = j.at("size").get<uint64_t>();
    v->sha256 = j.at("sha256").get<std::string>();
    v->created = j.value("created", "");
    v->gzip_size = j.value("gzip_size", uint64_t{0});
    v->gzip_sha256 = j.value("gzip_sha256", "");
    if (j.contains("chunks")) v->chunks = ChunksFromJson(j["chunks"], v->size);
    for (auto* specs : {&v->inputs, &v->outputs}) {
      for (auto& t : j.value(specs == &v->inputs ? "inputs" : "outputs", json::array())) {
        WISP_ASSIGN_OR_RETURN(TensorSpec s, SpecFromJson(t));
        specs->push_back(std::move(s));
      }
    }
    v->about = AboutFromJson(j.value("metadata", json::object()));
    if (j.contains("label_names") && j["label_names"].is_array()) {
      for (auto& l : j["label_names"]) {
        if (l.is_string()) v->about.label_names.push_back(l.get<std::string>());
      }
    }
  } catch (const std::exception& e) {
    return Status(StatusCode::kInvalidArgument,
                  std::string("malformed version entry: ") + e.what());
  }
  if (v->version <= 0 || v->sha256.size() != 64) {
    return InvalidArgument("version entry without a positive version and a sha256");
  }
  return info;
}

// index.json's "channel_sequences" (absent in indexes written before sequences existed).
std::map<std::string, int64_t> SequencesFromIndexJson(const json& idx) {
  std::map<std::string, int64_t> out;
  auto it = idx.find("channel_sequences");
  if (it == idx.end() || !it->is_object()) return out;
  for (auto& [ch, jv] : it->items()) {
    if (jv.is_number_integer() && jv.get<int64_t>() > 0) out[ch] = jv.get<int64_t>();
  }
  return out;
}

json RolloutToJson(const Rollout& r) {
  json j = {{"version", r.version}, {"percent", r.percent},         {"id", r.id},
            {"started", r.started}, {"min_reports", r.min_reports}, {"margin", r.margin}};
  j["max_error_rate"] = r.max_error_rate < 0 ? json(nullptr) : json(r.max_error_rate);
  return j;
}

// index.json's "rollouts" and "rollout_ends"; entries that do not parse are dropped (a rollout
// lost to a damaged index leaves the channel on its own version, which is the safe side).
void RolloutsFromIndexJson(const json& idx, ModelSnapshot* s) {
  auto number = [](const json& j, const char* key, double def) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : def;
  };
  if (auto it = idx.find("rollouts"); it != idx.end() && it->is_object()) {
    for (auto& [ch, j] : it->items()) {
      if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) continue;
      Rollout r;
      r.version = j["version"].get<int64_t>();
      r.percent = number(j, "percent", 0);
      r.id = j.value("id", "");
      r.started = j.value("started", "");
      r.max_error_rate = number(j, "max_error_rate", -1);
      r.min_reports = static_cast<int64_t>(number(j, "min_reports", 1));
      r.margin = number(j, "margin", 0);
      if (r.id.empty() || !(r.percent > 0 && r.percent <= 100)) continue;
      s->rollouts[ch] = r;
    }
  }
  if (auto it = idx.find("rollout_ends"); it != idx.end() && it->is_object()) {
    for (auto& [ch, j] : it->items()) {
      if (!j.is_object()) continue;
      RolloutEnd e;
      e.version = static_cast<int64_t>(number(j, "version", 0));
      e.base_version = static_cast<int64_t>(number(j, "base_version", 0));
      e.percent = number(j, "percent", 0);
      e.state = j.value("state", "");
      e.reason = j.value("reason", "");
      e.at = j.value("at", "");
      s->rollout_ends[ch] = e;
    }
  }
}

}  // namespace

Result<StoredIndex> ReadStoredIndex(const std::string& path) {
  Result<std::string> text = ReadFileText(path);
  if (!text.ok()) return Status(text.status().code(), "cannot read");
  json idx = json::parse(*text, nullptr, false);
  if (idx.is_discarded() || !idx.is_object()) return InvalidArgument("not a JSON object");
  StoredIndex result;
  StoredIndex* out = &result;
  out->name = idx.value("name", "");
  for (auto& jv : idx.value("versions", json::array())) {
    if (Result<VersionInfo> v = VersionFromIndexJson(jv); v.ok()) {
      out->versions.push_back(std::move(v).value());
    } else {
      out->malformed_versions++;
    }
  }
  if (idx.contains("channels") && idx["channels"].is_object()) {
    for (auto& [ch, jv] : idx["channels"].items()) {
      out->channels[ch] = jv.is_number_integer() ? jv.get<int64_t>() : 0;
    }
  }
  out->channel_sequences = SequencesFromIndexJson(idx);
  return result;
}

Registry::Registry(std::string data_dir, const Ed25519Key* signing_key, RegistryOptions options)
    : data_dir_(std::move(data_dir)), key_(signing_key), options_(std::move(options)) {}

int64_t Registry::Now() const {
  return options_.clock ? options_.clock() : static_cast<int64_t>(std::time(nullptr));
}

Registry::~Registry() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string Registry::ModelDir(const std::string& name) const {
  return data_dir_ + "/models/" + name;
}

std::string Registry::ArtifactPath(const std::string& name, int64_t version, bool gzip) const {
  return ModelDir(name) + "/versions/" + std::to_string(version) +
         (gzip ? "/model.wisp.gz" : "/model.wisp");
}

Status Registry::Open(std::vector<std::string>* log) {
  for (const char* sub : {"/models", "/tmp"})
    WISP_RETURN_IF_ERROR(MakeDirsDurable(data_dir_ + sub));
  lock_fd_ = ::open((data_dir_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status(
        StatusCode::kFailedPrecondition,
        "data directory " + data_dir_ + " is in use by another wisp-server (or not writable)");
  }
  // Uploads that were never committed.
  std::error_code ec;
  for (auto& e : fs::directory_iterator(data_dir_ + "/tmp", ec)) {
    fs::remove_all(e.path(), ec);
    log->push_back("removed interrupted upload " + e.path().filename().string());
  }
  (void)FsyncPath(data_dir_ + "/tmp");  // best effort: the removals are redone if lost
  for (auto& e : fs::directory_iterator(data_dir_ + "/models", ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_directory() || !IsValidName(name)) {
      log->push_back("ignoring unexpected entry models/" + name);
      continue;
    }
    if (Status loaded = LoadModel(name, log); !loaded.ok()) {
      log->push_back("model " + name + ": " + loaded.message());
    }
  }
  return Status::Ok();
}

Status Registry::LoadModel(const std::string& name, std::vector<std::string>* log) {
  std::string dir = ModelDir(name);
  std::error_code ec;
  // Leftover temporary index files.
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove(e.path(), ec);
  }
  auto s = std::make_shared<ModelSnapshot>();
  s->name = name;
  Result<std::string> text = ReadFileText(dir + "/index.json");
  if (!text.ok()) {
    // The model directory was created but its first publish never committed.
    fs::remove_all(dir, ec);
    (void)FsyncPath(data_dir_ + "/models");
    return NotFound("no index (interrupted first publish), removing");
  }
  json idx = json::parse(*text, nullptr, false);
  if (idx.is_discarded() || !idx.is_object() || idx.value("name", "") != name) {
    return DataLoss("index.json unreadable, model not served (left on disk)");
  }
  s->next_version = idx.value("next_version", int64_t{1});
  for (auto& jv : idx.value("versions", json::array())) {
    Result<VersionInfo> entry = VersionFromIndexJson(jv);
    if (!entry.ok()) {
      log->push_back("model " + name + ": malformed version entry skipped");
      continue;
    }
    VersionInfo v = std::move(entry).value();
    // Start-up trusts the index, which was written after the artifact was hashed and fsynced: a
    // size check catches truncation cheaply, and the handler verifies each file's sha256 when it
    // first reads it (so a large registry starts in milliseconds, not minutes).
    std::error_code size_ec;
    auto size = fs::file_size(ArtifactPath(name, v.version, false), size_ec);
    if (size_ec || size != v.size) {
      log->push_back("model " + name + " version " + std::to_string(v.version) +
                     ": artifact missing or not of its indexed size; not served");
      continue;
    }
    if (v.gzip_size > 0) {
      auto gz_size = fs::file_size(ArtifactPath(name, v.version, true), size_ec);
      if (size_ec || gz_size != v.gzip_size) {
        log->push_back("model " + name + " version " + std::to_string(v.version) +
                       ": gzip copy damaged; serving identity only");
        v.gzip_size = 0;
        v.gzip_sha256.clear();
      }
    }
    s->next_version = std::max(s->next_version, v.version + 1);
    s->versions[v.version] = std::move(v);
  }
  if (idx.contains("channels") && idx["channels"].is_object()) {
    for (auto& [ch, jv] : idx["channels"].items()) {
      if (!jv.is_number_integer() || !IsValidName(ch)) continue;
      int64_t v = jv.get<int64_t>();
      if (!s->versions.count(v)) {
        log->push_back("model " + name + ": channel " + ch + " points to unavailable version " +
                       std::to_string(v) + "; channel not served");
        continue;
      }
      s->channels[ch] = v;
    }
  }
  s->channel_sequences = SequencesFromIndexJson(idx);
  RolloutsFromIndexJson(idx, s.get());
  for (auto it = s->rollouts.begin(); it != s->rollouts.end();) {
    if (!s->channels.count(it->first) || !s->versions.count(it->second.version)) {
      log->push_back("model " + name + ": rollout on channel " + it->first +
                     " names an unavailable channel or version; rollout dropped");
      it = s->rollouts.erase(it);
    } else {
      ++it;
    }
  }
  // An index from before sequences: every channel starts at 1.
  for (auto& [ch, v] : s->channels) {
    if (!s->channel_sequences.count(ch)) s->channel_sequences[ch] = 1;
  }
  // Version directories that the index does not know: publishes interrupted before commit, or
  // deletes interrupted after commit.
  std::set<int64_t> indexed;
  for (auto& jv : idx.value("versions", json::array())) {
    if (jv.is_object()) indexed.insert(jv.value("version", int64_t{0}));
  }
  for (auto& e : fs::directory_iterator(dir + "/versions", ec)) {
    std::string fname = e.path().filename().string();
    Result<int64_t> v = ParseVersion(fname);
    if (!v.ok() || !indexed.count(*v)) {
      log->push_back("model " + name + ": removing uncommitted versions/" + fname);
      fs::remove_all(e.path(), ec);
      (void)FsyncPath(dir + "/versions");
    }
  }
  auto rendered = Render(s);
  std::unique_lock lock(mu_);
  models_[name] = rendered;
  return Status::Ok();
}

namespace {

// TF Serving's model status of one version (GetModelStatus): every stored version is loadable.
json VersionStatus(int64_t v) {
  return {{"version", std::to_string(v)},
          {"state", "AVAILABLE"},
          {"status", {{"error_code", "OK"}, {"error_message", ""}}}};
}

// TF Serving's dtype names (tensorflow/core/framework/types.proto).
std::string TfDtype(const std::string& dtype) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"float32", "DT_FLOAT"}, {"float16", "DT_HALF"}, {"int8", "DT_INT8"},   {"uint8", "DT_UINT8"},
      {"int16", "DT_INT16"},   {"int32", "DT_INT32"},  {"int64", "DT_INT64"}, {"bool", "DT_BOOL"}};
  for (auto& [ours, tf] : kNames) {
    if (dtype == ours) return tf;
  }
  return "DT_INVALID";
}

// One tensor of a signature as TF Serving describes it (TensorInfo), with Wisp's quantization.
json TfTensorInfo(const TensorSpec& t) {
  json dims = json::array();
  for (int64_t d : t.shape) dims.push_back({{"size", std::to_string(d)}, {"name", ""}});
  json j = {{"dtype", TfDtype(t.dtype)},
            {"tensor_shape", {{"dim", dims}, {"unknown_rank", false}}},
            {"name", t.name}};
  j["quantization"] =
      t.scale.empty() ? json(nullptr) : json{{"scale", t.scale}, {"zero_point", t.zero_point}};
  return j;
}

// GET /v1/models/{name}[/versions/{v}|/labels/{label}]/metadata, as TF Serving answers it
// (GetModelMetadata, signature "serving_default"), plus the labels a classifier carries.
json TfMetadata(const std::string& name, const VersionInfo& info) {
  json inputs = json::object(), outputs = json::object();
  for (auto& t : info.inputs) inputs[t.name] = TfTensorInfo(t);
  for (auto& t : info.outputs) outputs[t.name] = TfTensorInfo(t);
  json signature = {
      {"inputs", inputs}, {"outputs", outputs}, {"method_name", "tensorflow/serving/predict"}};
  return {{"model_spec",
           {{"name", name}, {"signature_name", ""}, {"version", std::to_string(info.version)}}},
          {"metadata", {{"signature_def", {{"signature_def", {{"serving_default", signature}}}}}}},
          {"labels", info.about.label_names}};
}

}  // namespace

int64_t DefaultVersion(const ModelSnapshot& s) {
  auto stable = s.channels.find("stable");
  if (stable != s.channels.end()) return stable->second;
  return s.versions.empty() ? 0 : s.versions.rbegin()->first;
}

json RolloutEndToJson(const RolloutEnd& e) {
  return {{"version", e.version}, {"base_version", e.base_version},
          {"percent", e.percent}, {"state", e.state},
          {"reason", e.reason},   {"at", e.at}};
}

bool InRollout(const Rollout& r, const std::string& model, const std::string& channel,
               const std::string& client_id) {
  if (client_id.empty()) return false;
  const std::string digest = Sha256Raw(client_id + "\n" + model + "\n" + channel + "\n" + r.id);
  uint32_t h = 0;
  for (int i = 0; i < 4; ++i) h = (h << 8) | static_cast<uint8_t>(digest[static_cast<size_t>(i)]);
  return static_cast<double>(h % 10000) < r.percent * 100.0;
}

int64_t ChannelVersionFor(const ModelSnapshot& s, const std::string& channel,
                          const std::string& client_id) {
  auto ch = s.channels.find(channel);
  if (ch == s.channels.end()) return 0;
  auto r = s.rollouts.find(channel);
  if (r != s.rollouts.end() && InRollout(r->second, s.name, channel, client_id)) {
    return r->second.version;
  }
  return ch->second;
}

void OutcomeCounts::Add(const OutcomeCounts& o) {
  reports += o.reports;
  loads += o.loads;
  load_errors += o.load_errors;
  runs += o.runs;
  run_errors += o.run_errors;
}

RenderedJson RenderedJson::From(std::string text) {
  RenderedJson r;
  r.etag = ContentEtag(text);
  r.body = std::make_shared<const std::string>(std::move(text));
  return r;
}

std::shared_ptr<const ModelSnapshot> Registry::Render(std::shared_ptr<ModelSnapshot> s) const {
  s->manifest_json.clear();
  s->metadata_json.clear();
  s->channel_json.clear();
  std::map<int64_t, json> manifests;
  for (auto& [v, info] : s->versions) {
    json in = json::array(), out = json::array();
    for (auto& t : info.inputs) in.push_back(SpecToJson(t));
    for (auto& t : info.outputs) out.push_back(SpecToJson(t));
    std::string base = "/v1/models/" + s->name + "/versions/" + std::to_string(v);
    json m = {{"name", s->name},         {"version", v},
              {"label", info.label},     {"size", info.size},
              {"sha256", info.sha256},   {"sri", "sha256-" + Base64Encode(HexDecode(info.sha256))},
              {"created", info.created}, {"download_url", base + "/model.wisp"},
              {"manifest_url", base},    {"inputs", in},
              {"outputs", out},          {"metadata", AboutToJson(info.about)}};
    if (info.gzip_size) m["gzip_size"] = info.gzip_size;
    // TF Serving's GetModelStatus answer for this version, beside Wisp's fields.
    m["model_version_status"] = json::array({VersionStatus(v)});
    s->metadata_json[v] = RenderedJson::From(JsonText(TfMetadata(s->name, info)));
    if (key_ && key_->loaded()) {
      // Canonical form: keys sorted, no whitespace (nlohmann's default object order is sorted).
      json c = {{"name", s->name}, {"version", v}, {"sha256", info.sha256}, {"size", info.size}};
      std::string canonical = JsonText(c);
      m["signature"] = {{"algorithm", "ed25519"},
                        {"key_id", key_->KeyId()},
                        {"signed", canonical},
                        {"value", Base64Encode(key_->Sign(canonical))}};
    }
    manifests[v] = m;
    // Only the version manifest lists the chunks: the model document (every version's manifest)
    // and the channel manifests stay small, and a client asks for the list when it updates.
    if (!info.chunks.empty()) {
      m["chunking"] = {{"algorithm", kChunkingAlgorithm}, {"chunks", ChunksToJson(info.chunks)}};
    }
    s->manifest_json[v] = RenderedJson::From(JsonText(m));
  }
  // Channel manifests carry the channel's sequence and an expiry, both inside the signature, so
  // that an old (validly signed) manifest can be neither replayed nor served forever.
  const int64_t now = Now();
  const std::string expires = Rfc3339(now + options_.manifest_ttl_s);
  s->renew_at =
      s->channels.empty() ? std::numeric_limits<int64_t>::max() : now + options_.manifest_ttl_s / 2;
  s->rollout_json.clear();
  json channels = json::object();
  // The manifest of channel `ch` pointing at `v`. During a rollout both the channel's own version
  // and the rollout's are rendered with the same sequence: each client accepts the one it gets.
  auto channel_manifest = [&](const std::string& ch, int64_t v) {
    const VersionInfo& info = s->versions.at(v);
    const int64_t sequence = s->channel_sequences.count(ch) ? s->channel_sequences.at(ch) : 1;
    json m = manifests[v];
    m["channel"] = ch;
    m["sequence"] = sequence;
    m["expires"] = expires;
    if (key_ && key_->loaded()) {
      json c = {{"channel", ch},        {"expires", expires},    {"name", s->name},
                {"sequence", sequence}, {"sha256", info.sha256}, {"size", info.size},
                {"version", v}};
      std::string canonical = JsonText(c);
      m["signature"] = {{"algorithm", "ed25519"},
                        {"key_id", key_->KeyId()},
                        {"signed", canonical},
                        {"value", Base64Encode(key_->Sign(canonical))}};
    }
    if (auto end = s->rollout_ends.find(ch); end != s->rollout_ends.end()) {
      m["last_rollout"] = RolloutEndToJson(end->second);
    }
    return RenderedJson::From(JsonText(m));
  };
  for (auto& [ch, v] : s->channels) {
    channels[ch] = v;
    s->channel_json[ch] = channel_manifest(ch, v);
    if (auto r = s->rollouts.find(ch); r != s->rollouts.end()) {
      s->rollout_json[ch] = channel_manifest(ch, r->second.version);
    }
  }
  json rollouts = json::object();
  for (auto& [ch, r] : s->rollouts) {
    json j = RolloutToJson(r);
    j.erase("id");
    j["base_version"] = s->channels.at(ch);
    rollouts[ch] = j;
  }
  json versions = json::array();
  json statuses = json::array();  // newest first, as TF Serving lists them
  for (auto& [v, m] : manifests) versions.push_back(m);
  for (auto it = s->versions.rbegin(); it != s->versions.rend(); ++it) {
    statuses.push_back(VersionStatus(it->first));
  }
  json model = {
      {"name", s->name},
      {"latest_version", s->versions.empty() ? json(nullptr) : json(s->versions.rbegin()->first)},
      {"next_version", s->next_version},
      {"channels", channels},
      {"rollouts", rollouts},
      {"versions", versions},
      {"model_version_status", statuses}};
  s->model_json = RenderedJson::From(JsonText(model));
  return s;
}

Status Registry::WriteIndex(const ModelSnapshot& s) {
  json versions = json::array();
  for (auto& [v, info] : s.versions) versions.push_back(VersionToIndexJson(info));
  json channels = json::object();
  for (auto& [ch, v] : s.channels) channels[ch] = v;
  json sequences = json::object();
  for (auto& [ch, seq] : s.channel_sequences) sequences[ch] = seq;
  json rollouts = json::object(), ends = json::object();
  for (auto& [ch, r] : s.rollouts) rollouts[ch] = RolloutToJson(r);
  for (auto& [ch, e] : s.rollout_ends) ends[ch] = RolloutEndToJson(e);
  json idx = {{"format", 1},          {"name", s.name},       {"next_version", s.next_version},
              {"versions", versions}, {"channels", channels}, {"channel_sequences", sequences},
              {"rollouts", rollouts}, {"rollout_ends", ends}};
  return WriteFileAtomic(ModelDir(s.name) + "/index.json", JsonText(idx, 1));
}

std::shared_ptr<const ModelSnapshot> Registry::Current(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

std::shared_ptr<const ModelSnapshot> Registry::Get(const std::string& name) const {
  auto cur = Current(name);
  if (!cur || cur->renew_at >= Now()) return cur;
  // Less than half of the channel manifests' lifetime remains: re-sign them with a new expiry
  // (same sequences; nothing changes on disk). One thread does it, the others then see it done.
  std::lock_guard wlock(write_mu_);
  cur = Current(name);
  if (!cur || cur->renew_at >= Now()) return cur;
  auto rendered = Render(std::make_shared<ModelSnapshot>(*cur));
  std::unique_lock lock(mu_);
  models_[name] = rendered;
  return rendered;
}

std::vector<std::shared_ptr<const ModelSnapshot>> Registry::List() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const ModelSnapshot>> out;
  for (auto& [n, s] : models_) out.push_back(s);
  return out;
}

size_t Registry::model_count() const {
  std::shared_lock lock(mu_);
  return models_.size();
}

static RolloutEnd EndOf(const Rollout& r, int64_t base, const std::string& state,
                        const std::string& reason) {
  RolloutEnd e;
  e.version = r.version;
  e.base_version = base;
  e.percent = r.percent;
  e.state = state;
  e.reason = reason;
  e.at = NowRfc3339();
  return e;
}

// A failed write: a full disk (or quota, kResourceExhausted) is the operator's to fix and says so,
// anything else is a storage error (kIoError, whatever the file helper called it).
static Status StorageError(const Status& status) {
  if (status.code() == StatusCode::kResourceExhausted) {
    return Status(StatusCode::kResourceExhausted,
                  "no space left in the registry's data directory: " + status.message());
  }
  return Status(StatusCode::kIoError, status.message());
}

// The model's current snapshot if it has `version`; otherwise kNotFound naming what is missing.
static Result<std::shared_ptr<const ModelSnapshot>> WithVersion(
    std::shared_ptr<const ModelSnapshot> cur, const std::string& name, int64_t version) {
  if (!cur) return Status(StatusCode::kNotFound, "no model named '" + name + "'");
  if (!cur->versions.count(version)) {
    return Status(StatusCode::kNotFound,
                  "model '" + name + "' has no version " + std::to_string(version));
  }
  return cur;
}

Status Registry::Commit(std::shared_ptr<ModelSnapshot> s) {
  if (Status written = WriteIndex(*s); !written.ok()) return StorageError(written);
  std::string name = s->name;
  auto rendered = Render(std::move(s));
  std::unique_lock lock(mu_);
  models_[name] = rendered;
  return Status::Ok();
}

Result<VersionInfo> Registry::Publish(const std::string& name, const ValidatedModel& model,
                                      const std::string& label) {
  // Everything that goes into index.json and the manifests is checked before any file is
  // written: text JSON cannot hold would otherwise fail the commit after the files are in place.
  if (!IsValidUtf8(label)) return InvalidArgument("the label is not valid UTF-8");
  for (const auto* specs : {&model.inputs, &model.outputs}) {
    for (const auto& spec : *specs) {
      if (!IsValidUtf8(spec.name) || !IsValidUtf8(spec.dtype)) {
        return InvalidModel("model rejected: a tensor name or dtype is not valid UTF-8");
      }
    }
  }
  std::string_view bytes(reinterpret_cast<const char*>(model.wisp_bytes.data()),
                         model.wisp_bytes.size());
  VersionInfo v;
  v.label = label;
  v.size = bytes.size();
  v.sha256 = Sha256Hex(bytes);
  v.chunks = ChunkData(bytes);
  v.inputs = model.inputs;
  v.outputs = model.outputs;
  v.about = model.about;
  // Free text from the model file: what JSON cannot hold is dropped, not a failed publish.
  for (std::string* text : {&v.about.name, &v.about.description, &v.about.version, &v.about.author,
                            &v.about.license, &v.about.input_range, &v.about.labels_source}) {
    if (!IsValidUtf8(*text)) text->clear();
  }
  // Expensive work (hashing, compression, writing, fsync) happens before taking the commit lock.
  Result<std::string> compressed = GzipCompress(bytes, 6);
  std::string gz = compressed.ok() ? std::move(compressed).value() : std::string();
  bool keep_gz =
      compressed.ok() && gz.size() + 1024 < bytes.size() && gz.size() < bytes.size() / 20 * 19;
  std::string tag = RandomHex(8);
  std::string tmp_art = data_dir_ + "/tmp/" + tag + ".wisp";
  std::string tmp_gz = data_dir_ + "/tmp/" + tag + ".wisp.gz";
  auto cleanup = [&] {
    ::unlink(tmp_art.c_str());
    ::unlink(tmp_gz.c_str());
  };
  Status written = WriteFileSynced(tmp_art, bytes);
  if (written.ok() && keep_gz) written = WriteFileSynced(tmp_gz, gz);
  if (!written.ok()) {
    cleanup();
    return StorageError(written);
  }
  if (keep_gz) {
    v.gzip_size = gz.size();
    v.gzip_sha256 = Sha256Hex(gz);
  }

  std::lock_guard wlock(write_mu_);
  auto cur = Current(name);
  auto s = std::make_shared<ModelSnapshot>();
  if (cur) {
    *s = *cur;  // the rendered documents are rebuilt by Commit
  } else {
    s->name = name;
  }
  v.version = s->next_version;
  v.created = NowRfc3339();
  std::string vdir = ModelDir(name) + "/versions/" + std::to_string(v.version);
  std::error_code ec;
  fs::remove_all(vdir, ec);  // a stale uncommitted directory from an earlier failure
  Status moved = MakeDirsDurable(vdir);
  if (moved.ok()) moved = RenameDurable(tmp_art, vdir + "/model.wisp");
  if (moved.ok() && keep_gz) moved = RenameDurable(tmp_gz, vdir + "/model.wisp.gz");
  if (!moved.ok()) {
    cleanup();
    fs::remove_all(vdir, ec);
    return StorageError(moved);
  }
  s->versions[v.version] = v;
  s->next_version = v.version + 1;
  if (Status committed = Commit(s); !committed.ok()) {
    fs::remove_all(vdir, ec);
    return committed;
  }
  return v;
}

Result<int64_t> Registry::SetChannel(const std::string& name, const std::string& channel,
                                     int64_t version) {
  std::lock_guard wlock(write_mu_);
  WISP_ASSIGN_OR_RETURN(auto cur, WithVersion(Current(name), name, version));
  auto s = std::make_shared<ModelSnapshot>(*cur);
  auto it = s->channels.find(channel);
  const int64_t previous = it == s->channels.end() ? 0 : it->second;
  auto rollout = s->rollouts.find(channel);
  if (previous == version && rollout == s->rollouts.end()) return previous;  // no new sequence
  if (rollout != s->rollouts.end()) {
    const bool finished = rollout->second.version == version;
    s->rollout_ends[channel] =
        EndOf(rollout->second, previous, finished ? "finished" : "aborted",
              finished ? "the channel was moved to the rollout's version"
                       : "the channel was moved to version " + std::to_string(version));
    s->rollouts.erase(rollout);
  }
  s->channels[channel] = version;
  // Every change of the channel (a move, a rollback, a re-creation) gets the next sequence.
  s->channel_sequences[channel] += 1;
  WISP_RETURN_IF_ERROR(Commit(s));
  return previous;
}

Status Registry::DeleteChannel(const std::string& name, const std::string& channel) {
  std::lock_guard wlock(write_mu_);
  auto cur = Current(name);
  if (!cur || !cur->channels.count(channel)) {
    return Status(StatusCode::kNotFound, "model '" + name + "' has no channel '" + channel + "'");
  }
  auto s = std::make_shared<ModelSnapshot>(*cur);
  s->channels.erase(channel);
  s->rollouts.erase(channel);
  s->rollout_ends.erase(channel);
  return Commit(s);
}

Status Registry::StageRollout(const std::string& name, const std::string& channel,
                              const Rollout& params) {
  std::lock_guard wlock(write_mu_);
  WISP_ASSIGN_OR_RETURN(auto cur, WithVersion(Current(name), name, params.version));
  auto ch = cur->channels.find(channel);
  if (ch == cur->channels.end()) {
    return Status(StatusCode::kNotFound, "model '" + name + "' has no channel '" + channel +
                                             "' (a rollout stages a move of an existing channel)");
  }
  if (ch->second == params.version) {
    return InvalidArgument("channel '%s' already points to version %lld", channel.c_str(),
                           static_cast<long long>(params.version));
  }
  auto s = std::make_shared<ModelSnapshot>(*cur);
  Rollout r = params;
  auto running = cur->rollouts.find(channel);
  if (running != cur->rollouts.end() && running->second.version == params.version) {
    r.id = running->second.id;  // the same rollout, re-tuned: nobody inside leaves by raising it
    r.started = running->second.started;
  } else {
    if (running != cur->rollouts.end()) {
      s->rollout_ends[channel] =
          EndOf(running->second, ch->second, "aborted",
                "replaced by a rollout of version " + std::to_string(params.version));
    }
    r.id = RandomHex(8);
    r.started = Rfc3339(Now());
  }
  s->rollouts[channel] = r;
  s->channel_sequences[channel] += 1;  // clients inside move: the channel changed
  return Commit(s);
}

Result<RolloutEnd> Registry::AbortRollout(const std::string& name, const std::string& channel,
                                          const std::string& reason) {
  std::lock_guard wlock(write_mu_);
  auto cur = Current(name);
  auto running = cur ? cur->rollouts.find(channel) : decltype(cur->rollouts.end()){};
  if (!cur || running == cur->rollouts.end()) {
    return Status(StatusCode::kNotFound,
                  "model '" + name + "' has no rollout on channel '" + channel + "'");
  }
  auto s = std::make_shared<ModelSnapshot>(*cur);
  RolloutEnd end = EndOf(running->second, cur->channels.at(channel), "aborted", reason);
  s->rollout_ends[channel] = end;
  s->rollouts.erase(channel);
  // Clients inside go back to the channel's version: a new sequence, as for any rollback.
  s->channel_sequences[channel] += 1;
  WISP_RETURN_IF_ERROR(Commit(s));
  return end;
}

Result<std::vector<std::pair<std::string, RolloutEnd>>> Registry::Report(
    const std::string& name, int64_t version, const OutcomeCounts& counts) {
  auto cur = Current(name);
  WISP_ASSIGN_OR_RETURN(cur, WithVersion(cur, name, version));
  // Which rollouts cross their limits with this report (decided under the counters' lock, the
  // aborts committed after it).
  std::vector<std::pair<std::string, std::string>> to_abort;  // channel, reason
  {
    std::lock_guard lock(reports_mu_);
    for (auto& [ch, r] : cur->rollouts) {
      const int64_t base = cur->channels.at(ch);
      if (version != base && version != r.version) continue;
      auto& [base_counts, new_counts] = reports_[name + "/" + ch + "/" + r.id];
      (version == base ? base_counts : new_counts).Add(counts);
      if (r.max_error_rate < 0 || new_counts.reports < r.min_reports) continue;
      const double rate = new_counts.ErrorRate(), base_rate = base_counts.ErrorRate();
      if (rate > r.max_error_rate && rate > base_rate + r.margin) {
        char why[320];
        std::snprintf(why, sizeof why,
                      "automatic rollback: version %lld's error rate %.4f over %lld reports "
                      "exceeds max_error_rate %.4f and version %lld's %.4f by more than %.4f",
                      static_cast<long long>(r.version), rate,
                      static_cast<long long>(new_counts.reports), r.max_error_rate,
                      static_cast<long long>(base), base_rate, r.margin);
        to_abort.emplace_back(ch, why);
      }
    }
  }
  std::vector<std::pair<std::string, RolloutEnd>> ended;
  for (auto& [ch, why] : to_abort) {
    Result<RolloutEnd> end = AbortRollout(name, ch, why);
    // kNotFound: another report (or an operator) ended it first.
    if (end.ok())
      ended.emplace_back(ch, std::move(end).value());
    else if (end.status().code() != StatusCode::kNotFound)
      return end.status();
  }
  return ended;
}

std::pair<OutcomeCounts, OutcomeCounts> Registry::RolloutReports(const std::string& name,
                                                                 const std::string& channel) const {
  auto cur = Current(name);
  if (!cur || !cur->rollouts.count(channel)) return {};
  std::lock_guard lock(reports_mu_);
  auto it = reports_.find(name + "/" + channel + "/" + cur->rollouts.at(channel).id);
  return it == reports_.end() ? std::pair<OutcomeCounts, OutcomeCounts>{} : it->second;
}

Status Registry::DeleteVersion(const std::string& name, int64_t version) {
  std::lock_guard wlock(write_mu_);
  WISP_ASSIGN_OR_RETURN(auto cur, WithVersion(Current(name), name, version));
  for (auto& [ch, r] : cur->rollouts) {
    if (r.version == version) {
      return Status(StatusCode::kFailedPrecondition, "version " + std::to_string(version) +
                                                         " is being rolled out on channel '" + ch +
                                                         "'; finish or abort the rollout first");
    }
  }
  for (auto& [ch, v] : cur->channels) {
    if (v == version) {
      return Status(StatusCode::kFailedPrecondition, "version " + std::to_string(version) +
                                                         " is referenced by channel '" + ch +
                                                         "'; move the channel first");
    }
  }
  auto s = std::make_shared<ModelSnapshot>(*cur);
  s->versions.erase(version);
  WISP_RETURN_IF_ERROR(Commit(s));
  // The index no longer names the version; its files are garbage from here on (and are removed
  // at start-up if this is interrupted). Readers that already hold the file keep their copy.
  std::error_code ec;
  std::string vdir = ModelDir(name) + "/versions/" + std::to_string(version);
  std::string trash =
      data_dir_ + "/tmp/deleted-" + name + "-" + std::to_string(version) + "-" + RandomHex(4);
  if (::rename(vdir.c_str(), trash.c_str()) == 0) {
    fs::remove_all(trash, ec);
  } else {
    fs::remove_all(vdir, ec);
  }
  return Status::Ok();
}

}  // namespace wisp::server
