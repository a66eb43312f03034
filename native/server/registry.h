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
  RenderedJson model_json;
  // When (registry clock, Unix seconds) the channel manifests are due to be re-signed: half
  // their lifetime after rendering (re-signed once the clock is past it). Max when no channels.
  int64_t renew_at = std::numeric_limits<int64_t>::max();
};

struct RegistryOptions {
  int64_t manifest_ttl_s = 7 * 86400;  // "expires" of channel manifests = render time + this
  std::function<int64_t()> clock;      // Unix seconds; empty: the system clock
};

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
  Status DeleteChannel(const std::string& name, const std::string& channel);
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
