// `wisp pull`, `wisp publish`, `wisp channel`: the edge-device and operator side of wisp-server.
#include <cstdio>
#include <cstdlib>

#include "native/cli/commands.h"
#include "native/client/client.h"
#include "native/platform/file_io.h"

namespace wisp::cli {
namespace {

struct RegistryArgs {
  std::string server, name, file, channel, label, dir = "wisp-cache", token, token_file, public_key;
  int64_t version = 0;
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
  options.cache_dir = a.dir;
  options.token = ResolveToken(a);
  options.public_key_base64 = a.public_key;
  client::PullResult result;
  std::string error;
  if (!client::Pull(a.server, a.name, options, &result, &error)) return Fail(error);
  const char* state = result.state == client::PullResult::State::kUpToDate ? "up to date"
                      : result.state == client::PullResult::State::kSwitched
                          ? "switched (already cached)"
                          : "downloaded";
  std::printf("%s %s@%s: version %lld %s (sha256 %s)\n  %s\n", a.name.c_str(),
              options.channel.c_str(), a.server.c_str(), static_cast<long long>(result.version),
              state, result.sha256.c_str(), result.path.c_str());
  if (result.resumed_from) {
    std::printf("  resumed from byte %llu\n", static_cast<unsigned long long>(result.resumed_from));
  }
  if (result.previous_version) {
    std::printf("  previous version %lld kept for rollback\n",
                static_cast<long long>(result.previous_version));
  }
  return 0;
}

int RunPublish(const RegistryArgs& a) {
  std::string manifest, error;
  if (!client::Publish(a.server, ResolveToken(a), a.file, a.name, a.label, a.channel, &manifest,
                       &error)) {
    return Fail(error);
  }
  std::printf("%s\n", manifest.c_str());
  return 0;
}

int RunChannel(const RegistryArgs& a) {
  std::string response, error;
  if (!client::SetChannel(a.server, ResolveToken(a), a.name, a.channel, a.version, &response,
                          &error)) {
    return Fail(error);
  }
  std::printf("%s\n", response.c_str());
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
  p->add_option("--channel", pull->channel, "channel to follow (default stable)");
  p->add_option("--dir", pull->dir, "cache directory (default ./wisp-cache)");
  p->add_option("--public-key", pull->public_key,
                "pinned Ed25519 key (base64): refuse manifests it did not sign");
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
  CLI::App* c = app.add_subcommand("channel", "Point a channel at a version (also rollback)");
  c->add_option("server", channel->server, "http[s]://host:port")->required();
  c->add_option("name", channel->name, "model name")->required();
  c->add_option("channel", channel->channel, "channel")->required();
  c->add_option("version", channel->version, "version")->required();
  AddTokenOptions(c, channel.get());
  c->callback([channel] { ExitCode() = RunChannel(*channel); });
}

}  // namespace wisp::cli
