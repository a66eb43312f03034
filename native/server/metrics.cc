#include "native/server/metrics.h"

#include <sstream>
#include <tuple>

namespace wisp::server {

void Metrics::CountRequest(const std::string& route, const std::string& method, unsigned status) {
  // Methods are client text: only the known ones get their own series, so that requests with
  // made-up methods cannot grow the table.
  static const char* const kMethods[] = {"GET",    "HEAD",  "POST",    "PUT",
                                         "DELETE", "PATCH", "OPTIONS", ""};
  bool known = false;
  for (const char* m : kMethods) known = known || method == m;
  std::lock_guard lock(mu_);
  requests_[std::make_tuple(route, known ? method : std::string("other"), status)]++;
}

void Metrics::ObserveInference(double seconds) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) bucket_counts_[i]++;
  }
  inference_count_++;
  inference_sum_ += seconds;
}

uint64_t Metrics::RequestCount(const std::string& route) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (auto& [k, v] : requests_) {
    if (std::get<0>(k) == route) n += v;
  }
  return n;
}

bool Metrics::TryReservePredict(uint64_t n, uint64_t cap) {
  uint64_t cur = predict_inflight_bytes_.load();
  do {
    if (n > cap || cur > cap - n) return false;
  } while (!predict_inflight_bytes_.compare_exchange_weak(cur, cur + n));
  return true;
}

std::string Metrics::Render(size_t models_loaded, size_t models_registered,
                            const std::vector<std::pair<std::string, CacheStats>>& caches) const {
  std::ostringstream o;
  std::lock_guard lock(mu_);
  o << "# HELP wisp_http_requests_total HTTP requests by route template, method and status.\n"
    << "# TYPE wisp_http_requests_total counter\n";
  for (auto& [k, v] : requests_) {
    o << "wisp_http_requests_total{route=\"" << std::get<0>(k) << "\",method=\"" << std::get<1>(k)
      << "\",status=\"" << std::get<2>(k) << "\"} " << v << "\n";
  }
  o << "# HELP wisp_http_response_bytes_total Response body bytes sent.\n"
    << "# TYPE wisp_http_response_bytes_total counter\n"
    << "wisp_http_response_bytes_total " << bytes_served_.load() << "\n";
  o << "# HELP wisp_artifact_bytes_sent_total Artifact body bytes sent (200 and 206, any "
       "encoding).\n"
    << "# TYPE wisp_artifact_bytes_sent_total counter\n"
    << "wisp_artifact_bytes_sent_total " << artifact_bytes_sent_.load() << "\n";
  o << "# HELP wisp_predict_inflight_bytes Memory reserved by predict requests in flight.\n"
    << "# TYPE wisp_predict_inflight_bytes gauge\n"
    << "wisp_predict_inflight_bytes " << predict_inflight_bytes_.load() << "\n";
  o << "# HELP wisp_inference_seconds Server-side inference latency.\n"
    << "# TYPE wisp_inference_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    o << "wisp_inference_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << bucket_counts_[i]
      << "\n";
  }
  o << "wisp_inference_seconds_bucket{le=\"+Inf\"} " << inference_count_ << "\n"
    << "wisp_inference_seconds_sum " << inference_sum_ << "\n"
    << "wisp_inference_seconds_count " << inference_count_ << "\n";
  o << "# HELP wisp_models_loaded Models loaded in memory for inference.\n"
    << "# TYPE wisp_models_loaded gauge\n"
    << "wisp_models_loaded " << models_loaded << "\n";
  o << "# HELP wisp_models_registered Models in the registry.\n"
    << "# TYPE wisp_models_registered gauge\n"
    << "wisp_models_registered " << models_registered << "\n";
  struct Series {
    const char* name;
    uint64_t CacheStats::*field;
    const char* help;
  };
  static const Series kCacheSeries[] = {
      {"entries", &CacheStats::entries, "Entries held by each cache."},
      {"cost", &CacheStats::cost, "What each cache holds: bytes (file) or entries (etag, model)."},
      {"capacity", &CacheStats::capacity, "The limit wisp_cache_cost stays under."},
      {"hits_total", &CacheStats::hits, "Lookups answered from the cache."},
      {"misses_total", &CacheStats::misses, "Lookups the cache could not answer."},
      {"evictions_total", &CacheStats::evictions, "Least recently used entries evicted."}};
  for (const Series& series : kCacheSeries) {
    if (caches.empty()) break;
    const bool counter = std::string(series.name).find("_total") != std::string::npos;
    o << "# HELP wisp_cache_" << series.name << " " << series.help << "\n"
      << "# TYPE wisp_cache_" << series.name << (counter ? " counter\n" : " gauge\n");
    for (auto& [name, stats] : caches) {
      o << "wisp_cache_" << series.name << "{cache=\"" << name << "\"} " << stats.*series.field
        << "\n";
    }
  }
  return o.str();
}

}  // namespace wisp::server
