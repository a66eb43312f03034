// A thread-safe least-recently-used cache with a cost limit (bytes, or 1 per entry). Every
// cache in a long-running process holds one of these, so none grows with what it is asked for.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace wisp {

// What a cache holds, for tests and /metrics.
struct CacheStats {
  uint64_t entries = 0;
  uint64_t cost = 0;      // bytes, or entries for caches counted by entry
  uint64_t capacity = 0;  // the limit `cost` stays under
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
};

template <typename K, typename V>
class LruCache {
 public:
  using CostFn = std::function<uint64_t(const V&)>;
  // `cost` of an entry (at least 1); without one every entry costs 1 (`capacity` is then an entry
  // count).
  // A capacity of 0 keeps nothing.
  explicit LruCache(uint64_t capacity, CostFn cost = nullptr)
      : capacity_(capacity), cost_fn_(std::move(cost)) {}

  // The value under `key`, which becomes the most recently used.
  std::optional<V> Get(const K& key) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    ++stats_.hits;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // Stores `value` as the most recently used entry (replacing one under `key`), then evicts the
  // least recently used entries until the total cost is within the capacity. A value that alone
  // costs more than the capacity is not kept. Returns the value now stored (or `value`).
  V Put(const K& key, V value) {
    std::lock_guard lock(mu_);
    EraseLocked(key);
    InsertLocked(key, value);
    return value;
  }

  // The value under `key`, or `make()` stored under it (evicting as Put does) when there is none;
  // both in one step under the lock (so `make` must be cheap), so concurrent callers share one
  // value.
  V GetOrInsert(const K& key, const std::function<V()>& make) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      ++stats_.hits;
      order_.splice(order_.begin(), order_, it->second);
      return it->second->value;
    }
    ++stats_.misses;
    V value = make();
    InsertLocked(key, value);
    return value;
  }

  bool Erase(const K& key) {
    std::lock_guard lock(mu_);
    return EraseLocked(key);
  }

  // Keys from the most to the least recently used (for tests).
  std::list<K> Keys() const {
    std::lock_guard lock(mu_);
    std::list<K> out;
    for (auto& e : order_) out.push_back(e.key);
    return out;
  }

  CacheStats stats() const {
    std::lock_guard lock(mu_);
    CacheStats s = stats_;
    s.entries = index_.size();
    s.capacity = capacity_;
    return s;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return index_.size();
  }

 private:
  struct Entry {
    K key;
    V value;
    uint64_t cost;
  };
  // At least 1, so that the entry count never exceeds the capacity either (empty files).
  uint64_t CostOf(const V& v) const { return cost_fn_ ? std::max<uint64_t>(1, cost_fn_(v)) : 1; }
  void InsertLocked(const K& key, const V& value) {
    const uint64_t cost = CostOf(value);
    if (cost > capacity_) return;
    order_.push_front(Entry{key, value, cost});
    index_[key] = order_.begin();
    stats_.cost += cost;
    while (stats_.cost > capacity_) {
      EraseLocked(order_.back().key);
      ++stats_.evictions;
    }
  }
  bool EraseLocked(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    stats_.cost -= it->second->cost;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  mutable std::mutex mu_;
  const uint64_t capacity_;
  const CostFn cost_fn_;
  std::list<Entry> order_;  // most recently used first
  std::map<K, typename std::list<Entry>::iterator> index_;
  CacheStats stats_;
};

}  // namespace wisp
