// Invoke never allocates: every shared model, prepared once, is invoked again while the global
// operator new counts calls (its own test binary, since it replaces operator new). Planned
// scratch, packed weights and the thread pool's task hand-off are all set up in Prepare.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "native/platform/thread_pool.h"
#include "runtime/api/load_model.h"
#include "runtime/interpreter/interpreter.h"
#include "tests/support/golden_manifest.h"
#include "tests/support/shared_data.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// GCC pairs these replacement operators with malloc/free and warns; they are consistent here.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace wisp {
namespace {

class InvokeAllocTest : public ::testing::TestWithParam<int> {};

TEST_P(InvokeAllocTest, EverySharedModelInvokesWithoutAllocating) {
  auto cases = testing::LoadGoldenCases();
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  const int threads = GetParam();
  std::unique_ptr<NativeThreadPool> pool;
  if (threads > 1) pool = std::make_unique<NativeThreadPool>(threads);
  std::set<std::string> seen;
  for (const testing::GoldenCase& c : *cases) {
    if (!seen.insert(c.model_path).second) continue;
    SCOPED_TRACE(c.model_name);
    auto bytes = testing::ReadFileBytes(c.model_path);
    ASSERT_TRUE(bytes.ok());
    const long before_load = g_allocations.load();
    auto model = LoadModelBytes(bytes->data(), bytes->size(), nullptr, {});
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    ASSERT_GT(g_allocations.load(), before_load) << "the counting operator new is not in use";
    InterpreterOptions options;
    options.thread_pool = pool.get();
    auto interp = Interpreter::Create(*model, options);
    ASSERT_TRUE(interp.ok()) << interp.status().ToString();
    ASSERT_TRUE((*interp)->Invoke().ok());  // the first invoke may still warm caches
    const long before = g_allocations.load();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*interp)->Invoke().ok());
    EXPECT_EQ(g_allocations.load() - before, 0) << "operator new calls during Invoke";
  }
  EXPECT_GE(seen.size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Threads, InvokeAllocTest, ::testing::Values(1, 2));

}  // namespace
}  // namespace wisp
