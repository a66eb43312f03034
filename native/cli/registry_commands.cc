// `wisp pull`, `wisp publish`, `wisp channel`, `wisp models list`, `wisp delete`: the
// edge-device and operator side of wisp-server. Exit codes: 0 done, 1 the operation failed (the
// message names the server's answer or what was wrong locally), 2 usage error.
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "native/cli/commands.h"
#include "native/cli/model_file.h"
#include "native/client/client.h"
#include "native/client/json_field.h"
#include "native/platform/file_io.h"

namespace wisp::cli {
namespace {

struct RegistryArgs {
  std::string server, name, file, channel, label, dir = "wisp-cache", token, token_file, public_key;
  int64_t version = 0;
  bool json = false;
  // wisp channel: a staged rollout (--percent) or its abort (--abort).
  double percent = 0, max_error_rate = -1, margin = 0;
  int64_t min_reports = 0;
  bool abort = false;
};

// --token, else --token-file, else $WISP_TOKEN.
std::string ResolveToken(const RegistryArgs& a) {
  if (!a.token.empty()) return a.token;
  if (!a.token_file.empty()) {
    auto text = ReadFileText(a.token_file);
    if (text.ok()) {
      std::string t = *text;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
      return t.substr(0, t.find('\n'));
    }
  }
  const char* env = std::getenv("WISP_TOKEN");
  return env ? env : "";
}

int RunPull(const RegistryArgs& a) {
  client::PullOptions options;
  options.channel = a.channel.empty() ? "stable" : a.channel;
  options.version = a.version;
  options.cache_dir = a.dir;
  options.token = ResolveToken(a);
  options.public_key_base64 = a.public_key;
  Result<client::PullResult> pulled = client::Pull(a.server, a.name, options);
  if (!pulled.ok()) return Fail(pulled.status().message());
  const client::PullResult& result = pulled.value();
  if (result.state != client::PullResult::State::kUpToDate) {
    // A new version arrived: check that it loads and tell the server, whose staged rollouts
    // count these reports (best effort: a failed report does not fail the pull).
    client::Outcomes outcome;
    const bool loads = LoadModelFile(result.path, /*verify_sha256=*/false).ok();
    (loads ? outcome.loads : outcome.load_errors) = 1;
    Status reported =
        client::Report(a.server, a.name, result.version, outcome, result.client_id, options.token);
    if (!reported.ok()) {
      std::fprintf(stderr, "wisp: note: outcome report not sent: %s\n", reported.message().c_str());
    }
    if (!loads)
      return Fail("version " + std::to_string(result.version) + " of " + a.name +
                  " was pulled to " + result.path + " but does not load");
  }
  const char* state = result.state == client::PullResult::State::kUpToDate ? "up to date"
                      : result.state == client::PullResult::State::kSwitched
                          ? "switched (already cached)"
                          : "downloaded";
  if (a.json) {
    nlohmann::json j = {{"name", a.name},
                        {"version", result.version},
                        {"state", state},
                        {"sha256", result.sha256},
                        {"path", result.path},
                        {"previous_version", result.previous_version},
                        {"resumed_from", result.resumed_from},
                        {"bytes_downloaded", result.bytes_downloaded},
                        {"delta_base_version", result.delta_base_version},
                        {"delta_reused_bytes", result.delta_reused_bytes}};
    if (!result.delta_error.empty()) j["delta_error"] = result.delta_error;
    if (a.version == 0) j["channel"] = options.channel;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  const std::string what = a.version > 0 ? "v" + std::to_string(a.version) : options.channel;
  std::printf("%s %s@%s: version %lld %s (sha256 %s)\n  %s\n", a.name.c_str(), what.c_str(),
              a.server.c_str(), static_cast<long long>(result.version), state,
              result.sha256.c_str(), result.path.c_str());
  if (result.resumed_from) {
    std::printf("  resumed from byte %llu\n", static_cast<unsigned long long>(result.resumed_from));
  }
  if (result.delta_base_version) {
    std::printf("  delta update from version %lld: %llu bytes fetched, %llu reused\n",
                static_cast<long long>(result.delta_base_version),
                static_cast<unsigned long long>(result.bytes_downloaded),
                static_cast<unsigned long long>(result.delta_reused_bytes));
  }
  if (!result.delta_error.empty()) std::printf("  %s\n", result.delta_error.c_str());
  if (result.previous_version) {
    std::printf("  previous version %lld kept for rollback\n",
                static_cast<long long>(result.previous_version));
  }
  return 0;
}

int RunPublish(const RegistryArgs& a) {
  Result<std::string> manifest =
      client::Publish(a.server, ResolveToken(a), a.file, a.name, a.label, a.channel);
  if (!manifest.ok()) return Fail(manifest.status().message());
  std::printf("%s\n", manifest->c_str());
  return 0;
}

int RunChannel(const RegistryArgs& a) {
  if (!a.abort && a.version <= 0) return Fail("give the version to point the channel at");
  client::RolloutSpec rollout;
  rollout.percent = a.percent;
  rollout.max_error_rate = a.max_error_rate;
  rollout.min_reports = a.min_reports;
  rollout.margin = a.margin;
  Result<std::string> response =
      a.abort ? client::AbortRollout(a.server, ResolveToken(a), a.name, a.channel)
              : client::SetChannel(a.server, ResolveToken(a), a.name, a.channel, a.version,
                                   a.percent > 0 ? &rollout : nullptr);
  if (!response.ok()) return Fail(response.status().message());
  std::printf("%s\n", response->c_str());
  return 0;
}

int RunModelsList(const RegistryArgs& a) {
  Result<std::string> body = client::ListModels(a.server, ResolveToken(a));
  if (!body.ok()) return Fail(body.status().message());
  const nlohmann::json list = nlohmann::json::parse(*body, nullptr, false);
  if (a.json) {
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  const nlohmann::json& models = list["models"];
  if (models.empty()) {
    std::printf("no models on %s\n", a.server.c_str());
    return 0;
  }
  std::printf("%-32s %-8s %-20s %s\n", "NAME", "LATEST", "VERSIONS", "CHANNELS");
  for (const nlohmann::json& m : models) {
    std::string versions, channels;
    if (m.contains("versions") && m["versions"].is_array()) {
      for (const nlohmann::json& v : m["versions"]) {
        if (!v.is_number_integer()) continue;
        versions += (versions.empty() ? "" : ",") + std::to_string(v.get<int64_t>());
      }
    }
    if (m.contains("channels") && m["channels"].is_object()) {
      for (const auto& [ch, v] : m["channels"].items()) {
        if (!v.is_number_integer()) continue;
        channels += (channels.empty() ? "" : " ") + ch + "=" + std::to_string(v.get<int64_t>());
      }
    }
    const int64_t latest = client::FieldOr<int64_t>(m, "latest_version", 0);
    std::printf("%-32s %-8s %-20s %s\n", client::FieldOr<std::string>(m, "name", "?").c_str(),
                latest > 0 ? std::to_string(latest).c_str() : "-",
                versions.empty() ? "-" : versions.c_str(),
                channels.empty() ? "-" : channels.c_str());
  }
  return 0;
}

int RunDelete(const RegistryArgs& a) {
  if (Status deleted = client::DeleteVersion(a.server, ResolveToken(a), a.name, a.version);
      !deleted.ok()) {
    return Fail(deleted.message());
  }
  if (a.json) {
    std::printf("%s\n", nlohmann::json{{"name", a.name}, {"version", a.version}, {"deleted", true}}
                            .dump(2)
                            .c_str());
  } else {
    std::printf("deleted %s version %lld from %s\n", a.name.c_str(),
                static_cast<long long>(a.version), a.server.c_str());
  }
  return 0;
}

void AddTokenOptions(CLI::App* cmd, RegistryArgs* a) {
  cmd->add_option("--token", a->token, "bearer token (default: --token-file or $WISP_TOKEN)");
  cmd->add_option("--token-file", a->token_file, "file whose first line is the bearer token");
}

}  // namespace

void AddRegistryCommands(CLI::App& app) {
  auto pull = std::make_shared<RegistryArgs>();
  CLI::App* p = app.add_subcommand("pull", "Fetch the current version of a model from a server");
  p->add_option("server", pull->server, "http[s]://host:port")->required();
  p->add_option("name", pull->name, "model name")->required();
  CLI::Option* pull_channel =
      p->add_option("--channel", pull->channel, "channel to follow (default stable)");
  p->add_option("--version", pull->version, "this exact version instead of a channel")
      ->check(CLI::PositiveNumber)
      ->excludes(pull_channel);
  p->add_option("--dir", pull->dir, "cache directory (default ./wisp-cache)");
  p->add_option("--public-key", pull->public_key,
                "pinned Ed25519 key (base64): refuse manifests it did not sign");
  p->add_flag("--json", pull->json, "print the result as JSON (version, sha256, path, ...)");
  AddTokenOptions(p, pull.get());
  p->callback([pull] { ExitCode() = RunPull(*pull); });

  auto publish = std::make_shared<RegistryArgs>();
  CLI::App* pb = app.add_subcommand("publish", "Publish a .wisp or .tflite as a new version");
  pb->add_option("server", publish->server, "http[s]://host:port")->required();
  pb->add_option("file", publish->file, "model file")->required()->check(CLI::ExistingFile);
  pb->add_option("--name", publish->name, "model name")->required();
  pb->add_option("--channel", publish->channel, "also point this channel at the new version");
  pb->add_option("--label", publish->label, "free-form version label");
  AddTokenOptions(pb, publish.get());
  pb->callback([publish] { ExitCode() = RunPublish(*publish); });

  auto channel = std::make_shared<RegistryArgs>();
  CLI::App* c = app.add_subcommand(
      "channel",
      "Point a channel at a version (also rollback), or stage it for a share of clients");
  c->add_option("server", channel->server, "http[s]://host:port")->required();
  c->add_option("name", channel->name, "model name")->required();
  c->add_option("channel", channel->channel, "channel")->required();
  c->add_option("version", channel->version,
                "version (moving to the rolled-out version finishes a rollout)");
  c->add_option("--percent", channel->percent,
                "stage the move: only this percent of clients get the version")
      ->check(CLI::Range(0.0, 100.0));
  c->add_option("--max-error-rate", channel->max_error_rate,
                "roll back by itself when the new version's reported error rate exceeds this")
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--min-reports", channel->min_reports,
                "reports of the new version needed before rolling back (default 1)");
  c->add_option("--margin", channel->margin,
                "and the new version's error rate exceeds the old one's by more than this")
      ->check(CLI::Range(0.0, 1.0));
  c->add_flag("--abort", channel->abort, "abort the channel's rollout: everyone keeps its version");
  AddTokenOptions(c, channel.get());
  c->callback([channel] { ExitCode() = RunChannel(*channel); });

  CLI::App* models = app.add_subcommand("models", "Query a server's models");
  models->require_subcommand(1);
  auto list = std::make_shared<RegistryArgs>();
  CLI::App* l = models->add_subcommand("list", "List models with their versions and channels");
  l->add_option("server", list->server, "http[s]://host:port")->required();
  l->add_flag("--json", list->json, "print the server's JSON ({\"models\": [...]})");
  AddTokenOptions(l, list.get());
  l->callback([list] { ExitCode() = RunModelsList(*list); });

  auto del = std::make_shared<RegistryArgs>();
  CLI::App* d = app.add_subcommand(
      "delete", "Delete a version of a model (refused while a channel points at it)");
  d->add_option("server", del->server, "http[s]://host:port")->required();
  d->add_option("name", del->name, "model name")->required();
  d->add_option("version", del->version, "version")->required()->check(CLI::PositiveNumber);
  d->add_flag("--json", del->json, "print the result as JSON");
  AddTokenOptions(d, del.get());
  d->callback([del] { ExitCode() = RunDelete(*del); });
}

}  // namespace wisp::cli
