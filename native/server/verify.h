// wisp-server --verify: an offline check of a data directory (layout in registry.h).
//
// Every artifact (and precompressed copy) the indexes list is re-hashed against the sha256
// recorded at publish time; channels must name listed versions; leftovers of interrupted writes
// (tmp/ entries, .tmp-* index files, version directories no index lists) are problems too, since
// the server removes them at start-up and a clean store has none. Nothing is modified.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace wisp::server {

struct VerifySummary {
  size_t models = 0, versions = 0, problems = 0;
  uint64_t bytes_hashed = 0;
};

// Prints one line per problem to `out` ("problem: <path>: <what>") and returns the counts.
VerifySummary VerifyDataDir(const std::string& data_dir, std::ostream& out);

// The --verify program: prints problems and a summary line; returns the exit code (0 clean,
// 1 problems found).
int RunVerify(const std::string& data_dir, std::ostream& out);

}  // namespace wisp::server
