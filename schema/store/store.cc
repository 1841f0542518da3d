#include "schema/store/store.h"

#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "schema/store/bucket_codec.h"
#include "schema/store/label_codec.h"
#include "schema/store/native_column.h"
#include "schema/store/seq_window.h"
#include "schema/store/sqlite.h"

namespace pum {
namespace {

// Schema
// -----------------------------------------------------------------------
//
// series:       one row per (metric, labels); `labels` is the canonical
//               encoding of the label pairs (label_codec.h). Its id is the
//               series' id for its life.
// counters:     the total of each counter series.
// histograms:   the sum and count of each histogram series; from version 3
//               also its buckets, in one blob: (upper bound, observations)
//               pairs, not cumulative, sorted by bound, +Inf last, buckets
//               never observed left out (bucket_codec.h: 16 bytes a bucket,
//               a little-endian binary64 and a little-endian uint64).
// buckets:      (versions 1 and 2 only) observations per (series, upper
//               bound), not cumulative.
// counters and histograms, from version 3: `generation`, the store's
//               generation of the write transaction that last changed the
//               row, and `updated_at`, that write's time (unix seconds),
//               both stamped by the upsert that changes the row.
// meta:         (version 3) one row: `generation`, incremented by every
//               write transaction that adds deltas, and `series_epoch`,
//               incremented (by triggers) whenever a series, a counter or
//               histogram row or a capped label value is deleted, so that
//               readers of changes and caches of series ids know to start
//               over.
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

// Version 4: the native part of a histogram (native_column.h).
constexpr char kAddColumnsV4Sql[] =
    "ALTER TABLE histograms ADD COLUMN native BLOB NOT NULL DEFAULT X''";

// Version 3: buckets in the histogram's row, generations, the series epoch.
constexpr char kAddColumnsV3Sql[] = R"sql(
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  generation INTEGER NOT NULL,
  series_epoch INTEGER NOT NULL
);
INSERT INTO meta (id, generation, series_epoch) VALUES (0, 1, 0);
ALTER TABLE counters ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE counters ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE histograms ADD COLUMN buckets BLOB NOT NULL DEFAULT X'';
ALTER TABLE histograms ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE histograms ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
)sql";
constexpr char kSelectBucketsV2Sql[] =
    "SELECT series_id, le, count FROM buckets ORDER BY series_id, le";
constexpr char kSetBucketsV3Sql[] =
    "UPDATE histograms SET buckets = ? WHERE series_id = ?";
constexpr char kStampCountersV3Sql[] = "UPDATE counters SET updated_at = ?";
constexpr char kStampHistogramsV3Sql[] = "UPDATE histograms SET updated_at = ?";
constexpr char kFinishV3Sql[] = R"sql(
DROP TABLE buckets;
CREATE TRIGGER series_deleted AFTER DELETE ON series BEGIN
  UPDATE meta SET series_epoch = series_epoch + 1;
END;
CREATE TRIGGER counter_deleted AFTER DELETE ON counters BEGIN
  UPDATE meta SET series_epoch = series_epoch + 1;
END;
CREATE TRIGGER histogram_deleted AFTER DELETE ON histograms BEGIN
  UPDATE meta SET series_epoch = series_epoch + 1;
END;
CREATE TRIGGER label_value_deleted AFTER DELETE ON label_values BEGIN
  UPDATE meta SET series_epoch = series_epoch + 1;
END;
)sql";

// The SQL function that adds a delta's encoded buckets to a row's.
constexpr char kMergeBucketsFunction[] = "pum_merge_buckets";

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
// The store's generation and epoch, and (at the start of a write
// transaction, with the one read plus 1) its next generation: cheaper than
// one UPDATE ... RETURNING.
constexpr char kSelectMetaSql[] =
    "SELECT generation, series_epoch FROM meta WHERE id = 0";
constexpr char kSetGenerationSql[] =
    "UPDATE meta SET generation = ?1 WHERE id = 0";
constexpr char kDataVersionSql[] = "PRAGMA data_version";
// ApplyGroup(): the group's savepoint (undone when the merged deltas do not
// fit and the batches are applied one by one) and each batch's then.
constexpr char kSavepointGroupSql[] = "SAVEPOINT pum_group";
constexpr char kReleaseGroupSql[] = "RELEASE pum_group";
constexpr char kRollbackGroupSql[] = "ROLLBACK TO pum_group";
constexpr char kSavepointBatchSql[] = "SAVEPOINT pum_batch";
constexpr char kReleaseBatchSql[] = "RELEASE pum_batch";
constexpr char kRollbackBatchSql[] = "ROLLBACK TO pum_batch";
// The upserts change nothing (changes() == 0) when the new total would
// leave the exact range: ?3, ?5 and ?6 are kMaxExactTotal. A counter and
// the absolute value of a histogram's sum stay below 2^53, so that adding 1
// still counts (regression, found by review: a sum was only kept finite,
// and at 1e16 three more observations of 1 left it unchanged); a total
// that rounds up to 2^53 is refused too.
// NaN (Inf - Inf) compares as NULL, so it is refused too. They stamp the
// row with the transaction's generation and time in the same statement.
constexpr char kUpsertCounterSql[] =
    "INSERT INTO counters (series_id, value, generation, updated_at) "
    "VALUES (?1, ?2, ?4, ?5) "
    "ON CONFLICT (series_id) DO UPDATE SET value = value + excluded.value, "
    "generation = excluded.generation, updated_at = excluded.updated_at "
    "WHERE value + excluded.value < ?3";
// The same changes to a row known to exist, without the insert's attempt
// (the common case); no change means the row is absent or the total would
// leave the range, and the upsert then decides.
constexpr char kUpdateCounterSql[] =
    "UPDATE counters SET value = value + ?2, generation = ?4, "
    "updated_at = ?5 WHERE series_id = ?1 AND value + ?2 < ?3";
// ?9 is the delta's native part (native_column.h), empty without one; the
// right-hand sides read the row as it was before the update.
#define PUM_MERGE_NATIVE(native_delta)                                    \
  "native = CASE WHEN length(" native_delta                               \
  ") = 0 THEN native "                                                    \
  "ELSE pum_merge_native(pum_seed_native(native, buckets), " native_delta \
  ") END, "
constexpr char kUpdateHistogramSql[] =
    "UPDATE histograms SET sum = sum + ?2, count = count + ?3, "
    "buckets = pum_merge_buckets(buckets, ?4), " PUM_MERGE_NATIVE("?9")
    "generation = ?7, updated_at = ?8 "
    "WHERE series_id = ?1 AND count + ?3 <= ?5 AND abs(sum + ?2) < ?6";
constexpr char kUpsertHistogramSql[] =
    "INSERT INTO histograms "
    "(series_id, sum, count, buckets, native, generation, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, pum_merge_native(X'', ?9), ?7, ?8) "
    "ON CONFLICT (series_id) DO UPDATE SET sum = sum + excluded.sum, "
    "count = count + excluded.count, "
    "buckets = pum_merge_buckets(buckets, excluded.buckets), "
    PUM_MERGE_NATIVE("?9")
    "generation = excluded.generation, updated_at = excluded.updated_at "
    "WHERE count + excluded.count <= ?5 AND abs(sum + excluded.sum) < ?6";
constexpr char kSelectLabelValueSql[] =
    "SELECT 1 FROM label_values WHERE metric = ? AND label = ? AND value = ?";
constexpr char kCountLabelValuesSql[] =
    "SELECT count(*) FROM label_values WHERE metric = ? AND label = ?";
constexpr char kInsertLabelValueSql[] =
    "INSERT INTO label_values (metric, label, value) VALUES (?, ?, ?)";
// Every row, or (the *_since statements) those of a generation above ?1.
// There is no index on generation: it would cost every upsert an index
// update (14% of a request's instructions, measured with callgrind), where
// a reader's scan of the rows reads the generation without decoding the
// rest. CROSS JOIN keeps the row tables outer.
#define PUM_READ_COUNTERS                                     \
  "SELECT counters.series_id, series.metric, series.labels, " \
  "counters.value "                                           \
  "FROM counters CROSS JOIN series ON series.id = counters.series_id"
#define PUM_READ_HISTOGRAMS                                     \
  "SELECT histograms.series_id, series.metric, series.labels, " \
  "histograms.sum, histograms.count, histograms.buckets, "      \
  "histograms.native "                                          \
  "FROM histograms CROSS JOIN series ON series.id = histograms.series_id"
constexpr char kReadCountersSql[] = PUM_READ_COUNTERS;
constexpr char kReadCountersSinceSql[] =
    PUM_READ_COUNTERS " WHERE counters.generation > ?1";
constexpr char kReadHistogramsSql[] = PUM_READ_HISTOGRAMS;
constexpr char kReadHistogramsSinceSql[] =
    PUM_READ_HISTOGRAMS " WHERE histograms.generation > ?1";
#undef PUM_READ_COUNTERS
#undef PUM_READ_HISTOGRAMS
#undef PUM_MERGE_NATIVE
constexpr char kDatabaseBytesSql[] =
    "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size";
constexpr char kCountSeriesSql[] = "SELECT count(*) FROM series";
constexpr char kCountClientsSql[] = "SELECT count(*) FROM clients";
constexpr char kPruneClientsSql[] = "DELETE FROM clients WHERE last_seen < ?";
constexpr char kPingSql[] = "SELECT count(*) FROM sqlite_master";
// ExpireSeries(): the series of metric ?1 none of whose rows was written at
// or after ?2 (a series with no row at all included), at most ?3 of them.
constexpr char kSelectExpiredSql[] =
    "SELECT id, labels FROM series WHERE metric = ?1 "
    "AND NOT EXISTS (SELECT 1 FROM counters WHERE series_id = series.id "
    "AND updated_at >= ?2) "
    "AND NOT EXISTS (SELECT 1 FROM histograms WHERE series_id = series.id "
    "AND updated_at >= ?2) LIMIT ?3";
constexpr char kDeleteCounterSql[] = "DELETE FROM counters WHERE series_id = ?";
constexpr char kDeleteHistogramSql[] =
    "DELETE FROM histograms WHERE series_id = ?";
constexpr char kDeleteSeriesSql[] = "DELETE FROM series WHERE id = ?";
constexpr char kSelectMetricSeriesLabelsSql[] =
    "SELECT labels FROM series WHERE metric = ?";
constexpr char kDeleteLabelValueSql[] =
    "DELETE FROM label_values WHERE metric = ? AND label = ? AND value = ?";

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

// Each histogram's bucket rows become its row's blob.
Status CopyBucketsToV3(sql::Database* db) {
  sql::Statement select;
  sql::Statement update;
  PUM_RETURN_IF_ERROR(db->Prepare(kSelectBucketsV2Sql, &select));
  PUM_RETURN_IF_ERROR(db->Prepare(kSetBucketsV3Sql, &update));
  Buckets buckets;
  int64_t series_id = 0;
  std::string encoded;
  auto flush = [&]() -> Status {
    if (buckets.empty()) return Status::Ok();
    EncodeBuckets(buckets, &encoded);
    buckets.clear();
    sql::AutoReset reset(&update);
    update.BindBlob(0, encoded);
    update.BindInt64(1, series_id);
    return update.Run();  // buckets of no histogram update nothing
  };
  for (;;) {
    bool has_row = false;
    PUM_RETURN_IF_ERROR(select.Step(&has_row));
    if (!has_row || select.ColumnInt64(0) != series_id) {
      PUM_RETURN_IF_ERROR(flush());
    }
    if (!has_row) return Status::Ok();
    series_id = select.ColumnInt64(0);
    const double le = select.ColumnDouble(1);
    const int64_t count = select.ColumnInt64(2);
    if (std::isnan(le) || count < 0) {
      return Status::Corruption("database " + db->path() +
                                ": a bucket with a NaN bound or a negative "
                                "count");
    }
    buckets.emplace_back(le, static_cast<uint64_t>(count));
  }
}

Status RunWithInt64(sql::Database* db, const char* sql, int64_t value) {
  sql::Statement statement;
  PUM_RETURN_IF_ERROR(db->Prepare(sql, &statement));
  statement.BindInt64(0, value);
  return statement.Run();
}

Status MigrateTo3(sql::Database* db) {
  PUM_RETURN_IF_ERROR(db->Execute(kAddColumnsV3Sql));
  PUM_RETURN_IF_ERROR(CopyBucketsToV3(db));
  // Series migrated count as updated now: none expires by the upgrade.
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  PUM_RETURN_IF_ERROR(RunWithInt64(db, kStampCountersV3Sql, now));
  PUM_RETURN_IF_ERROR(RunWithInt64(db, kStampHistogramsV3Sql, now));
  return db->Execute(kFinishV3Sql);
}

Status MigrateTo4(sql::Database* db) { return db->Execute(kAddColumnsV4Sql); }

using Migration = Status (*)(sql::Database* db);
// kMigrations[n] takes a database from schema version n to n + 1.
constexpr Migration kMigrations[] = {&MigrateTo1, &MigrateTo2, &MigrateTo3,
                                     &MigrateTo4};
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
  if (delta.native.has_value() &&
      (NativeTotalCount(*delta.native) != delta.count ||
       delta.native->schema < kNativeMinSchema ||
       delta.native->schema > kNativeMaxSchema)) {
    return Status::InvalidArgument(
        "histogram " + metric +
        ": native buckets do not add up to the count, or bad schema");
  }
  return ValidateKey(delta.key);
}

// A delta that alone leaves the exact range (the store's upserts check the
// sum with what is stored).
bool CounterInRange(const CounterDelta& delta) {
  return delta.inc < kMaxExactTotal;
}

bool HistogramInRange(const HistogramDelta& delta) {
  return delta.count <= kMaxCount && std::abs(delta.sum) < kMaxExactTotal;
}

// The upserts' native argument of one delta: empty without a native part.
std::string NativeArgument(const HistogramDelta& delta) {
  if (!delta.native.has_value()) return std::string();
  return EncodeNativeDelta(*delta.native, delta.native_max_buckets);
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
  sql::Statement update_counter;
  sql::Statement update_histogram;
  sql::Statement set_generation;
  sql::Statement select_meta;
  sql::Statement data_version;
  sql::Statement savepoint_group;
  sql::Statement release_group;
  sql::Statement rollback_group;
  sql::Statement savepoint_batch;
  sql::Statement release_batch;
  sql::Statement rollback_batch;
  sql::Statement select_label_value;
  sql::Statement count_label_values;
  sql::Statement insert_label_value;
  sql::Statement read_counters;
  sql::Statement read_histograms;
  sql::Statement read_counters_since;
  sql::Statement read_histograms_since;
  sql::Statement database_bytes;
  sql::Statement count_series;
  sql::Statement count_clients;
  sql::Statement prune_clients;
  sql::Statement ping;
  sql::Statement select_expired;
  sql::Statement delete_counter;
  sql::Statement delete_histogram;
  sql::Statement delete_series;
  sql::Statement select_metric_series_labels;
  sql::Statement delete_label_value;
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
    {&Statements::update_counter, kUpdateCounterSql},
    {&Statements::update_histogram, kUpdateHistogramSql},
    {&Statements::set_generation, kSetGenerationSql},
    {&Statements::select_meta, kSelectMetaSql},
    {&Statements::data_version, kDataVersionSql},
    {&Statements::savepoint_group, kSavepointGroupSql},
    {&Statements::release_group, kReleaseGroupSql},
    {&Statements::rollback_group, kRollbackGroupSql},
    {&Statements::savepoint_batch, kSavepointBatchSql},
    {&Statements::release_batch, kReleaseBatchSql},
    {&Statements::rollback_batch, kRollbackBatchSql},
    {&Statements::select_label_value, kSelectLabelValueSql},
    {&Statements::count_label_values, kCountLabelValuesSql},
    {&Statements::insert_label_value, kInsertLabelValueSql},
    {&Statements::read_counters, kReadCountersSql},
    {&Statements::read_histograms, kReadHistogramsSql},
    {&Statements::read_counters_since, kReadCountersSinceSql},
    {&Statements::read_histograms_since, kReadHistogramsSinceSql},
    {&Statements::database_bytes, kDatabaseBytesSql},
    {&Statements::count_series, kCountSeriesSql},
    {&Statements::count_clients, kCountClientsSql},
    {&Statements::prune_clients, kPruneClientsSql},
    {&Statements::ping, kPingSql},
    {&Statements::select_expired, kSelectExpiredSql},
    {&Statements::delete_counter, kDeleteCounterSql},
    {&Statements::delete_histogram, kDeleteHistogramSql},
    {&Statements::delete_series, kDeleteSeriesSql},
    {&Statements::select_metric_series_labels, kSelectMetricSeriesLabelsSql},
    {&Statements::delete_label_value, kDeleteLabelValueSql},
};

// Runs a statement that takes no parameters and yields no rows.
Status RunOnce(sql::Statement* statement) {
  sql::AutoReset reset(statement);
  return statement->Run();
}

void AppendField(std::string_view field, std::string* out) {
  *out += std::to_string(field.size());
  *out += ':';
  out->append(field.data(), field.size());
}

// The key of a SeriesKey in the id caches, into `*out`: every field
// length-prefixed, the labels in the key's order, with their caps (so that
// a changed cap is another key). Two keys of one series (labels in another
// order) may both be cached; no two series share one.
void CacheKey(const SeriesKey& key, std::string* out) {
  out->clear();
  AppendField(key.metric, out);
  for (const Label& label : key.labels) {
    AppendField(label.name, out);
    AppendField(label.value, out);
    if (label.max_values > 0) {
      *out += std::to_string(label.max_values);
      AppendField(label.overflow_value, out);
    }
    *out += ';';
  }
}

// The most series ids a Store caches; past it the cache starts over.
constexpr size_t kMaxCachedIds = 1 << 17;

// The de-duplication windows of the clients of one group, as judged so far.
struct ClientWindow {
  SeqWindow window;
  bool changed = false;
};
using ClientWindows = std::unordered_map<std::string, ClientWindow>;

// A delta of a group and its series' id.
struct CounterRef {
  int64_t id;
  const CounterDelta* delta;
};

struct HistogramRef {
  int64_t id;
  const HistogramDelta* delta;
};

// The native argument of the deltas [first, end) of one series, summed
// (the smallest bucket cap of them applies): empty when none has a native
// part.
void MergedNative(const std::vector<HistogramRef>& refs, size_t first,
                  size_t end, std::string* out) {
  out->clear();
  std::optional<NativeHistogram> sum;
  uint32_t cap = kNativeDefaultMaxBuckets;
  for (size_t j = first; j < end; ++j) {
    const HistogramDelta& delta = *refs[j].delta;
    if (!delta.native.has_value()) continue;
    if (!sum.has_value()) {
      sum = *delta.native;
      cap = delta.native_max_buckets;
      continue;
    }
    MergeNative(*delta.native, &*sum);
    cap = std::min(cap, delta.native_max_buckets);
  }
  if (sum.has_value()) *out = EncodeNativeDelta(*sum, cap);
}

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
  Status ApplyGroup(const std::vector<const Batch*>& batches, int64_t now,
                    std::vector<ApplyResult>* results,
                    std::vector<OutOfRange>* out_of_range);
  Status Read(Snapshot* out);
  Status ReadChanges(ReadCursor* cursor, Changes* out);
  Status Stats(StoreStats* out);
  Status PruneClients(int64_t before, int64_t* pruned);
  Status ExpireSeries(const std::string& metric, int64_t not_updated_since,
                      int max_rows, int64_t* expired);
  Status Checkpoint();
  Status Ping();

 private:
  Status FreeLabelValues(const std::string& metric,
                         const std::vector<std::string>& removed_labels);
  Status CheckBeforeWriting();
  Status SetWalMode();
  template <typename Step>
  Status RetryWhileBusy(Step step);
  Status Migrate();
  Status PrepareStatements();

  Status JudgeBatchId(const BatchId& id, ClientWindows* windows,
                      SeqWindow::Verdict* verdict);
  Status WriteWindows(const ClientWindows& windows, int64_t now);
  Status ApplyMerged(const std::vector<const Batch*>& batches, int64_t now,
                     std::vector<ApplyResult>* results, bool* fits);
  Status ApplyOneByOne(const std::vector<const Batch*>& batches, int64_t now,
                       std::vector<ApplyResult>* results,
                       std::vector<OutOfRange>* out_of_range);
  Status ApplyDeltas(const Batch& batch, int64_t now, OutOfRange* out_of_range);
  Status ReadMeta(int64_t* generation, int64_t* epoch);
  Status NextGeneration();
  Status ApplyCounter(const CounterDelta& delta, int64_t now, bool* in_range);
  Status ApplyHistogram(const HistogramDelta& delta, int64_t now,
                        bool* in_range);
  Status UpsertCounter(int64_t id, double inc, int64_t now, bool* in_range);
  Status UpsertHistogram(int64_t id, double sum, uint64_t count,
                         const Buckets& buckets, const std::string& native,
                         int64_t now, bool* in_range);
  Status SeriesId(const SeriesKey& key, int64_t* id);
  Status ResolveCappedValue(const std::string& metric, const Label& label,
                            std::string* value);
  Status ReadCounters(sql::Statement* select, std::vector<CounterSeries>* out);
  Status ReadHistograms(sql::Statement* select,
                        std::vector<HistogramSeries>* out);
  Status DataVersion(int64_t* out);

  StoreOptions options_;
  sql::Database db_;
  Statements statements_;  // after db_: finalized before it closes
  // The write transaction's generation and the series epoch it saw (set by
  // NextGeneration()).
  int64_t generation_ = 0;
  int64_t epoch_ = 0;
  std::string encoded_buckets_;  // reused by UpsertHistogram()
  std::string encoded_native_;   // reused by ApplyMerged()
  // Series ids: those committed (valid while the series epoch is
  // cache_epoch_), and those the open transaction inserted or looked up
  // (forgotten when it, or a savepoint, rolls back; cached when it
  // commits).
  std::unordered_map<std::string, int64_t> id_cache_;
  int64_t cache_epoch_ = -1;
  std::unordered_map<std::string, int64_t> txn_ids_;
  std::string cache_key_;  // SeriesId()'s buffer
  // ApplyMerged()'s, reused from group to group.
  std::vector<CounterRef> counter_refs_;
  std::vector<HistogramRef> histogram_refs_;
  Buckets merged_buckets_;
  // ReadChanges()'s short cut: the cursor it last returned, the
  // data_version it had read then, and whether this connection has
  // committed a write since (data_version does not see its own commits).
  ReadCursor last_cursor_;
  int64_t last_data_version_ = -1;
  bool wrote_since_read_ = true;
};

Status Store::Impl::Open(const std::string& path, const StoreOptions& options) {
  options_ = options;
  PUM_RETURN_IF_ERROR(CheckDirectory(path));
  PUM_RETURN_IF_ERROR(db_.Open(path));
  db_.SetBusyTimeout(options.busy_timeout_ms);
  PUM_RETURN_IF_ERROR(
      db_.CreateBlobFunction(kMergeBucketsFunction, &MergeEncodedBuckets));
  PUM_RETURN_IF_ERROR(
      db_.CreateBlobFunction(kSeedNativeFunction, &SeedNativeColumn));
  PUM_RETURN_IF_ERROR(
      db_.CreateBlobFunction(kMergeNativeFunction, &MergeNativeColumn));
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

Status Store::Impl::ApplyGroup(const std::vector<const Batch*>& batches,
                               int64_t now, std::vector<ApplyResult>* results,
                               std::vector<OutOfRange>* out_of_range) {
  assert(results != nullptr);
  for (const Batch* batch : batches) {
    PUM_RETURN_IF_ERROR(ValidateBatch(*batch));
  }
  results->assign(batches.size(), ApplyResult::kApplied);
  std::vector<OutOfRange> refused(batches.size());
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginImmediate());
  txn_ids_.clear();
  struct ForgetOnExit {  // the ids of a transaction that did not commit
    std::unordered_map<std::string, int64_t>* ids;
    ~ForgetOnExit() { ids->clear(); }
  } forget{&txn_ids_};
  PUM_RETURN_IF_ERROR(NextGeneration());
  PUM_RETURN_IF_ERROR(RunOnce(&statements_.savepoint_group));
  bool fits = false;
  PUM_RETURN_IF_ERROR(ApplyMerged(batches, now, results, &fits));
  if (!fits) {
    // Some total would leave the exact range: find out which batches, as
    // one-by-one application would.
    PUM_RETURN_IF_ERROR(RunOnce(&statements_.rollback_group));
    txn_ids_.clear();
    PUM_RETURN_IF_ERROR(ApplyOneByOne(batches, now, results, &refused));
  }
  PUM_RETURN_IF_ERROR(RunOnce(&statements_.release_group));
  const bool applied = std::find(results->begin(), results->end(),
                                 ApplyResult::kApplied) != results->end();
  if (out_of_range != nullptr) *out_of_range = std::move(refused);
  if (!applied) return Status::Ok();  // the transaction rolls back
  PUM_RETURN_IF_ERROR(transaction.Commit());
  wrote_since_read_ = true;
  if (id_cache_.size() + txn_ids_.size() > kMaxCachedIds) id_cache_.clear();
  id_cache_.insert(txn_ids_.begin(), txn_ids_.end());
  return Status::Ok();
}

// The merged attempt: judges every batch id, sums the deltas of the new
// batches per series and adds each sum with one upsert. `*fits` is false
// (and the caller undoes the attempt) when one-by-one application might
// refuse a delta: a delta out of range by itself, a merged total that the
// store refuses, or a histogram sum with deltas of both signs (its
// intermediate totals are unknown).
Status Store::Impl::ApplyMerged(const std::vector<const Batch*>& batches,
                                int64_t now, std::vector<ApplyResult>* results,
                                bool* fits) {
  *fits = false;
  ClientWindows windows;
  // (series id, delta) of every delta of the new batches, in batch order;
  // member vectors, so that their capacity is reused.
  std::vector<CounterRef>& counters = counter_refs_;
  std::vector<HistogramRef>& histograms = histogram_refs_;
  counters.clear();
  histograms.clear();
  for (size_t i = 0; i < batches.size(); ++i) {
    const Batch& batch = *batches[i];
    if (batch.id.has_value()) {
      SeqWindow::Verdict verdict = SeqWindow::Verdict::kNew;
      PUM_RETURN_IF_ERROR(JudgeBatchId(*batch.id, &windows, &verdict));
      if (verdict != SeqWindow::Verdict::kNew) {
        (*results)[i] = verdict == SeqWindow::Verdict::kDuplicate
                            ? ApplyResult::kDuplicate
                            : ApplyResult::kTooOld;
        continue;
      }
      ClientWindow& client = windows[batch.id->client];
      client.window.Record(batch.id->seq);
      client.changed = true;
    }
    for (const CounterDelta& delta : batch.counters) {
      if (!CounterInRange(delta)) return Status::Ok();
      int64_t id = 0;
      PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
      counters.push_back(CounterRef{id, &delta});
    }
    for (const HistogramDelta& delta : batch.histograms) {
      if (!HistogramInRange(delta)) return Status::Ok();
      int64_t id = 0;
      PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
      histograms.push_back(HistogramRef{id, &delta});
    }
  }
  // Grouped by series, in id order (neighbouring rows share pages); stable,
  // so that a series' deltas are summed in batch order.
  auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
  std::stable_sort(counters.begin(), counters.end(), by_id);
  std::stable_sort(histograms.begin(), histograms.end(), by_id);
  for (size_t i = 0; i < counters.size();) {
    const int64_t id = counters[i].id;
    double inc = 0;
    for (; i < counters.size() && counters[i].id == id; ++i) {
      inc += counters[i].delta->inc;
    }
    bool in_range = true;
    PUM_RETURN_IF_ERROR(UpsertCounter(id, inc, now, &in_range));
    if (!in_range) return Status::Ok();
  }
  for (size_t i = 0; i < histograms.size();) {
    const int64_t id = histograms[i].id;
    const size_t first = i;
    double sum = 0;
    uint64_t count = 0;
    bool positive = false;
    bool negative = false;
    for (; i < histograms.size() && histograms[i].id == id; ++i) {
      const HistogramDelta& delta = *histograms[i].delta;
      sum += delta.sum;
      // Both at most 2^53 here: the sum cannot overflow.
      count += delta.count;
      if (count > kMaxCount) return Status::Ok();
      positive |= delta.sum > 0;
      negative |= delta.sum < 0;
    }
    // Deltas of both signs: the intermediate totals one-by-one application
    // would check are unknown.
    if (positive && negative) return Status::Ok();
    const Buckets* buckets = &histograms[first].delta->buckets;
    MergedNative(histograms, first, i, &encoded_native_);
    if (i - first > 1) {
      merged_buckets_.clear();
      for (size_t j = first; j < i; ++j) {
        const Buckets& more = histograms[j].delta->buckets;
        merged_buckets_.insert(merged_buckets_.end(), more.begin(), more.end());
      }
      buckets = &merged_buckets_;
    }
    bool in_range = true;
    PUM_RETURN_IF_ERROR(UpsertHistogram(id, sum, count, *buckets,
                                        encoded_native_, now, &in_range));
    if (!in_range) return Status::Ok();
  }
  PUM_RETURN_IF_ERROR(WriteWindows(windows, now));
  *fits = true;
  return Status::Ok();
}

// Applies the batches one after the other, each in a savepoint of its own
// that is undone when a delta of it would leave the exact range.
Status Store::Impl::ApplyOneByOne(const std::vector<const Batch*>& batches,
                                  int64_t now,
                                  std::vector<ApplyResult>* results,
                                  std::vector<OutOfRange>* out_of_range) {
  ClientWindows windows;
  for (size_t i = 0; i < batches.size(); ++i) {
    const Batch& batch = *batches[i];
    (*results)[i] = ApplyResult::kApplied;
    if (batch.id.has_value()) {
      SeqWindow::Verdict verdict = SeqWindow::Verdict::kNew;
      PUM_RETURN_IF_ERROR(JudgeBatchId(*batch.id, &windows, &verdict));
      if (verdict != SeqWindow::Verdict::kNew) {
        (*results)[i] = verdict == SeqWindow::Verdict::kDuplicate
                            ? ApplyResult::kDuplicate
                            : ApplyResult::kTooOld;
        continue;
      }
    }
    PUM_RETURN_IF_ERROR(RunOnce(&statements_.savepoint_batch));
    OutOfRange refused;
    PUM_RETURN_IF_ERROR(ApplyDeltas(batch, now, &refused));
    if (!refused.counters.empty() || !refused.histograms.empty()) {
      PUM_RETURN_IF_ERROR(RunOnce(&statements_.rollback_batch));
      txn_ids_.clear();  // some may have been inserted by this batch
      (*results)[i] = ApplyResult::kOutOfRange;
      (*out_of_range)[i] = std::move(refused);
    } else if (batch.id.has_value()) {
      ClientWindow& client = windows[batch.id->client];
      client.window.Record(batch.id->seq);
      client.changed = true;
    }
    PUM_RETURN_IF_ERROR(RunOnce(&statements_.release_batch));
  }
  return WriteWindows(windows, now);
}

// Adds every delta that stays in range; lists the others in `refused`.
Status Store::Impl::ApplyDeltas(const Batch& batch, int64_t now,
                                OutOfRange* refused) {
  assert(db_.InTransaction());
  for (size_t i = 0; i < batch.counters.size(); ++i) {
    bool in_range = true;
    PUM_RETURN_IF_ERROR(ApplyCounter(batch.counters[i], now, &in_range));
    if (!in_range) refused->counters.push_back(i);
  }
  for (size_t i = 0; i < batch.histograms.size(); ++i) {
    bool in_range = true;
    PUM_RETURN_IF_ERROR(ApplyHistogram(batch.histograms[i], now, &in_range));
    if (!in_range) refused->histograms.push_back(i);
  }
  return Status::Ok();
}

// Reads the meta row: the last committed generation and the series epoch.
Status Store::Impl::ReadMeta(int64_t* generation, int64_t* epoch) {
  sql::Statement& select = statements_.select_meta;
  sql::AutoReset reset(&select);
  bool has_row = false;
  PUM_RETURN_IF_ERROR(select.Step(&has_row));
  if (!has_row) {
    return Status::Corruption("database " + db_.path() +
                              ": the meta table has no row");
  }
  *generation = select.ColumnInt64(0);
  *epoch = select.ColumnInt64(1);
  return Status::Ok();
}

// Takes the transaction's generation (and reads the series epoch).
Status Store::Impl::NextGeneration() {
  assert(db_.InTransaction());
  int64_t last_generation = 0;
  PUM_RETURN_IF_ERROR(ReadMeta(&last_generation, &epoch_));
  generation_ = last_generation + 1;
  if (epoch_ != cache_epoch_) {  // some series was removed: ids may be stale
    id_cache_.clear();
    cache_epoch_ = epoch_;
  }
  sql::Statement& update = statements_.set_generation;
  sql::AutoReset reset(&update);
  update.BindInt64(0, generation_);
  return update.Run();
}

// Judges `id` against its client's window: the stored one the first time a
// group sees the client, then the one the group has recorded into.
Status Store::Impl::JudgeBatchId(const BatchId& id, ClientWindows* windows,
                                 SeqWindow::Verdict* verdict) {
  assert(db_.InTransaction());  // judged and recorded atomically
  auto it = windows->find(id.client);
  if (it == windows->end()) {
    ClientWindow loaded;
    sql::Statement& select = statements_.select_client;
    sql::AutoReset reset(&select);
    select.BindText(0, id.client);
    bool known = false;
    PUM_RETURN_IF_ERROR(select.Step(&known));
    if (known && !SeqWindow::Decode(select.ColumnInt64(0),
                                    select.ColumnBytes(1), &loaded.window)) {
      return Status::Corruption("database " + db_.path() +
                                ": undecodable de-duplication state");
    }
    it = windows->emplace(id.client, std::move(loaded)).first;
  }
  *verdict = it->second.window.Judge(id.seq);
  return Status::Ok();
}

// Stores the windows the group recorded seqs into, with `now` as their
// clients' last activity.
Status Store::Impl::WriteWindows(const ClientWindows& windows, int64_t now) {
  sql::Statement& upsert = statements_.upsert_client;
  for (const auto& [client, state] : windows) {
    if (!state.changed) continue;
    sql::AutoReset reset(&upsert);
    upsert.BindText(0, client);
    upsert.BindInt64(1, state.window.max_seq());
    upsert.BindBlob(2, state.window.EncodeBits());
    upsert.BindInt64(3, now);
    PUM_RETURN_IF_ERROR(upsert.Run());
  }
  return Status::Ok();
}

Status Store::Impl::ApplyCounter(const CounterDelta& delta, int64_t now,
                                 bool* in_range) {
  *in_range = CounterInRange(delta);
  if (!*in_range) return Status::Ok();
  int64_t id = 0;
  PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
  return UpsertCounter(id, delta.inc, now, in_range);
}

Status Store::Impl::ApplyHistogram(const HistogramDelta& delta, int64_t now,
                                   bool* in_range) {
  *in_range = HistogramInRange(delta);
  if (!*in_range) return Status::Ok();
  int64_t id = 0;
  PUM_RETURN_IF_ERROR(SeriesId(delta.key, &id));
  return UpsertHistogram(id, delta.sum, delta.count, delta.buckets,
                         NativeArgument(delta), now, in_range);
}

// Adds to a counter's row, stamped with the transaction's generation and
// `now`; `*in_range` is false (and nothing changed) when the total would
// leave the exact range.
Status Store::Impl::UpsertCounter(int64_t id, double inc, int64_t now,
                                  bool* in_range) {
  // The upserts check the new total; a new row's is the delta itself.
  *in_range = inc < kMaxExactTotal;
  if (!*in_range) return Status::Ok();
  for (sql::Statement* statement :
       {&statements_.update_counter, &statements_.upsert_counter}) {
    sql::AutoReset reset(statement);
    statement->BindInt64(0, id);
    statement->BindDouble(1, inc);
    statement->BindDouble(2, kMaxExactTotal);
    statement->BindInt64(3, generation_);
    statement->BindInt64(4, now);
    PUM_RETURN_IF_ERROR(statement->Run());
    *in_range = db_.Changes() == 1;
    if (*in_range) break;
  }
  return Status::Ok();
}

// As UpsertCounter(), for a histogram's row.
Status Store::Impl::UpsertHistogram(int64_t id, double sum, uint64_t count,
                                    const Buckets& buckets,
                                    const std::string& native, int64_t now,
                                    bool* in_range) {
  // The upserts check the new total; a new row's is the delta itself.
  *in_range = std::abs(sum) < kMaxExactTotal;
  if (!*in_range) return Status::Ok();
  EncodeBuckets(buckets, &encoded_buckets_);
  for (sql::Statement* statement :
       {&statements_.update_histogram, &statements_.upsert_histogram}) {
    sql::AutoReset reset(statement);
    statement->BindInt64(0, id);
    statement->BindDouble(1, sum);
    statement->BindInt64(2, static_cast<int64_t>(count));
    statement->BindBlob(3, encoded_buckets_);
    statement->BindInt64(4, static_cast<int64_t>(kMaxCount));
    statement->BindDouble(5, kMaxExactTotal);
    statement->BindInt64(6, generation_);
    statement->BindInt64(7, now);
    statement->BindBlob(8, native);
    PUM_RETURN_IF_ERROR(statement->Run());
    // The buckets add up to the count, so they stay in range with it.
    *in_range = db_.Changes() == 1;
    if (*in_range) break;
  }
  return Status::Ok();
}

// The series' id, from the caches or the series table (inserting the
// series if new). An id is cached only once its transaction commits: the
// series may be new in it, and a key with capped labels has its
// resolution (which value, or the overflow value) settled only then, until
// a removal moves the series epoch.
Status Store::Impl::SeriesId(const SeriesKey& key, int64_t* id) {
  CacheKey(key, &cache_key_);  // no allocation once the buffer has grown
  if (auto it = id_cache_.find(cache_key_); it != id_cache_.end()) {
    *id = it->second;
    return Status::Ok();
  }
  if (auto it = txn_ids_.find(cache_key_); it != txn_ids_.end()) {
    *id = it->second;
    return Status::Ok();
  }
  std::string cache_key = cache_key_;
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
      // Cached only once the transaction commits, like an inserted one:
      // after a batch's savepoint was rolled back (and txn_ids_ cleared),
      // a series found here may still be one an earlier batch of this
      // transaction inserted (regression: its id was cached as committed,
      // so after a failed commit later deltas went to a series that did
      // not exist, and then to the next series given the same rowid).
      *id = select.ColumnInt64(0);
      txn_ids_.emplace(std::move(cache_key), *id);
      return Status::Ok();
    }
  }
  sql::Statement& insert = statements_.insert_series;
  sql::AutoReset reset(&insert);
  insert.BindText(0, key.metric);
  insert.BindBlob(1, encoded);
  PUM_RETURN_IF_ERROR(insert.Run());
  *id = db_.LastInsertRowId();
  txn_ids_.emplace(std::move(cache_key), *id);
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
  PUM_RETURN_IF_ERROR(
      ReadCounters(&statements_.read_counters, &snapshot.counters));
  PUM_RETURN_IF_ERROR(
      ReadHistograms(&statements_.read_histograms, &snapshot.histograms));
  PUM_RETURN_IF_ERROR(transaction.Commit());
  SortSeries(&snapshot.counters);
  SortSeries(&snapshot.histograms);
  *out = std::move(snapshot);
  return Status::Ok();
}

Status Store::Impl::DataVersion(int64_t* out) {
  sql::Statement& select = statements_.data_version;
  sql::AutoReset reset(&select);
  return QueryOne(&select, out);
}

Status Store::Impl::ReadChanges(ReadCursor* cursor, Changes* out) {
  int64_t data_version = 0;
  PUM_RETURN_IF_ERROR(DataVersion(&data_version));
  if (cursor->generation >= 0 &&
      cursor->generation == last_cursor_.generation &&
      cursor->epoch == last_cursor_.epoch && !wrote_since_read_ &&
      data_version == last_data_version_) {
    *out = Changes();  // nothing was committed since that read
    return Status::Ok();
  }
  Changes changes;
  ReadCursor next;
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginDeferred());
  PUM_RETURN_IF_ERROR(ReadMeta(&next.generation, &next.epoch));
  changes.full = cursor->generation < 0 || cursor->epoch != next.epoch;
  if (changes.full) {
    PUM_RETURN_IF_ERROR(
        ReadCounters(&statements_.read_counters, &changes.counters));
    PUM_RETURN_IF_ERROR(
        ReadHistograms(&statements_.read_histograms, &changes.histograms));
  } else if (next.generation != cursor->generation) {
    sql::Statement& counters = statements_.read_counters_since;
    sql::Statement& histograms = statements_.read_histograms_since;
    counters.Reset();
    counters.BindInt64(0, cursor->generation);
    PUM_RETURN_IF_ERROR(ReadCounters(&counters, &changes.counters));
    histograms.Reset();
    histograms.BindInt64(0, cursor->generation);
    PUM_RETURN_IF_ERROR(ReadHistograms(&histograms, &changes.histograms));
  }
  PUM_RETURN_IF_ERROR(transaction.Commit());
  *cursor = next;
  last_cursor_ = next;
  last_data_version_ = data_version;
  wrote_since_read_ = false;
  *out = std::move(changes);
  return Status::Ok();
}

// Reads the rows of `select` (kReadCounters*Sql, bound by the caller); it
// is reset afterwards.
Status Store::Impl::ReadCounters(sql::Statement* select,
                                 std::vector<CounterSeries>* out) {
  struct ResetAfter {
    sql::Statement* statement;
    ~ResetAfter() { statement->Reset(); }
  } reset{select};
  for (;;) {
    bool has_row = false;
    PUM_RETURN_IF_ERROR(select->Step(&has_row));
    if (!has_row) return Status::Ok();
    CounterSeries series;
    series.id = select->ColumnInt64(0);
    series.metric = select->ColumnBytes(1);
    PUM_RETURN_IF_ERROR(ReadLabels(*select, 2, &series.labels));
    series.value = select->ColumnDouble(3);
    out->push_back(std::move(series));
  }
}

// As ReadCounters(), for kReadHistograms*Sql.
Status Store::Impl::ReadHistograms(sql::Statement* select,
                                   std::vector<HistogramSeries>* out) {
  struct ResetAfter {
    sql::Statement* statement;
    ~ResetAfter() { statement->Reset(); }
  } reset{select};
  for (;;) {
    bool has_row = false;
    PUM_RETURN_IF_ERROR(select->Step(&has_row));
    if (!has_row) return Status::Ok();
    HistogramSeries series;
    series.id = select->ColumnInt64(0);
    series.metric = select->ColumnBytes(1);
    PUM_RETURN_IF_ERROR(ReadLabels(*select, 2, &series.labels));
    series.sum = select->ColumnDouble(3);
    series.count = static_cast<uint64_t>(select->ColumnInt64(4));
    if (!DecodeBuckets(select->ColumnView(5), &series.buckets)) {
      return Status::Corruption("database " + db_.path() +
                                ": undecodable buckets of series " +
                                std::to_string(series.id));
    }
    if (std::string_view native = select->ColumnView(6); !native.empty()) {
      series.native.emplace();
      if (!DecodeNative(native, &*series.native)) {
        return Status::Corruption("database " + db_.path() +
                                  ": undecodable native buckets of series " +
                                  std::to_string(series.id));
      }
    }
    out->push_back(std::move(series));
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

Status Store::Impl::ExpireSeries(const std::string& metric,
                                 int64_t not_updated_since, int max_rows,
                                 int64_t* expired) {
  if (metric.empty() || max_rows < 1) {
    return Status::InvalidArgument("ExpireSeries needs a metric and rows");
  }
  // Most rounds find nothing: a read transaction says so without taking
  // the write lock from the workers.
  {
    sql::Transaction read(&db_);
    PUM_RETURN_IF_ERROR(read.BeginDeferred());
    sql::Statement& select = statements_.select_expired;
    sql::AutoReset reset(&select);
    select.BindText(0, metric);
    select.BindInt64(1, not_updated_since);
    select.BindInt64(2, 1);
    bool any = false;
    PUM_RETURN_IF_ERROR(select.Step(&any));
    if (!any) {
      *expired = 0;
      return Status::Ok();
    }
  }
  sql::Transaction transaction(&db_);
  PUM_RETURN_IF_ERROR(transaction.BeginImmediate());
  // The ids and label sets of the series to remove, read before any delete
  // (a statement does not see its own transaction's deletes mid-scan).
  std::vector<int64_t> ids;
  std::vector<std::string> labels;
  {
    sql::Statement& select = statements_.select_expired;
    sql::AutoReset reset(&select);
    select.BindText(0, metric);
    select.BindInt64(1, not_updated_since);
    select.BindInt64(2, max_rows);
    for (;;) {
      bool has_row = false;
      PUM_RETURN_IF_ERROR(select.Step(&has_row));
      if (!has_row) break;
      ids.push_back(select.ColumnInt64(0));
      labels.push_back(select.ColumnBytes(1));
    }
  }
  if (ids.empty()) {
    *expired = 0;
    return Status::Ok();  // nothing written: the transaction rolls back
  }
  for (int64_t id : ids) {
    for (sql::Statement* statement :
         {&statements_.delete_counter, &statements_.delete_histogram,
          &statements_.delete_series}) {
      sql::AutoReset reset(statement);
      statement->BindInt64(0, id);
      PUM_RETURN_IF_ERROR(statement->Run());
    }
  }
  PUM_RETURN_IF_ERROR(FreeLabelValues(metric, labels));
  PUM_RETURN_IF_ERROR(transaction.Commit());
  wrote_since_read_ = true;  // data_version does not see its own commits
  *expired = static_cast<int64_t>(ids.size());
  return Status::Ok();
}

// Forgets the capped label values of `metric` that the removed series (the
// encoded label sets `removed_labels`) used and no remaining series of the
// metric uses. In the caller's transaction.
Status Store::Impl::FreeLabelValues(
    const std::string& metric, const std::vector<std::string>& removed_labels) {
  assert(db_.InTransaction());
  using Pair = std::pair<std::string, std::string>;  // (label, value)
  // The capped values of the removed series: those that may be free now.
  std::vector<Pair> candidates;
  LabelPairs pairs;
  for (const std::string& encoded : removed_labels) {
    if (!DecodeLabels(encoded, &pairs)) {
      return Status::Corruption("store: undecodable labels in series table");
    }
    for (Pair& pair : pairs) candidates.push_back(std::move(pair));
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()),
                   candidates.end());
  // Only the capped ones (label_values knows them).
  Status lookup_status = Status::Ok();
  auto not_capped = [&](const Pair& pair) -> bool {
    sql::Statement& select = statements_.select_label_value;
    sql::AutoReset reset(&select);
    select.BindText(0, metric);
    select.BindBlob(1, pair.first);
    select.BindBlob(2, pair.second);
    bool known = false;
    Status s = select.Step(&known);
    if (!s.ok()) lookup_status = s;
    return !known;
  };
  candidates.erase(
      std::remove_if(candidates.begin(), candidates.end(), not_capped),
      candidates.end());
  PUM_RETURN_IF_ERROR(lookup_status);
  if (candidates.empty()) return Status::Ok();
  // Those still used by a remaining series stay.
  std::vector<bool> used(candidates.size(), false);
  size_t still_free = candidates.size();
  {
    sql::Statement& select = statements_.select_metric_series_labels;
    sql::AutoReset reset(&select);
    select.BindText(0, metric);
    while (still_free > 0) {
      bool has_row = false;
      PUM_RETURN_IF_ERROR(select.Step(&has_row));
      if (!has_row) break;
      if (!DecodeLabels(select.ColumnView(0), &pairs)) {
        return Status::Corruption("store: undecodable labels in series table");
      }
      for (const Pair& pair : pairs) {
        auto it = std::lower_bound(candidates.begin(), candidates.end(), pair);
        if (it == candidates.end() || *it != pair) continue;
        const size_t i = static_cast<size_t>(it - candidates.begin());
        if (!used[i]) {
          used[i] = true;
          --still_free;
        }
      }
    }
  }
  sql::Statement& remove = statements_.delete_label_value;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (used[i]) continue;
    sql::AutoReset reset(&remove);
    remove.BindText(0, metric);
    remove.BindBlob(1, candidates[i].first);
    remove.BindBlob(2, candidates[i].second);
    PUM_RETURN_IF_ERROR(remove.Run());
  }
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
  assert(result != nullptr);
  std::vector<ApplyResult> results;
  std::vector<OutOfRange> refused;
  PUM_RETURN_IF_ERROR(impl_->ApplyGroup({&batch}, now, &results, &refused));
  *result = results[0];
  if (out_of_range != nullptr && *result == ApplyResult::kOutOfRange) {
    *out_of_range = std::move(refused[0]);
  }
  return Status::Ok();
}

Status Store::ApplyGroup(const std::vector<const Batch*>& batches, int64_t now,
                         std::vector<ApplyResult>* results,
                         std::vector<OutOfRange>* out_of_range) {
  return impl_->ApplyGroup(batches, now, results, out_of_range);
}

Status Store::Read(Snapshot* out) { return impl_->Read(out); }

Status Store::ReadChanges(ReadCursor* cursor, Changes* out) {
  return impl_->ReadChanges(cursor, out);
}

Status Store::Stats(StoreStats* out) { return impl_->Stats(out); }

Status Store::PruneClients(int64_t before, int64_t* pruned) {
  return impl_->PruneClients(before, pruned);
}

Status Store::ExpireSeries(const std::string& metric, int64_t not_updated_since,
                           int max_rows, int64_t* expired) {
  return impl_->ExpireSeries(metric, not_updated_since, max_rows, expired);
}

Status Store::Checkpoint() { return impl_->Checkpoint(); }

Status Store::Ping() { return impl_->Ping(); }

#undef PUM_RETURN_IF_ERROR

}  // namespace pum
