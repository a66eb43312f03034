// wisp_delta_models: the delta-update test models and the native chunker, for the Node tests, the
// chunker cross-check (web/test/chunk_cross_check.mjs) and bench/delta_update.sh.
//   wisp_delta_models models DIR    writes DIR/v1.wisp and DIR/v2.wisp
//   (tests/support/delta_models.h) wisp_delta_models chunks FILE   prints "offset size sha256" per
//   gear64k-v1 chunk of FILE
#include <cstdio>
#include <cstring>
#include <string>

#include "native/common/chunker.h"
#include "native/platform/file_io.h"
#include "tests/support/delta_models.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "models") == 0) {
    for (int v : {1, 2}) {
      std::string path = std::string(argv[2]) + "/v" + std::to_string(v) + ".wisp";
      wisp::Status written = wisp::WriteFileAtomic(path, wisp::testing::DeltaTestModel(v));
      if (!written.ok()) {
        std::fprintf(stderr, "wisp_delta_models: %s\n", written.message().c_str());
        return 1;
      }
    }
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "chunks") == 0) {
    wisp::Result<std::string> data = wisp::ReadFileText(argv[2]);
    if (!data.ok()) {
      std::fprintf(stderr, "wisp_delta_models: %s\n", data.status().message().c_str());
      return 1;
    }
    for (const wisp::common::Chunk& c : wisp::common::ChunkData(*data)) {
      std::printf("%llu %llu %s\n", static_cast<unsigned long long>(c.offset),
                  static_cast<unsigned long long>(c.size), c.sha256.c_str());
    }
    return 0;
  }
  std::fprintf(stderr, "usage: wisp_delta_models models DIR | chunks FILE\n");
  return 2;
}
