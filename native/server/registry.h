// The model registry: immutable integer versions and named channels, stored in a directory.
//
// Layout under the data directory:
//   .lock                                 flock'ed while a server owns the directory
//   tmp/                                  uploads being written (emptied at start-up)
//   models/<name>/index.json              the model's committed state (the source of truth)
//   models/<name>/versions/<v>/model.wisp the artifact (immutable)
//   models/<name>/versions/<v>/model.wisp.gz  precompressed copy (optional)
//
// Commit protocol for a publish: artifact files are written to tmp/ and fsynced, renamed into
// versions/<v>/ (directory fsynced), and only then index.json is replaced atomically (temporary
// file, fsync, rename, fsync of the directory). The publish is acknowledged after that. A crash
// before the index rename leaves an orphan versions/<v>/ that start-up deletes; a crash after it
// leaves a complete version. Start-up refuses to serve an artifact whose size does not match the
// index; its sha256 is verified by the handler when the file is first read (lazily: start-up does
// not re-hash every artifact).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <shared_mutex>
#include <string>
#include <vector>

#include "native/server/common.h"
#include "native/server/model_engine.h"

namespace wisp::server {

struct VersionInfo {
  int64_t version = 0;
  std::string label;
  uint64_t size = 0;
  std::string sha256;  // hex
  std::string created;
  uint64_t gzip_size = 0;  // 0 when no precompressed copy is stored
  std::string gzip_sha256;
  // The artifact's gear64k-v1 chunks (native/common/chunker.h) for delta updates; empty for
  // versions published before chunk lists existed (clients then download the whole artifact).
  std::vector<Chunk> chunks;
  std::vector<TensorSpec> inputs, outputs;
  ModelAbout about;
};

// A staged move of a channel (PUT .../channels/{channel} with "rollout"): the clients whose
// X-Wisp-Client id hashes into the first `percent` of the buckets get `version`; everyone else
// keeps the version the channel points to (its base). Persisted in index.json.
struct Rollout {
  int64_t version = 0;
  double percent = 0;   // (0, 100]
  std::string id;       // random, fixed for the rollout's life: raising the percent keeps clients
  std::string started;  // RFC 3339
  // Automatic rollback, off while max_error_rate < 0: once the new version has min_reports
  // reports, its error rate above max_error_rate and above the base's by more than margin aborts
  // the rollout.
  double max_error_rate = -1;
  int64_t min_reports = 1;
  double margin = 0;
};

// How the last rollout of a channel ended (GET channel shows it; persisted).
struct RolloutEnd {
  int64_t version = 0;       // the version that was rolled out
  int64_t base_version = 0;  // the version everyone else had
  double percent = 0;
  std::string state;  // "finished" or "aborted"
  std::string reason;
  std::string at;  // RFC 3339
};

// The JSON of a rollout's end, as the channel document's "last_rollout", index.json and the audit
// log's automatic rollback lines write it.
nlohmann::json RolloutEndToJson(const RolloutEnd& e);

// Outcomes clients reported for one version (POST .../versions/{v}:report).
struct OutcomeCounts {
  int64_t reports = 0;  // report requests
  int64_t loads = 0, load_errors = 0, runs = 0, run_errors = 0;
  int64_t events() const { return loads + load_errors + runs + run_errors; }
  int64_t errors() const { return load_errors + run_errors; }
  double ErrorRate() const {
    return events() ? static_cast<double>(errors()) / static_cast<double>(events()) : 0.0;
  }
  void Add(const OutcomeCounts& o);
};

// A JSON document rendered once per commit, with its ETag, so that reads only copy pointers.
struct RenderedJson {
  std::shared_ptr<const std::string> body;
  std::string etag;  // quoted

  static RenderedJson From(std::string text);
};

// One model's committed state plus the JSON documents rendered from it (immutable once built;
// a write replaces the whole snapshot).
struct ModelSnapshot {
  std::string name;
  int64_t next_version = 1;
  std::map<int64_t, VersionInfo> versions;
  std::map<std::string, int64_t> channels;
  // The last sequence number of every channel ever set (deleted channels keep theirs, so a
  // channel re-created later continues above it). Persisted in index.json.
  std::map<std::string, int64_t> channel_sequences;
  // Rendered responses.
  std::map<int64_t, RenderedJson> manifest_json;
  // TF Serving's model metadata document of each version (GET .../metadata).
  std::map<int64_t, RenderedJson> metadata_json;
  std::map<std::string, RenderedJson> channel_json;
  // Staged rollouts and how the last one of each channel ended.
  std::map<std::string, Rollout> rollouts;
  std::map<std::string, RolloutEnd> rollout_ends;
  // The manifest a client inside a channel's rollout gets (same sequence as channel_json's).
  std::map<std::string, RenderedJson> rollout_json;
  RenderedJson model_json;
  // When (registry clock, Unix seconds) the channel manifests are due to be re-signed: half
  // their lifetime after rendering (re-signed once the clock is past it). Max when no channels.
  int64_t renew_at = std::numeric_limits<int64_t>::max();
};

struct RegistryOptions {
  int64_t manifest_ttl_s = 7 * 86400;  // "expires" of channel manifests = render time + this
  std::function<int64_t()> clock;      // Unix seconds; empty: the system clock
};

// Whether the client with this X-Wisp-Client id is inside the rollout: a hash of (client id,
// model, channel, rollout id) picks one of 10,000 buckets; the first percent * 100 are inside, so
// the share matches the percent and raising it keeps everyone already inside. An empty id is
// never inside.
bool InRollout(const Rollout& r, const std::string& model, const std::string& channel,
               const std::string& client_id);
// The version channel `channel` gives this client: the rollout's when inside it, else the
// channel's own; 0 when there is no such channel.
int64_t ChannelVersionFor(const ModelSnapshot& s, const std::string& channel,
                          const std::string& client_id);

// The version TF Serving's paths without a version or label mean: the `stable` channel's, else the
// latest; 0 when the model has no version.
int64_t DefaultVersion(const ModelSnapshot& s);

class Registry {
 public:
  // `signing_key` may be null (manifests are then unsigned); it must outlive the registry.
  Registry(std::string data_dir, const Ed25519Key* signing_key, RegistryOptions options = {});
  ~Registry();

  // Locks the directory, removes leftovers of interrupted writes and loads every model,
  // checking artifact sizes (digests are checked on first read). Messages about anything repaired
  // or refused are appended to `log`. kFailedPrecondition when another server holds the lock.
  Status Open(std::vector<std::string>* log);

  // The model's snapshot; channel manifests past half their lifetime are re-signed first.
  std::shared_ptr<const ModelSnapshot> Get(const std::string& name) const;
  std::vector<std::shared_ptr<const ModelSnapshot>> List() const;
  std::string ArtifactPath(const std::string& name, int64_t version, bool gzip) const;

  // The writes. Each fails with a Status whose message says what was wrong, and leaves the
  // committed state as it was:
  //   kInvalidArgument     the label is not valid UTF-8
  //   kInvalidModel        a tensor name or dtype of the model is not valid UTF-8
  //   kNotFound            no such model, version or channel
  //   kFailedPrecondition  the version is still referenced by a channel
  //   kResourceExhausted   the data directory's disk (or quota) is full
  //   kIoError             any other storage failure
  // Models are never removed, so a model seen once stays: kNotFound from SetChannel or
  // DeleteVersion for a model known to exist means the version is missing.

  // Stores a validated model as the next version and returns what was stored.
  Result<VersionInfo> Publish(const std::string& name, const ValidatedModel& model,
                              const std::string& label);
  // Returns the version the channel pointed to before (0 when it is new).
  Result<int64_t> SetChannel(const std::string& name, const std::string& channel, int64_t version);
  // A plain move also ends the channel's rollout: "finished" when it moves to the rollout's
  // version, "aborted" otherwise.
  Status DeleteChannel(const std::string& name, const std::string& channel);
  // Starts a rollout of `version` on an existing channel, or changes the running one (same version:
  // the percent and limits change, the assignment stays). kNotFound: no such channel or version;
  // kInvalidArgument: the version is the channel's own.
  Status StageRollout(const std::string& name, const std::string& channel, const Rollout& params);
  // Ends the channel's rollout: everyone stays on the channel's version. kNotFound when none runs.
  Result<RolloutEnd> AbortRollout(const std::string& name, const std::string& channel,
                                  const std::string& reason);
  // Adds one client report for `version` to every running rollout of the model that involves it,
  // and aborts those whose limits it crosses; returns how they ended (for the audit log).
  Result<std::vector<std::pair<std::string, RolloutEnd>>> Report(const std::string& name,
                                                                 int64_t version,
                                                                 const OutcomeCounts& counts);
  // What the running rollout of the channel has been told so far, for its base and new version
  // (zeros when none runs).
  std::pair<OutcomeCounts, OutcomeCounts> RolloutReports(const std::string& name,
                                                         const std::string& channel) const;
  Status DeleteVersion(const std::string& name, int64_t version);

  size_t model_count() const;

 private:
  // Loads one model's committed state; repairs are appended to `log`. An error means the model
  // is not served (kNotFound: no index, the directory was removed; kDataLoss: unreadable index).
  Status LoadModel(const std::string& name, std::vector<std::string>* log);
  Status WriteIndex(const ModelSnapshot& s);
  // Makes `s` the model's committed state: index.json replaced durably, then the rendered
  // snapshot swapped in for readers. Called with write_mu_ held; a storage error leaves both as
  // they were.
  Status Commit(std::shared_ptr<ModelSnapshot> s);
  std::shared_ptr<const ModelSnapshot> Render(std::shared_ptr<ModelSnapshot> s) const;
  // The snapshot as committed, without the re-signing check (for the write paths).
  std::shared_ptr<const ModelSnapshot> Current(const std::string& name) const;
  int64_t Now() const;
  std::string ModelDir(const std::string& name) const;

  std::string data_dir_;
  const Ed25519Key* key_;
  RegistryOptions options_;
  int lock_fd_ = -1;
  mutable std::shared_mutex mu_;  // guards models_
  // Mutable: Get() swaps in a re-signed snapshot when the channel manifests are due.
  mutable std::map<std::string, std::shared_ptr<const ModelSnapshot>> models_;
  mutable std::mutex write_mu_;  // serialises all commits (and re-signing)
  // Reports per running rollout, keyed by "<model>/<channel>/<rollout id>": {base, new version}.
  // In memory only: a restart starts the counts again (the rollout itself is persisted).
  mutable std::mutex reports_mu_;
  std::map<std::string, std::pair<OutcomeCounts, OutcomeCounts>> reports_;
};

// One model's index.json as stored, for tools that inspect a data directory without opening
// (locking, repairing) it: wisp-server --verify.
struct StoredIndex {
  std::string name;
  std::vector<VersionInfo> versions;
  std::map<std::string, int64_t> channels;
  std::map<std::string, int64_t> channel_sequences;
  size_t malformed_versions = 0;  // entries that could not be read
};
Result<StoredIndex> ReadStoredIndex(const std::string& path);

// Name rule for models and channels: ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$
bool IsValidName(const std::string& s);
// Positive decimal integer without sign or leading zeros, at most 18 digits; kInvalidArgument
// otherwise.
Result<int64_t> ParseVersion(const std::string& s);

}  // namespace wisp::server
