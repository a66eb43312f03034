// wisp_client: a small synchronous HTTP(S) client for wisp-server, used by the `wisp pull`,
// `wisp publish` and `wisp channel` commands. https:// verifies the server certificate against
// the system trust store (OpenSSL default paths; SSL_CERT_FILE / SSL_CERT_DIR override it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/status.h"  // Status and Result only (inline; the client does not link it)

namespace wisp::client {

// Errors: every call returns a Status (or a Result) whose message says what went wrong, as the
// `wisp` commands print it. kInvalidArgument for a bad URL, name or version given by the caller;
// kIoError for the network and local files; kInvalidModel for a reply or artifact that fails its
// checks (malformed, unsigned, stale, replayed, wrong digest); an HTTP error answer keeps the
// meaning of its status: 404 kNotFound, 409 kFailedPrecondition, 507 kResourceExhausted, other
// 4xx kInvalidArgument, anything else kIoError.

struct ServerUrl {
  bool tls = false;
  std::string host;
  std::string port = "80";
  std::string base_path;  // without trailing slash ("" or "/prefix")
  // Accepts "http[s]://host[:port][/prefix]".
  static Result<ServerUrl> Parse(const std::string& url);
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& lower_name) const;
  // The "message" of a wisp-server JSON error body, or the raw body.
  std::string ErrorMessage() const;
};

// One keep-alive connection (reconnects when the server closed it). Not thread-safe.
class HttpClient {
 public:
  explicit HttpClient(ServerUrl url, unsigned timeout_ms = 30000);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One exchange; any HTTP status is a response (only a failed exchange is an error).
  Result<HttpResponse> Request(const std::string& method, const std::string& target,
                               const Headers& headers, const std::string& body);
  // Like Request, but hands the body to `on_data` in chunks instead of buffering it (`out->body`
  // stays empty). `out` holds the status and headers once they arrived, before the first chunk
  // and also when the transfer fails later. `on_data` returning false aborts the transfer (the
  // connection is dropped; the error is "cancelled").
  Status Stream(const std::string& method, const std::string& target, const Headers& headers,
                const std::string& body, const std::function<bool(const char*, size_t)>& on_data,
                HttpResponse* out);
  const ServerUrl& url() const { return url_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ServerUrl url_;
};

struct PullOptions {
  std::string channel = "stable";
  // > 0: this exact version instead of what `channel` points to. The cache records it as pinned
  // (<cache>/<name>/pinned/v<version>.json), so later channel pulls keep it on disk.
  int64_t version = 0;
  std::string cache_dir = "wisp-cache";
  std::string token;  // for servers with --public-reads=false
  // Pinned Ed25519 public key (base64 of the 32 raw bytes). When set, a manifest without a valid
  // signature is refused, and the sequence / expiry checks use the signed fields (see
  // docs/server.md, "Signed manifests"); without it they use the manifest's own fields.
  std::string public_key_base64;
  // Progress: bytes of the artifact present so far and its total size. Returning false cancels;
  // the partial file is kept and the next Pull resumes it with a Range request.
  std::function<bool(uint64_t done, uint64_t total)> progress;
  unsigned timeout_ms = 30000;
  // The stable random id sent as X-Wisp-Client, by which the server assigns this client during
  // staged rollouts; empty: the cache's own (<cache>/client-id, created on first use).
  std::string client_id;
};

struct PullResult {
  enum class State { kDownloaded, kUpToDate, kSwitched };
  State state = State::kUpToDate;
  int64_t version = 0;
  int64_t previous_version = 0;  // 0 when none
  std::string sha256;
  std::string path;               // the verified artifact
  uint64_t resumed_from = 0;      // bytes reused from an earlier interrupted download
  uint64_t bytes_downloaded = 0;  // artifact bytes transferred by this call
  std::string client_id;          // the X-Wisp-Client id sent
  // Delta updates (docs/server.md, "Delta updates"): when the cache holds another version of the
  // model and the version manifest lists the artifact's chunks, only the chunks the cached file
  // lacks are fetched (Range requests) and the artifact is rebuilt from both. `delta_base_version`
  // is the cached version it was rebuilt from (0: no delta) and `delta_reused_bytes` what came from
  // it. A delta that fails (a chunk or the whole file does not match its digest, a range is
  // refused) falls back to a full download; `delta_error` then says why, and `bytes_downloaded`
  // counts both transfers.
  int64_t delta_base_version = 0;
  uint64_t delta_reused_bytes = 0;
  std::string delta_error;
};

// The client id stored in a cache directory (<cache>/client-id: 32 random hex digits, created
// atomically on first use), so that one installation keeps its place in every rollout.
Result<std::string> CacheClientId(const std::string& cache_dir);

// Outcome counts a client reports for a version (POST .../versions/{v}:report), which staged
// rollouts use to roll back a bad version automatically.
struct Outcomes {
  int64_t loads = 0, load_errors = 0, runs = 0, run_errors = 0;
  bool empty() const { return loads + load_errors + runs + run_errors == 0; }
};
Status Report(const std::string& server, const std::string& name, int64_t version,
              const Outcomes& outcomes, const std::string& client_id, const std::string& token = "",
              unsigned timeout_ms = 5000);

// Resolves NAME's channel (or options.version) and makes sure the cache holds that version,
// verified (artifact, manifest and what it resolved):
//   <cache>/<name>/v<version>/model.wisp    the artifact (written atomically after sha256 check)
//   <cache>/<name>/v<version>/manifest.json its manifest
//   <cache>/<name>/channels/<channel>.json  what the channel resolved to, its ETag, the previous
//                                           version (kept on disk for rollback)
//   <cache>/<name>/pinned/v<version>.json   the same for a version pulled by number
//   <cache>/<name>/sequences.json           highest channel sequence accepted, per server URL and
//                                           channel
// A channel manifest whose sequence is below the stored one (a replay), that has expired, or that
// names another channel is refused with an error saying so; the cache is left as it was, so the
// model pulled before stays where it is.
// When the channel's ETag is unchanged the server answers 304 and nothing else happens.
Result<PullResult> Pull(const std::string& server, const std::string& name,
                        const PullOptions& options);

// Publishes a .wisp or .tflite file and returns the new version's manifest (JSON text).
// With a non-empty `channel`, the channel is pointed at the new version too.
Result<std::string> Publish(const std::string& server, const std::string& token,
                            const std::string& file, const std::string& name,
                            const std::string& label, const std::string& channel);

// A staged move: the share of clients given the new version, and the automatic rollback's limits
// (max_error_rate < 0: none). See docs/server.md, "Staged rollouts".
struct RolloutSpec {
  double percent = 0;
  double max_error_rate = -1;
  int64_t min_reports = 0;  // 0: the server's default
  double margin = 0;
};

// Points CHANNEL of NAME at VERSION (also the way to roll back, and to finish a rollout); returns
// the server's answer. With `rollout`, stages the move for that share of clients instead.
Result<std::string> SetChannel(const std::string& server, const std::string& token,
                               const std::string& name, const std::string& channel, int64_t version,
                               const RolloutSpec* rollout = nullptr);
// Aborts CHANNEL's rollout: every client stays on the channel's version.
Result<std::string> AbortRollout(const std::string& server, const std::string& token,
                                 const std::string& name, const std::string& channel);

// GET /v1/models: every model with its versions and channels, as the server's JSON.
Result<std::string> ListModels(const std::string& server, const std::string& token);

// Deletes VERSION of NAME. The server refuses (409, kFailedPrecondition) while a channel points
// at it.
Status DeleteVersion(const std::string& server, const std::string& token, const std::string& name,
                     int64_t version);

// Verifies a manifest's Ed25519 signature (over its `signature.signed` string) against a pinned
// public key (base64, 32 raw bytes) and checks that every signed field equals the manifest's own.
Status VerifyManifestSignature(const std::string& manifest_json,
                               const std::string& public_key_base64);

}  // namespace wisp::client
