// Requests that once broke wisp-server under fuzz/handler_fuzzer.cc, kept in fuzz_regressions/.
// Each is sent as raw bytes to a real server: it must get an HTTP reply, and the server must keep
// answering afterwards (a crash here takes the whole process down).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/server/test_util.h"

namespace wisp::server::testing {
namespace {

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(FuzzRegressionTest, KeptRequestsGetRepliesAndTheServerStaysUp) {
  TestServer ts;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(WISP_SERVER_FUZZ_REGRESSIONS)) {
    ++files;
    SCOPED_TRACE(entry.path().filename().string());
    std::string reply =
        RawExchange(ts.server->port(), ReadBytes(entry.path()), std::chrono::milliseconds(1000));
    EXPECT_EQ(reply.rfind("HTTP/1.1 ", 0), 0u) << reply;
    EXPECT_EQ(Do(ts.url, "GET", "/healthz").status, 200u);
  }
  EXPECT_GT(files, 0);
}

// A Transfer-Encoding with a byte that is not UTF-8 is echoed in the 400 error message; the JSON
// serialiser used to throw on it, ending the process. The byte is now replaced (U+FFFD).
TEST(FuzzRegressionTest, NonUtf8HeaderEchoedInAnErrorIsReplaced) {
  TestServer ts;
  std::string reply = RawExchange(
      ts.server->port(),
      ReadBytes(std::filesystem::path(WISP_SERVER_FUZZ_REGRESSIONS) /
                "non_utf8_transfer_encoding.http"),
      std::chrono::milliseconds(1000));
  EXPECT_NE(reply.find("400 Bad Request"), std::string::npos) << reply;
  EXPECT_NE(reply.find("bad_framing"), std::string::npos) << reply;
  EXPECT_NE(reply.find("ch\xef\xbf\xbdnked"), std::string::npos) << reply;
}

}  // namespace
}  // namespace wisp::server::testing
