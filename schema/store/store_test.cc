#include "schema/store/store.h"

// The tests write classic histogram deltas as {key, sum, count, buckets},
// leaving the native part (store_native_test.cc) at its default.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "schema/store/seq_window.h"
#include "schema/store/sqlite.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Code = Status::Code;
using testing::TempDir;

constexpr int64_t kNow = 1700000000;
constexpr double kInf = std::numeric_limits<double>::infinity();

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
ApplyResult unused_result;
using Buckets = std::vector<std::pair<double, uint64_t>>;

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

std::string QueryText(const std::string& path, const char* sql) {
  sql::Database db;
  EXPECT_TRUE(db.Open(path).ok());
  std::string value;
  Status s = db.QueryText(sql, &value);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return value;
}

// --- Applying and reading
// ------------------------------------------------------

TEST(Store, AppliesAndReadsCounters) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
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
  auto store = OpenStore(dir.Path("pum.db"));
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
  std::string path = dir.Path("pum.db");
  {
    auto store = OpenStore(path);
    HistogramDelta delta{Key("h"), 1, 1, {{kInf, 1}}};
    Batch batch;
    batch.histograms = {delta};
    ASSERT_TRUE(Apply(store.get(), batch).ok());
  }
  // The bucket blob (bucket_codec.h): +Inf as binary64, little-endian.
  EXPECT_EQ(QueryText(path, "SELECT hex(buckets) FROM histograms"),
            "000000000000F07F0100000000000000");
  auto store = OpenStore(path);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  ASSERT_EQ(snapshot.histograms[0].buckets.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].buckets[0].first, kInf);
}

TEST(Store, KeepsOneRowPerHistogramStampedWithGenerationAndTime) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  Batch batch = CounterBatch("c", {}, 1);
  batch.histograms.push_back({Key("h"), 3, 3, {{1, 1}, {2, 1}, {kInf, 1}}});
  ASSERT_TRUE(store->Apply(batch, kNow, &unused_result).ok());
  batch.histograms[0] = {Key("h"), 1, 1, {{2, 1}}};
  ASSERT_TRUE(store->Apply(batch, kNow + 5, &unused_result).ok());
  batch.histograms.clear();
  ASSERT_TRUE(store->Apply(batch, kNow + 9, &unused_result).ok());
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM histograms"), 1);
  EXPECT_EQ(QueryInt(path,
                     "SELECT count(*) FROM sqlite_master WHERE name = "
                     "'buckets'"),
            0);
  const int64_t generation = QueryInt(path, "SELECT generation FROM meta");
  EXPECT_EQ(QueryInt(path, "SELECT generation FROM counters"), generation);
  EXPECT_EQ(QueryInt(path, "SELECT updated_at FROM counters"), kNow + 9);
  EXPECT_EQ(QueryInt(path, "SELECT generation FROM histograms"),
            generation - 1);
  EXPECT_EQ(QueryInt(path, "SELECT updated_at FROM histograms"), kNow + 5);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].buckets,
            (Buckets{{1, 1}, {2, 2}, {kInf, 1}}));
  EXPECT_EQ(snapshot.histograms[0].count, 4u);
}

TEST(Store, RefusedBatchesLeaveGenerationAndStampsAlone) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  ApplyResult result;
  ASSERT_TRUE(store->Apply(IdBatch("a", 5), kNow, &result).ok());
  const int64_t generation = QueryInt(path, "SELECT generation FROM meta");
  const Batch refused[] = {
      IdBatch("a", 5),                            // duplicate
      IdBatch("a", 5000),                         // applied, moves the window
      IdBatch("a", 1),                            // too old
      CounterBatch("requests_total", {}, 1e300),  // out of range
  };
  const ApplyResult expected[] = {ApplyResult::kDuplicate,
                                  ApplyResult::kApplied, ApplyResult::kTooOld,
                                  ApplyResult::kOutOfRange};
  for (size_t i = 0; i < std::size(refused); ++i) {
    ASSERT_TRUE(store->Apply(refused[i], kNow + 1, &result).ok());
    EXPECT_EQ(result, expected[i]) << i;
  }
  EXPECT_EQ(QueryInt(path, "SELECT generation FROM meta"), generation + 1);
  EXPECT_EQ(QueryInt(path, "SELECT generation FROM counters"), generation + 1);
}

TEST(Store, DeltasAddWithinBatchAcrossBatchesAndReopen) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
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
  auto store = OpenStore(dir.Path("pum.db"));
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
  auto store = OpenStore(dir.Path("pum.db"));
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
  std::string path = dir.Path("pum.db");
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
  auto store = OpenStore(dir.Path("pum.db"));
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
  auto store = OpenStore(dir.Path("pum.db"));
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
  std::string path = dir.Path("pum.db");
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

// --- Series expiry (series_ttl)
// ------------------------------------------------------------

// A counter event of metric "pages_total" with a capped "route" (cap 2) and
// an enumerated "method".
CounterDelta RouteDelta(const std::string& route, double inc = 1,
                        const std::string& method = "GET",
                        const std::string& metric = "pages_total") {
  SeriesKey key = Key(metric);
  key.labels.push_back(Label{"route", route, 2, "__overflow__"});
  key.labels.push_back(Label{"method", method, 0, ""});
  return CounterDelta{key, inc};
}

Status ApplyAt(Store* store, int64_t now, std::vector<CounterDelta> counters) {
  Batch batch;
  batch.counters = std::move(counters);
  ApplyResult result;
  Status s = store->Apply(batch, now, &result);
  EXPECT_EQ(result, ApplyResult::kApplied);
  return s;
}

double RouteValue(Store* store, const std::string& route,
                  const std::string& method = "GET",
                  const std::string& metric = "pages_total") {
  return CounterValue(store, metric, {{"method", method}, {"route", route}});
}

int64_t Expire(Store* store, int64_t not_updated_since,
               const std::string& metric = "pages_total", int max_rows = 100) {
  int64_t expired = -1;
  Status s = store->ExpireSeries(metric, not_updated_since, max_rows, &expired);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return expired;
}

TEST(StoreExpiry, RemovesTheSeriesNotUpdatedSinceTheCutoffOnly) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ASSERT_TRUE(ApplyAt(store.get(), kNow, {RouteDelta("/old", 3)}).ok());
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 10, {RouteDelta("/new", 4)}).ok());
  // Another metric, as old: not this call's.
  ASSERT_TRUE(
      ApplyAt(store.get(), kNow, {RouteDelta("/old", 5, "GET", "other")}).ok());
  // A histogram of the metric expires too.
  HistogramDelta h;
  h.key = RouteDelta("/old", 0, "PUT").key;
  h.sum = 0.5;
  h.count = 1;
  h.buckets = {{1, 1}};
  Batch batch;
  batch.histograms.push_back(h);
  ApplyResult result;
  ASSERT_TRUE(store->Apply(batch, kNow, &result).ok());

  // The cutoff is exclusive: updated at kNow is not "before kNow".
  EXPECT_EQ(Expire(store.get(), kNow), 0);
  EXPECT_EQ(RouteValue(store.get(), "/old"), 3);

  EXPECT_EQ(Expire(store.get(), kNow + 1), 2);
  EXPECT_EQ(RouteValue(store.get(), "/old"), -1);
  EXPECT_EQ(RouteValue(store.get(), "/new"), 4);  // younger: kept
  EXPECT_EQ(RouteValue(store.get(), "/old", "GET", "other"), 5);
  Snapshot snapshot = ReadAll(store.get());
  EXPECT_TRUE(snapshot.histograms.empty());
  EXPECT_EQ(snapshot.counters.size(), 2u);
  StoreStats stats;
  ASSERT_TRUE(store->Stats(&stats).ok());
  EXPECT_EQ(stats.series, 2);                   // the series rows are gone too
  EXPECT_EQ(Expire(store.get(), kNow + 1), 0);  // nothing left to do
}

TEST(StoreExpiry, BoundsTheRowsOfOneTransaction) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  std::vector<CounterDelta> deltas;
  for (int i = 0; i < 5; ++i) {
    deltas.push_back(RouteDelta("/r", 1, "M" + std::to_string(i)));
  }
  ASSERT_TRUE(ApplyAt(store.get(), kNow, deltas).ok());
  EXPECT_EQ(Expire(store.get(), kNow + 1, "pages_total", 2), 2);
  EXPECT_EQ(ReadAll(store.get()).counters.size(), 3u);
  EXPECT_EQ(Expire(store.get(), kNow + 1, "pages_total", 2), 2);
  EXPECT_EQ(Expire(store.get(), kNow + 1, "pages_total", 2), 1);
  EXPECT_EQ(Expire(store.get(), kNow + 1, "pages_total", 2), 0);
  EXPECT_TRUE(ReadAll(store.get()).counters.empty());
  int64_t expired = 0;
  EXPECT_EQ(store->ExpireSeries("pages_total", kNow, 0, &expired).code(),
            Code::kInvalidArgument);
}

TEST(StoreExpiry, AFreedSlotGoesToANewValueAndOverflowResumes) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  // Cap 2: /a and /b take the slots, /c overflows.
  ASSERT_TRUE(ApplyAt(store.get(), kNow, {RouteDelta("/a")}).ok());
  ASSERT_TRUE(
      ApplyAt(store.get(), kNow + 10, {RouteDelta("/b"), RouteDelta("/c", 7)})
          .ok());
  EXPECT_EQ(RouteValue(store.get(), "__overflow__"), 7);
  EXPECT_EQ(RouteValue(store.get(), "/c"), -1);

  EXPECT_EQ(Expire(store.get(), kNow + 5), 1);  // /a
  // /d takes /a's slot instead of overflowing.
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 20, {RouteDelta("/d", 2)}).ok());
  EXPECT_EQ(RouteValue(store.get(), "/d"), 2);
  // The cap is full again: /e overflows.
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 20, {RouteDelta("/e")}).ok());
  EXPECT_EQ(RouteValue(store.get(), "/e"), -1);
  EXPECT_EQ(RouteValue(store.get(), "__overflow__"), 8);

  // The overflow series expires as any other, and comes back from zero.
  EXPECT_EQ(Expire(store.get(), kNow + 21), 3);  // /b, /d, overflow
  EXPECT_TRUE(ReadAll(store.get()).counters.empty());
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 30,
                      {RouteDelta("/f"), RouteDelta("/g"), RouteDelta("/h")})
                  .ok());
  EXPECT_EQ(RouteValue(store.get(), "/f"), 1);
  EXPECT_EQ(RouteValue(store.get(), "/g"), 1);
  EXPECT_EQ(RouteValue(store.get(), "__overflow__"), 1);
}

TEST(StoreExpiry, AValueStillUsedByALiveSeriesKeepsItsSlot) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ASSERT_TRUE(ApplyAt(store.get(), kNow, {RouteDelta("/a", 1, "GET")}).ok());
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 10,
                      {RouteDelta("/a", 1, "POST"), RouteDelta("/b")})
                  .ok());
  EXPECT_EQ(Expire(store.get(), kNow + 5), 1);  // (/a, GET) only
  EXPECT_EQ(RouteValue(store.get(), "/a", "POST"), 1);
  // /a still holds its slot (its POST series lives): /c overflows.
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 10, {RouteDelta("/c")}).ok());
  EXPECT_EQ(RouteValue(store.get(), "/c"), -1);
  EXPECT_EQ(RouteValue(store.get(), "__overflow__"), 1);
  // (/a, GET) comes back: /a is known, so it is not overflowed.
  ASSERT_TRUE(ApplyAt(store.get(), kNow + 10, {RouteDelta("/a", 1)}).ok());
  EXPECT_EQ(RouteValue(store.get(), "/a", "GET"), 1);
}

TEST(StoreExpiry, MovesTheEpochAndWritersStartTheSeriesFromZero) {
  TempDir dir;
  const std::string path = dir.Path("pum.db");
  auto writer = OpenStore(path);  // a worker, with its cache of series ids
  auto exporter = OpenStore(path);
  ASSERT_TRUE(ApplyAt(writer.get(), kNow, {RouteDelta("/a", 5)}).ok());
  ASSERT_TRUE(ApplyAt(writer.get(), kNow, {RouteDelta("/a", 5)}).ok());
  ASSERT_TRUE(ApplyAt(writer.get(), kNow + 10, {RouteDelta("/b", 1)}).ok());

  ReadCursor cursor;
  Changes changes;
  ASSERT_TRUE(exporter->ReadChanges(&cursor, &changes).ok());
  EXPECT_EQ(changes.counters.size(), 2u);
  const int64_t epoch = cursor.epoch;

  EXPECT_EQ(Expire(exporter.get(), kNow + 5), 1);
  // The same connection's next read sees the removal: a full re-read.
  ASSERT_TRUE(exporter->ReadChanges(&cursor, &changes).ok());
  EXPECT_GT(cursor.epoch, epoch);
  EXPECT_TRUE(changes.full);
  ASSERT_EQ(changes.counters.size(), 1u);
  EXPECT_EQ(changes.counters[0].labels,
            (Pairs{{"method", "GET"}, {"route", "/b"}}));

  // The writer's cached id of /a is not used: /a is a new series from 0,
  // and it takes a slot again (the cap, 2, is then full).
  ASSERT_TRUE(ApplyAt(writer.get(), kNow + 20, {RouteDelta("/a", 1)}).ok());
  EXPECT_EQ(RouteValue(exporter.get(), "/a"), 1);
  ASSERT_TRUE(ApplyAt(writer.get(), kNow + 20, {RouteDelta("/z", 1)}).ok());
  EXPECT_EQ(RouteValue(exporter.get(), "/z"), -1);
  EXPECT_EQ(RouteValue(exporter.get(), "__overflow__"), 1);
}

TEST(StoreExpiry, ASeriesWrittenFirstIsNotExpired) {
  TempDir dir;
  const std::string path = dir.Path("pum.db");
  auto writer = OpenStore(path);
  auto exporter = OpenStore(path);
  ASSERT_TRUE(ApplyAt(writer.get(), kNow, {RouteDelta("/a", 5)}).ok());
  // The exporter decided (from an old read) that /a is idle, but a write
  // commits before its expiry: the check inside the transaction sees it.
  ASSERT_TRUE(ApplyAt(writer.get(), kNow + 10, {RouteDelta("/a", 1)}).ok());
  EXPECT_EQ(Expire(exporter.get(), kNow + 5), 0);
  EXPECT_EQ(RouteValue(exporter.get(), "/a"), 6);
}

TEST(StoreExpiry, ExpiryWaitsForTheWriteLockAndSeesWhatCommitted) {
  TempDir dir;
  const std::string path = dir.Path("pum.db");
  auto exporter = OpenStore(path);
  {
    auto writer = OpenStore(path);
    ASSERT_TRUE(ApplyAt(writer.get(), kNow, {RouteDelta("/a", 5)}).ok());
  }
  // A writer holds the lock while it refreshes /a; the expiry, started
  // meanwhile, waits and then finds /a fresh.
  int locked[2];
  ASSERT_EQ(pipe(locked), 0);
  pid_t child = Spawn([&] {
    close(locked[0]);
    sql::Database db;
    if (!db.Open(path).ok()) return 1;
    db.SetBusyTimeout(5000);
    if (!db.Execute("BEGIN IMMEDIATE").ok()) return 2;
    if (!db.Execute("UPDATE counters SET value = value + 1, updated_at = "
                    "1700000100")
             .ok()) {
      return 3;
    }
    if (write(locked[1], "x", 1) != 1) return 4;
    usleep(300 * 1000);
    return db.Execute("COMMIT").ok() ? 0 : 5;
  });
  close(locked[1]);
  char byte = 0;
  ASSERT_EQ(read(locked[0], &byte, 1), 1);  // the child holds the lock
  close(locked[0]);
  EXPECT_EQ(Expire(exporter.get(), kNow + 50), 0);
  EXPECT_EQ(WaitExitCode(child), 0);
  EXPECT_EQ(RouteValue(exporter.get(), "/a"), 6);
}

// --- De-duplication
// -----------------------------------------------------------------

TEST(Store, DuplicateBatchIsNotAppliedTwice) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
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
  auto store = OpenStore(dir.Path("pum.db"));
  constexpr ApplyResult kA = ApplyResult::kApplied;
  constexpr ApplyResult kD = ApplyResult::kDuplicate;
  constexpr ApplyResult kO = ApplyResult::kTooOld;
  const std::vector<std::pair<int64_t, ApplyResult>> steps = {
      {5, kA},   {5, kD},    {3, kA},    {4, kA},   {3, kD},
      {0, kA},   {0, kD},    {6, kA},    {100, kA}, {36, kA},
      {35, kA},  {99, kA},   {99, kD},   {6, kD},   {165, kA},
      {100, kD}, {101, kA},  {2000, kA}, {976, kA}, {975, kO},
      {976, kD}, {2001, kA}, {976, kO},  {977, kA}, {977, kD},
  };
  int applied = 0;
  for (const auto& [seq, expected] : steps) {
    ApplyResult result;
    ASSERT_TRUE(Apply(store.get(), IdBatch("c", seq), &result).ok());
    EXPECT_EQ(result, expected) << "seq " << seq;
    applied += result == ApplyResult::kApplied;
  }
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), applied);
}

// Regression: a window of 64 seqs acknowledged and dropped batches that came
// more than 64 out of order: 200 shuffled batches counted 65-77 times;
// seq 165 then 100 counted once; a new client's seq 1000 then 0 counted once.
TEST(Store, OutOfOrderBatchesWithinTheWindowAreEachCountedOnce) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  std::vector<int64_t> seqs(200);
  std::iota(seqs.begin(), seqs.end(), 0);
  std::shuffle(seqs.begin(), seqs.end(), std::mt19937(3));
  const std::vector<std::pair<std::string, std::vector<int64_t>>> clients = {
      {"shuffled", seqs}, {"jump", {165, 100}}, {"fresh", {1000, 0}}};
  for (const auto& [client, order] : clients) {
    for (int64_t seq : order) {
      ApplyResult result;
      ASSERT_TRUE(Apply(store.get(), IdBatch(client, seq), &result).ok());
      ASSERT_EQ(result, ApplyResult::kApplied) << client << " " << seq;
    }
  }
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 204);
}

TEST(Store, TooOldAppliesNothing) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ApplyResult result;
  ASSERT_TRUE(Apply(store.get(), IdBatch("c", 5000, 2), &result).ok());
  Batch old = IdBatch("c", 5000 - SeqWindow::kSize - 1, 7);
  old.histograms.push_back({Key("h"), 1, 1, {{1, 1}}});
  ASSERT_TRUE(Apply(store.get(), old, &result).ok());
  EXPECT_EQ(result, ApplyResult::kTooOld);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 2);
  EXPECT_TRUE(ReadAll(store.get()).histograms.empty());
  ASSERT_TRUE(
      Apply(store.get(), IdBatch("c", 5000 - SeqWindow::kSize, 3), &result)
          .ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 5);
}

TEST(Store, HugeSeqJumpsAreSafe) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  const int64_t max = std::numeric_limits<int64_t>::max();
  ApplyResult result;
  for (int64_t seq : {int64_t{0}, max - 1, max, int64_t{0}, max - 64}) {
    ASSERT_TRUE(Apply(store.get(), IdBatch("c", seq), &result).ok());
  }
  EXPECT_EQ(result, ApplyResult::kApplied);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 4);  // 0 again: old
}

// --- Exact totals
// ----------------------------------------------------------------

// Regression: two batches with inc 1.7e308 made a counter +Inf for good, and
// two observations of 1e308 made a histogram's _sum +Inf.
TEST(Store, NoDeltaMakesATotalNonFiniteOrInexact) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ApplyResult result;
  OutOfRange refused;
  Batch big = CounterBatch("c", {}, kMaxExactTotal - 10);
  ASSERT_TRUE(store->Apply(big, kNow, &result, &refused).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  struct Case {
    double inc;
    ApplyResult expected;
  };
  const Case cases[] = {
      {11, ApplyResult::kOutOfRange}, {1.7e308, ApplyResult::kOutOfRange},
      {10, ApplyResult::kOutOfRange}, {9, ApplyResult::kApplied},
      {1, ApplyResult::kOutOfRange},  {0.5, ApplyResult::kOutOfRange},
      {0, ApplyResult::kApplied},
  };
  for (const Case& c : cases) {
    Batch batch = CounterBatch("c", {}, c.inc);
    batch.counters.push_back({Key("other"), 1});
    refused = {};
    ASSERT_TRUE(store->Apply(batch, kNow, &result, &refused).ok());
    EXPECT_EQ(result, c.expected) << c.inc;
    if (c.expected == ApplyResult::kOutOfRange) {
      EXPECT_EQ(refused.counters, std::vector<size_t>{0});
    }
  }
  EXPECT_EQ(CounterValue(store.get(), "c"), kMaxExactTotal - 1);
  EXPECT_EQ(CounterValue(store.get(), "other"), 2);  // with the applied ones

  // A delta that alone is too big is refused before it is stored.
  ASSERT_TRUE(store
                  ->Apply(CounterBatch("d", {}, kMaxExactTotal * 2), kNow,
                          &result, &refused)
                  .ok());
  EXPECT_EQ(result, ApplyResult::kOutOfRange);
  EXPECT_EQ(CounterValue(store.get(), "d"), -1);

  // Histogram sums stay below 2^53 (regression, found by review: a sum
  // was only kept finite, and at 1e16 adding 1 changed nothing); nothing of
  // a refused batch is kept.
  Batch alone;
  alone.histograms.push_back({Key("new"), -1e16, 1, {{kInf, 1}}});
  ASSERT_TRUE(store->Apply(alone, kNow, &result, &refused).ok());
  EXPECT_EQ(result, ApplyResult::kOutOfRange);
  Batch h1;
  h1.histograms.push_back({Key("h"), 5e15, 1, {{kInf, 1}}});
  ASSERT_TRUE(store->Apply(h1, kNow, &result, &refused).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  Batch h2 = h1;
  h2.counters.push_back({Key("c2"), 1});
  refused = {};
  ASSERT_TRUE(store->Apply(h2, kNow, &result, &refused).ok());
  EXPECT_EQ(result, ApplyResult::kOutOfRange);
  EXPECT_TRUE(refused.counters.empty());
  EXPECT_EQ(refused.histograms, std::vector<size_t>{0});
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].sum, 5e15);
  EXPECT_EQ(snapshot.histograms[0].count, 1u);
  EXPECT_EQ(CounterValue(store.get(), "c2"), -1);
  Batch h3;
  h3.histograms.push_back({Key("h"), -5e15, 1, {{kInf, 1}}});
  ASSERT_TRUE(store->Apply(h3, kNow, &result, &refused).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);  // back towards zero is fine
}

TEST(Store, HistogramCountsStayExact) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  const auto max = static_cast<uint64_t>(kMaxExactTotal);
  ApplyResult result;
  Batch full;
  full.histograms.push_back({Key("h"), 0, max - 1, {{1, max - 1}}});
  ASSERT_TRUE(store->Apply(full, kNow, &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  Batch two;
  two.histograms.push_back({Key("h"), 0, 2, {{1, 2}}});
  ASSERT_TRUE(store->Apply(two, kNow, &result).ok());
  EXPECT_EQ(result, ApplyResult::kOutOfRange);
  Batch one;
  one.histograms.push_back({Key("h"), 0, 1, {{1, 1}}});
  ASSERT_TRUE(store->Apply(one, kNow, &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].count, max);
  ASSERT_EQ(snapshot.histograms[0].buckets.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].buckets[0].second, max);
}

TEST(Store, RefusesHistogramDeltasWhoseBucketsDoNotAddUp) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ApplyResult result;
  Batch batch;
  batch.histograms.push_back({Key("h"), 1, 2, {{1, 1}}});
  EXPECT_EQ(store->Apply(batch, kNow, &result).code(), Code::kInvalidArgument);
}

TEST(Store, PrunesIdleClients) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
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

// --- Applying groups
// -------------------------------------------------------------------

bool operator==(const OutOfRange& a, const OutOfRange& b) {
  return a.counters == b.counters && a.histograms == b.histograms;
}

// A counter delta of metric `m` with label x = `value` capped at `cap`.
CounterDelta Capped(const std::string& value, uint32_t cap, double inc = 1) {
  SeriesKey key = Key("m");
  key.labels.push_back(Label{"x", value, cap, "other"});
  return CounterDelta{key, inc};
}

Batch WithId(Batch batch, const std::string& client, int64_t seq) {
  batch.id = BatchId{client, seq};
  return batch;
}

Batch HistogramBatch(const std::string& metric, double sum, uint64_t count) {
  Batch batch;
  batch.histograms.push_back({Key(metric), sum, count, {{1, count}}});
  return batch;
}

// Every case: a store seeded with `seed` (one Apply each), then `group`
// applied by ApplyGroup() on one store and by Apply() one batch after the
// other on a twin; results, refused deltas and totals must be the same,
// and the results those listed.
TEST(Store, ApplyGroupGivesEachBatchItsOneByOneResult) {
  constexpr double kNearMax = 9007199254740990.0;  // 2^53 - 2
  using R = ApplyResult;
  struct Case {
    const char* what;
    std::vector<Batch> seed;
    std::vector<Batch> group;
    std::vector<ApplyResult> results;
  };
  const Case cases[] = {
      {"an empty group", {}, {}, {}},
      {"batches of the same series add up",
       {},
       {CounterBatch("c", {}, 1), CounterBatch("c", {}, 2.5),
        HistogramBatch("h", 1, 1), HistogramBatch("h", 2, 3)},
       {R::kApplied, R::kApplied, R::kApplied, R::kApplied}},
      {"a duplicate of an earlier batch of the group",
       {},
       {IdBatch("a", 1), IdBatch("a", 1), IdBatch("a", 2), IdBatch("b", 1)},
       {R::kApplied, R::kDuplicate, R::kApplied, R::kApplied}},
      {"a duplicate of a stored batch",
       {IdBatch("a", 1)},
       {IdBatch("a", 1), IdBatch("a", 0)},
       {R::kDuplicate, R::kApplied}},
      {"too old behind a batch of the group",
       {IdBatch("a", 1)},
       {IdBatch("a", 5000), IdBatch("a", 2), IdBatch("a", 4999)},
       {R::kApplied, R::kTooOld, R::kApplied}},
      {"a batch that would leave the range is applied by none",
       {CounterBatch("c", {}, kNearMax)},
       {CounterBatch("c", {}, 1), CounterBatch("c", {}, 1),
        CounterBatch("d", {}, 1)},
       {R::kApplied, R::kOutOfRange, R::kApplied}},
      {"its deltas listed, the others of it not applied",
       {CounterBatch("c", {}, kNearMax)},
       {[] {
          Batch b = CounterBatch("d", {}, 1);
          b.counters.push_back({Key("c"), 4});
          b.counters.push_back({Key("e"), 1});
          b.counters.push_back({Key("c"), 4});
          return b;
        }(),
        CounterBatch("d", {}, 1)},
       {R::kOutOfRange, R::kApplied}},
      {"an out-of-range batch is not a duplicate's original",
       {CounterBatch("c", {}, kNearMax)},
       {WithId(CounterBatch("c", {}, 5), "a", 1),
        WithId(CounterBatch("c", {}, 5), "a", 1),
        WithId(CounterBatch("c", {}, 1), "a", 1),
        WithId(CounterBatch("c", {}, 1), "a", 1)},
       {R::kOutOfRange, R::kOutOfRange, R::kApplied, R::kDuplicate}},
      {"histogram counts past 2^53",
       {HistogramBatch("h", 0, 9007199254740990ull)},
       {HistogramBatch("h", 0, 2), HistogramBatch("h", 0, 1)},
       {R::kApplied, R::kOutOfRange}},
      {"histogram sums of both signs, in order",
       {HistogramBatch("h", 9e15, 1)},
       {HistogramBatch("h", 1e14, 1), HistogramBatch("h", -5e15, 1),
        HistogramBatch("h", 1e14, 1)},
       {R::kOutOfRange, R::kApplied, R::kApplied}},
      {"a delta out of range by itself",
       {},
       {CounterBatch("c", {}, 1), CounterBatch("c", {}, 1e300)},
       {R::kApplied, R::kOutOfRange}},
      {"the same new capped value in two batches takes one slot",
       {},
       {[] {
          Batch b;
          b.counters = {Capped("a", 2)};
          return b;
        }(),
        [] {
          Batch b;
          b.counters = {Capped("a", 2), Capped("b", 2)};
          return b;
        }(),
        [] {
          Batch b;
          b.counters = {Capped("c", 2), Capped("a", 2)};
          return b;
        }()},
       {R::kApplied, R::kApplied, R::kApplied}},
      {"a refused batch's new capped value takes no slot",
       {CounterBatch("c", {}, kNearMax)},
       {[] {
          Batch b = CounterBatch("c", {}, 5);
          b.counters.push_back(Capped("a", 1));
          return b;
        }(),
        [] {
          Batch b;
          b.counters = {Capped("b", 1), Capped("a", 1)};
          return b;
        }()},
       {R::kOutOfRange, R::kApplied}},
      {"a duplicate's capped value takes no slot",
       {IdBatch("k", 0)},
       {[] {
          Batch b = IdBatch("k", 0);
          b.counters.push_back(Capped("a", 1));
          return b;
        }(),
        [] {
          Batch b;
          b.counters = {Capped("b", 1)};
          return b;
        }()},
       {R::kDuplicate, R::kApplied}},
  };
  for (const Case& c : cases) {
    TempDir dir;
    auto group_store = OpenStore(dir.Path("group.db"));
    auto single_store = OpenStore(dir.Path("single.db"));
    for (const Batch& batch : c.seed) {
      ASSERT_TRUE(Apply(group_store.get(), batch).ok()) << c.what;
      ASSERT_TRUE(Apply(single_store.get(), batch).ok()) << c.what;
    }
    std::vector<const Batch*> group;
    for (const Batch& batch : c.group) group.push_back(&batch);
    std::vector<ApplyResult> results;
    std::vector<OutOfRange> refused;
    Status s = group_store->ApplyGroup(group, kNow, &results, &refused);
    ASSERT_TRUE(s.ok()) << c.what << ": " << s.ToString();
    EXPECT_EQ(results, c.results) << c.what;
    ASSERT_EQ(refused.size(), c.group.size()) << c.what;
    for (size_t i = 0; i < c.group.size(); ++i) {
      ApplyResult result;
      OutOfRange one_refused;
      ASSERT_TRUE(
          single_store->Apply(c.group[i], kNow, &result, &one_refused).ok());
      EXPECT_EQ(results[i], result) << c.what << " #" << i;
      if (result == ApplyResult::kOutOfRange) {
        EXPECT_TRUE(refused[i] == one_refused) << c.what << " #" << i;
      } else {
        EXPECT_TRUE(refused[i] == OutOfRange()) << c.what << " #" << i;
      }
    }
    Snapshot grouped = ReadAll(group_store.get());
    Snapshot single = ReadAll(single_store.get());
    ASSERT_EQ(grouped.counters.size(), single.counters.size()) << c.what;
    for (size_t i = 0; i < grouped.counters.size(); ++i) {
      EXPECT_EQ(grouped.counters[i].labels, single.counters[i].labels)
          << c.what;
      EXPECT_EQ(grouped.counters[i].value, single.counters[i].value) << c.what;
    }
    ASSERT_EQ(grouped.histograms.size(), single.histograms.size()) << c.what;
    for (size_t i = 0; i < grouped.histograms.size(); ++i) {
      EXPECT_EQ(grouped.histograms[i].count, single.histograms[i].count);
      EXPECT_EQ(grouped.histograms[i].sum, single.histograms[i].sum);
      EXPECT_EQ(grouped.histograms[i].buckets, single.histograms[i].buckets);
    }
    StoreStats a, b;
    ASSERT_TRUE(group_store->Stats(&a).ok());
    ASSERT_TRUE(single_store->Stats(&b).ok());
    EXPECT_EQ(a.series, b.series) << c.what;
    EXPECT_EQ(a.clients, b.clients) << c.what;
  }
}

TEST(Store, ApplyGroupIsOneTransactionAndOneUpsertPerSeries) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  std::vector<Batch> batches;
  for (int i = 0; i < 20; ++i) {
    Batch batch = WithId(CounterBatch("c", {}, 1), "a", i);
    batch.histograms.push_back({Key("h"), 0.5, 2, {{1, 1}, {kInf, 1}}});
    batches.push_back(std::move(batch));
  }
  std::vector<const Batch*> group;
  for (const Batch& batch : batches) group.push_back(&batch);
  std::vector<ApplyResult> results;
  const int64_t generation = QueryInt(path, "SELECT generation FROM meta");
  ASSERT_TRUE(store->ApplyGroup(group, kNow, &results).ok());
  EXPECT_EQ(results, std::vector<ApplyResult>(20, ApplyResult::kApplied));
  // One write transaction: the generation moved by one.
  EXPECT_EQ(QueryInt(path, "SELECT generation FROM meta"), generation + 1);
  EXPECT_EQ(CounterValue(store.get(), "c"), 20);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 1u);
  EXPECT_EQ(snapshot.histograms[0].count, 40u);
  EXPECT_EQ(snapshot.histograms[0].sum, 10);
  EXPECT_EQ(snapshot.histograms[0].buckets, (Buckets{{1, 20}, {kInf, 20}}));
  // Every seq of the group was recorded.
  for (int i = 0; i < 20; ++i) {
    ApplyResult result;
    ASSERT_TRUE(store->Apply(IdBatch("a", i), kNow, &result).ok());
    EXPECT_EQ(result, ApplyResult::kDuplicate) << i;
  }
}

TEST(Store, ApplyGroupWithAnInvalidBatchAppliesNothing) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  Batch good = CounterBatch("c", {}, 1);
  Batch bad = CounterBatch("c", {}, -1);
  std::vector<ApplyResult> results;
  Status s = store->ApplyGroup({&good, &bad}, kNow, &results);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(CounterValue(store.get(), "c"), -1);
}

// Regression (found by an adversarial review): after the one-by-one pass
// rolled back an out-of-range batch's savepoint, a series an earlier batch
// of the same transaction had inserted was looked up again and its id
// cached as committed. When the commit then failed, the id outlived the
// rolled-back series: the next acknowledged delta went to a counters row
// of no series (lost from /metrics) and the one after that to whichever
// series got that rowid next (counted on the wrong series).
TEST(Store, FailedGroupCachesNoIdOfItsOwnSeries) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  ASSERT_TRUE(
      Apply(store.get(), CounterBatch("big", {}, 9007199254740991.0)).ok());
  auto raw = [&](const char* sql) {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute(sql).ok()) << sql;
  };
  // Stands in for a disk that fills up: the last batch's window cannot be
  // written, so the whole group fails.
  raw("CREATE TRIGGER boom BEFORE INSERT ON clients WHEN NEW.client = 'boom' "
      "BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  Batch a = WithId(CounterBatch("s", {}, 1), "a", 0);
  Batch b = WithId(CounterBatch("big", {}, 1), "b", 0);  // out of range
  Batch c = WithId(CounterBatch("s", {}, 1), "boom", 0);
  std::vector<ApplyResult> results;
  EXPECT_FALSE(store->ApplyGroup({&a, &b, &c}, kNow, &results).ok());
  raw("DROP TRIGGER boom");
  ASSERT_TRUE(Apply(store.get(), CounterBatch("s", {}, 5)).ok());
  ASSERT_TRUE(Apply(store.get(), CounterBatch("t", {}, 7)).ok());
  EXPECT_EQ(CounterValue(store.get(), "s"), 5);
  EXPECT_EQ(CounterValue(store.get(), "t"), 7);
  EXPECT_EQ(CounterValue(store.get(), "big"), 9007199254740991.0);
  EXPECT_EQ(QueryInt(path,
                     "SELECT count(*) FROM counters WHERE series_id "
                     "NOT IN (SELECT id FROM series)"),
            0);
}

// Regression: a cached series id must not outlive its series. A series
// removed behind the Store's back (by another connection) is written
// afresh, not through the stale id.
TEST(Store, SeriesIdCacheIsDroppedWhenTheSeriesEpochMoves) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {{"x", "a"}}, 5)).ok());
  ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {{"x", "a"}}, 1)).ok());
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("DELETE FROM counters; DELETE FROM series").ok());
  }
  ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {{"x", "a"}}, 2)).ok());
  EXPECT_EQ(CounterValue(store.get(), "c", {{"x", "a"}}), 2);
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM series"), 1);
  EXPECT_EQ(QueryInt(path,
                     "SELECT count(*) FROM counters WHERE series_id "
                     "NOT IN (SELECT id FROM series)"),
            0);
}

// The id cache keeps capping exact: a value that overflowed under one cap
// gets a slot once the cap is raised, and a value capped away by another
// connection meanwhile overflows here too.
TEST(Store, CachedSeriesIdsKeepCappedValuesExact) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  auto other = OpenStore(path);
  auto apply = [](Store* s, const std::string& value, uint32_t cap) {
    Batch batch;
    batch.counters = {Capped(value, cap)};
    ApplyResult result;
    ASSERT_TRUE(s->Apply(batch, kNow, &result).ok());
    ASSERT_EQ(result, ApplyResult::kApplied);
  };
  auto value = [&](const std::string& x) {
    return CounterValue(store.get(), "m", {{"x", x}});
  };
  apply(store.get(), "a", 1);
  apply(store.get(), "b", 1);  // overflows
  apply(store.get(), "b", 1);  // cached: overflows again
  EXPECT_EQ(value("other"), 2);
  apply(store.get(), "b", 2);  // the cap raised: b takes the second slot
  apply(store.get(), "b", 2);
  EXPECT_EQ(value("b"), 2);
  apply(other.get(), "c", 3);  // the third slot, by another connection
  apply(store.get(), "d", 3);  // so d overflows here
  EXPECT_EQ(value("c"), 1);
  EXPECT_EQ(value("d"), -1);
  EXPECT_EQ(value("other"), 3);
}

// Regression: the id of a series inserted by a transaction that rolled
// back must not be cached.
TEST(Store, SeriesIdsOfARolledBackBatchAreNotCached) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  ASSERT_TRUE(
      Apply(store.get(), CounterBatch("big", {}, 9007199254740990.0)).ok());
  Batch refused = CounterBatch("new", {}, 1);
  refused.counters.push_back({Key("big"), 5});
  ApplyResult result;
  ASSERT_TRUE(store->Apply(refused, kNow, &result).ok());
  ASSERT_EQ(result, ApplyResult::kOutOfRange);
  // Another connection takes the rowid the rolled-back insert had.
  auto other = OpenStore(path);
  ASSERT_TRUE(Apply(other.get(), CounterBatch("other", {}, 7)).ok());
  ASSERT_TRUE(Apply(store.get(), CounterBatch("new", {}, 1)).ok());
  EXPECT_EQ(CounterValue(store.get(), "new"), 1);
  EXPECT_EQ(CounterValue(store.get(), "other"), 7);
}

// --- Reading changes
// -------------------------------------------------------------------

// The metrics (and label values of "x") of what ReadChanges() returned,
// sorted, e.g. "c{a}" for metric c with x="a", "h" without labels.
std::vector<std::string> Names(const Changes& changes) {
  std::vector<std::string> names;
  auto name = [](const auto& series) {
    std::string n = series.metric;
    for (const auto& [label, value] : series.labels) n += "{" + value + "}";
    return n;
  };
  for (const CounterSeries& c : changes.counters) names.push_back(name(c));
  for (const HistogramSeries& h : changes.histograms) names.push_back(name(h));
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Store, ReadChangesReturnsWhatChangedSinceTheCursor) {
  TempDir dir;
  const std::string path = dir.Path("pum.db");
  auto reader = OpenStore(path);
  auto writer = OpenStore(path);
  auto write = [](Store* store, Batch batch) {
    ApplyResult result;
    ASSERT_TRUE(store->Apply(batch, kNow, &result).ok());
  };
  auto histogram = [](const std::string& x) {
    Batch batch;
    batch.histograms.push_back({Key("h", {{"x", x}}), 1, 1, {{1, 1}}});
    return batch;
  };
  auto remove = [&path](const char* sql) {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute(sql).ok());
  };
  struct Step {
    const char* what;
    std::function<void()> act;
    bool fresh_cursor;
    bool full;
    std::vector<std::string> names;
  };
  const Step steps[] = {
      {"an empty store, fresh cursor", [] {}, true, true, {}},
      {"nothing written", [] {}, false, false, {}},
      {"a first write by another connection",
       [&] {
         write(writer.get(), CounterBatch("c", {{"x", "a"}}, 1));
         write(writer.get(), histogram("a"));
         write(writer.get(), histogram("b"));
       },
       false,
       false,
       {"c{a}", "h{a}", "h{b}"}},
      {"no write since", [] {}, false, false, {}},
      {"one write: only that series",
       [&] { write(writer.get(), histogram("b")); },
       false,
       false,
       {"h{b}"}},
      {"a write through the reader's own connection",
       [&] {
         write(reader.get(), CounterBatch("c", {{"x", "a"}}, 2));
       },
       false,
       false,
       {"c{a}"}},
      {"a duplicate batch writes nothing",
       [&] {
         write(writer.get(), IdBatch("k", 0));
         write(writer.get(), IdBatch("k", 0));
       },
       false,
       false,
       {"requests_total"}},
      {"a fresh cursor reads everything",
       [] {},
       true,
       true,
       {"c{a}", "h{a}", "h{b}", "requests_total"}},
      {"a removed series: everything again",
       [&] {
         remove(
             "DELETE FROM histograms WHERE series_id IN (SELECT id FROM series "
             "WHERE metric = 'h' AND labels = CAST('1:x1:a' AS BLOB));"
             "DELETE FROM series WHERE metric = 'h' AND "
             "labels = CAST('1:x1:a' AS BLOB)");
       },
       false,
       true,
       {"c{a}", "h{b}", "requests_total"}},
      {"after the removal, changes again",
       [&] { write(writer.get(), histogram("c")); },
       false,
       false,
       {"h{c}"}},
  };
  ReadCursor cursor;
  for (const Step& step : steps) {
    step.act();
    if (step.fresh_cursor) cursor = ReadCursor();
    Changes changes;
    changes.full = !step.full;  // overwritten
    ASSERT_TRUE(reader->ReadChanges(&cursor, &changes).ok()) << step.what;
    EXPECT_EQ(changes.full, step.full) << step.what;
    EXPECT_EQ(Names(changes), step.names) << step.what;
    EXPECT_EQ(cursor.generation, QueryInt(path, "SELECT generation FROM meta"))
        << step.what;
    EXPECT_EQ(cursor.epoch, QueryInt(path, "SELECT series_epoch FROM meta"))
        << step.what;
  }
}

TEST(Store, ReadChangesGivesIdsValuesAndBucketsAsRead) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  Batch batch = CounterBatch("c", {}, 2.5);
  batch.histograms.push_back({Key("h"), 3, 2, {{kInf, 1}, {1, 1}}});
  ASSERT_TRUE(store->Apply(batch, kNow, &unused_result).ok());
  ReadCursor cursor;
  Changes changes;
  ASSERT_TRUE(store->ReadChanges(&cursor, &changes).ok());
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(changes.counters.size(), 1u);
  ASSERT_EQ(changes.histograms.size(), 1u);
  EXPECT_EQ(changes.counters[0].id, snapshot.counters[0].id);
  EXPECT_EQ(changes.counters[0].value, 2.5);
  EXPECT_EQ(changes.histograms[0].id, snapshot.histograms[0].id);
  EXPECT_NE(changes.histograms[0].id, changes.counters[0].id);
  EXPECT_EQ(changes.histograms[0].sum, 3);
  EXPECT_EQ(changes.histograms[0].count, 2u);
  EXPECT_EQ(changes.histograms[0].buckets, (Buckets{{1, 1}, {kInf, 1}}));
  // A cursor that is not the last one returned is served too.
  ReadCursor old = cursor;
  ASSERT_TRUE(store->Apply(batch, kNow, &unused_result).ok());
  ASSERT_TRUE(store->ReadChanges(&cursor, &changes).ok());
  EXPECT_EQ(changes.histograms.size(), 1u);
  ASSERT_TRUE(store->ReadChanges(&old, &changes).ok());
  EXPECT_FALSE(changes.full);
  ASSERT_EQ(changes.counters.size(), 1u);
  EXPECT_EQ(changes.counters[0].value, 5);
}

// --- Opening
// ---------------------------------------------------------------------------

TEST(Store, CreatesVersionedSchemaInWalMode) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
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
  std::string path = dir.Path("pum.db");
  OpenStore(path);
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    const std::string newer = std::to_string(Store::kSchemaVersion + 1);
    ASSERT_TRUE(db.Execute(("PRAGMA user_version = " + newer).c_str()).ok());
  }
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, {}, &store);
  EXPECT_EQ(s.code(), Code::kNotSupported);
  EXPECT_EQ(s.message(), "database " + path + " has schema version " +
                             std::to_string(Store::kSchemaVersion + 1) +
                             ", newer than this pum supports (" +
                             std::to_string(Store::kSchemaVersion) +
                             "); upgrade pum");
  EXPECT_EQ(store, nullptr);
}

// A version-1 database, as pum wrote it before the 1024-seq window.
constexpr char kVersion1Sql[] = R"sql(
CREATE TABLE series (id INTEGER PRIMARY KEY, metric TEXT NOT NULL,
  labels BLOB NOT NULL, UNIQUE (metric, labels));
CREATE TABLE counters (series_id INTEGER PRIMARY KEY REFERENCES series (id),
  value REAL NOT NULL);
CREATE TABLE histograms (series_id INTEGER PRIMARY KEY REFERENCES series (id),
  sum REAL NOT NULL, count INTEGER NOT NULL);
CREATE TABLE buckets (series_id INTEGER NOT NULL REFERENCES series (id),
  le REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series_id, le))
  WITHOUT ROWID;
CREATE TABLE label_values (metric TEXT NOT NULL, label BLOB NOT NULL,
  value BLOB NOT NULL, PRIMARY KEY (metric, label, value)) WITHOUT ROWID;
CREATE TABLE clients (client TEXT PRIMARY KEY, max_seq INTEGER NOT NULL,
  seen_mask INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX clients_by_last_seen ON clients (last_seen);
INSERT INTO series (id, metric, labels) VALUES (1, 'requests_total', X'');
INSERT INTO counters (series_id, value) VALUES (1, 7);
-- seqs 100, 99 (bit 0) and 37 (bit 62) applied; 98 not.
INSERT INTO clients (client, max_seq, seen_mask, last_seen)
  VALUES ('c', 100, 4611686018427387905, 5);
PRAGMA user_version = 1;
)sql";

TEST(Store, MigratesVersion1KeepingTotalsAndDeduplication) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("PRAGMA journal_mode=WAL").ok());
    ASSERT_TRUE(db.Execute(kVersion1Sql).ok());
  }
  auto store = OpenStore(path);
  EXPECT_EQ(QueryInt(path, "PRAGMA user_version"), Store::kSchemaVersion);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 7);
  const std::pair<int64_t, ApplyResult> steps[] = {
      {100, ApplyResult::kDuplicate}, {99, ApplyResult::kDuplicate},
      {37, ApplyResult::kDuplicate},  {98, ApplyResult::kApplied},
      {36, ApplyResult::kApplied},    {101, ApplyResult::kApplied},
  };
  for (const auto& [seq, expected] : steps) {
    ApplyResult result;
    ASSERT_TRUE(Apply(store.get(), IdBatch("c", seq), &result).ok());
    EXPECT_EQ(result, expected) << seq;
  }
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 10);
  StoreStats stats;
  ASSERT_TRUE(store->Stats(&stats).ok());
  EXPECT_EQ(stats.clients, 1);
}

// A version-2 database, as pum wrote it before buckets moved into the
// histogram's row: a counter, two histograms (one with +Inf and a bucket
// whose count is 2^53), buckets of no histogram, capped values, a client.
constexpr char kVersion2Sql[] = R"sql(
CREATE TABLE series (id INTEGER PRIMARY KEY, metric TEXT NOT NULL,
  labels BLOB NOT NULL, UNIQUE (metric, labels));
CREATE TABLE counters (series_id INTEGER PRIMARY KEY REFERENCES series (id),
  value REAL NOT NULL);
CREATE TABLE histograms (series_id INTEGER PRIMARY KEY REFERENCES series (id),
  sum REAL NOT NULL, count INTEGER NOT NULL);
CREATE TABLE buckets (series_id INTEGER NOT NULL REFERENCES series (id),
  le REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series_id, le))
  WITHOUT ROWID;
CREATE TABLE label_values (metric TEXT NOT NULL, label BLOB NOT NULL,
  value BLOB NOT NULL, PRIMARY KEY (metric, label, value)) WITHOUT ROWID;
CREATE TABLE clients (client TEXT PRIMARY KEY, max_seq INTEGER NOT NULL,
  seen BLOB NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX clients_by_last_seen ON clients (last_seen);
INSERT INTO series (id, metric, labels) VALUES
  (1, 'requests_total', X''), (2, 'h', X''), (3, 'g', CAST('1:x1:a' AS BLOB)),
  (4, 'h', CAST('1:x1:b' AS BLOB));
INSERT INTO counters (series_id, value) VALUES (1, 7.5);
INSERT INTO histograms (series_id, sum, count) VALUES (2, 4.5, 6),
  (3, 1e15, 9007199254740992), (4, 0, 0);
INSERT INTO buckets (series_id, le, count) VALUES (2, 0.5, 1), (2, 1, 2),
  (2, 9e999, 3), (3, 0.1, 9007199254740992), (9, 1, 5);
INSERT INTO label_values (metric, label, value)
  VALUES ('g', CAST('x' AS BLOB), CAST('a' AS BLOB));
INSERT INTO clients (client, max_seq, seen, last_seen) VALUES ('c', 3, X'', 5);
PRAGMA user_version = 2;
)sql";

TEST(Store, MigratesVersion2KeepingTotalsBucketsAndDeduplication) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("PRAGMA journal_mode=WAL").ok());
    ASSERT_TRUE(db.Execute(kVersion2Sql).ok());
  }
  const int64_t before = static_cast<int64_t>(::time(nullptr));
  auto store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryInt(path, "PRAGMA user_version"), Store::kSchemaVersion);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.counters.size(), 1u);
  EXPECT_EQ(snapshot.counters[0].id, 1);
  EXPECT_EQ(snapshot.counters[0].value, 7.5);
  ASSERT_EQ(snapshot.histograms.size(), 3u);
  // Sorted: g{x="a"}, h, h{x="b"}.
  EXPECT_EQ(snapshot.histograms[0].id, 3);
  EXPECT_EQ(snapshot.histograms[0].labels, (Pairs{{"x", "a"}}));
  EXPECT_EQ(snapshot.histograms[0].count, 9007199254740992u);
  EXPECT_EQ(snapshot.histograms[0].sum, 1e15);
  EXPECT_EQ(snapshot.histograms[0].buckets,
            (Buckets{{0.1, 9007199254740992u}}));
  EXPECT_EQ(snapshot.histograms[1].id, 2);
  EXPECT_EQ(snapshot.histograms[1].sum, 4.5);
  EXPECT_EQ(snapshot.histograms[1].count, 6u);
  EXPECT_EQ(snapshot.histograms[1].buckets,
            (Buckets{{0.5, 1}, {1, 2}, {kInf, 3}}));
  EXPECT_EQ(snapshot.histograms[2].id, 4);
  EXPECT_EQ(snapshot.histograms[2].count, 0u);
  EXPECT_TRUE(snapshot.histograms[2].buckets.empty());
  // Migrated rows count as written at the migration.
  EXPECT_GE(QueryInt(path, "SELECT min(updated_at) FROM histograms"), before);
  EXPECT_GE(QueryInt(path, "SELECT min(updated_at) FROM counters"), before);
  EXPECT_EQ(QueryInt(path, "SELECT series_epoch FROM meta"), 0);

  // Deduplication, the cap and the totals carry on.
  ApplyResult result;
  ASSERT_TRUE(store->Apply(IdBatch("c", 3), kNow, &result).ok());
  EXPECT_EQ(result, ApplyResult::kDuplicate);
  Batch batch = IdBatch("c", 4, 0.5);
  Label capped{"x", "z", 1, "other"};
  batch.histograms.push_back({SeriesKey{"g", {capped}}, 1, 1, {{0.1, 1}}});
  batch.histograms.push_back({Key("h"), 2, 2, {{1, 1}, {2, 1}}});
  ASSERT_TRUE(store->Apply(batch, kNow, &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
  EXPECT_EQ(CounterValue(store.get(), "requests_total"), 8);
  snapshot = ReadAll(store.get());
  ASSERT_EQ(snapshot.histograms.size(), 4u);
  EXPECT_EQ(snapshot.histograms[1].labels, (Pairs{{"x", "other"}}));
  EXPECT_EQ(snapshot.histograms[2].buckets,
            (Buckets{{0.5, 1}, {1, 3}, {2, 1}, {kInf, 3}}));
  EXPECT_EQ(snapshot.histograms[2].count, 8u);
}

TEST(Store, RefusesFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
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
  std::string path = dir.Path("other.db");
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

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Regression: the foreign database was switched to WAL mode for good before
// it was refused.
TEST(Store, RefusesAForeignDatabaseWithoutChangingIt) {
  TempDir dir;
  std::string path = dir.Path("other.db");
  {
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, "
                           "total REAL); INSERT INTO orders VALUES (1, 9.5);")
                    .ok());
  }
  const std::string before = FileBytes(path);
  std::unique_ptr<Store> store;
  EXPECT_EQ(Store::Open(path, {}, &store).code(), Code::kCorruption);
  EXPECT_EQ(FileBytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

// Regression: a pum store whose data pages were overwritten opened, and
// every batch then failed with 503.
TEST(Store, RefusesAPumStoreWithCorruptPages) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  {
    auto store = OpenStore(path);
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(Apply(store.get(), IdBatch("c" + std::to_string(i), 0)).ok());
    }
    ASSERT_TRUE(store->Checkpoint().ok());
  }
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  std::string bytes = FileBytes(path);
  ASSERT_GT(bytes.size(), 3 * 4096u);
  for (size_t i = 2 * 4096; i < bytes.size(); ++i) bytes[i] = '\x5a';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, {}, &store);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("corrupt"), std::string::npos) << s.message();
  EXPECT_EQ(store, nullptr);
}

TEST(Store, MissingDirectoryIsNotFound) {
  TempDir dir;
  std::unique_ptr<Store> store;
  Status s = Store::Open(dir.Path("no/such/dir/pum.db"), {}, &store);
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

// Several processes opening the same new file at once, then writing.
TEST(Store, ConcurrentOpenOfNewFileIsSafe) {
  constexpr int kProcesses = 8;
  constexpr int kBatches = 5;
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    std::string path = dir.Path("race" + std::to_string(round) + ".db");
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
  std::string path = dir.Path("pum.db");
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
  std::string path = dir.Path("pum.db");
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
  std::string path = dir.Path("pum.db");
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
  std::string path = dir.Path("pum.db");
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
    std::string path = dir.Path("kill" + std::to_string(round) + ".db");
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
  auto store = OpenStore(dir.Path("pum.db"));
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
  std::string path = dir.Path("pum.db");
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

int64_t WalBytes(const std::string& path) {
  struct stat st;
  return stat((path + "-wal").c_str(), &st) == 0 ? st.st_size : 0;
}

// A burst of new clients in one transaction each.
void Burst(Store* store, const std::string& prefix, int clients) {
  for (int i = 0; i < clients; ++i) {
    Batch batch = IdBatch(prefix + std::to_string(i), 0);
    batch.histograms.push_back(
        {Key("h", {{"k", std::to_string(i % 50)}}), 0.5, 1, {{1, 1}}});
    ASSERT_TRUE(Apply(store, batch).ok());
  }
}

// Regression: 10k new clients in 3 s grew the WAL from 3 MB to 41 MB and it
// stayed there (passive checkpoints only, no journal_size_limit).
TEST(Store, TheWalShrinksBackAfterABurst) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  StoreOptions options;
  options.wal_limit_bytes = 256 << 10;
  options.wal_autocheckpoint_pages = 100000;  // only Checkpoint() works
  auto store = OpenStore(path, options);
  Burst(store.get(), "a", 3000);
  const int64_t grown = WalBytes(path);
  EXPECT_GT(grown, options.wal_limit_bytes);
  ASSERT_TRUE(store->Checkpoint().ok());
  EXPECT_LE(WalBytes(path), options.wal_limit_bytes);
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM clients"), 3000);
}

TEST(Store, TheWalShrinksBackAfterALongReader) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  StoreOptions options;
  options.wal_limit_bytes = 256 << 10;
  options.wal_autocheckpoint_pages = 1000;
  auto store = OpenStore(path, options);
  Burst(store.get(), "a", 100);
  sql::Database reader;
  ASSERT_TRUE(reader.Open(path).ok());
  ASSERT_TRUE(reader.Execute("BEGIN; SELECT count(*) FROM clients;").ok());
  // Writers are not held up by the reader nor by the checkpoints.
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Burst(store.get(), "b", 2000);
  ASSERT_TRUE(store->Checkpoint().ok());  // gives up quickly: the reader
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
  EXPECT_GT(WalBytes(path), options.wal_limit_bytes);
  int64_t seen = -1;
  ASSERT_TRUE(reader.QueryInt64("SELECT count(*) FROM clients", &seen).ok());
  EXPECT_EQ(seen, 100);  // the reader's snapshot is intact
  ASSERT_TRUE(reader.Execute("COMMIT").ok());
  ASSERT_TRUE(store->Checkpoint().ok());
  EXPECT_LE(WalBytes(path), options.wal_limit_bytes);
  EXPECT_EQ(QueryInt(path, "SELECT count(*) FROM clients"), 2100);
}

TEST(Store, WritersBoundTheWalWithoutCheckpointCalls) {
  TempDir dir;
  std::string path = dir.Path("pum.db");
  StoreOptions options;
  options.wal_limit_bytes = 256 << 10;
  options.wal_autocheckpoint_pages = 200;
  auto store = OpenStore(path, options);
  int64_t largest = 0;
  for (int round = 0; round < 10; ++round) {
    Burst(store.get(), "r" + std::to_string(round) + "_", 300);
    largest = std::max(largest, WalBytes(path));
  }
  // 200 pages of 4 KiB plus the last transactions' frames.
  EXPECT_LT(largest, 2 << 20);
}

TEST(Store, SynchronousFullOption) {
  TempDir dir;
  StoreOptions options;
  options.synchronous_full = true;
  auto store = OpenStore(dir.Path("pum.db"), options);
  ASSERT_TRUE(Apply(store.get(), CounterBatch("c", {}, 1)).ok());
  EXPECT_EQ(CounterValue(store.get(), "c"), 1);
}

}  // namespace
}  // namespace pum
