#include "native/server/verify.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "native/common/util.h"
#include "native/server/registry.h"

namespace wisp::server {

namespace fs = std::filesystem;

namespace {

class Checker {
 public:
  Checker(std::string data_dir, std::ostream& out) : dir_(std::move(data_dir)), out_(out) {}

  VerifySummary Run() {
    std::error_code ec;
    if (!fs::is_directory(dir_ + "/models", ec)) {
      Problem("models/", "missing: not a wisp-server data directory");
      return sum_;
    }
    for (auto& e : fs::directory_iterator(dir_ + "/tmp", ec)) {
      Problem(Rel(e.path()), "leftover of an interrupted write");
    }
    for (auto& e : fs::directory_iterator(dir_ + "/models", ec)) {
      std::string name = e.path().filename().string();
      if (!e.is_directory() || !IsValidName(name)) {
        Problem(Rel(e.path()), "unexpected entry");
        continue;
      }
      CheckModel(name);
    }
    return sum_;
  }

 private:
  void Problem(const std::string& path, const std::string& what) {
    sum_.problems++;
    out_ << "problem: " << path << ": " << what << "\n";
  }

  std::string Rel(const fs::path& p) const { return fs::path(p).lexically_relative(dir_).string(); }

  void CheckFile(const std::string& path, uint64_t want_size, const std::string& want_sha) {
    std::string rel = Rel(path);
    Result<FileDigest> digest = HashFile(path);
    if (!digest.ok()) return Problem(rel, "missing or unreadable");
    sum_.bytes_hashed += digest->size;
    const uint64_t size = digest->size;
    const std::string& sha = digest->sha256;
    if (size != want_size) {
      return Problem(rel,
                     "size " + std::to_string(size) + ", index says " + std::to_string(want_size));
    }
    if (sha != want_sha) return Problem(rel, "sha256 " + sha + ", index says " + want_sha);
  }

  void CheckModel(const std::string& name) {
    std::string mdir = dir_ + "/models/" + name;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(mdir, ec)) {
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) {
        Problem(Rel(e.path()), "leftover of an interrupted index write");
      }
    }
    Result<StoredIndex> read = ReadStoredIndex(mdir + "/index.json");
    if (!read.ok()) return Problem(Rel(mdir + "/index.json"), read.status().message());
    const StoredIndex& idx = *read;
    sum_.models++;
    if (idx.name != name) Problem(Rel(mdir + "/index.json"), "names model '" + idx.name + "'");
    if (idx.malformed_versions) {
      Problem(Rel(mdir + "/index.json"),
              std::to_string(idx.malformed_versions) + " malformed version entries");
    }
    std::set<int64_t> listed;
    for (auto& v : idx.versions) {
      sum_.versions++;
      listed.insert(v.version);
      std::string vdir = mdir + "/versions/" + std::to_string(v.version);
      CheckFile(vdir + "/model.wisp", v.size, v.sha256);
      if (v.gzip_size) CheckFile(vdir + "/model.wisp.gz", v.gzip_size, v.gzip_sha256);
      for (auto& e : fs::directory_iterator(vdir, ec)) {
        std::string f = e.path().filename().string();
        if (f != "model.wisp" && !(f == "model.wisp.gz" && v.gzip_size)) {
          Problem(Rel(e.path()), "not listed in the index");
        }
      }
    }
    for (auto& [ch, v] : idx.channels) {
      if (!listed.count(v)) {
        Problem(Rel(mdir + "/index.json"),
                "channel '" + ch + "' points at version " + std::to_string(v) + ", not stored");
      }
    }
    for (auto& e : fs::directory_iterator(mdir + "/versions", ec)) {
      Result<int64_t> v = ParseVersion(e.path().filename().string());
      if (!v.ok() || !listed.count(*v)) {
        Problem(Rel(e.path()), "not listed in the index (interrupted publish or delete)");
      }
    }
  }

  std::string dir_;
  std::ostream& out_;
  VerifySummary sum_;
};

// True when a running server holds the directory (its flock): uploads in flight then show up as
// leftovers, which is worth saying next to the result.
bool InUse(const std::string& data_dir) {
  int fd = ::open((data_dir + "/.lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return busy;
}

}  // namespace

VerifySummary VerifyDataDir(const std::string& data_dir, std::ostream& out) {
  return Checker(data_dir, out).Run();
}

int RunVerify(const std::string& data_dir, std::ostream& out) {
  if (InUse(data_dir)) {
    out << "note: a wisp-server is running on " << data_dir
        << "; writes in flight may be reported as leftovers\n";
  }
  VerifySummary s = VerifyDataDir(data_dir, out);
  out << "verify " << data_dir << ": " << s.models << " models, " << s.versions << " versions, "
      << s.bytes_hashed << " bytes hashed, " << s.problems
      << (s.problems == 1 ? " problem" : " problems") << "\n";
  return s.problems ? 1 : 0;
}

}  // namespace wisp::server
