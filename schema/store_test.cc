#include "schema/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "schema/sqlite.h"

namespace pum {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Code = Status::Code;

constexpr int64_t kNow = 1700000000;
constexpr double kInf = std::numeric_limits<double>::infinity();

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pum_store_XXXXXX").string();
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<Store> OpenStore(const std::string& path,
                                 StoreOptions options = {}) {
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, options, &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

SeriesKey Key(const std::string& metric, const Pairs& labels = {}) {
  SeriesKey key;
  key.metric = metric;
  for (const auto& [name, value] : labels) {
    key.labels.push_back(Label{name, value, 0, ""});
  }
  return key;
}

Batch CounterBatch(const std::string& metric, const Pairs& labels, double inc) {
  Batch batch;
  batch.counters.push_back(CounterDelta{Key(metric, labels), inc});
  return batch;
}

Batch IdBatch(const std::string& client, int64_t seq, double inc = 1) {
  Batch batch = CounterBatch("requests_total", {}, inc);
  batch.id = BatchId{client, seq};
  return batch;
}

Status Apply(Store* store, const Batch& batch, ApplyResult* result = nullptr) {
  ApplyResult unused;
  return store->Apply(batch, kNow, result != nullptr ? result : &unused);
}

Snapshot ReadAll(Store* store) {
  Snapshot snapshot;
  Status s = store->Read(&snapshot);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return snapshot;
}

// The value of a counter series, or -1 when absent.
double CounterValue(Store* store, const std::string& metric,
                    const Pairs& labels = {}) {
  for (const CounterSeries& series : ReadAll(store).counters) {
    if (series.metric == metric && series.labels == labels) {
      return series.value;
    }
  }
  return -1;
}

// Runs `child` in a forked process; returns its pid. The child's return value
// is its exit code.
template <typename Fn>
pid_t Spawn(Fn child) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  EXPECT_GT(pid, 0);
  return pid;
}

int WaitExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

int64_t QueryInt(const std::string& path, const char* sql) {
  sql::Database db;
  EXPECT_TRUE(db.Open(path).ok());
  int64_t value = -1;
  Status s = db.QueryInt64(sql, &value);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return value;
}

// --- Applying and reading
// ------------------------------------------------------

TEST(Store, AppliesAndReadsCounters) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  Batch batch;
  batch.counters = {
      {Key("usage_total", {{"browser", "chrome"}, {"feature", "qq"}}), 3.5},
      {Key("usage_total", {{"browser", "firefox"}, {"feature", "qq"}}), 1},
      {Key("app_load_succeeded"), 2},
  };
  ApplyResult result;
  ASSERT_TRUE(Apply(store.get(), batch, &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);

  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.counters.size(), 3u);
  EXPECT_TRUE(snapshot.histograms.empty());
  EXPECT_EQ(snapshot.counters[0].metric, "app_load_succeeded");
  EXPECT_TRUE(snapshot.counters[0].labels.empty());
  EXPECT_EQ(snapshot.counters[0].value, 2);
  EXPECT_EQ(snapshot.counters[1].labels,
            (Pairs{{"browser", "chrome"}, {"feature", "qq"}}));
  EXPECT_EQ(snapshot.counters[1].value, 3.5);
  EXPECT_EQ(snapshot.counters[2].value, 1);
}

TEST(Store, AppliesAndReadsHistograms) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  HistogramDelta delta;
  delta.key = Key("firebase_response_time", {{"host", "a"}});
  delta.sum = 0.45;
  delta.count = 3;
  // Out of order, with an empty bucket and +Inf.
  delta.buckets = {{kInf, 0}, {0.5, 1}, {0.05, 1}, {0.1, 1}, {1, 0}};
  Batch batch;
  batch.histograms.push_back(delta);
  ASSERT_TRUE(Apply(store.get(), batch).ok());
  delta.buckets = {{kInf, 2}, {0.05, 1}};
  delta.sum = 200;
  delta.count = 3;
  batch.histograms = {delta};
  ASSERT_TRUE(Apply(store.get(), batch).ok());

  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  const HistogramSeries& series = snapshot.histograms[0];
  EXPECT_EQ(series.metric, "firebase_response_time");
  EXPECT_EQ(series.labels, (Pairs{{"host", "a"}}));
  EXPECT_DOUBLE_EQ(series.sum, 200.45);
  EXPECT_EQ(series.count, 6u);
  // Non-cumulative, sorted by bound, +Inf last, never-observed bounds absent.
  using Buckets = std::vector<std::pair<double, uint64_t>>;
  EXPECT_EQ(series.buckets,
            (Buckets{{0.05, 2}, {0.1, 1}, {0.5, 1}, {kInf, 2}}));
  EXPECT_TRUE(std::isinf(series.buckets.back().first));
}

TEST(Store, InfinityIsStoredAsRealInfinity) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  {
    auto store = OpenStore(path);
    HistogramDelta delta{Key("h"), 1, 1, {{kInf, 1}}};
    Batch batch;
    batch.histograms = {delta};
    ASSERT_TRUE(Apply(store.get(), batch).ok());
  }
  EXPECT_EQ(QueryInt(path,
                     "SELECT count(*) FROM buckets WHERE le = 9e999 AND "
                     "typeof(le) = 'real'"),
            1);
}

TEST(Store, DeltasAddWithinBatchAcrossBatchesAndReopen) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  {
    auto store = OpenStore(path);
    Batch batch = CounterBatch("usage_total", {{"f", "x"}}, 3.5);
    batch.counters.push_back(batch.counters[0]);  // same series twice
    HistogramDelta delta{Key("h"), 0.25, 1, {{0.5, 1}}};
    batch.histograms = {delta, delta};
    ASSERT_TRUE(Apply(store.get(), batch).ok());
    EXPECT_EQ(CounterValue(store.get(), "usage_total", {{"f", "x"}}), 7);
    ASSERT_TRUE(Apply(store.get(), batch).ok());
  }
  auto store = OpenStore(path);
  ASSERT_TRUE(
      Apply(store.get(), CounterBatch("usage_total", {{"f", "x"}}, 1)).ok());
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.counters.size(), 1u);
  EXPECT_EQ(snapshot.counters[0].value, 15);
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].sum, 1);
  EXPECT_EQ(snapshot.histograms[0].count, 4u);
  EXPECT_EQ(snapshot.histograms[0].buckets[0].second, 4u);
}

TEST(Store, RejectsInvalidDeltasWithoutApplyingAnything) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  const double nan = std::nan("");
  struct Case {
    const char* name;
    Batch batch;
  };
  auto counter = [](double inc) { return CounterBatch("c", {}, inc); };
  auto histogram = [](double sum, double le) {
    Batch batch;
    batch.histograms.push_back({Key("h"), sum, 1, {{le, 1}}});
    return batch;
  };
  Batch duplicate_label = CounterBatch("c", {{"a", "1"}, {"a", "2"}}, 1);
  Batch empty_metric = CounterBatch("", {}, 1);
  Batch negative_seq = IdBatch("client", -1);
  Batch empty_client = IdBatch("", 0);
  std::vector<Case> cases = {
      {"nan increment", counter(nan)},
      {"negative increment", counter(-1)},
      {"infinite increment", counter(kInf)},
      {"nan sum", histogram(nan, 1)},
      {"infinite sum", histogram(kInf, 1)},
      {"nan bound", histogram(1, nan)},
      {"duplicate label", duplicate_label},
      {"empty metric", empty_metric},
      {"negative seq", negative_seq},
      {"empty client", empty_client},
  };
  for (Case& c : cases) {
    // A valid delta first: it must not be applied either.
    c.batch.counters.insert(c.batch.counters.begin(), {Key("valid"), 1});
    Status s = Apply(store.get(), c.batch);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.name;
  }
  Snapshot snapshot = ReadAll(store.get());
  EXPECT_TRUE(snapshot.counters.empty());
  EXPECT_TRUE(snapshot.histograms.empty());
}

TEST(Store, SortsSeriesByMetricThenLabels) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  Batch batch;
  for (const char* metric : {"b_total", "a_total"}) {
    for (const char* value : {"z", "m", "a"}) {
      batch.counters.push_back({Key(metric, {{"k", value}}), 1});
    }
  }
  batch.counters.push_back({Key("a_total"), 1});
  ASSERT_TRUE(Apply(store.get(), batch).ok());
  std::vector<std::pair<std::string, Pairs>> order;
  for (const CounterSeries& series : ReadAll(store.get()).counters) {
    order.emplace_back(series.metric, series.labels);
  }
  std::vector<std::pair<std::string, Pairs>> expected = {
      {"a_total", {}},           {"a_total", {{"k", "a"}}},
      {"a_total", {{"k", "m"}}}, {"a_total", {{"k", "z"}}},
      {"b_total", {{"k", "a"}}}, {"b_total", {{"k", "m"}}},
      {"b_total", {{"k", "z"}}},
  };
  EXPECT_EQ(order, expected);
}

// --- Labels
// ------------------------------------------------------------------------

TEST(Store, LabelsWithHostileBytesRoundTripExactly) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  const std::vector<std::string> values = {
      "",
      "\"quoted\" \\back\\slash",
      "new\nline\r\ttab",
      std::string("nul\0byte", 8),
      "unit\x1fseparator\x1e",
      "\xff\xfe not utf-8 \xc3",
      "3:abc5:de",  // looks like the encoding itself
      "1:",
      "\xe2\x9c\x93 utf-8",
      std::string(10000, 'x'),
  };
  {
    auto store = OpenStore(path);
    Batch batch;
    for (size_t i = 0; i < values.size(); ++i) {
      batch.counters.push_back({Key("m", {{"a", values[i]}, {"b", values[i]}}),
                                static_cast<double>(i + 1)});
    }
    // A name with odd bytes too.
    batch.counters.push_back({Key("m", {{"n:1\n", "v"}}), 100});
    ASSERT_TRUE(Apply(store.get(), batch).ok());
  }
  auto store = OpenStore(path);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(
        CounterValue(store.get(), "m", {{"a", values[i]}, {"b", values[i]}}),
        static_cast<double>(i + 1))
        << "value #" << i;
  }
  EXPECT_EQ(CounterValue(store.get(), "m", {{"n:1\n", "v"}}), 100);
  EXPECT_EQ(ReadAll(store.get()).counters.size(), values.size() + 1);
}

TEST(Store, LabelSetsThatConcatenateAlikeStayDistinct) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  Batch batch;
  batch.counters = {
      {Key("m", {{"a", "b"}, {"c", "d"}}), 1},
      {Key("m", {{"a", "b1:c1:d"}}), 2},
      {Key("m", {{"a", "bc"}, {"", "d"}}), 3},
      {Key("m", {{"ab", "cd"}}), 4},
  };
  ASSERT_TRUE(Apply(store.get(), batch).ok());
  EXPECT_EQ(ReadAll(store.get()).counters.size(), 4u);
  EXPECT_EQ(CounterValue(store.get(), "m", {{"a", "b1:c1:d"}}), 2);
}

TEST(Store, LabelOrderDoesNotSplitASeries) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  ASSERT_TRUE(
      Apply(store.get(), CounterBatch("m", {{"x", "1"}, {"a", "2"}}, 1)).ok());
  ASSERT_TRUE(
      Apply(store.get(), CounterBatch("m", {{"a", "2"}, {"x", "1"}}, 1)).ok());
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.counters.size(), 1u);
  // Labels come back sorted by name.
  EXPECT_EQ(snapshot.counters[0].labels, (Pairs{{"a", "2"}, {"x", "1"}}));
  EXPECT_EQ(snapshot.counters[0].value, 2);
}

TEST(Store, CapsDistinctLabelValuesWithOverflowValue) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  auto capped = [](const std::string& metric, const std::string& value) {
    SeriesKey key = Key(metric);
    key.labels.push_back(Label{"path", value, 2, "__overflow__"});
    key.labels.push_back(Label{"browser", "chrome", 0, ""});
    return CounterDelta{key, 1};
  };
  {
    auto store = OpenStore(path);
    Batch batch;
    // Within one batch: a and b fill the cap, c overflows, a is known.
    for (const char* value : {"a", "b", "c", "a"}) {
      batch.counters.push_back(capped("m", value));
    }
    ASSERT_TRUE(Apply(store.get(), batch).ok());
  }
  auto store = OpenStore(path);
  Batch batch;
  // Across batches and reopen; the overflow value itself never takes a slot.
  for (const char* value : {"d", "__overflow__", "b"}) {
    batch.counters.push_back(capped("m", value));
  }
  // The cap is per metric.
  for (const char* value : {"x", "y", "z"}) {
    batch.counters.push_back(capped("other", value));
  }
  ASSERT_TRUE(Apply(store.get(), batch).ok());
  auto value = [&](const std::string& metric, const std::string& path_value) {
    return CounterValue(store.get(), metric,
                        {{"browser", "chrome"}, {"path", path_value}});
  };
  EXPECT_EQ(value("m", "a"), 2);
  EXPECT_EQ(value("m", "b"), 2);
  EXPECT_EQ(value("m", "c"), -1);
  EXPECT_EQ(value("m", "d"), -1);
  EXPECT_EQ(value("m", "__overflow__"), 3);
  EXPECT_EQ(value("other", "x"), 1);
  EXPECT_EQ(value("other", "y"), 1);
  EXPECT_EQ(value("other", "__overflow__"), 1);
}

// --- De-duplication
// -----------------------------------------------------------------

TEST(Store, DuplicateBatchIsNotAppliedTwice) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  ApplyResult result;
  {
    auto store = OpenStore(path);
    ASSERT_TRUE(Apply(store.get(), IdBatch("abc", 0, 5), &result).ok());
    EXPECT_EQ(result, ApplyResult::kApplied);
    ASSERT_TRUE(Apply(store.get(), IdBatch("abc", 0, 5), &result).ok());
    EXPECT_EQ(result, ApplyResult::kDuplicate);
    // Another client with the same seq is another batch.
    ASSERT_TRUE(Apply(store.get(), IdBatch("xyz", 0, 5), &result).ok());
    EXPECT_EQ(result, ApplyResult::kApplied);
  }
  auto store = OpenStore(path);  // the state survives a reopen
  ASSERT_TRUE(Apply(store.get(), IdBatch("abc", 0, 5), &result).ok());
  EXPECT_EQ(result, ApplyResult::kDuplicate);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 10);
}

TEST(Store, SeqWindowAppliesOutOfOrderSeqsOnceAndRefusesTooOld) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  constexpr bool kA = true;   // applied
  constexpr bool kD = false;  // duplicate
  const std::vector<std::pair<int64_t, bool>> steps = {
      {5, kA},   {5, kD},   {3, kA},   {4, kA},   {3, kD},   {0, kA},
      {0, kD},   {6, kA},   {100, kA}, {36, kA},  {35, kD},  {99, kA},
      {99, kD},  {6, kD},   {37, kA},  {37, kD},  {164, kA}, {100, kD},
      {101, kA}, {100, kD}, {99, kD},  {300, kA}, {236, kA}, {235, kD},
      {301, kA}, {300, kD}, {236, kD}, {237, kA},
  };
  int applied = 0;
  for (const auto& [seq, expect_applied] : steps) {
    ApplyResult result;
    ASSERT_TRUE(Apply(store.get(), IdBatch("c", seq), &result).ok());
    EXPECT_EQ(result == ApplyResult::kApplied, expect_applied) << "seq " << seq;
    applied += result == ApplyResult::kApplied;
  }
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), applied);
}

TEST(Store, HugeSeqJumpsAreSafe) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  const int64_t max = std::numeric_limits<int64_t>::max();
  ApplyResult result;
  for (int64_t seq : {int64_t{0}, max - 1, max, int64_t{0}, max - 64}) {
    ASSERT_TRUE(Apply(store.get(), IdBatch("c", seq), &result).ok());
  }
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 4);  // 0 again: old
}

TEST(Store, PrunesIdleClients) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  ApplyResult result;
  ASSERT_TRUE(store->Apply(IdBatch("old", 0), 100, &result).ok());
  ASSERT_TRUE(store->Apply(IdBatch("new", 0), 200, &result).ok());
  ASSERT_TRUE(store->Apply(IdBatch("old2", 0), 149, &result).ok());
  int64_t pruned = -1;
  ASSERT_TRUE(store->PruneClients(150, &pruned).ok());
  EXPECT_EQ(pruned, 2);
  StoreStats stats;
  ASSERT_TRUE(store->Stats(&stats).ok());
  EXPECT_EQ(stats.clients, 1);
  // A pruned client starts over; a kept one is still de-duplicated.
  ASSERT_TRUE(store->Apply(IdBatch("old", 0), 300, &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  ASSERT_TRUE(store->Apply(IdBatch("new", 0), 300, &result).ok());
  EXPECT_EQ(result, ApplyResult::kDuplicate);
  ASSERT_TRUE(store->PruneClients(0, &pruned).ok());
  EXPECT_EQ(pruned, 0);
}

// --- Opening
// ---------------------------------------------------------------------------

TEST(Store, CreatesVersionedSchemaInWalMode) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  OpenStore(path);
  EXPECT_EQ(QueryInt(path, "PRAGMA user_version"), Store::kSchemaVersion);
  sql::Database db;
  ASSERT_TRUE(db.Open(path).ok());
  std::string mode;
  ASSERT_TRUE(db.QueryText("PRAGMA journal_mode", &mode).ok());
  EXPECT_EQ(mode, "wal");
}

TEST(Store, RefusesNewerSchemaVersion) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  OpenStore(path);
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("PRAGMA user_version = 2").ok());
  }
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, {}, &store);
  EXPECT_EQ(s.code(), Code::kNotSupported);
  EXPECT_EQ(s.message(), "database " + path +
                             " has schema version 2, newer than this pum "
                             "supports (1); upgrade pum");
  EXPECT_EQ(store, nullptr);
}

TEST(Store, RefusesFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  std::ofstream(path) << std::string(4096, 'x') << "not a database\n";
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, {}, &store);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("is not a SQLite database"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
}

TEST(Store, RefusesSqliteDatabaseOfAnotherProgram) {
  TempDir dir;
  std::string path = dir.File("other.db");
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("CREATE TABLE t (x)").ok());
  }
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, {}, &store);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("not a pum one"), std::string::npos)
      << s.message();
}

TEST(Store, MissingDirectoryIsNotFound) {
  TempDir dir;
  std::unique_ptr<Store> store;
  Status s = Store::Open(dir.File("no/such/dir/pum.db"), {}, &store);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

// Several processes opening the same new file at once, then writing.
TEST(Store, ConcurrentOpenOfNewFileIsSafe) {
  constexpr int kProcesses = 8;
  constexpr int kBatches = 5;
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    std::string path = dir.File("race" + std::to_string(round) + ".db");
    int gate[2];
    ASSERT_EQ(pipe(gate), 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kProcesses; ++i) {
      children.push_back(Spawn([&] {
        close(gate[1]);
        char byte;
        if (read(gate[0], &byte, 1) != 0) return 2;  // wait for the start
        std::unique_ptr<Store> store;
        Status s = Store::Open(path, {}, &store);
        if (!s.ok()) {
          fprintf(stderr, "open: %s\n", s.ToString().c_str());
          return 3;
        }
        for (int b = 0; b < kBatches; ++b) {
          if (!Apply(store.get(), CounterBatch("c", {}, 1)).ok()) return 4;
        }
        return 0;
      }));
    }
    close(gate[0]);
    close(gate[1]);  // all start together
    for (pid_t pid : children) EXPECT_EQ(WaitExitCode(pid), 0);
    auto store = OpenStore(path);
    EXPECT_EQ(CounterValue(store.get(), "c"), kProcesses * kBatches);
  }
}

// --- Concurrency and failures
// --------------------------------------------------------

TEST(Store, ConcurrentWritersGiveExactTotals) {
  constexpr int kProcesses = 6;
  constexpr int kBatches = 40;
  TempDir dir;
  std::string path = dir.File("pum.db");
  OpenStore(path);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    children.push_back(Spawn([&] {
      std::unique_ptr<Store> store;
      if (!Store::Open(path, {}, &store).ok()) return 3;
      for (int b = 0; b < kBatches; ++b) {
        // Its own client, and one client whose batches every process sends.
        Batch own = CounterBatch("own_total", {}, 1);
        own.histograms.push_back({Key("h"), 0.5, 1, {{1, 1}}});
        own.id = BatchId{"p" + std::to_string(p), b};
        Batch shared = CounterBatch("shared_total", {}, 1);
        shared.id = BatchId{"shared", b};
        if (!Apply(store.get(), own).ok()) return 4;
        if (!Apply(store.get(), shared).ok()) return 5;
      }
      return 0;
    }));
  }
  for (pid_t pid : children) EXPECT_EQ(WaitExitCode(pid), 0);
  auto store = OpenStore(path);
  EXPECT_EQ(CounterValue(store.get(), "own_total"), kProcesses * kBatches);
  EXPECT_EQ(CounterValue(store.get(), "shared_total"), kBatches);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].count, kProcesses * kBatches);
  EXPECT_EQ(snapshot.histograms[0].sum, kProcesses * kBatches * 0.5);
}

TEST(Store, BusyPastTimeoutAppliesNothingAndRecovers) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  StoreOptions options;
  options.busy_timeout_ms = 200;
  auto store = OpenStore(path, options);
  sql::Database other;
  ASSERT_TRUE(other.Open(path).ok());
  ASSERT_TRUE(other.Execute("BEGIN IMMEDIATE").ok());

  auto start = std::chrono::steady_clock::now();
  Status s = Apply(store.get(), IdBatch("c", 0));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), Code::kBusy) << s.ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
  // Readers are not blocked by the writer.
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), -1);
  int64_t pruned;
  EXPECT_EQ(store->PruneClients(kNow, &pruned).code(), Code::kBusy);

  ASSERT_TRUE(other.Execute("ROLLBACK").ok());
  ApplyResult result;
  ASSERT_TRUE(Apply(store.get(), IdBatch("c", 0), &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);  // the busy one left no trace
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 1);
}

TEST(Store, ReadSeesOnlyCommittedDataWhileAWriterIsOpen) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  auto store = OpenStore(path);
  ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {}, 1)).ok());
  sql::Database other;
  ASSERT_TRUE(other.Open(path).ok());
  ASSERT_TRUE(other.Execute("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(other.Execute("UPDATE counters SET value = value + 10").ok());
  EXPECT_EQ(CounterValue(store.get(), "c"), 1);
  ASSERT_TRUE(other.Execute("COMMIT").ok());
  EXPECT_EQ(CounterValue(store.get(), "c"), 11);
}

// A full disk (here: a file size limit) fails the batch with IoError, applies
// none of it, and leaves the Store usable.
TEST(Store, DiskFullIsIoErrorAndAppliesNothing) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  OpenStore(path);
  struct Case {
    int series;
    size_t label_bytes;
  };
  // A batch that fits in SQLite's page cache (fails at COMMIT), and one that
  // spills to the WAL mid-transaction.
  int round = 0;
  for (const Case& c : {Case{2000, 100}, Case{12000, 400}}) {
    const std::string client = "big" + std::to_string(round++);
    pid_t pid = Spawn([&] {
      std::unique_ptr<Store> store;
      if (!Store::Open(path, {}, &store).ok()) return 3;
      if (!Apply(store.get(), CounterBatch("small", {}, 1)).ok()) return 4;
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit limit;
      getrlimit(RLIMIT_FSIZE, &limit);
      struct rlimit low = limit;
      low.rlim_cur = 256 * 1024;
      if (setrlimit(RLIMIT_FSIZE, &low) != 0) return 5;
      Batch big = IdBatch(client, 0);
      for (int i = 0; i < c.series; ++i) {
        big.counters.push_back(
            {Key("big",
                 {{"v", std::to_string(i) + std::string(c.label_bytes, 'x')}}),
             1});
      }
      Status s = Apply(store.get(), big);
      if (s.code() != Code::kIoError) {
        fprintf(stderr, "big batch: %s\n", s.ToString().c_str());
        return 6;
      }
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 7;
      ApplyResult result;
      s = Apply(store.get(), IdBatch(client, 0), &result);
      if (!s.ok() || result != ApplyResult::kApplied) return 8;
      if (!Apply(store.get(), CounterBatch("small", {}, 1)).ok()) return 9;
      return 0;
    });
    EXPECT_EQ(WaitExitCode(pid), 0) << c.series;
  }
  auto store = OpenStore(path);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.counters.size(), 2u);
  EXPECT_EQ(CounterValue(store.get(), "small"), 4);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 2);
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM series"), 2);
}

// kill -9 in the middle of a loop of Applies: every acknowledged batch is in
// the totals, and at most one more (committed before its ack was written).
TEST(Store, KillDuringAppliesKeepsEveryAcknowledgedBatch) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    std::string path = dir.File("kill" + std::to_string(round) + ".db");
    int acks[2];
    ASSERT_EQ(pipe(acks), 0);
    pid_t pid = Spawn([&] {
      close(acks[0]);
      std::unique_ptr<Store> store;
      if (!Store::Open(path, {}, &store).ok()) return 3;
      for (int64_t seq = 0;; ++seq) {
        Batch batch = IdBatch("k", seq);
        batch.histograms.push_back({Key("h"), 1, 1, {{kInf, 1}}});
        if (!Apply(store.get(), batch).ok()) return 4;
        if (write(acks[1], "a", 1) != 1) return 5;
      }
    });
    close(acks[1]);
    int64_t acked = 0;
    char buffer[256];
    while (acked < 40 + 37 * round) {
      ssize_t n = read(acks[0], buffer, sizeof(buffer));
      ASSERT_GT(n, 0);
      acked += n;
    }
    kill(pid, SIGKILL);
    EXPECT_EQ(WaitExitCode(pid), 1000 + SIGKILL);
    for (ssize_t n; (n = read(acks[0], buffer, sizeof(buffer))) > 0;) {
      acked += n;
    }
    close(acks[0]);

    EXPECT_EQ(QueryInt(path,
                       "SELECT count(*) FROM pragma_integrity_check "
                       "WHERE integrity_check != 'ok'"),
              0);
    auto store = OpenStore(path);
    double value = CounterValue(store.get(), "requests_total");
    EXPECT_TRUE(value == acked || value == acked + 1)
        << value << " vs " << acked;
    Snapshot snapshot = ReadAll(store.get());
    ASSERT_EQ(snapshot.histograms.size(), 1u);
    EXPECT_EQ(snapshot.histograms[0].count, value);  // batches are atomic
    ApplyResult result;
    ASSERT_TRUE(Apply(store.get(), IdBatch("k", acked - 1), &result).ok());
    EXPECT_EQ(result, ApplyResult::kDuplicate);
  }
}

// --- Upkeep
// ------------------------------------------------------------------------------

TEST(Store, StatsCountSeriesClientsAndBytes) {
  TempDir dir;
  auto store = OpenStore(dir.File("pum.db"));
  StoreStats stats;
  ASSERT_TRUE(store->Stats(&stats).ok());
  EXPECT_EQ(stats.series, 0);
  EXPECT_EQ(stats.clients, 0);
  EXPECT_GT(stats.file_bytes, 0);
  int64_t empty_bytes = stats.file_bytes;

  Batch batch = IdBatch("a", 0);
  batch.counters.push_back({Key("c", {{"x", "1"}}), 1});
  batch.histograms.push_back({Key("h"), 1, 1, {{1, 1}}});
  ASSERT_TRUE(Apply(store.get(), batch).ok());
  ASSERT_TRUE(Apply(store.get(), IdBatch("b", 0)).ok());
  ASSERT_TRUE(store->Stats(&stats).ok());
  EXPECT_EQ(stats.series, 3);
  EXPECT_EQ(stats.clients, 2);
  EXPECT_GT(stats.file_bytes, empty_bytes);  // the WAL grew
}

TEST(Store, CheckpointAndPing) {
  TempDir dir;
  std::string path = dir.File("pum.db");
  auto store = OpenStore(path);
  EXPECT_TRUE(store->Ping().ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {}, 1)).ok());
  }
  // A reader holding a snapshot does not make the passive checkpoint wait.
  sql::Database reader;
  ASSERT_TRUE(reader.Open(path).ok());
  ASSERT_TRUE(reader.Execute("BEGIN; SELECT count(*) FROM series;").ok());
  EXPECT_TRUE(store->Checkpoint().ok());
  ASSERT_TRUE(reader.Execute("COMMIT").ok());
  EXPECT_TRUE(store->Checkpoint().ok());
  EXPECT_EQ(CounterValue(store.get(), "c"), 20);
  EXPECT_TRUE(store->Ping().ok());
}

TEST(Store, SynchronousFullOption) {
  TempDir dir;
  StoreOptions options;
  options.synchronous_full = true;
  auto store = OpenStore(dir.File("pum.db"), options);
  ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {}, 1)).ok());
  EXPECT_EQ(CounterValue(store.get(), "c"), 1);
}

}  // namespace
}  // namespace pum
