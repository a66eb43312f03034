// wisp-server settings: command-line flags and a config file (JSON or INI) with the same keys.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wisp::server {

struct ServerConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: an ephemeral port (printed on start-up)
  std::string data_dir = "wisp-data";
  std::string token_file;   // one bearer token per line; empty: writes are refused
  std::string web_dir;      // static files (web package, demo page)
  std::string signing_key;  // Ed25519 private key (PEM)
  std::string tls_cert, tls_key;
  unsigned threads = 0;                   // 0: std::thread::hardware_concurrency()
  std::vector<std::string> cors_origins;  // "*" allows any origin
  uint64_t max_body_bytes = 256ull << 20;
  // Predict bodies have their own, smaller limit derived from the model's input size (see
  // Handler::PredictBudget); these bound what anonymous predict requests may cost.
  unsigned max_predict_batch = 32;           // instances per JSON predict request
  uint64_t max_predict_memory = 1ull << 30;  // body + decoded inputs of all predicts in flight
  // Open connections; 0: the file-descriptor limit less a reserve for files and the listener.
  unsigned max_connections = 0;
  // Cache limits (least recently used entries are evicted): artifact and static file contents
  // in bytes, ETags of static files and models loaded for predict in entries.
  uint64_t file_cache_bytes = 1ull << 30;
  unsigned etag_cache_entries = 4096;
  unsigned model_cache_entries = 16;
  bool public_reads = true;
  // COOP/COEP on static files, so the demo page may use SharedArrayBuffer (threaded WebAssembly).
  bool cross_origin_isolation = true;
  unsigned header_timeout_ms = 15000;  // whole request header, including keep-alive idle time
  unsigned body_timeout_ms = 120000;   // whole request body
  unsigned write_timeout_ms = 300000;  // whole response
  unsigned shutdown_grace_ms = 10000;  // in-flight requests get this long after SIGTERM
  unsigned channel_max_age_s = 5;      // Cache-Control max-age of channel manifests
  // Lifetime of a channel manifest ("expires" = render time + this); the registry re-signs a
  // channel manifest once less than half of it remains. --manifest-ttl 7d.
  int64_t manifest_ttl_s = 7 * 86400;
  // Seconds since the Unix epoch for manifest expiry; empty: the system clock. Tests inject one.
  std::function<int64_t()> clock;
  // "-": stderr, "off", or a file appended to (reopened on SIGHUP). --quiet does not silence it:
  // it is request data for operators, not diagnostics.
  std::string access_log = "-";
  bool quiet = false;
  // Check the data directory (digests, channels, leftovers), report, and exit without listening.
  bool verify = false;
};

// Parses flags (and --config FILE). Returns false and sets `exit_code` when the program should
// exit right away (for --help, exit_code is 0 and the help text is printed).
bool ParseServerConfig(int argc, char** argv, ServerConfig* cfg, int* exit_code);

}  // namespace wisp::server
