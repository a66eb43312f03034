#include "native/client/outcome_reporter.h"

#include <chrono>
#include <utility>

namespace wisp::client {

OutcomeReporter::OutcomeReporter(std::string server, std::string name, int64_t version,
                                 std::string client_id, unsigned interval_ms, std::string token)
    : server_(std::move(server)),
      name_(std::move(name)),
      client_id_(std::move(client_id)),
      token_(std::move(token)),
      version_(version),
      interval_ms_(interval_ms),
      thread_([this] { Loop(); }) {}

OutcomeReporter::~OutcomeReporter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  (void)Flush();  // the last batch; a server that is gone loses it, by design
}

Status OutcomeReporter::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  Outcomes batch;
  batch.loads = loads_.exchange(0);
  batch.load_errors = load_errors_.exchange(0);
  batch.runs = runs_.exchange(0);
  batch.run_errors = run_errors_.exchange(0);
  if (batch.empty()) return Status::Ok();
  Status sent = Report(server_, name_, version_, batch, client_id_, token_);
  if (!sent.ok()) {
    // Kept for the next batch, so nothing is lost to a passing network error.
    loads_ += batch.loads;
    load_errors_ += batch.load_errors;
    runs_ += batch.runs;
    run_errors_ += batch.run_errors;
    return sent;
  }
  sent_++;
  return Status::Ok();
}

void OutcomeReporter::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    (void)Flush();
    lock.lock();
  }
}

}  // namespace wisp::client
