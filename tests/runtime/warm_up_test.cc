#include "runtime/api/warm_up.h"

#include <gtest/gtest.h>

namespace wisp {
namespace {

// The synthetic networks are valid models whose every operator prepares and runs; a change that
// breaks one (a kernel's validation, the builder) fails here instead of silently at cold start.
TEST(WarmUp, SyntheticNetworksPrepareAndRun) {
  const Status s = WarmUpKernels(2);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace wisp
