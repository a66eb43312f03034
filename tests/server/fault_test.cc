// Fault injection (issue 11): kill -9 of wisp-server at random moments while a client publishes,
// moves channels and deletes versions, then restart and check what survived. Loopback only and
// bounded: WISP_FAULT_ROUNDS rounds (default 30, at most 100), each killed within half a second.
//
// After every restart: each acknowledged publish is served with its sha256, each acknowledged
// delete is gone, each channel holds its acknowledged version (or, if a move was cut short, the
// one being moved to), every listed version serves exactly its manifest's bytes, tmp/ is empty
// and `wisp-server --verify` finds nothing. Labelled "slow" (tests/server/CMakeLists.txt).
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "native/common/util.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kModel = "/v1/models/faults";
const char* const kChannels[] = {"stable", "beta"};

int Rounds() {
  const char* env = std::getenv("WISP_FAULT_ROUNDS");
  int n = env ? std::atoi(env) : 30;
  return std::clamp(n, 1, 100);
}

// What the client knows: acknowledged state, plus the one operation whose answer was cut off by
// the kill (it may or may not have committed).
struct Expected {
  std::map<int64_t, std::string> versions;  // acknowledged and not deleted: sha256
  std::set<int64_t> deleted;                // acknowledged deletes
  std::map<std::string, int64_t> channels;  // acknowledged moves
  struct Op {
    enum Kind { kPublish, kMove, kDelete } kind;
    int64_t version = 0;
    std::string channel;
  };
  std::optional<Op> in_flight;
};

struct Counts {
  int publishes = 0, moves = 0, deletes = 0, interrupted = 0, lost = 0;
  int committed_unacknowledged = 0;  // interrupted operations found committed after the restart
};

client::HttpResponse Send(const std::string& url, const std::string& method,
                          const std::string& target, const std::string& body, bool* ok) {
  client::HttpClient c(Ok(client::ServerUrl::Parse(url)), 5000);  // fresh: no retry on reuse
  Result<client::HttpResponse> r = c.Request(method, target, Auth(), body);
  *ok = r.ok();
  return r.ok() ? std::move(r).value() : client::HttpResponse{};
}

// One writer: at most one operation in flight, so the outcome of the interrupted one is the only
// uncertainty. Runs until a request fails (the server was killed).
void WriteLoad(const std::string& url, uint32_t seed, Expected* e, std::mutex* mu, Counts* n) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 1000; ++i) {
    Expected::Op op;
    std::string method, target, body;
    {
      std::lock_guard lock(*mu);
      std::vector<int64_t> free;  // versions no channel references: deletable
      for (auto& [v, sha] : e->versions) {
        bool used = false;
        for (auto& [ch, cv] : e->channels) used |= cv == v;
        if (!used) free.push_back(v);
      }
      unsigned dice = rng() % 10;
      if (e->versions.size() > 10 && !free.empty()) dice = 9;  // keep the store small
      if (dice < 6 || e->versions.empty()) {
        op.kind = Expected::Op::kPublish;
        method = "POST";
        target = std::string(kModel) + "/versions";
        body = FakeModel(20000 + rng() % 150000, rng(), rng() % 2);
      } else if (dice < 8 || free.empty()) {
        op.kind = Expected::Op::kMove;
        auto it = e->versions.begin();
        std::advance(it, rng() % e->versions.size());
        op.version = it->first;
        op.channel = kChannels[rng() % 2];
        method = "PUT";
        target = std::string(kModel) + "/channels/" + op.channel;
        body = json{{"version", op.version}}.dump();
      } else {
        op.kind = Expected::Op::kDelete;
        op.version = free[rng() % free.size()];
        method = "DELETE";
        target = std::string(kModel) + "/versions/" + std::to_string(op.version);
      }
      e->in_flight = op;
    }
    bool ok = false;
    auto r = Send(url, method, target, body, &ok);
    std::lock_guard lock(*mu);
    if (!ok) {
      n->interrupted++;
      return;  // killed: in_flight stays uncertain
    }
    e->in_flight.reset();
    switch (op.kind) {
      case Expected::Op::kPublish:
        ASSERT_EQ(r.status, 201u) << r.body;
        e->versions[json::parse(r.body)["version"].get<int64_t>()] = Sha256Hex(body);
        n->publishes++;
        break;
      case Expected::Op::kMove:
        ASSERT_EQ(r.status, 200u) << r.body;
        e->channels[op.channel] = op.version;
        n->moves++;
        break;
      case Expected::Op::kDelete:
        ASSERT_EQ(r.status, 204u) << r.body;
        e->versions.erase(op.version);
        e->deleted.insert(op.version);
        n->deletes++;
        break;
    }
  }
}

int RunVerify(const std::string& data, std::string* out) {
  return RunServerVerify(WISP_FAKE_SERVER_BINARY, data, out);
}

// Checks the restarted server against `e`, then settles the interrupted operation from what the
// server shows (it either committed wholly or not at all).
void CheckAndSettle(const std::string& url, const std::string& data, Expected* e, Counts* n,
                    int round) {
  SCOPED_TRACE("round " + std::to_string(round));
  for (auto& [v, sha] : e->versions) {
    bool deleting =
        e->in_flight && e->in_flight->kind == Expected::Op::kDelete && e->in_flight->version == v;
    auto art =
        Do(url, "GET", std::string(kModel) + "/versions/" + std::to_string(v) + "/model.wisp");
    if (deleting && art.status == 404) continue;
    if (art.status != 200 || Sha256Hex(art.body) != sha) {
      n->lost++;
      ADD_FAILURE() << "acknowledged version " << v << " lost or damaged: " << art.status;
    }
  }
  for (int64_t v : e->deleted) {
    EXPECT_EQ(Do(url, "GET", std::string(kModel) + "/versions/" + std::to_string(v)).status, 404u)
        << "deleted version " << v << " came back";
  }
  auto model = Do(url, "GET", kModel);
  // Named documents: a range-for over a member of a temporary dangles.
  const json listing = model.status == 200 ? json::parse(model.body) : json::object();
  const json versions = listing.value("versions", json::array());
  const json listed_channels = listing.value("channels", json::object());
  std::map<int64_t, std::string> listed;
  for (const auto& m : versions) {
    int64_t v = m["version"].get<int64_t>();
    listed[v] = m["sha256"].get<std::string>();
    auto art = Do(url, "GET", m["download_url"].get<std::string>());
    EXPECT_EQ(art.status, 200u) << "listed version " << v;
    EXPECT_EQ(art.body.size(), m["size"].get<size_t>()) << "listed version " << v << " partial";
    EXPECT_EQ(Sha256Hex(art.body), listed[v]) << "listed version " << v;
  }
  std::map<std::string, int64_t> channels;
  for (const auto& [ch, v] : listed_channels.items()) {
    channels[ch] = v.get<int64_t>();
    EXPECT_TRUE(listed.count(channels[ch])) << "channel " << ch << " dangles at " << v;
  }
  for (const char* ch : kChannels) {
    std::optional<int64_t> want, got;
    if (e->channels.count(ch)) want = e->channels[ch];
    if (channels.count(ch)) got = channels[ch];
    bool moving =
        e->in_flight && e->in_flight->kind == Expected::Op::kMove && e->in_flight->channel == ch;
    if (got != want && !(moving && got == e->in_flight->version)) {
      n->lost++;
      ADD_FAILURE() << "channel " << ch << " is " << (got ? *got : 0) << ", acknowledged "
                    << (want ? *want : 0);
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(data + "/tmp")) << "temporary files left";
  std::string out;
  EXPECT_EQ(RunVerify(data, &out), 0) << out;

  // Settle: the interrupted operation's outcome is now known.
  if (e->in_flight) {
    auto& op = *e->in_flight;
    if (op.kind == Expected::Op::kMove && channels.count(op.channel)) {
      if (!e->channels.count(op.channel) || e->channels[op.channel] != channels[op.channel]) {
        n->committed_unacknowledged++;
      }
      e->channels[op.channel] = channels[op.channel];
    } else if (op.kind == Expected::Op::kDelete && !listed.count(op.version)) {
      n->committed_unacknowledged++;
      e->versions.erase(op.version);
      e->deleted.insert(op.version);
    }
    e->in_flight.reset();
  }
  // An interrupted publish that committed is durable from now on, like an acknowledged one.
  for (auto& [v, sha] : listed) {
    if (!e->versions.count(v)) {
      n->committed_unacknowledged++;
      e->versions[v] = sha;
    }
  }
}

TEST(FaultTest, KillDashNineDuringWritesLosesNothingAcknowledged) {
  TempDir d;
  WriteText(d / "tokens", std::string(kToken) + "\n");
  const std::vector<std::string> args = {
      "--port",    "0", "--data",  d / "data",     "--token-file", d / "tokens",
      "--threads", "2", "--quiet", "--access-log", "off"};
  const int rounds = Rounds();
  const auto start = std::chrono::steady_clock::now();
  Expected e;
  Counts n;
  std::mutex mu;
  std::mt19937 rng(20261206);
  for (int round = 0; round < rounds; ++round) {
    ServerProcess p(WISP_FAKE_SERVER_BINARY, args);
    ASSERT_NE(p.port(), 0) << "round " << round;
    CheckAndSettle(p.url(), d / "data", &e, &n, round);
    if (::testing::Test::HasFatalFailure()) return;
    std::thread writer(WriteLoad, p.url(), static_cast<uint32_t>(rng()), &e, &mu, &n);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 470));
    p.Signal(SIGKILL);
    EXPECT_EQ(p.Wait(), 128 + SIGKILL);
    writer.join();
  }
  {
    ServerProcess p(WISP_FAKE_SERVER_BINARY, args);
    ASSERT_NE(p.port(), 0);
    CheckAndSettle(p.url(), d / "data", &e, &n, rounds);
    p.Signal(SIGTERM);
    EXPECT_EQ(p.Wait(), 0);
  }
  std::string out;
  EXPECT_EQ(RunVerify(d / "data", &out), 0) << out;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "faults: " << rounds << " rounds, acknowledged " << n.publishes << " publishes, "
            << n.moves << " channel moves, " << n.deletes << " deletes; " << n.interrupted
            << " interrupted (" << n.committed_unacknowledged << " of them committed); "
            << e.versions.size() << " versions stored; lost " << n.lost << "; " << secs << " s\n";
  EXPECT_EQ(n.lost, 0);
  EXPECT_GT(n.publishes, rounds);
  RecordProperty("rounds", rounds);
  RecordProperty("acknowledged_publishes", n.publishes);
  RecordProperty("acknowledged_moves", n.moves);
  RecordProperty("acknowledged_deletes", n.deletes);
  RecordProperty("committed_unacknowledged", n.committed_unacknowledged);
  RecordProperty("lost", n.lost);
}

}  // namespace
}  // namespace wisp::server::testing
