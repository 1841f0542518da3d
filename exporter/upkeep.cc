#include "exporter/upkeep.h"

#include <cassert>
#include <cstdio>
#include <exception>
#include <utility>

#include "schema/allowlist/allowlist.h"
#include "schema/base/log.h"

namespace pum {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Upkeep::Upkeep(ExporterState* state, UpkeepOptions options)
    : state_(state),
      options_(std::move(options)),
      fingerprint_(options_.initial_fingerprint) {
  assert(state_ != nullptr);
  assert(options_.interval.count() > 0);
}

Upkeep::~Upkeep() { Stop(); }

void Upkeep::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Upkeep::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Upkeep::RequestReload() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reload_requested_ = true;
  }
  wake_.notify_all();
}

void Upkeep::RunOnce(int64_t now, bool force_reload) {
  Status status = state_->Checkpoint();
  if (!status.ok()) {
    LogError("WAL checkpoint failed", {{"err", status.ToString()}});
  }
  int64_t pruned = 0;
  status =
      state_->PruneClients(now - options_.dedup_retention_seconds, &pruned);
  if (!status.ok()) {
    LogError("pruning de-duplication state failed",
             {{"err", status.ToString()}});
  }
  // Fingerprint first: an edit made during the load shows up next round.
  std::string fingerprint = AllowlistFingerprint(state_->metrics_dir());
  if (force_reload || fingerprint != fingerprint_) {
    fingerprint_ = std::move(fingerprint);
    // A failed reload keeps the previous allowlist; ReloadAllowlist() logs
    // it and counts it in pum_exporter_allowlist_reloads_total.
    state_->ReloadAllowlist(now).IgnoreError();
  }
}

// The thread's boundary: an exception would end the process
// (std::terminate); instead the round is logged as failed and the next
// round runs as usual.
void Upkeep::GuardedRunOnce(bool force_reload) {
  try {
    RunOnce(UnixNow(), force_reload);
  } catch (const std::exception& e) {
    LogErrorNoThrow("upkeep round failed", e.what());
  } catch (...) {
    LogErrorNoThrow("upkeep round failed",
                    "an exception not derived from std::exception");
  }
}

void Upkeep::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    bool force_reload = reload_requested_;
    reload_requested_ = false;
    lock.unlock();
    GuardedRunOnce(force_reload);
    lock.lock();
    wake_.wait_for(lock, options_.interval,
                   [this] { return stop_ || reload_requested_; });
  }
}

}  // namespace pum
