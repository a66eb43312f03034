#include "native/server/config.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "native/common/util.h"

namespace wisp::server {

namespace {

// A config file is JSON when its first non-blank character is '{', INI/TOML otherwise. Keys are
// the long flag names without dashes ("port", "data", "public-reads", ...).
class JsonOrIniConfig : public CLI::ConfigINI {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] != '{') {
      std::istringstream in(text);
      return CLI::ConfigINI::from_config(in);
    }
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw CLI::ConversionError("config file: invalid JSON");
    std::vector<CLI::ConfigItem> out;
    for (auto& [key, value] : j.items()) {
      CLI::ConfigItem item;
      item.name = key;
      if (value.is_array()) {
        for (auto& v : value)
          item.inputs.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      } else {
        item.inputs.push_back(value.is_string() ? value.get<std::string>() : value.dump());
      }
      out.push_back(std::move(item));
    }
    return out;
  }
};

}  // namespace

bool ParseServerConfig(int argc, char** argv, ServerConfig* cfg, int* exit_code) {
  CLI::App app{"wisp-server: model registry and inference server"};
  app.config_formatter(std::make_shared<JsonOrIniConfig>());
  app.set_config("--config", "", "Config file (JSON or INI) with the same keys as the flags");
  app.set_version_flag("--version", "wisp-server " WISP_VERSION);
  app.add_option("--address", cfg->address, "Address to listen on")->capture_default_str();
  app.add_option("--port", cfg->port, "Port (0 picks a free one)")->capture_default_str();
  app.add_option("--data", cfg->data_dir, "Registry data directory")->capture_default_str();
  app.add_option("--token-file", cfg->token_file, "Bearer tokens for writes, one per line");
  app.add_option("--web", cfg->web_dir, "Directory of static files to serve at /");
  app.add_option("--signing-key", cfg->signing_key, "Ed25519 private key (PEM) to sign manifests");
  app.add_option("--tls-cert", cfg->tls_cert, "TLS certificate chain (PEM)");
  app.add_option("--tls-key", cfg->tls_key, "TLS private key (PEM)");
  app.add_option("--threads", cfg->threads, "I/O threads (0 = one per core)")
      ->capture_default_str();
  app.add_option("--cors-origins", cfg->cors_origins, "Allowed CORS origins ('*' for any)")
      ->delimiter(',');
  app.add_option("--max-body-bytes", cfg->max_body_bytes, "Request body limit")
      ->capture_default_str();
  app.add_option("--max-predict-batch", cfg->max_predict_batch,
                 "Instances per JSON predict request")
      ->capture_default_str();
  app.add_option("--max-predict-memory", cfg->max_predict_memory,
                 "Bytes that predict requests in flight may hold (bodies and decoded inputs); "
                 "over it predict answers 503")
      ->capture_default_str();
  app.add_option("--max-connections", cfg->max_connections,
                 "Open connections at most (0 = the file-descriptor limit less 64)")
      ->capture_default_str();
  app.add_option("--file-cache-bytes", cfg->file_cache_bytes,
                 "Memory for cached artifact and static file contents; least recently used files "
                 "are evicted (0 = no cache)")
      ->capture_default_str();
  app.add_option("--etag-cache-entries", cfg->etag_cache_entries,
                 "Static file ETags kept; least recently used are evicted")
      ->capture_default_str();
  app.add_option("--model-cache-entries", cfg->model_cache_entries,
                 "Models kept loaded for predict; the least recently used is unloaded")
      ->capture_default_str();
  app.add_option("--public-reads", cfg->public_reads, "Reads without a token (true/false)")
      ->capture_default_str();
  app.add_option("--cross-origin-isolation", cfg->cross_origin_isolation,
                 "Send COOP/COEP with static files (true/false)")
      ->capture_default_str();
  app.add_option("--header-timeout-ms", cfg->header_timeout_ms, "Request header read timeout")
      ->capture_default_str();
  app.add_option("--body-timeout-ms", cfg->body_timeout_ms, "Request body read timeout")
      ->capture_default_str();
  app.add_option("--write-timeout-ms", cfg->write_timeout_ms, "Response write timeout")
      ->capture_default_str();
  app.add_option("--shutdown-grace-ms", cfg->shutdown_grace_ms,
                 "How long in-flight requests may run after SIGINT/SIGTERM")
      ->capture_default_str();
  app.add_option("--channel-max-age", cfg->channel_max_age_s,
                 "Cache-Control max-age (s) of channel manifests")
      ->capture_default_str();
  std::string ttl = "7d";
  app.add_option("--manifest-ttl", ttl,
                 "Lifetime of signed channel manifests (s/m/h/d suffix, e.g. 7d); they are "
                 "re-signed when less than half remains")
      ->capture_default_str();
  app.add_option("--access-log", cfg->access_log,
                 "Access log: a file (appended; reopened on SIGHUP), '-' for stderr, or 'off'")
      ->capture_default_str();
  app.add_flag("--quiet", cfg->quiet, "Log only errors (the access log is not affected)");
  app.add_flag("--verify", cfg->verify,
               "Check every stored artifact's sha256, channels and leftovers in --data, print "
               "problems and exit (0: clean, 1: problems) without listening");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version succeed; every usage error is 2 (as for `wisp` and the --tls check
    // below), not one of CLI11's internal codes (105, 109, ...).
    *exit_code = app.exit(e) == 0 ? 0 : 2;
    return false;
  }
  Result<int64_t> manifest_ttl = common::ParseDuration(ttl);
  if (manifest_ttl.ok()) cfg->manifest_ttl_s = *manifest_ttl;
  if (!manifest_ttl.ok() || cfg->manifest_ttl_s < 2) {
    std::cerr << "wisp-server: --manifest-ttl wants a duration such as 90s, 12h or 7d, not '" << ttl
              << "'\n";
    *exit_code = 2;
    return false;
  }
  if (cfg->tls_cert.empty() != cfg->tls_key.empty()) {
    std::cerr << "wisp-server: --tls-cert and --tls-key go together\n";
    *exit_code = 2;
    return false;
  }
  return true;
}

}  // namespace wisp::server
