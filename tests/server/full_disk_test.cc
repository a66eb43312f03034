// A full disk under the registry: publish answers 507 with a clear message, leaves nothing
// partial, reads go on, and publishing works again once space is freed. Needs root to mount a
// 2 MiB tmpfs as the data directory; skipped otherwise.
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "native/common/util.h"
#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

// Mounts a small tmpfs at `path` for the life of the object.
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& path) : path_(path) {
    std::filesystem::create_directories(path_);
    mounted_ = ::geteuid() == 0 && ::mount("tmpfs", path_.c_str(), "tmpfs", 0, "size=2m") == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST(FullDiskTest, PublishAnswers507LeavesNothingAndWorksAgainAfterFreeingSpace) {
  TempDir d;
  TmpfsMount mnt(d / "data");
  if (!mnt.mounted()) GTEST_SKIP() << "needs root and tmpfs to mount a small data directory";
  WriteText(d / "tokens", std::string(kToken) + "\n");
  ServerProcess p(WISP_FAKE_SERVER_BINARY,
                  {"--port", "0", "--data", d / "data", "--token-file", d / "tokens", "--threads",
                   "2", "--quiet", "--access-log", "off"});
  ASSERT_NE(p.port(), 0);
  const std::string small = FakeModel(100000, 1);
  ASSERT_EQ(Do(p.url(), "POST", "/v1/models/keep/versions", Auth(), small).status, 201u);
  auto fill = Do(p.url(), "POST", "/v1/models/fill/versions", Auth(), FakeModel(1200000, 2));
  ASSERT_EQ(fill.status, 201u) << fill.body;

  auto full = Do(p.url(), "POST", "/v1/models/fill/versions", Auth(), FakeModel(1200000, 3));
  ExpectError(full, 507, "insufficient_storage", "no space left");
  EXPECT_TRUE(std::filesystem::is_empty(d / "data/tmp")) << "partial upload left behind";
  auto listing = nlohmann::json::parse(Do(p.url(), "GET", "/v1/models/fill").body);
  EXPECT_EQ(listing["versions"].size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(d / "data/models/fill/versions/2"));
  auto read = Do(p.url(), "GET", "/v1/models/keep/versions/1/model.wisp");
  EXPECT_EQ(read.status, 200u);
  EXPECT_EQ(Sha256Hex(read.body), Sha256Hex(small));
  std::string out;
  EXPECT_EQ(RunServerVerify(WISP_FAKE_SERVER_BINARY, d / "data", &out), 0) << out;

  ASSERT_EQ(Do(p.url(), "DELETE", "/v1/models/fill/versions/1", Auth()).status, 204u);
  auto again = Do(p.url(), "POST", "/v1/models/fill/versions", Auth(), FakeModel(1200000, 3));
  EXPECT_EQ(again.status, 201u) << again.body;
  p.Signal(SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
}

}  // namespace
}  // namespace wisp::server::testing
