#include "schema/store.h"

#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "schema/sqlite.h"

namespace pum {
namespace {

// Schema
// -----------------------------------------------------------------------
//
// series:       one row per (metric, labels); `labels` is the canonical
//               encoding of the label pairs (see EncodeLabels()).
// counters:     the total of each counter series.
// histograms:   the sum and count of each histogram series.
// buckets:      observations per (series, upper bound), not cumulative; the
//               bound may be +Inf. Buckets never observed have no row.
// label_values: the distinct values seen for capped labels (max_values).
// clients:      de-duplication state per client: the highest seq applied and
//               a mask of the 64 seqs below it (bit i = max_seq - 1 - i).
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

// Open-time statements.
constexpr char kJournalModeWalSql[] = "PRAGMA journal_mode=WAL";
constexpr char kSynchronousNormalSql[] = "PRAGMA synchronous=NORMAL";
constexpr char kSynchronousFullSql[] = "PRAGMA synchronous=FULL";
// pum-exporter checkpoints; this is only a safety net against a WAL that
// grows without bound when it does not run.
constexpr char kWalAutocheckpointSql[] = "PRAGMA wal_autocheckpoint=10000";
constexpr char kUserVersionSql[] = "PRAGMA user_version";
constexpr char kCountSchemaObjectsSql[] = "SELECT count(*) FROM sqlite_master";

// Statements prepared once per Store.
constexpr char kSelectClientSql[] =
    "SELECT max_seq, seen_mask FROM clients WHERE client = ?";
constexpr char kUpsertClientSql[] =
    "INSERT INTO clients (client, max_seq, seen_mask, last_seen) "
    "VALUES (?, ?, ?, ?) "
    "ON CONFLICT (client) DO UPDATE SET max_seq = excluded.max_seq, "
    "seen_mask = excluded.seen_mask, last_seen = excluded.last_seen";
constexpr char kSelectSeriesIdSql[] =
    "SELECT id FROM series WHERE metric = ? AND labels = ?";
constexpr char kInsertSeriesSql[] =
    "INSERT INTO series (metric, labels) VALUES (?, ?)";
constexpr char kUpsertCounterSql[] =
    "INSERT INTO counters (series_id, value) VALUES (?, ?) "
    "ON CONFLICT (series_id) DO UPDATE SET value = value + excluded.value";
constexpr char kUpsertHistogramSql[] =
    "INSERT INTO histograms (series_id, sum, count) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id) DO UPDATE SET sum = sum + excluded.sum, "
    "count = count + excluded.count";
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

// The de-duplication window: seqs up to this far below a client's highest
// are remembered; older ones count as duplicates.
constexpr int64_t kSeqWindow = 64;

#define PUM_RETURN_IF_ERROR(expr)      \
  do {                                 \
    ::pum::Status status_ = expr;      \
    if (!status_.ok()) return status_; \
  } while (false)

// Migrations
// -------------------------------------------------------------------

Status MigrateTo1(sql::Database* db) {
  int64_t objects = 0;
  PUM_RETURN_IF_ERROR(db->QueryInt64(kCountSchemaObjectsSql, &objects));
  if (objects != 0) {
    return Status::Corruption("database " + db->path() +
                              " is a SQLite database but not a pum one "
                              "(it has tables and no pum schema version)");
  }
  return db->Execute(kSchemaV1Sql);
}

using Migration = Status (*)(sql::Database* db);
// kMigrations[n] takes a database from schema version n to n + 1.
constexpr Migration kMigrations[] = {&MigrateTo1};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) ==
                  Store::kSchemaVersion,
              "one migration per schema version");

Status TooNew(const std::string& path, int64_t version) {
  return Status::NotSupported(
      "database " + path + " has schema version " + std::to_string(version) +
      ", newer than this pum supports (" +
      std::to_string(Store::kSchemaVersion) + "); upgrade pum");
}

// Labels
// -------------------------------------------------------------------------
//
// The canonical encoding of a series' labels: the pairs sorted by name, each
// name and value written as <decimal length>:<bytes>, e.g.
// {feature="a:b", browser=""} -> "7:browser0:7:feature3:a:b". Any bytes round
// trip, and two different label sets never share an encoding.

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

void AppendField(std::string_view field, std::string* out) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field.data(), field.size());
}

std::string EncodeLabels(LabelPairs* labels) {
  std::sort(labels->begin(), labels->end());
  std::string out;
  for (const auto& [name, value] : *labels) {
    AppendField(name, &out);
    AppendField(value, &out);
  }
  return out;
}

bool DecodeField(std::string_view* in, std::string* out) {
  size_t size = 0;
  size_t i = 0;
  for (; i < in->size() && i < 10 && (*in)[i] >= '0' && (*in)[i] <= '9'; ++i) {
    size = size * 10 + static_cast<size_t>((*in)[i] - '0');
  }
  if (i == 0 || i >= in->size() || (*in)[i] != ':') return false;
  in->remove_prefix(i + 1);
  if (size > in->size()) return false;
  out->assign(in->data(), size);
  in->remove_prefix(size);
  return true;
}

Status DecodeLabels(std::string_view in, LabelPairs* out) {
  out->clear();
  while (!in.empty()) {
    std::pair<std::string, std::string> label;
    if (!DecodeField(&in, &label.first) || !DecodeField(&in, &label.second)) {
      return Status::Corruption("store: undecodable labels in series table");
    }
    out->push_back(std::move(label));
  }
  return Status::Ok();
}

// Validation (before any transaction)
// ---------------------------------------------

constexpr uint64_t kMaxCount =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

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
  if (delta.count > kMaxCount) {
    return Status::InvalidArgument("histogram " + metric + ": count too big");
  }
  for (const auto& [le, count] : delta.buckets) {
    if (std::isnan(le) || count > kMaxCount) {
      return Status::InvalidArgument("histogram " + metric +
                                     ": bucket bound NaN or count too big");
    }
  }
  return ValidateKey(delta.key);
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

// De-duplication
// ----------------------------------------------------------------

struct SeqWindow {
  int64_t max_seq = 0;
  uint64_t mask = 0;  // bit i: seq max_seq - 1 - i was applied
};

// Records `seq` in `window`; false if it was applied before or is too old to
// tell.
bool AcceptSeq(int64_t seq, SeqWindow* window) {
  if (seq > window->max_seq) {
    uint64_t shift = static_cast<uint64_t>(seq - window->max_seq);
    uint64_t moved = shift >= 64 ? 0 : window->mask << shift;
    uint64_t old_max = shift > 64 ? 0 : uint64_t{1} << (shift - 1);
    window->mask = moved | old_max;
    window->max_seq = seq;
    return true;
  }
  int64_t distance = window->max_seq - seq;
  if (distance == 0 || distance > kSeqWindow) return false;
  uint64_t bit = uint64_t{1} << (distance - 1);
  if (window->mask & bit) return false;
  window->mask |= bit;
  return true;
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
  Status Apply(const Batch& batch, int64_t now, ApplyResult* result);
  Status Read(Snapshot* out);
  Status Stats(StoreStats* out);
  Status PruneClients(int64_t before, int64_t* pruned);
  Status Checkpoint() { return db_.CheckpointPassive(); }
  Status Ping();

 private:
  Status SetWalMode();
  Status Migrate();
  Status PrepareStatements();

  Status RecordBatchId(const BatchId& id, int64_t now, bool* duplicate);
  Status ApplyCounter(const CounterDelta& delta);
  Status ApplyHistogram(const HistogramDelta& delta);
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
  Status s = SetWalMode();
  if (s.code() == Status::Code::kCorruption) {
    return Status::Corruption("database " + path +
                              " is not a SQLite database: " + s.message());
  }
  if (!s.ok()) return s;
  PUM_RETURN_IF_ERROR(db_.Execute(
      options.synchronous_full ? kSynchronousFullSql : kSynchronousNormalSql));
  PUM_RETURN_IF_ERROR(db_.Execute(kWalAutocheckpointSql));
  PUM_RETURN_IF_ERROR(Migrate());
  return PrepareStatements();
}

// Switching a new file to WAL needs an exclusive lock; when several processes
// open the same new file at once, SQLite may answer SQLITE_BUSY without
// waiting (to avoid a deadlock), so retry for a while.
Status Store::Impl::SetWalMode() {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(
                                           options_.busy_timeout_ms, 1000));
  for (int attempt = 0;; ++attempt) {
    std::string mode;
    Status s = db_.QueryText(kJournalModeWalSql, &mode);
    if (s.ok()) {
      if (strcasecmp(mode.c_str(), "wal") == 0) return s;
      return Status::NotSupported("database " + db_.path() +
                                  ": cannot use WAL mode (journal_mode is " +
                                  mode + ")");
    }
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

Status Store::Impl::Apply(const Batch& batch, int64_t now,
                          ApplyResult* result) {
  PUM_RETURN_IF_ERROR(ValidateBatch(batch));
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginImmediate());
  if (batch.id.has_value()) {
    bool duplicate = false;
    PUM_RETURN_IF_ERROR(RecordBatchId(*batch.id, now, &duplicate));
    if (duplicate) {
      *result = ApplyResult::kDuplicate;
      return Status::Ok();  // the transaction rolls back
    }
  }
  for (const CounterDelta& delta : batch.counters) {
    PUM_RETURN_IF_ERROR(ApplyCounter(delta));
  }
  for (const HistogramDelta& delta : batch.histograms) {
    PUM_RETURN_IF_ERROR(ApplyHistogram(delta));
  }
  PUM_RETURN_IF_ERROR(transaction.Commit());
  *result = ApplyResult::kApplied;
  return Status::Ok();
}

Status Store::Impl::RecordBatchId(const BatchId& id, int64_t now,
                                  bool* duplicate) {
  SeqWindow window;
  bool known = false;
  {
    sql::Statement& select = statements_.select_client;
    sql::AutoReset reset(&select);
    select.BindText(0, id.client);
    PUM_RETURN_IF_ERROR(select.Step(&known));
    if (known) {
      window.max_seq = select.ColumnInt64(0);
      window.mask = static_cast<uint64_t>(select.ColumnInt64(1));
    }
  }
  if (!known) {
    window.max_seq = id.seq;
  } else if (!AcceptSeq(id.seq, &window)) {
    *duplicate = true;
    return Status::Ok();
  }
  *duplicate = false;
  sql::Statement& upsert = statements_.upsert_client;
  sql::AutoReset reset(&upsert);
  upsert.BindText(0, id.client);
  upsert.BindInt64(1, window.max_seq);
  upsert.BindInt64(2, static_cast<int64_t>(window.mask));
  upsert.BindInt64(3, now);
  return upsert.Run();
}

Status Store::Impl::ApplyCounter(const CounterDelta& delta) {
  int64_t id = 0;
  PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
  sql::Statement& upsert = statements_.upsert_counter;
  sql::AutoReset reset(&upsert);
  upsert.BindInt64(0, id);
  upsert.BindDouble(1, delta.inc);
  return upsert.Run();
}

Status Store::Impl::ApplyHistogram(const HistogramDelta& delta) {
  int64_t id = 0;
  PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
  {
    sql::Statement& upsert = statements_.upsert_histogram;
    sql::AutoReset reset(&upsert);
    upsert.BindInt64(0, id);
    upsert.BindDouble(1, delta.sum);
    upsert.BindInt64(2, static_cast<int64_t>(delta.count));
    PUM_RETURN_IF_ERROR(upsert.Run());
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
    PUM_RETURN_IF_ERROR(DecodeLabels(select.ColumnBytes(1), &series.labels));
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
      PUM_RETURN_IF_ERROR(DecodeLabels(select.ColumnBytes(2), &series.labels));
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

Status Store::Apply(const Batch& batch, int64_t now, ApplyResult* result) {
  return impl_->Apply(batch, now, result);
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
