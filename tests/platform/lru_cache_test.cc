// LruCache: the least recently used entry goes first, the cost stays under the capacity, and
// concurrent users share one value per key.
#include "native/platform/lru_cache.h"

#include <gtest/gtest.h>

#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace wisp {
namespace {

TEST(LruCache, EvictsTheLeastRecentlyUsedEntry) {
  LruCache<std::string, int> cache(2);
  cache.Put("a", 1);
  cache.Put("b", 2);
  ASSERT_EQ(cache.Get("a").value_or(0), 1);  // "b" is now the least recently used
  cache.Put("c", 3);
  EXPECT_FALSE(cache.Get("b").has_value());
  EXPECT_EQ(cache.Get("a").value_or(0), 1);
  EXPECT_EQ(cache.Get("c").value_or(0), 3);
  EXPECT_EQ(cache.Keys(), (std::list<std::string>{"c", "a"}));
  CacheStats s = cache.stats();
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.cost, 2u);
  EXPECT_EQ(s.capacity, 2u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 1u);
}

TEST(LruCache, CostLimitIsInBytesWhenACostFunctionIsGiven) {
  LruCache<int, std::string> cache(10, [](const std::string& s) { return s.size(); });
  cache.Put(1, "aaaa");
  cache.Put(2, "bbbb");
  EXPECT_EQ(cache.stats().cost, 8u);
  cache.Put(3, "cccc");  // 12 > 10: key 1 goes
  EXPECT_FALSE(cache.Get(1).has_value());
  EXPECT_EQ(cache.stats().cost, 8u);
  // A value larger than the whole cache is returned but not kept, and evicts nothing.
  EXPECT_EQ(cache.Put(4, std::string(11, 'x')).size(), 11u);
  EXPECT_FALSE(cache.Get(4).has_value());
  EXPECT_EQ(cache.size(), 2u);
  // Replacing a key's value updates its cost.
  cache.Put(2, "b");
  EXPECT_EQ(cache.stats().cost, 5u);
  EXPECT_TRUE(cache.Erase(2));
  EXPECT_FALSE(cache.Erase(2));
  EXPECT_EQ(cache.stats().cost, 4u);
}

TEST(LruCache, EmptyValuesStillCountTowardsTheLimit) {
  LruCache<int, std::string> cache(3, [](const std::string& s) { return s.size(); });
  for (int i = 0; i < 10; ++i) cache.Put(i, "");
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.stats().cost, 3u);
}

TEST(LruCache, ZeroCapacityKeepsNothing) {
  LruCache<int, int> cache(0);
  EXPECT_EQ(cache.Put(1, 5), 5);
  EXPECT_EQ(cache.GetOrInsert(2, [] { return 7; }), 7);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(LruCache, GetOrInsertSharesOneValueAcrossThreads) {
  LruCache<int, std::shared_ptr<int>> cache(4);
  std::vector<std::shared_ptr<int>> seen(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 1000; ++round) {
        seen[i] = cache.GetOrInsert(round % 6, [] { return std::make_shared<int>(0); });
        EXPECT_LE(cache.size(), 4u);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.stats().cost, 4u);
  auto a = cache.GetOrInsert(100, [] { return std::make_shared<int>(1); });
  auto b = cache.GetOrInsert(100, [] { return std::make_shared<int>(2); });
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace wisp
