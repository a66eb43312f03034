// OutcomeReporter: counts a deployed model's loads and runs and reports them to wisp-server in
// batches from a background thread, so that a staged rollout can roll a bad version back. Counting
// is a few atomic increments; inference never waits for the network, and a report that fails is
// kept and sent with the next batch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "native/client/client.h"

namespace wisp::client {

class OutcomeReporter {
 public:
  // Reports for NAME version VERSION to SERVER as CLIENT_ID every `interval_ms` (when there is
  // anything to report) and once more on destruction.
  OutcomeReporter(std::string server, std::string name, int64_t version, std::string client_id,
                  unsigned interval_ms = 60000, std::string token = "");
  ~OutcomeReporter();
  OutcomeReporter(const OutcomeReporter&) = delete;
  OutcomeReporter& operator=(const OutcomeReporter&) = delete;

  void RecordLoad(bool ok) { (ok ? loads_ : load_errors_).fetch_add(1, std::memory_order_relaxed); }
  void RecordRun(bool ok) { (ok ? runs_ : run_errors_).fetch_add(1, std::memory_order_relaxed); }
  // Sends what was counted since the last report now (on the caller's thread); on failure the
  // counts are kept for the next attempt.
  Status Flush();
  // Reports sent successfully so far.
  uint64_t reports_sent() const { return sent_.load(); }

 private:
  void Loop();

  std::string server_, name_, client_id_, token_;
  int64_t version_;
  unsigned interval_ms_;
  std::atomic<int64_t> loads_{0}, load_errors_{0}, runs_{0}, run_errors_{0};
  std::atomic<uint64_t> sent_{0};
  std::mutex flush_mu_;  // one report in flight
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wisp::client
