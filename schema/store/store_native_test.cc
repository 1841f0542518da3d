// The store's native histograms: deltas merged at the lower schema, the
// bucket cap, groups, seeding from the classic buckets, migration to v4.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "schema/native/native_histogram.h"
#include "schema/store/native_column.h"
#include "schema/store/sqlite.h"
#include "schema/store/store.h"
#include "schema/testing/native.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

using testing::NativeOf;

using testing::TempDir;

constexpr int64_t kNow = 1700000000;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::unique_ptr<Store> OpenStore(const std::string& path) {
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, StoreOptions(), &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

// A delta of `values` (each once) for histogram `metric`, with classic
// buckets at `bounds` and a native part at `schema` (none if schema is
// below -4), capped at `cap` buckets.
HistogramDelta Delta(const std::string& metric,
                     const std::vector<double>& values, int schema,
                     const std::vector<double>& bounds = {},
                     uint32_t cap = kNativeDefaultMaxBuckets) {
  HistogramDelta delta;
  delta.key.metric = metric;
  if (schema >= kNativeMinSchema) {
    delta.native.emplace();
    delta.native->schema = schema;
    delta.native_max_buckets = cap;
  }
  for (double v : values) {
    delta.sum += v;
    ++delta.count;
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) ++i;
    const double le = i < bounds.size() ? bounds[i] : kInf;
    auto it = delta.buckets.begin();
    while (it != delta.buckets.end() && it->first != le) ++it;
    if (it == delta.buckets.end()) {
      delta.buckets.emplace_back(le, 1);
    } else {
      ++it->second;
    }
    if (delta.native) ObserveNative(v, 1, &*delta.native);
  }
  return delta;
}

Status ApplyDeltas(Store* store, std::vector<HistogramDelta> deltas) {
  Batch batch;
  batch.histograms = std::move(deltas);
  ApplyResult result;
  Status s = store->Apply(batch, kNow, &result);
  if (s.ok()) {
    EXPECT_EQ(result, ApplyResult::kApplied);
  }
  return s;
}

const HistogramSeries* Find(const Snapshot& snapshot,
                            const std::string& metric) {
  for (const HistogramSeries& h : snapshot.histograms) {
    if (h.metric == metric) return &h;
  }
  return nullptr;
}

Snapshot ReadAll(Store* store) {
  Snapshot snapshot;
  Status s = store->Read(&snapshot);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return snapshot;
}

TEST(StoreNative, DeltasAddUpAcrossBatchesAndReopen) {
  TempDir dir;
  const std::vector<double> first = {0.5, 1, 2, -3, 0, 1e-300, 7};
  const std::vector<double> second = {1, 1, 1e6, -1e-6};
  {
    auto store = OpenStore(dir.Path("pum.db"));
    ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", first, 3)}).ok());
    ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", second, 3)}).ok());
  }
  auto store = OpenStore(dir.Path("pum.db"));
  Snapshot snapshot = ReadAll(store.get());
  const HistogramSeries* h = Find(snapshot, "h");
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->native.has_value());
  std::vector<double> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(*h->native, NativeOf(all, 3));
  EXPECT_EQ(NativeTotalCount(*h->native), h->count);
  EXPECT_EQ(h->count, all.size());
}

TEST(StoreNative, SeriesWithoutNativeDeltasHaveNoNativePart) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", {1, 2}, -99, {1})}).ok());
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_NE(Find(snapshot, "h"), nullptr);
  EXPECT_FALSE(Find(snapshot, "h")->native.has_value());
}

TEST(StoreNative, MergesAtTheLowerSchema) {
  struct Case {
    int stored;
    int delta;
  };
  const Case cases[] = {{3, 3}, {3, 1}, {1, 3}, {8, -4}, {-4, 8}, {0, 2}};
  const std::vector<double> a = {0.001, 0.3, 2.5, 40, -7, 1e9};
  const std::vector<double> b = {0.002, 0.31, 2.6, 41, -8, 3e-9};
  for (const Case& c : cases) {
    TempDir dir;
    auto store = OpenStore(dir.Path("pum.db"));
    ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", a, c.stored)}).ok());
    ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", b, c.delta)}).ok());
    Snapshot snapshot = ReadAll(store.get());
    const HistogramSeries* h = Find(snapshot, "h");
    ASSERT_NE(h, nullptr);
    ASSERT_TRUE(h->native.has_value());
    std::vector<double> all = a;
    all.insert(all.end(), b.begin(), b.end());
    const int lower = std::min(c.stored, c.delta);
    EXPECT_EQ(*h->native, NativeOf(all, lower)) << c.stored << " " << c.delta;
  }
}

TEST(StoreNative, TheBucketCapReducesResolutionAndKeepsCountsExact) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> exponent(-6, 6);
  std::vector<double> all;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<double> values;
    for (int i = 0; i < 50; ++i) {
      double v = std::pow(10, exponent(random));
      values.push_back(i % 3 == 0 ? -v : v);
    }
    all.insert(all.end(), values.begin(), values.end());
    ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", values, 8, {}, 40)}).ok());
  }
  Snapshot snapshot = ReadAll(store.get());
  const HistogramSeries* h = Find(snapshot, "h");
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->native.has_value());
  EXPECT_LE(h->native->positive.size() + h->native->negative.size(), 40u);
  EXPECT_LT(h->native->schema, 8);
  EXPECT_EQ(NativeTotalCount(*h->native), all.size());
  // The same as observing everything at the schema the series ended at.
  EXPECT_EQ(*h->native, NativeOf(all, h->native->schema));
}

TEST(StoreNative, AGroupSumsTheNativeDeltasOfASeries) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  Batch one, two, three;
  one.histograms = {Delta("h", {1, 2, 3}, 3)};
  two.histograms = {Delta("h", {4, -5}, 2), Delta("g", {9}, 0)};
  three.histograms = {Delta("h", {6}, -99)};  // no native part
  std::vector<ApplyResult> results;
  ASSERT_TRUE(store->ApplyGroup({&one, &two, &three}, kNow, &results).ok());
  Snapshot snapshot = ReadAll(store.get());
  const HistogramSeries* h = Find(snapshot, "h");
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->native.has_value());
  EXPECT_EQ(h->count, 6u);
  // The classic-only delta's observation is missing from the native part:
  // the exporter and the next native delta seed it from the buckets.
  EXPECT_EQ(*h->native, NativeOf({1, 2, 3, 4, -5}, 2));
  EXPECT_EQ(*Find(snapshot, "g")->native, NativeOf({9}, 0));
}

TEST(StoreNative, ANativeDeltaSeedsASeriesObservedBeforeFromItsBuckets) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  const std::vector<double> bounds = {0.1, 1, 10};
  // Before the metric turned native: 0.05 (le 0.1), 0.5 (le 1), 50 (+Inf).
  ASSERT_TRUE(
      ApplyDeltas(store.get(), {Delta("h", {0.05, 0.5, 50}, -99, bounds)})
          .ok());
  ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", {2}, 3, bounds)}).ok());
  Snapshot snapshot = ReadAll(store.get());
  const HistogramSeries* h = Find(snapshot, "h");
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->native.has_value());
  EXPECT_EQ(h->count, 4u);
  EXPECT_EQ(NativeTotalCount(*h->native), 4u);
  // Each earlier observation at its bucket's upper bound, +Inf's at the
  // highest finite bound the series has observations in (the store keeps
  // only buckets that were hit).
  EXPECT_EQ(*h->native, NativeOf({0.1, 1, 1, 2}, 3));
}

TEST(StoreNative, RefusesNativeDeltasThatDoNotAddUpToTheCount) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  HistogramDelta bad = Delta("h", {1, 2}, 3);
  bad.native->zero_count += 1;
  HistogramDelta bad_schema = Delta("h", {1}, 3);
  bad_schema.native->schema = 9;
  for (const HistogramDelta& delta : {bad, bad_schema}) {
    Status s = ApplyDeltas(store.get(), {delta});
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  }
  EXPECT_TRUE(ReadAll(store.get()).histograms.empty());
}

TEST(StoreNative, ReadChangesCarriesTheNativePart) {
  TempDir dir;
  auto store = OpenStore(dir.Path("pum.db"));
  ReadCursor cursor;
  Changes changes;
  ASSERT_TRUE(store->ReadChanges(&cursor, &changes).ok());
  ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", {3, 4}, 1)}).ok());
  changes = Changes();
  ASSERT_TRUE(store->ReadChanges(&cursor, &changes).ok());
  ASSERT_EQ(changes.histograms.size(), 1u);
  ASSERT_TRUE(changes.histograms[0].native.has_value());
  EXPECT_EQ(*changes.histograms[0].native, NativeOf({3, 4}, 1));
}

TEST(StoreNative, MigratesVersion3KeepingTotalsAndAddsTheNativeColumn) {
  TempDir dir;
  const std::string path = dir.Path("pum.db");
  {
    auto store = OpenStore(path);
    ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", {1, 5}, -99, {2})}).ok());
  }
  {
    // Back to what version 3 had.
    sql::Database db;
    ASSERT_TRUE(db.Open(path).ok());
    ASSERT_TRUE(db.Execute("ALTER TABLE histograms DROP COLUMN native").ok());
    ASSERT_TRUE(db.Execute("PRAGMA user_version = 3").ok());
  }
  auto store = OpenStore(path);
  ASSERT_NE(store, nullptr);
  Snapshot snapshot = ReadAll(store.get());
  ASSERT_NE(Find(snapshot, "h"), nullptr);
  EXPECT_EQ(Find(snapshot, "h")->count, 2u);
  EXPECT_EQ(Find(snapshot, "h")->sum, 6);
  EXPECT_FALSE(Find(snapshot, "h")->native.has_value());
  ASSERT_TRUE(ApplyDeltas(store.get(), {Delta("h", {1.5}, 3, {2})}).ok());
  snapshot = ReadAll(store.get());
  ASSERT_TRUE(Find(snapshot, "h")->native.has_value());
  EXPECT_EQ(*Find(snapshot, "h")->native, NativeOf({2, 2, 1.5}, 3));
}

}  // namespace
}  // namespace pum
