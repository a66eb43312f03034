// Runs the real `wisp` binary (WISP_CLI_PATH) as a user would, capturing exit code and output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace wisp::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// A folder for one test binary's scratch files (created once, kept for inspection).
inline std::string CliTempDir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/wisp_cli_test_XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

// `args` is appended to the binary's path as shell words.
inline CommandResult RunWisp(const std::string& args) {
  const std::string err_file = CliTempDir() + "/stderr.txt";
  const std::string cmd = std::string(WISP_CLI_PATH) + " " + args + " 2>" + err_file;
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream ef(err_file);
  r.err.assign(std::istreambuf_iterator<char>(ef), std::istreambuf_iterator<char>());
  return r;
}

}  // namespace wisp::testing
