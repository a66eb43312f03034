// Prometheus text-format metrics: requests by route and status, bytes served, inference latency.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "native/platform/lru_cache.h"

namespace wisp::server {

class Metrics {
 public:
  void CountRequest(const std::string& route, const std::string& method, unsigned status);
  void AddBytesServed(uint64_t n) { bytes_served_ += n; }
  // Body bytes of artifact responses (200 and 206, identity or gzip) whose write completed:
  // what delta updates save shows here.
  void AddArtifactBytesSent(uint64_t n) { artifact_bytes_sent_ += n; }
  uint64_t artifact_bytes_sent() const { return artifact_bytes_sent_.load(); }
  void ObserveInference(double seconds);
  // Memory held by predict requests in flight (bodies and decoded inputs), capped by
  // --max-predict-memory. TryReservePredict adds `n` unless that would exceed `cap`.
  bool TryReservePredict(uint64_t n, uint64_t cap);
  void ReleasePredict(uint64_t n) { predict_inflight_bytes_ -= n; }
  uint64_t predict_inflight_bytes() const { return predict_inflight_bytes_.load(); }
  // Total requests counted for a route (any status); used by tests and the cache-proxy check.
  uint64_t RequestCount(const std::string& route) const;
  std::string Render(size_t models_loaded, size_t models_registered,
                     const std::vector<std::pair<std::string, CacheStats>>& caches = {}) const;

 private:
  static constexpr std::array<double, 13> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, unsigned>, uint64_t> requests_;
  std::array<uint64_t, kBuckets.size()> bucket_counts_{};
  uint64_t inference_count_ = 0;
  double inference_sum_ = 0;
  std::atomic<uint64_t> bytes_served_{0};
  std::atomic<uint64_t> artifact_bytes_sent_{0};
  std::atomic<uint64_t> predict_inflight_bytes_{0};
};

}  // namespace wisp::server
