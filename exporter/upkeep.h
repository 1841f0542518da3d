// Upkeep: pum-exporter's background thread, so that a single-host install
// needs no cron job.
//
// Contract:
//   - Every `interval` (and once right after Start()) it runs RunOnce(): a
//     passive WAL checkpoint, forgetting the de-duplication state of clients
//     idle for longer than `dedup_retention_seconds`, and a reload of the
//     allowlist when AllowlistFingerprint() of its directory differs from
//     the one last loaded or tried (a broken edit is tried once, not every
//     round; the next edit or a SIGHUP tries again), then series expiry:
//     for every metric of the allowlist with a series_ttl, the series not
//     updated for that long (rounded up to whole seconds, as the store's
//     updated_at is) are removed with Store::ExpireSeries(), in transactions
//     of at most `expiry_rows` series, until none is left (or Stop()), and
//     counted in pum_exporter_series_expired_total. A pass cut short (a
//     crash, a stop) is completed by the next round: every transaction is
//     whole.
//   - The time is `clock` (unix seconds; the system clock by default), so
//     that tests can control it; RunOnce() takes it as an argument.
//   - RequestReload() (what SIGHUP does) wakes the thread, which reloads the
//     allowlist whether or not the files changed. It only sets a flag and
//     notifies a condition variable: call it from a normal thread (main's
//     sigwait loop), not from a signal handler.
//   - Stop() wakes the thread and joins it; the destructor calls it.
//   - Failures are logged (schema/base/log.h) and do not stop the thread;
//     neither does an exception thrown during a round (logged, the round
//     counts as done).
#ifndef PUM_EXPORTER_UPKEEP_H_
#define PUM_EXPORTER_UPKEEP_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "exporter/state.h"

namespace pum {

// Unix seconds, from the system clock.
int64_t UnixNow();

struct UpkeepOptions {
  std::chrono::milliseconds interval{10000};
  int64_t dedup_retention_seconds = 86400;
  // AllowlistFingerprint() taken just before the allowlist in use was loaded.
  std::string initial_fingerprint;
  // The series one expiry transaction removes at most.
  int expiry_rows = 1000;
  // The time, in unix seconds.
  std::function<int64_t()> clock = &UnixNow;
};

class Upkeep {
 public:
  Upkeep(ExporterState* state, UpkeepOptions options);
  ~Upkeep();
  Upkeep(const Upkeep&) = delete;
  Upkeep& operator=(const Upkeep&) = delete;

  // Starts the thread (a second Start() while it runs does nothing).
  void Start();
  // Wakes the thread and joins it; idempotent.
  void Stop();
  // Makes the thread reload the allowlist now, changed or not (SIGHUP).
  void RequestReload();

  // One round, on the calling thread: checkpoint, prune, reload if the
  // files changed or `force_reload`, expire. `now` in unix seconds.
  void RunOnce(int64_t now, bool force_reload);

 private:
  void Loop();
  void ExpireSeries(int64_t now);
  bool Stopping();
  void GuardedRunOnce(bool force_reload);

  ExporterState* const state_;
  const UpkeepOptions options_;
  std::string fingerprint_;  // used by RunOnce() only

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;              // guarded by mu_
  bool reload_requested_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pum

#endif  // PUM_EXPORTER_UPKEEP_H_
