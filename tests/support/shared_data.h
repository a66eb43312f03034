// Test access to the read-only shared data folder (models, goldens, images).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace wisp::testing {

// The shared data root: $WISP_SHARED if set and non-empty, else the path configured at build time
// (the CMake variable WISP_SHARED, default ../shared next to the repository).
std::string SharedRoot();

// SharedRoot() + "/" + relative.
std::string SharedPath(const std::string& relative);

// The whole file.
Result<std::vector<uint8_t>> ReadFileBytes(const std::string& path);

}  // namespace wisp::testing
