#include "schema/store/store.h"

#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "schema/store/label_codec.h"
#include "schema/store/seq_window.h"
#include "schema/store/sqlite.h"

namespace pum {
namespace {

// Schema
// -----------------------------------------------------------------------
//
// series:       one row per (metric, labels); `labels` is the canonical
//               encoding of the label pairs (label_codec.h).
// counters:     the total of each counter series.
// histograms:   the sum and count of each histogram series.
// buckets:      observations per (series, upper bound), not cumulative; the
//               bound may be +Inf. Buckets never observed have no row.
// label_values: the distinct values seen for capped labels (max_values).
// clients:      de-duplication state per client. Version 1: the highest seq
//               applied and a mask of the 64 seqs below it (bit i =
//               max_seq - 1 - i). Version 2: `seen`, the SeqWindow's bits of
//               the 1024 seqs below max_seq (SeqWindow::EncodeBits()).
constexpr char kSchemaV1Sql[] = R"sql(
CREATE TABLE series (
  id INTEGER PRIMARY KEY,
  metric TEXT NOT NULL,
  labels BLOB NOT NULL,
  UNIQUE (metric, labels)
);
CREATE TABLE counters (
  series_id INTEGER PRIMARY KEY REFERENCES series (id),
  value REAL NOT NULL
);
CREATE TABLE histograms (
  series_id INTEGER PRIMARY KEY REFERENCES series (id),
  sum REAL NOT NULL,
  count INTEGER NOT NULL
);
CREATE TABLE buckets (
  series_id INTEGER NOT NULL REFERENCES series (id),
  le REAL NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (series_id, le)
) WITHOUT ROWID;
CREATE TABLE label_values (
  metric TEXT NOT NULL,
  label BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (metric, label, value)
) WITHOUT ROWID;
CREATE TABLE clients (
  client TEXT PRIMARY KEY,
  max_seq INTEGER NOT NULL,
  seen_mask INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX clients_by_last_seen ON clients (last_seen);
)sql";

// Version 2: the clients' windows become 1024 seqs, as a blob.
constexpr char kCreateClientsV2Sql[] = R"sql(
CREATE TABLE clients_v2 (
  client TEXT PRIMARY KEY,
  max_seq INTEGER NOT NULL,
  seen BLOB NOT NULL,
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;
)sql";
constexpr char kSelectClientsV1Sql[] =
    "SELECT client, max_seq, seen_mask, last_seen FROM clients";
constexpr char kInsertClientV2Sql[] =
    "INSERT INTO clients_v2 (client, max_seq, seen, last_seen) "
    "VALUES (?, ?, ?, ?)";
constexpr char kReplaceClientsV1Sql[] = R"sql(
DROP TABLE clients;
ALTER TABLE clients_v2 RENAME TO clients;
CREATE INDEX clients_by_last_seen ON clients (last_seen);
)sql";

// Open-time statements.
constexpr char kJournalModeWalSql[] = "PRAGMA journal_mode=WAL";
constexpr char kSynchronousNormalSql[] = "PRAGMA synchronous=NORMAL";
constexpr char kSynchronousFullSql[] = "PRAGMA synchronous=FULL";
// pum-exporter checkpoints; writers' automatic checkpoints are a safety net
// for when it does not run. journal_size_limit truncates a restarted WAL.
constexpr char kWalAutocheckpointSql[] = "PRAGMA wal_autocheckpoint=";
constexpr char kJournalSizeLimitSql[] = "PRAGMA journal_size_limit=";
constexpr char kUserVersionSql[] = "PRAGMA user_version";
constexpr char kCountSchemaObjectsSql[] = "SELECT count(*) FROM sqlite_master";
constexpr char kQuickCheckSql[] = "PRAGMA quick_check(1)";

// Statements prepared once per Store.
constexpr char kSelectClientSql[] =
    "SELECT max_seq, seen FROM clients WHERE client = ?";
constexpr char kUpsertClientSql[] =
    "INSERT INTO clients (client, max_seq, seen, last_seen) "
    "VALUES (?, ?, ?, ?) "
    "ON CONFLICT (client) DO UPDATE SET max_seq = excluded.max_seq, "
    "seen = excluded.seen, last_seen = excluded.last_seen";
constexpr char kSelectSeriesIdSql[] =
    "SELECT id FROM series WHERE metric = ? AND labels = ?";
constexpr char kInsertSeriesSql[] =
    "INSERT INTO series (metric, labels) VALUES (?, ?)";
// The upserts change nothing (changes() == 0) when the new total would
// leave the exact range: ?3 (?4) is kMaxExactTotal, ?5 the largest double.
// A counter stays below 2^53: a sum that rounds up to it is refused too.
// NaN (Inf - Inf) compares as NULL, so it is refused too.
constexpr char kUpsertCounterSql[] =
    "INSERT INTO counters (series_id, value) VALUES (?1, ?2) "
    "ON CONFLICT (series_id) DO UPDATE SET value = value + excluded.value "
    "WHERE value + excluded.value < ?3";
constexpr char kUpsertHistogramSql[] =
    "INSERT INTO histograms (series_id, sum, count) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (series_id) DO UPDATE SET sum = sum + excluded.sum, "
    "count = count + excluded.count "
    "WHERE count + excluded.count <= ?4 AND abs(sum + excluded.sum) <= ?5";
constexpr char kUpsertBucketSql[] =
    "INSERT INTO buckets (series_id, le, count) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id, le) DO UPDATE SET count = count + excluded.count";
constexpr char kSelectLabelValueSql[] =
    "SELECT 1 FROM label_values WHERE metric = ? AND label = ? AND value = ?";
constexpr char kCountLabelValuesSql[] =
    "SELECT count(*) FROM label_values WHERE metric = ? AND label = ?";
constexpr char kInsertLabelValueSql[] =
    "INSERT INTO label_values (metric, label, value) VALUES (?, ?, ?)";
constexpr char kReadCountersSql[] =
    "SELECT series.metric, series.labels, counters.value "
    "FROM counters JOIN series ON series.id = counters.series_id";
constexpr char kReadHistogramsSql[] =
    "SELECT histograms.series_id, series.metric, series.labels, "
    "histograms.sum, histograms.count "
    "FROM histograms JOIN series ON series.id = histograms.series_id";
constexpr char kReadBucketsSql[] =
    "SELECT series_id, le, count FROM buckets ORDER BY series_id, le";
constexpr char kDatabaseBytesSql[] =
    "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size";
constexpr char kCountSeriesSql[] = "SELECT count(*) FROM series";
constexpr char kCountClientsSql[] = "SELECT count(*) FROM clients";
constexpr char kPruneClientsSql[] = "DELETE FROM clients WHERE last_seen < ?";
constexpr char kPingSql[] = "SELECT count(*) FROM sqlite_master";

// How long Checkpoint()'s truncation waits for other connections.
constexpr int kTruncateWaitMs = 100;

#define PUM_RETURN_IF_ERROR(expr)      \
  do {                                 \
    ::pum::Status status_ = expr;      \
    if (!status_.ok()) return status_; \
  } while (false)

// Migrations
// -------------------------------------------------------------------

Status CheckNoForeignTables(sql::Database* db) {
  int64_t objects = 0;
  PUM_RETURN_IF_ERROR(db->QueryInt64(kCountSchemaObjectsSql, &objects));
  if (objects == 0) return Status::Ok();
  return Status::Corruption("database " + db->path() +
                            " is a SQLite database but not a pum one "
                            "(it has tables and no pum schema version)");
}

Status MigrateTo1(sql::Database* db) {
  PUM_RETURN_IF_ERROR(CheckNoForeignTables(db));
  return db->Execute(kSchemaV1Sql);
}

// Copies each client's 64-seq mask into a 1024-seq SeqWindow (bit i means
// the same seq in both).
Status CopyClientsToV2(sql::Database* db) {
  sql::Statement select;
  sql::Statement insert;
  PUM_RETURN_IF_ERROR(db->Prepare(kSelectClientsV1Sql, &select));
  PUM_RETURN_IF_ERROR(db->Prepare(kInsertClientV2Sql, &insert));
  for (;;) {
    bool has_row = false;
    PUM_RETURN_IF_ERROR(select.Step(&has_row));
    if (!has_row) return Status::Ok();
    const auto mask = static_cast<uint64_t>(select.ColumnInt64(2));
    std::string bits(8, '\0');
    for (size_t i = 0; i < 8; ++i) {
      bits[i] = static_cast<char>((mask >> (8 * i)) & 0xff);
    }
    SeqWindow window;
    if (!SeqWindow::Decode(select.ColumnInt64(1), bits, &window)) {
      return Status::Corruption("database " + db->path() +
                                ": a client has a negative seq");
    }
    sql::AutoReset reset(&insert);
    insert.BindText(0, select.ColumnBytes(0));
    insert.BindInt64(1, window.max_seq());
    insert.BindBlob(2, window.EncodeBits());
    insert.BindInt64(3, select.ColumnInt64(3));
    PUM_RETURN_IF_ERROR(insert.Run());
  }
}

Status MigrateTo2(sql::Database* db) {
  PUM_RETURN_IF_ERROR(db->Execute(kCreateClientsV2Sql));
  PUM_RETURN_IF_ERROR(CopyClientsToV2(db));
  return db->Execute(kReplaceClientsV1Sql);
}

using Migration = Status (*)(sql::Database* db);
// kMigrations[n] takes a database from schema version n to n + 1.
constexpr Migration kMigrations[] = {&MigrateTo1, &MigrateTo2};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) ==
                  Store::kSchemaVersion,
              "one migration per schema version");

Status TooNew(const std::string& path, int64_t version) {
  return Status::NotSupported(
      "database " + path + " has schema version " + std::to_string(version) +
      ", newer than this pum supports (" +
      std::to_string(Store::kSchemaVersion) + "); upgrade pum");
}

// The label set in column `column` of the row `statement` is on.
Status ReadLabels(const sql::Statement& statement, int column,
                  LabelPairs* out) {
  if (DecodeLabels(statement.ColumnBytes(column), out)) return Status::Ok();
  return Status::Corruption("store: undecodable labels in series table");
}

// Validation (before any transaction)
// ---------------------------------------------

constexpr uint64_t kMaxCount = static_cast<uint64_t>(kMaxExactTotal);
constexpr double kMaxFinite = std::numeric_limits<double>::max();

Status ValidateKey(const SeriesKey& key) {
  if (key.metric.empty()) return Status::InvalidArgument("empty metric name");
  std::vector<std::string_view> names;
  for (const Label& label : key.labels) names.push_back(label.name);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return Status::InvalidArgument("metric " + key.metric +
                                   ": duplicate label name");
  }
  return Status::Ok();
}

Status ValidateCounter(const CounterDelta& delta) {
  if (!std::isfinite(delta.inc) || delta.inc < 0) {
    return Status::InvalidArgument("counter " + delta.key.metric +
                                   ": increment must be finite and >= 0");
  }
  return ValidateKey(delta.key);
}

Status ValidateHistogram(const HistogramDelta& delta) {
  const std::string& metric = delta.key.metric;
  if (!std::isfinite(delta.sum)) {
    return Status::InvalidArgument("histogram " + metric +
                                   ": sum must be finite");
  }
  uint64_t bucket_total = 0;
  for (const auto& [le, count] : delta.buckets) {
    if (std::isnan(le) || count > delta.count) {
      return Status::InvalidArgument(
          "histogram " + metric + ": bucket bound NaN or count over the total");
    }
    bucket_total += count;
  }
  if (bucket_total != delta.count) {
    return Status::InvalidArgument("histogram " + metric +
                                   ": buckets do not add up to the count");
  }
  return ValidateKey(delta.key);
}

// A delta that alone leaves the exact range (the store's upserts check the
// sum with what is stored).
bool CounterInRange(const CounterDelta& delta) {
  return delta.inc < kMaxExactTotal;
}

bool HistogramInRange(const HistogramDelta& delta) {
  return delta.count <= kMaxCount;
}

Status ValidateBatch(const Batch& batch) {
  if (batch.id.has_value()) {
    if (batch.id->client.empty() || batch.id->seq < 0) {
      return Status::InvalidArgument("batch id needs a client and a seq >= 0");
    }
  }
  for (const CounterDelta& delta : batch.counters) {
    PUM_RETURN_IF_ERROR(ValidateCounter(delta));
  }
  for (const HistogramDelta& delta : batch.histograms) {
    PUM_RETURN_IF_ERROR(ValidateHistogram(delta));
  }
  return Status::Ok();
}

off_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

Status CheckDirectory(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty database path");
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string dir = path.substr(0, slash);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 && errno == ENOENT) {
    return Status::NotFound("directory " + dir + " of database " + path +
                            " does not exist");
  }
  return Status::Ok();
}

template <typename Series>
void SortSeries(std::vector<Series>* series) {
  std::sort(
      series->begin(), series->end(), [](const Series& a, const Series& b) {
        return std::tie(a.metric, a.labels) < std::tie(b.metric, b.labels);
      });
}

// Statements prepared once per Store
// ---------------------------------------------

struct Statements {
  sql::Statement select_client;
  sql::Statement upsert_client;
  sql::Statement select_series_id;
  sql::Statement insert_series;
  sql::Statement upsert_counter;
  sql::Statement upsert_histogram;
  sql::Statement upsert_bucket;
  sql::Statement select_label_value;
  sql::Statement count_label_values;
  sql::Statement insert_label_value;
  sql::Statement read_counters;
  sql::Statement read_histograms;
  sql::Statement read_buckets;
  sql::Statement database_bytes;
  sql::Statement count_series;
  sql::Statement count_clients;
  sql::Statement prune_clients;
  sql::Statement ping;
};

struct StatementSql {
  sql::Statement Statements::*statement;
  const char* sql;
};

constexpr StatementSql kStatementSql[] = {
    {&Statements::select_client, kSelectClientSql},
    {&Statements::upsert_client, kUpsertClientSql},
    {&Statements::select_series_id, kSelectSeriesIdSql},
    {&Statements::insert_series, kInsertSeriesSql},
    {&Statements::upsert_counter, kUpsertCounterSql},
    {&Statements::upsert_histogram, kUpsertHistogramSql},
    {&Statements::upsert_bucket, kUpsertBucketSql},
    {&Statements::select_label_value, kSelectLabelValueSql},
    {&Statements::count_label_values, kCountLabelValuesSql},
    {&Statements::insert_label_value, kInsertLabelValueSql},
    {&Statements::read_counters, kReadCountersSql},
    {&Statements::read_histograms, kReadHistogramsSql},
    {&Statements::read_buckets, kReadBucketsSql},
    {&Statements::database_bytes, kDatabaseBytesSql},
    {&Statements::count_series, kCountSeriesSql},
    {&Statements::count_clients, kCountClientsSql},
    {&Statements::prune_clients, kPruneClientsSql},
    {&Statements::ping, kPingSql},
};

// Steps a statement that yields one integer.
Status QueryOne(sql::Statement* statement, int64_t* out) {
  bool has_row = false;
  PUM_RETURN_IF_ERROR(statement->Step(&has_row));
  *out = has_row ? statement->ColumnInt64(0) : 0;
  return Status::Ok();
}

}  // namespace

// Store::Impl
// --------------------------------------------------------------------

class Store::Impl {
 public:
  Status Open(const std::string& path, const StoreOptions& options);
  Status Apply(const Batch& batch, int64_t now, ApplyResult* result,
               OutOfRange* out_of_range);
  Status Read(Snapshot* out);
  Status Stats(StoreStats* out);
  Status PruneClients(int64_t before, int64_t* pruned);
  Status Checkpoint();
  Status Ping();

 private:
  Status CheckBeforeWriting();
  Status SetWalMode();
  template <typename Step>
  Status RetryWhileBusy(Step step);
  Status Migrate();
  Status PrepareStatements();

  Status RecordBatchId(const BatchId& id, int64_t now,
                       SeqWindow::Verdict* verdict);
  Status ApplyDeltas(const Batch& batch, OutOfRange* out_of_range);
  Status ApplyCounter(const CounterDelta& delta, bool* in_range);
  Status ApplyHistogram(const HistogramDelta& delta, bool* in_range);
  Status SeriesId(const SeriesKey& key, int64_t* id);
  Status ResolveCappedValue(const std::string& metric, const Label& label,
                            std::string* value);
  Status ReadCounters(std::vector<CounterSeries>* out);
  Status ReadHistograms(std::vector<HistogramSeries>* out);

  StoreOptions options_;
  sql::Database db_;
  Statements statements_;  // after db_: finalized before it closes
};

Status Store::Impl::Open(const std::string& path, const StoreOptions& options) {
  options_ = options;
  PUM_RETURN_IF_ERROR(CheckDirectory(path));
  PUM_RETURN_IF_ERROR(db_.Open(path));
  db_.SetBusyTimeout(options.busy_timeout_ms);
  // Nothing is written to a file that is not (or not yet) a sound pum store:
  // a foreign database stays as it was, a corrupt one is refused up front.
  Status s = RetryWhileBusy([this] { return CheckBeforeWriting(); });
  if (s.ok()) s = SetWalMode();
  if (s.code() == Status::Code::kCorruption &&
      s.message().rfind("database " + path, 0) != 0) {
    return Status::Corruption(
        "database " + path +
        " is not a SQLite database or is corrupt: " + s.message());
  }
  if (!s.ok()) return s;
  PUM_RETURN_IF_ERROR(db_.Execute(
      options.synchronous_full ? kSynchronousFullSql : kSynchronousNormalSql));
  const std::string autocheckpoint =
      kWalAutocheckpointSql + std::to_string(options.wal_autocheckpoint_pages);
  PUM_RETURN_IF_ERROR(db_.Execute(autocheckpoint.c_str()));
  const std::string size_limit =
      kJournalSizeLimitSql + std::to_string(options.wal_limit_bytes);
  PUM_RETURN_IF_ERROR(db_.Execute(size_limit.c_str()));
  PUM_RETURN_IF_ERROR(Migrate());
  return PrepareStatements();
}

// Refuses, without writing, a database of a newer pum, one with tables but
// no pum schema version, and a pum store that fails PRAGMA quick_check.
Status Store::Impl::CheckBeforeWriting() {
  // One read transaction: another process may be creating the schema.
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginDeferred());
  int64_t version = 0;
  PUM_RETURN_IF_ERROR(db_.QueryInt64(kUserVersionSql, &version));
  if (version > kSchemaVersion) return TooNew(db_.path(), version);
  if (version == 0) return CheckNoForeignTables(&db_);
  std::string verdict;
  PUM_RETURN_IF_ERROR(db_.QueryText(kQuickCheckSql, &verdict));
  if (verdict == "ok") return Status::Ok();
  return Status::Corruption("database " + db_.path() +
                            " is corrupt (PRAGMA quick_check: " + verdict +
                            "); restore it from a backup or move it away");
}

Status Store::Impl::SetWalMode() {
  return RetryWhileBusy([this] {
    std::string mode;
    Status s = db_.QueryText(kJournalModeWalSql, &mode);
    if (!s.ok() || strcasecmp(mode.c_str(), "wal") == 0) return s;
    return Status::NotSupported("database " + db_.path() +
                                ": cannot use WAL mode (journal_mode is " +
                                mode + ")");
  });
}

// While several processes open one new file, SQLite may answer SQLITE_BUSY
// without waiting (switching to WAL, or building the WAL index), so the
// open-time steps are retried for a while (at least 1 s).
template <typename Step>
Status Store::Impl::RetryWhileBusy(Step step) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(
                                           options_.busy_timeout_ms, 1000));
  for (int attempt = 0;; ++attempt) {
    Status s = step();
    if (s.code() != Status::Code::kBusy || Clock::now() >= deadline ||
        attempt >= 2000) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
  }
}

Status Store::Impl::Migrate() {
  int64_t version = 0;
  PUM_RETURN_IF_ERROR(db_.QueryInt64(kUserVersionSql, &version));
  if (version == kSchemaVersion) return Status::Ok();
  if (version > kSchemaVersion) return TooNew(db_.path(), version);
  // Check again under the write lock: another process may have migrated the
  // file meanwhile.
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginImmediate());
  PUM_RETURN_IF_ERROR(db_.QueryInt64(kUserVersionSql, &version));
  if (version > kSchemaVersion) return TooNew(db_.path(), version);
  if (version < 0) {
    return Status::Corruption("database " + db_.path() +
                              " has a negative schema version");
  }
  for (; version < kSchemaVersion; ++version) {
    assert(version >= 0);
    PUM_RETURN_IF_ERROR(kMigrations[version](&db_));
  }
  std::string set_version =
      "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  PUM_RETURN_IF_ERROR(db_.Execute(set_version.c_str()));
  return transaction.Commit();
}

Status Store::Impl::PrepareStatements() {
  for (const StatementSql& entry : kStatementSql) {
    Status s = db_.Prepare(entry.sql, &(statements_.*entry.statement));
    if (!s.ok()) {
      return Status::Corruption("database " + db_.path() +
                                " does not have pum's schema: " + s.message());
    }
  }
  return Status::Ok();
}

Status Store::Impl::Apply(const Batch& batch, int64_t now, ApplyResult* result,
                          OutOfRange* out_of_range) {
  assert(result != nullptr);
  PUM_RETURN_IF_ERROR(ValidateBatch(batch));
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginImmediate());
  if (batch.id.has_value()) {
    SeqWindow::Verdict verdict = SeqWindow::Verdict::kNew;
    PUM_RETURN_IF_ERROR(RecordBatchId(*batch.id, now, &verdict));
    if (verdict != SeqWindow::Verdict::kNew) {
      *result = verdict == SeqWindow::Verdict::kDuplicate
                    ? ApplyResult::kDuplicate
                    : ApplyResult::kTooOld;
      return Status::Ok();  // the transaction rolls back
    }
  }
  OutOfRange refused;
  PUM_RETURN_IF_ERROR(ApplyDeltas(batch, &refused));
  if (!refused.counters.empty() || !refused.histograms.empty()) {
    if (out_of_range != nullptr) *out_of_range = std::move(refused);
    *result = ApplyResult::kOutOfRange;
    return Status::Ok();  // the transaction rolls back
  }
  PUM_RETURN_IF_ERROR(transaction.Commit());
  *result = ApplyResult::kApplied;
  return Status::Ok();
}

// Adds every delta that stays in range; lists the others in `refused`.
Status Store::Impl::ApplyDeltas(const Batch& batch, OutOfRange* refused) {
  assert(db_.InTransaction());
  for (size_t i = 0; i < batch.counters.size(); ++i) {
    bool in_range = true;
    PUM_RETURN_IF_ERROR(ApplyCounter(batch.counters[i], &in_range));
    if (!in_range) refused->counters.push_back(i);
  }
  for (size_t i = 0; i < batch.histograms.size(); ++i) {
    bool in_range = true;
    PUM_RETURN_IF_ERROR(ApplyHistogram(batch.histograms[i], &in_range));
    if (!in_range) refused->histograms.push_back(i);
  }
  return Status::Ok();
}

Status Store::Impl::RecordBatchId(const BatchId& id, int64_t now,
                                  SeqWindow::Verdict* verdict) {
  assert(db_.InTransaction());  // Apply()'s: judged and recorded atomically
  SeqWindow window;
  {
    sql::Statement& select = statements_.select_client;
    sql::AutoReset reset(&select);
    select.BindText(0, id.client);
    bool known = false;
    PUM_RETURN_IF_ERROR(select.Step(&known));
    if (known && !SeqWindow::Decode(select.ColumnInt64(0),
                                    select.ColumnBytes(1), &window)) {
      return Status::Corruption("database " + db_.path() +
                                ": undecodable de-duplication state");
    }
  }
  *verdict = window.Judge(id.seq);
  if (*verdict != SeqWindow::Verdict::kNew) return Status::Ok();
  window.Record(id.seq);
  sql::Statement& upsert = statements_.upsert_client;
  sql::AutoReset reset(&upsert);
  upsert.BindText(0, id.client);
  upsert.BindInt64(1, window.max_seq());
  upsert.BindBlob(2, window.EncodeBits());
  upsert.BindInt64(3, now);
  return upsert.Run();
}

Status Store::Impl::ApplyCounter(const CounterDelta& delta, bool* in_range) {
  *in_range = CounterInRange(delta);
  if (!*in_range) return Status::Ok();
  int64_t id = 0;
  PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
  sql::Statement& upsert = statements_.upsert_counter;
  sql::AutoReset reset(&upsert);
  upsert.BindInt64(0, id);
  upsert.BindDouble(1, delta.inc);
  upsert.BindDouble(2, kMaxExactTotal);
  PUM_RETURN_IF_ERROR(upsert.Run());
  *in_range = db_.Changes() == 1;
  return Status::Ok();
}

Status Store::Impl::ApplyHistogram(const HistogramDelta& delta,
                                   bool* in_range) {
  *in_range = HistogramInRange(delta);
  if (!*in_range) return Status::Ok();
  int64_t id = 0;
  PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
  {
    sql::Statement& upsert = statements_.upsert_histogram;
    sql::AutoReset reset(&upsert);
    upsert.BindInt64(0, id);
    upsert.BindDouble(1, delta.sum);
    upsert.BindInt64(2, static_cast<int64_t>(delta.count));
    upsert.BindInt64(3, static_cast<int64_t>(kMaxCount));
    upsert.BindDouble(4, kMaxFinite);
    PUM_RETURN_IF_ERROR(upsert.Run());
    *in_range = db_.Changes() == 1;
    // The buckets add up to the count, so they stay in range with it.
    if (!*in_range) return Status::Ok();
  }
  sql::Statement& upsert = statements_.upsert_bucket;
  for (const auto& [le, count] : delta.buckets) {
    if (count == 0) continue;  // an absent row reads as zero
    sql::AutoReset reset(&upsert);
    upsert.BindInt64(0, id);
    upsert.BindDouble(1, le);
    upsert.BindInt64(2, static_cast<int64_t>(count));
    PUM_RETURN_IF_ERROR(upsert.Run());
  }
  return Status::Ok();
}

Status Store::Impl::SeriesId(const SeriesKey& key, int64_t* id) {
  LabelPairs labels;
  labels.reserve(key.labels.size());
  for (const Label& label : key.labels) {
    std::string value = label.value;
    if (label.max_values > 0) {
      PUM_RETURN_IF_ERROR(ResolveCappedValue(key.metric, label, &value));
    }
    labels.emplace_back(label.name, std::move(value));
  }
  std::string encoded = EncodeLabels(&labels);
  {
    sql::Statement& select = statements_.select_series_id;
    sql::AutoReset reset(&select);
    select.BindText(0, key.metric);
    select.BindBlob(1, encoded);
    bool found = false;
    PUM_RETURN_IF_ERROR(select.Step(&found));
    if (found) {
      *id = select.ColumnInt64(0);
      return Status::Ok();
    }
  }
  sql::Statement& insert = statements_.insert_series;
  sql::AutoReset reset(&insert);
  insert.BindText(0, key.metric);
  insert.BindBlob(1, encoded);
  PUM_RETURN_IF_ERROR(insert.Run());
  *id = db_.LastInsertRowId();
  return Status::Ok();
}

// A value already known for (metric, label) is kept; a new one is kept and
// remembered while fewer than max_values are known, else replaced by the
// overflow value (which is never counted against the cap).
Status Store::Impl::ResolveCappedValue(const std::string& metric,
                                       const Label& label, std::string* value) {
  assert(label.max_values > 0);
  if (*value == label.overflow_value) return Status::Ok();
  {
    sql::Statement& select = statements_.select_label_value;
    sql::AutoReset reset(&select);
    select.BindText(0, metric);
    select.BindBlob(1, label.name);
    select.BindBlob(2, *value);
    bool known = false;
    PUM_RETURN_IF_ERROR(select.Step(&known));
    if (known) return Status::Ok();
  }
  int64_t count = 0;
  {
    sql::Statement& select = statements_.count_label_values;
    sql::AutoReset reset(&select);
    select.BindText(0, metric);
    select.BindBlob(1, label.name);
    PUM_RETURN_IF_ERROR(QueryOne(&select, &count));
  }
  if (count >= static_cast<int64_t>(label.max_values)) {
    *value = label.overflow_value;
    return Status::Ok();
  }
  sql::Statement& insert = statements_.insert_label_value;
  sql::AutoReset reset(&insert);
  insert.BindText(0, metric);
  insert.BindBlob(1, label.name);
  insert.BindBlob(2, *value);
  return insert.Run();
}

Status Store::Impl::Read(Snapshot* out) {
  Snapshot snapshot;
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginDeferred());
  PUM_RETURN_IF_ERROR(ReadCounters(&snapshot.counters));
  PUM_RETURN_IF_ERROR(ReadHistograms(&snapshot.histograms));
  PUM_RETURN_IF_ERROR(transaction.Commit());
  SortSeries(&snapshot.counters);
  SortSeries(&snapshot.histograms);
  *out = std::move(snapshot);
  return Status::Ok();
}

Status Store::Impl::ReadCounters(std::vector<CounterSeries>* out) {
  sql::Statement& select = statements_.read_counters;
  sql::AutoReset reset(&select);
  for (;;) {
    bool has_row = false;
    PUM_RETURN_IF_ERROR(select.Step(&has_row));
    if (!has_row) return Status::Ok();
    CounterSeries series;
    series.metric = select.ColumnBytes(0);
    PUM_RETURN_IF_ERROR(ReadLabels(select, 1, &series.labels));
    series.value = select.ColumnDouble(2);
    out->push_back(std::move(series));
  }
}

Status Store::Impl::ReadHistograms(std::vector<HistogramSeries>* out) {
  std::unordered_map<int64_t, size_t> index_of_id;
  {
    sql::Statement& select = statements_.read_histograms;
    sql::AutoReset reset(&select);
    for (;;) {
      bool has_row = false;
      PUM_RETURN_IF_ERROR(select.Step(&has_row));
      if (!has_row) break;
      HistogramSeries series;
      index_of_id[select.ColumnInt64(0)] = out->size();
      series.metric = select.ColumnBytes(1);
      PUM_RETURN_IF_ERROR(ReadLabels(select, 2, &series.labels));
      series.sum = select.ColumnDouble(3);
      series.count = static_cast<uint64_t>(select.ColumnInt64(4));
      out->push_back(std::move(series));
    }
  }
  sql::Statement& select = statements_.read_buckets;
  sql::AutoReset reset(&select);
  for (;;) {
    bool has_row = false;
    PUM_RETURN_IF_ERROR(select.Step(&has_row));
    if (!has_row) return Status::Ok();
    auto it = index_of_id.find(select.ColumnInt64(0));
    if (it == index_of_id.end()) continue;  // buckets of no histogram
    (*out)[it->second].buckets.emplace_back(
        select.ColumnDouble(1), static_cast<uint64_t>(select.ColumnInt64(2)));
  }
}

Status Store::Impl::Stats(StoreStats* out) {
  StoreStats stats;
  {
    sql::Transaction transaction(&db_);
    PUM_RETURN_IF_ERROR(transaction.BeginDeferred());
    int64_t database_bytes = 0;
    for (auto [statement, value] :
         {std::pair{&statements_.database_bytes, &database_bytes},
          std::pair{&statements_.count_series, &stats.series},
          std::pair{&statements_.count_clients, &stats.clients}}) {
      sql::AutoReset reset(statement);
      PUM_RETURN_IF_ERROR(QueryOne(statement, value));
    }
    PUM_RETURN_IF_ERROR(transaction.Commit());
    stats.file_bytes = database_bytes;
  }
  stats.file_bytes += FileSize(db_.path() + "-wal");
  *out = stats;
  return Status::Ok();
}

Status Store::Impl::PruneClients(int64_t before, int64_t* pruned) {
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginImmediate());
  int64_t changes = 0;
  {
    sql::Statement& prune = statements_.prune_clients;
    sql::AutoReset reset(&prune);
    prune.BindInt64(0, before);
    PUM_RETURN_IF_ERROR(prune.Run());
    changes = db_.Changes();
  }
  PUM_RETURN_IF_ERROR(transaction.Commit());
  *pruned = changes;
  return Status::Ok();
}

Status Store::Impl::Checkpoint() {
  bool complete = false;
  PUM_RETURN_IF_ERROR(db_.CheckpointPassive(&complete));
  if (!complete || FileSize(db_.path() + "-wal") <= options_.wal_limit_bytes) {
    return Status::Ok();
  }
  Status s = db_.CheckpointTruncate(kTruncateWaitMs);
  return s.code() == Status::Code::kBusy ? Status::Ok() : s;
}

Status Store::Impl::Ping() {
  sql::Statement& ping = statements_.ping;
  sql::AutoReset reset(&ping);
  int64_t unused = 0;
  return QueryOne(&ping, &unused);
}

// Store
// ------------------------------------------------------------------------------

Status Store::Open(const std::string& path, const StoreOptions& options,
                   std::unique_ptr<Store>* out) {
  auto impl = std::make_unique<Impl>();
  PUM_RETURN_IF_ERROR(impl->Open(path, options));
  out->reset(new Store(std::move(impl)));
  return Status::Ok();
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

Status Store::Apply(const Batch& batch, int64_t now, ApplyResult* result,
                    OutOfRange* out_of_range) {
  return impl_->Apply(batch, now, result, out_of_range);
}

Status Store::Read(Snapshot* out) { return impl_->Read(out); }

Status Store::Stats(StoreStats* out) { return impl_->Stats(out); }

Status Store::PruneClients(int64_t before, int64_t* pruned) {
  return impl_->PruneClients(before, pruned);
}

Status Store::Checkpoint() { return impl_->Checkpoint(); }

Status Store::Ping() { return impl_->Ping(); }

#undef PUM_RETURN_IF_ERROR

}  // namespace pum
