// Store: the totals, in a WAL-mode SQLite database shared by any number of
// pum-ingest workers (writers) and one pum-exporter (reader and upkeep).
//
// Contract:
//   - Open() creates the file and its schema if absent, migrates an older
//     schema (PRAGMA user_version) and refuses a newer one with
//     Code::kNotSupported. Opening the same new file from several processes
//     at once is safe.
//   - Apply() adds one batch of deltas in one BEGIN IMMEDIATE transaction:
//     all of it or nothing. When the batch carries a BatchId whose
//     (client, seq) was applied before, nothing is added and the result says
//     kDuplicate. A lock held past busy_timeout_ms gives Code::kBusy, a full
//     disk Code::kIoError; in both cases nothing was applied.
//   - Labels with a max_values cap are resolved inside the transaction: a
//     value not yet seen for that metric and label, once the cap is reached,
//     is replaced by the label's overflow value.
//   - Prepared statements are made once per Store and reused.
//   - A Store is used by one thread at a time; open one per thread.
//   - De-duplication state is per client (highest seq and a window of 64
//     below it), so it grows with the number of clients, not with traffic;
//     PruneClients() forgets clients idle since before a time.
#ifndef PUM_SCHEMA_STORE_H_
#define PUM_SCHEMA_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/status.h"

namespace pum {

// Label names and values of one series, in the metric's label order.
struct Label {
  std::string name;
  std::string value;
  // When non-zero, the store keeps at most this many distinct values of
  // this label for this metric and counts the rest under overflow_value.
  uint32_t max_values = 0;
  std::string overflow_value;
};

struct SeriesKey {
  std::string metric;
  std::vector<Label> labels;
};

struct CounterDelta {
  SeriesKey key;
  double inc = 0;
};

struct HistogramDelta {
  SeriesKey key;
  double sum = 0;
  uint64_t count = 0;
  // (upper bound, observations in the bucket ending there), not cumulative;
  // the bound may be +Inf. The bounds are those of the allowlist at ingest
  // time; the exporter re-buckets onto the current bounds.
  std::vector<std::pair<double, uint64_t>> buckets;
};

// Identifies a batch for de-duplication.
struct BatchId {
  std::string client;  // 1-64 of [A-Za-z0-9_-]
  int64_t seq = 0;     // >= 0
};

struct Batch {
  std::optional<BatchId> id;
  std::vector<CounterDelta> counters;
  std::vector<HistogramDelta> histograms;
};

enum class ApplyResult { kApplied, kDuplicate };

// What the store holds, as read by the exporter.
struct CounterSeries {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct HistogramSeries {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
  double sum = 0;
  uint64_t count = 0;
  // (upper bound, observations), not cumulative, sorted by bound; +Inf last.
  std::vector<std::pair<double, uint64_t>> buckets;
};

struct Snapshot {
  // Sorted by metric, then labels.
  std::vector<CounterSeries> counters;
  std::vector<HistogramSeries> histograms;
};

struct StoreStats {
  int64_t file_bytes = 0;  // database file plus WAL
  int64_t series = 0;      // rows in the series table
  int64_t clients = 0;     // clients with de-duplication state
};

struct StoreOptions {
  // How long to wait for a lock before giving up with Code::kBusy.
  int busy_timeout_ms = 5000;
  // PRAGMA synchronous=FULL (every commit fsynced) instead of NORMAL (a
  // commit survives a process crash, may be lost with the OS on power loss).
  bool synchronous_full = false;
};

class Store {
 public:
  // The schema version this pum writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 1;

  static Status Open(const std::string& path, const StoreOptions& options,
                     std::unique_ptr<Store>* out);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Applies `batch` in one transaction; see the contract above. `now` (unix
  // seconds) is recorded as the client's last activity.
  Status Apply(const Batch& batch, int64_t now, ApplyResult* result);

  // Reads every series in one read transaction (never blocks writers).
  Status Read(Snapshot* out);

  // Size and counts, for the exporter's own metrics.
  Status Stats(StoreStats* out);

  // Forgets the de-duplication state of clients last seen before `before`.
  Status PruneClients(int64_t before, int64_t* pruned);

  // A passive WAL checkpoint (never waits for readers or writers).
  Status Checkpoint();

  // True if the database can be read (for /-/healthy).
  Status Ping();

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pum

#endif  // PUM_SCHEMA_STORE_H_
