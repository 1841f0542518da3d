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
  assert(options_.expiry_rows > 0 && options_.clock != nullptr);
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
  ExpireSeries(now);
}

void Upkeep::ExpireSeries(int64_t now) {
  std::shared_ptr<const Allowlist> allowlist = state_->allowlist();
  for (const MetricDef& def : allowlist->metrics()) {
    if (def.series_ttl_ms <= 0) continue;
    // updated_at is in whole seconds (the write's, truncated): a series is
    // removed only once it has certainly not been written for the TTL.
    const int64_t ttl_seconds = (def.series_ttl_ms + 999) / 1000;
    const int64_t cutoff = now - ttl_seconds;
    int64_t total = 0;
    for (;;) {
      int64_t expired = 0;
      Status status = state_->ExpireSeries(def.name, cutoff,
                                           options_.expiry_rows, &expired);
      if (!status.ok()) {
        LogError("expiring series failed",
                 {{"metric", def.name}, {"err", status.ToString()}});
        break;
      }
      total += expired;
      if (expired < options_.expiry_rows || Stopping()) break;
    }
    if (total > 0) {
      LogInfo("expired series", {{"metric", def.name},
                                 {"series", total},
                                 {"series_ttl_seconds", ttl_seconds}});
    }
    if (Stopping()) return;
  }
}

bool Upkeep::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

// The thread's boundary: an exception would end the process
// (std::terminate); instead the round is logged as failed and the next
// round runs as usual.
void Upkeep::GuardedRunOnce(bool force_reload) {
  try {
    RunOnce(options_.clock(), force_reload);
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
