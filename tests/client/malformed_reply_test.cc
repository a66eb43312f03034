// Server replies whose JSON fields have unexpected types (found by fuzz/manifest_fuzzer.cc): the
// client must refuse them with an error, not throw nlohmann::json's type_error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "native/client/client.h"

namespace wisp::client {
namespace {

// Base64 of 32 bytes: a well-formed pinned key that signed none of these manifests.
constexpr const char* kPinnedKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

TEST(MalformedReplyTest, ManifestFieldsOfTheWrongTypeAreRefused) {
  for (const std::string manifest : {
           R"({"signature": {"value": "AAAA"}, "name": 1, "version": 1, "sha256": "", "size": 1})",
           R"({"signature": {"value": "AAAA"}, "name": "m", "version": "1", "size": -3})",
           R"({"signature": {"value": 7}, "sha256": ["x"], "size": 1.5})",
       }) {
    Status verified = VerifyManifestSignature(manifest, kPinnedKey);
    EXPECT_FALSE(verified.ok()) << manifest;
    EXPECT_FALSE(verified.message().empty()) << manifest;
  }
}

TEST(MalformedReplyTest, KeptFuzzInputsAreRefused) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(WISP_CLIENT_FUZZ_REGRESSIONS)) {
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string manifest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(VerifyManifestSignature(manifest, kPinnedKey).ok()) << entry.path();
  }
  EXPECT_GT(files, 0);
}

TEST(MalformedReplyTest, ErrorMessageThatIsNotAStringFallsBackToTheBody) {
  HttpResponse r;
  r.status = 500;
  r.body = R"({"error": {"code": "x", "message": 42}})";
  EXPECT_EQ(r.ErrorMessage(), r.body);
  r.body = R"({"error": {"code": "x", "message": "broken"}})";
  EXPECT_EQ(r.ErrorMessage(), "broken");
}

}  // namespace
}  // namespace wisp::client
