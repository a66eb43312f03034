// native/platform/file_io: the one set of file helpers in native/ (reads, crash-safe writes).
#include "native/platform/file_io.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace wisp {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "wisp-file-io-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TEST(FileIo, AtomicWriteReplacesAndLeavesNoTemporaryFile) {
  TempDir d;
  const std::string p = d.path + "/a.json";
  ASSERT_TRUE(WriteFileAtomic(p, std::string_view("first")).ok());
  ASSERT_TRUE(WriteFileAtomic(p, std::string_view("second")).ok());
  Result<std::string> text = ReadFileText(p);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(*text, "second");
  size_t files = 0;
  for (auto& e : fs::directory_iterator(d.path)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "a.json");
  }
  EXPECT_EQ(files, 1u);
}

TEST(FileIo, ConcurrentAtomicWritesUseDistinctTemporaryFiles) {
  TempDir d;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string body(1000, static_cast<char>('a' + t));
        EXPECT_TRUE(WriteFileAtomic(d.path + "/shared", body).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  Result<std::string> text = ReadFileText(d.path + "/shared");
  ASSERT_TRUE(text.ok());
  ASSERT_EQ(text->size(), 1000u);
  EXPECT_EQ(text->find_first_not_of(text->front()), std::string::npos) << "a torn file";
}

TEST(FileIo, ErrorsAreStatusesNamingTheFile) {
  TempDir d;
  Result<std::string> missing = ReadFileText(d.path + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(d.path + "/nope"), std::string::npos);
  Status s = WriteFileAtomic(d.path + "/no/such/dir/x", std::string_view("x"));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no/such/dir"), std::string::npos) << s.message();
  EXPECT_FALSE(RenameDurable(d.path + "/nope", d.path + "/other").ok());
}

TEST(FileIo, ReadsFilesWhoseSizeIsNotKnownAhead) {
  // /proc files report size 0.
  Result<std::string> text = ReadFileText("/proc/self/status");
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_NE(text->find("Name:"), std::string::npos);
}

TEST(FileIo, MakeDirsDurableCreatesEveryLevel) {
  TempDir d;
  ASSERT_TRUE(MakeDirsDurable(d.path + "/a/b/c").ok());
  EXPECT_TRUE(fs::is_directory(d.path + "/a/b/c"));
  EXPECT_TRUE(MakeDirsDurable(d.path + "/a/b/c").ok());  // already there
  ASSERT_TRUE(WriteFileSynced(d.path + "/a/f", "x").ok());
  EXPECT_FALSE(MakeDirsDurable(d.path + "/a/f/g").ok());  // a file in the way
}

}  // namespace
}  // namespace wisp
