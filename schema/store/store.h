// Store: the totals, in a WAL-mode SQLite database shared by any number of
// pum-ingest workers (writers) and one pum-exporter (reader and upkeep).
//
// Contract:
//   - Open() creates the file and its schema if absent, migrates an older
//     schema (PRAGMA user_version) and refuses a newer one with
//     Code::kNotSupported. It refuses, with Code::kCorruption and without
//     writing anything to the file, a file that is not a SQLite database, a
//     SQLite database of another program, and a pum store that fails
//     PRAGMA quick_check. Opening the same new file from several processes
//     at once is safe.
//   - Apply() adds one batch of deltas in one BEGIN IMMEDIATE transaction:
//     all of it or nothing. When the batch carries a BatchId whose
//     (client, seq) was applied before, nothing is added and the result says
//     kDuplicate. A lock held past busy_timeout_ms gives Code::kBusy, a full
//     disk Code::kIoError; in both cases nothing was applied.
//   - Labels with a max_values cap are resolved inside the transaction: a
//     value not yet seen for that metric and label, once the cap is reached,
//     is replaced by the label's overflow value.
//   - Prepared statements are made once per Store and reused. Series ids
//     are cached per Store (metric and labels -> id); the cache is emptied
//     whenever the series epoch (below) has moved, so a removed series is
//     never written through a stale id.
//   - A Store is used by one thread at a time; open one per thread.
//   - De-duplication state is per client (a SeqWindow: the highest seq and
//     exactly which of the SeqWindow::kSize seqs below it were applied), so
//     it grows with the number of clients, not with traffic. A seq further
//     below is kTooOld: nothing is applied and the batch must not be
//     acknowledged. PruneClients() forgets clients idle since before a time.
//   - No delta can make a stored total non-finite or lose integer precision:
//     a counter's value stays below kMaxExactTotal (2^53), a histogram's
//     count and its buckets at most kMaxExactTotal, the absolute value of
//     a histogram's sum below kMaxExactTotal. A batch with a
//     delta that would leave that range is kOutOfRange: nothing of it is
//     applied, and OutOfRange lists every such delta (drop them and apply
//     the rest again).
//   - Every write transaction that adds deltas increments the store's
//     generation (table meta), and stamps each counter and histogram row it
//     changes with that generation and the time of the write (updated_at,
//     unix seconds), in the upsert itself. Removing a series (or its row,
//     or a capped label value) increments the series epoch (a trigger, so
//     that every delete path does). ReadChanges() reads what changed since
//     a cursor from those.
//   - A histogram delta with a native part merges it into the series'
//     native histogram at the lower of the two schemas, and reduces the
//     resolution while more than native_max_buckets buckets are kept
//     (native_column.h); counts are never lost.
//   - The WAL stays small: every connection sets journal_size_limit
//     (StoreOptions::wal_limit_bytes), writers checkpoint automatically past
//     wal_autocheckpoint_pages, and Checkpoint() truncates the WAL when it
//     is fully checkpointed and larger than the limit.
#ifndef PUM_SCHEMA_STORE_STORE_H_
#define PUM_SCHEMA_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/base/status.h"
#include "schema/native/native_histogram.h"

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
  // The same observations in a native histogram, for a metric kept as one
  // (its total is `count`), and the most buckets the series may keep
  // before its resolution is reduced.
  std::optional<NativeHistogram> native;
  uint32_t native_max_buckets = kNativeDefaultMaxBuckets;
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

enum class ApplyResult {
  kApplied,    // every delta was added
  kDuplicate,  // (client, seq) was applied before: nothing added
  kTooOld,     // seq is older than the client's window: nothing added
  kOutOfRange  // some delta would leave the exact range: nothing added
};

// The deltas of a kOutOfRange batch that would leave the exact range, as
// indices into Batch::counters and Batch::histograms, ascending.
struct OutOfRange {
  std::vector<size_t> counters;
  std::vector<size_t> histograms;
};

// The largest total the store keeps (2^53): every integer up to it is
// exact in a double.
inline constexpr double kMaxExactTotal = 9007199254740992.0;

// What the store holds, as read by the exporter.
struct CounterSeries {
  int64_t id = 0;  // the series' row id: stable for the series' life
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct HistogramSeries {
  int64_t id = 0;  // the series' row id: stable for the series' life
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
  double sum = 0;
  uint64_t count = 0;
  // (upper bound, observations), not cumulative, sorted by bound; +Inf last.
  std::vector<std::pair<double, uint64_t>> buckets;
  // The native part, for a series that has received native deltas. Its
  // total is `count` unless deltas without a native part came since (the
  // metric stopped being native for a while); the next native delta then
  // seeds it again from the classic buckets (native_column.h).
  std::optional<NativeHistogram> native;
};

struct Snapshot {
  // Sorted by metric, then labels.
  std::vector<CounterSeries> counters;
  std::vector<HistogramSeries> histograms;
};

// Where a reader of changes (ReadChanges) is: the store's generation and
// series epoch it has read up to.
struct ReadCursor {
  int64_t generation = -1;  // -1: nothing read yet
  int64_t epoch = -1;
};

// What ReadChanges() found: every series (full) or those changed since the
// cursor, in no particular order.
struct Changes {
  bool full = false;
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
  // PRAGMA journal_size_limit: the size a WAL is truncated to when it is
  // restarted after a checkpoint (4 MiB).
  int64_t wal_limit_bytes = 4 << 20;
  // PRAGMA wal_autocheckpoint: a writer checkpoints (passively) when the WAL
  // holds more pages than this (1000 pages, 4 MiB), so the WAL stays
  // bounded when pum-exporter does not run.
  int wal_autocheckpoint_pages = 1000;
};

class Store {
 public:
  // The schema version this pum writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 4;

  // Opens (creating, migrating or refusing, see the contract above) the
  // store at `path`; its directory must exist (NotFound otherwise). On
  // success `*out` is the Store, on failure it is unchanged.
  static Status Open(const std::string& path, const StoreOptions& options,
                     std::unique_ptr<Store>* out);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Applies `batch` in one transaction; see the contract above. `now` (unix
  // seconds) is recorded as the client's last activity. On OK `*result`
  // says what happened; for kOutOfRange, `out_of_range` (if given) lists
  // the deltas at fault. A batch that is not valid (an empty metric name,
  // a label name twice in one key, a negative or non-finite increment, a
  // non-finite sum, a NaN bucket bound, buckets that do not add up to the
  // count, a batch id without a client or with a negative seq) is
  // InvalidArgument, checked before anything is written.
  Status Apply(const Batch& batch, int64_t now, ApplyResult* result,
               OutOfRange* out_of_range = nullptr);

  // Applies several batches in ONE BEGIN IMMEDIATE transaction (Apply() is
  // ApplyGroup() of one). The deltas of one series are summed in memory
  // first, so a series takes one upsert per group. Every batch gets the
  // result, in (*results)[i] (and for kOutOfRange the deltas at fault in
  // (*out_of_range)[i], if given), that Apply() would have given it had the
  // batches been applied one after the other in this order: a duplicate of
  // an earlier batch of the group is kDuplicate, a batch that would fail is
  // applied by none (its capped label values take no slot either), the
  // others are applied; max_values caps hold across the group as they do
  // across batches (the same new value in two batches takes one slot).
  // Sums of doubles may round differently from one-by-one application in
  // their last bit. Any batch not valid (as Apply() says) makes the call
  // InvalidArgument, nothing applied. On an error every batch is
  // unapplied; results are then unspecified.
  Status ApplyGroup(const std::vector<const Batch*>& batches, int64_t now,
                    std::vector<ApplyResult>* results,
                    std::vector<OutOfRange>* out_of_range = nullptr);

  // Reads every series in one read transaction (never blocks writers),
  // sorted as Snapshot says. On failure `*out` is unchanged.
  Status Read(Snapshot* out);

  // Reads, in one read transaction, the series changed since *cursor (all
  // of them, full=true, when the cursor is fresh or series were removed
  // since, i.e. the epoch moved), and advances *cursor. Series are in no
  // particular order. When nothing was committed since (PRAGMA
  // data_version), it answers without reading the tables. On failure
  // `*cursor` and `*out` are unchanged.
  Status ReadChanges(ReadCursor* cursor, Changes* out);

  // Size and counts, for the exporter's own metrics. On failure `*out` is
  // unchanged.
  Status Stats(StoreStats* out);

  // Forgets the de-duplication state of clients last seen before `before`
  // (unix seconds); `*pruned` is how many. A pruned client's next batch is
  // judged as the first of a new client.
  Status PruneClients(int64_t before, int64_t* pruned);

  // Series expiry ("series_ttl"): removes, in one BEGIN IMMEDIATE
  // transaction, at most `max_rows` (>= 1) series of `metric` whose rows
  // were all last written (updated_at) before `not_updated_since` (unix
  // seconds), judged inside that write transaction, so that a series
  // written by a transaction that committed first is never removed, and
  // one written after is created anew (from zero). `*expired` is how many
  // were removed: while it equals max_rows, call again. A capped label
  // value (max_values) that no remaining series of the metric uses is
  // forgotten in the same transaction: it stops counting against the cap,
  // and a new value takes its slot. The overflow value's series expire as
  // the others. The series epoch moves (readers re-read everything; the
  // writers' series-id caches are emptied). On failure nothing is removed
  // and `*expired` is unchanged.
  Status ExpireSeries(const std::string& metric, int64_t not_updated_since,
                      int max_rows, int64_t* expired);

  // A passive WAL checkpoint (never waits for readers or writers); when it
  // leaves nothing in the WAL and the WAL file is larger than
  // StoreOptions::wal_limit_bytes, a TRUNCATE checkpoint that waits at most
  // 100 ms for other connections (a long reader makes it give up quietly).
  Status Checkpoint();

  // OK if the database can be read (for /-/healthy).
  Status Ping();

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pum

#endif  // PUM_SCHEMA_STORE_STORE_H_
