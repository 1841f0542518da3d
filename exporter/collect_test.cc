#include "exporter/collect.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "exporter/exposition.h"
#include "schema/testing/native.h"

namespace pum {
namespace {

using testing::NativeOf;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The seed's own test configurations (serverSrc/aggregators/__tests__).
const char kSeedAllowlist[] = R"({"allowedMetrics": [
  {"name": "usage_total",
   "help": "counts of usage, like times a feature has been used, etc",
   "type": "counter",
   "labels": [
     {"name": "browser", "allowedValues": ["chrome", "firefox", "safari", "edge"]},
     {"name": "feature", "allowedValues": ["quickQuestion", "selfPacedMode",
                                           "blockStudent", "showContent"]}]},
  {"name": "firebase_response_time",
   "help": "measures firebase response times in seconds",
   "type": "histogram",
   "labels": [{"name": "firebaseHost",
               "allowedValues": ["pd-dev-1.firebaseio.com",
                                 "pd-dev-2.firebaseio.com"]}],
   "buckets": [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]}
]})";

Allowlist LoadAllowlist(const std::string& text) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(text, "test.json");
  EXPECT_TRUE(status.ok()) << status.ToString();
  return allowlist;
}

const MetricFamily* FindFamily(const std::vector<MetricFamily>& families,
                               const std::string& name) {
  for (const MetricFamily& family : families) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

// The text exposition of one family of `families`.
std::string TextOf(const std::vector<MetricFamily>& families,
                   const std::string& name) {
  const MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return "(no family " + name + ")";
  return SerializeText({*family});
}

CounterSeries Counter(std::string metric, LabelPairs labels, double value) {
  CounterSeries series;
  series.metric = std::move(metric);
  series.labels = std::move(labels);
  series.value = value;
  return series;
}

HistogramSeries Histogram(std::string metric, LabelPairs labels, double sum,
                          uint64_t count,
                          std::vector<std::pair<double, uint64_t>> buckets) {
  HistogramSeries series;
  series.metric = std::move(metric);
  series.labels = std::move(labels);
  series.sum = sum;
  series.count = count;
  series.buckets = std::move(buckets);
  return series;
}

TEST(Collect, SeedCounterTest) {
  // The seed: inc 5 and 1 for chrome/selfPacedMode, 3 for firefox.
  Snapshot snapshot;
  snapshot.counters = {
      Counter("usage_total",
              {{"browser", "chrome"}, {"feature", "selfPacedMode"}}, 5 + 1),
      Counter("usage_total",
              {{"browser", "firefox"}, {"feature", "selfPacedMode"}}, 3),
  };
  auto families =
      CollectStoreFamilies(LoadAllowlist(kSeedAllowlist), snapshot, nullptr);
  EXPECT_EQ(TextOf(families, "usage_total"),
            "# HELP usage_total counts of usage, like times a feature has been "
            "used, etc\n"
            "# TYPE usage_total counter\n"
            "usage_total{browser=\"chrome\",feature=\"quickQuestion\"} 0\n"
            "usage_total{browser=\"chrome\",feature=\"selfPacedMode\"} 6\n"
            "usage_total{browser=\"chrome\",feature=\"blockStudent\"} 0\n"
            "usage_total{browser=\"chrome\",feature=\"showContent\"} 0\n"
            "usage_total{browser=\"firefox\",feature=\"quickQuestion\"} 0\n"
            "usage_total{browser=\"firefox\",feature=\"selfPacedMode\"} 3\n"
            "usage_total{browser=\"firefox\",feature=\"blockStudent\"} 0\n"
            "usage_total{browser=\"firefox\",feature=\"showContent\"} 0\n"
            "usage_total{browser=\"safari\",feature=\"quickQuestion\"} 0\n"
            "usage_total{browser=\"safari\",feature=\"selfPacedMode\"} 0\n"
            "usage_total{browser=\"safari\",feature=\"blockStudent\"} 0\n"
            "usage_total{browser=\"safari\",feature=\"showContent\"} 0\n"
            "usage_total{browser=\"edge\",feature=\"quickQuestion\"} 0\n"
            "usage_total{browser=\"edge\",feature=\"selfPacedMode\"} 0\n"
            "usage_total{browser=\"edge\",feature=\"blockStudent\"} 0\n"
            "usage_total{browser=\"edge\",feature=\"showContent\"} 0\n");
}

TEST(Collect, SeedHistogramTest) {
  // The seed: [0.1, 1, 3] and [5, 9, 2] for dev-1, [15, 19, 12] for dev-2,
  // stored as non-cumulative buckets of the bounds at ingest time.
  Snapshot snapshot;
  snapshot.histograms = {
      Histogram("firebase_response_time",
                {{"firebaseHost", "pd-dev-1.firebaseio.com"}},
                (0.1 + 1 + 3) + (5 + 9 + 2), 6,
                {{0.1, 1}, {1, 1}, {2, 1}, {5, 2}, {10, 1}}),
      Histogram("firebase_response_time",
                {{"firebaseHost", "pd-dev-2.firebaseio.com"}}, 15 + 19 + 12, 3,
                {{20, 3}}),
  };
  auto families =
      CollectStoreFamilies(LoadAllowlist(kSeedAllowlist), snapshot, nullptr);
  const std::string h = "firebase_response_time";
  const std::string d1 = "{firebaseHost=\"pd-dev-1.firebaseio.com\"";
  const std::string d2 = "{firebaseHost=\"pd-dev-2.firebaseio.com\"";
  std::string expected = "# HELP " + h +
                         " measures firebase response times in seconds\n" +
                         "# TYPE " + h + " histogram\n";
  const char* les[] = {"0.05", "0.1", "0.2", "0.5", "1",   "2",
                       "5",    "10",  "20",  "50",  "100", "+Inf"};
  const int dev1[] = {0, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6};
  const int dev2[] = {0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3};
  for (int i = 0; i < 12; ++i) {
    expected += h + "_bucket" + d1 + ",le=\"" + les[i] + "\"} " +
                std::to_string(dev1[i]) + "\n";
  }
  expected += h + "_sum" + d1 + "} 20.1\n" + h + "_count" + d1 + "} 6\n";
  for (int i = 0; i < 12; ++i) {
    expected += h + "_bucket" + d2 + ",le=\"" + les[i] + "\"} " +
                std::to_string(dev2[i]) + "\n";
  }
  expected += h + "_sum" + d2 + "} 46\n" + h + "_count" + d2 + "} 3\n";
  EXPECT_EQ(TextOf(families, h), expected);
}

// pum's issue: inc 3.5 twice reads 7; observations 0.1, 0.3, 0.05 read
// 1, 2, 2, 3, ..., 3 with _sum 0.45 and _count 3; all else reads 0.
TEST(Collect, IssueExpectations) {
  Snapshot snapshot;
  snapshot.counters = {Counter(
      "usage_total", {{"browser", "chrome"}, {"feature", "quickQuestion"}},
      3.5 + 3.5)};
  // Ingest adds the observations in the order given: 0.1 + 0.3 + 0.05.
  snapshot.histograms = {Histogram(
      "firebase_response_time", {{"firebaseHost", "pd-dev-1.firebaseio.com"}},
      0.1 + 0.3 + 0.05, 3, {{0.05, 1}, {0.1, 1}, {0.5, 1}})};
  auto families =
      CollectStoreFamilies(LoadAllowlist(kSeedAllowlist), snapshot, nullptr);

  const MetricFamily* usage = FindFamily(families, "usage_total");
  ASSERT_NE(usage, nullptr);
  ASSERT_EQ(usage->samples.size(), 16u);
  for (const Sample& sample : usage->samples) {
    bool hit = sample.labels[0].second == "chrome" &&
               sample.labels[1].second == "quickQuestion";
    EXPECT_EQ(sample.value, hit ? 7 : 0);
  }
  std::string text = TextOf(families, "firebase_response_time");
  const std::string d1 = "{firebaseHost=\"pd-dev-1.firebaseio.com\"";
  const std::string b = "firebase_response_time_bucket" + d1 + ",le=";
  for (const char* line :
       {"\"0.05\"} 1\n", "\"0.1\"} 2\n", "\"0.2\"} 2\n", "\"0.5\"} 3\n",
        "\"1\"} 3\n", "\"100\"} 3\n", "\"+Inf\"} 3\n"}) {
    EXPECT_NE(text.find(b + line), std::string::npos) << line;
  }
  EXPECT_NE(text.find("firebase_response_time_sum" + d1 + "} 0.45\n"),
            std::string::npos);
  EXPECT_NE(text.find("firebase_response_time_count" + d1 + "} 3\n"),
            std::string::npos);
  const MetricFamily* h = FindFamily(families, "firebase_response_time");
  ASSERT_EQ(h->histograms.size(), 2u);
  EXPECT_EQ(h->histograms[1].count, 0u);
  for (const auto& bucket : h->histograms[1].buckets) {
    EXPECT_EQ(bucket.second, 0u);
  }
}

const char kMixedAllowlist[] = R"({"allowedMetrics": [
  {"name": "plain_total", "help": "no labels", "type": "counter"},
  {"name": "routes_total", "help": "by route", "type": "counter",
   "labels": [{"name": "route", "pattern": "^/[a-z]*$", "maxValues": 5}]},
  {"name": "errors_total", "help": "by kind", "type": "counter",
   "labels": [{"name": "kind", "allowedValues": ["error", "rejection"]},
              {"name": "page", "pattern": "^[a-z]+$"}]},
  {"name": "load_seconds", "help": "loads", "type": "histogram",
   "buckets": [0.5, 1]}
]})";

TEST(Collect, ZeroFillOnlyFullyEnumerated) {
  Snapshot snapshot;
  snapshot.counters = {
      Counter("routes_total", {{"route", "/b"}}, 2),
      Counter("routes_total", {{"route", "/a"}}, 1),
  };
  auto families =
      CollectStoreFamilies(LoadAllowlist(kMixedAllowlist), snapshot, nullptr);
  EXPECT_EQ(TextOf(families, "plain_total"),
            "# HELP plain_total no labels\n# TYPE plain_total counter\n"
            "plain_total 0\n");
  EXPECT_EQ(TextOf(families, "routes_total"),
            "# HELP routes_total by route\n# TYPE routes_total counter\n"
            "routes_total{route=\"/a\"} 1\nroutes_total{route=\"/b\"} 2\n");
  EXPECT_EQ(TextOf(families, "errors_total"),
            "# HELP errors_total by kind\n# TYPE errors_total counter\n");
  EXPECT_EQ(TextOf(families, "load_seconds"),
            "# HELP load_seconds loads\n# TYPE load_seconds histogram\n"
            "load_seconds_bucket{le=\"0.5\"} 0\n"
            "load_seconds_bucket{le=\"1\"} 0\n"
            "load_seconds_bucket{le=\"+Inf\"} 0\n"
            "load_seconds_sum 0\nload_seconds_count 0\n");
}

TEST(Collect, FamiliesSortedAndInternalMetricsIncluded) {
  auto families =
      CollectStoreFamilies(LoadAllowlist(kMixedAllowlist), Snapshot(), nullptr);
  for (size_t i = 1; i < families.size(); ++i) {
    EXPECT_LT(families[i - 1].name, families[i].name);
  }
  for (const MetricDef& def : InternalMetrics()) {
    EXPECT_NE(FindFamily(families, def.name), nullptr) << def.name;
  }
  const MetricFamily* reports = FindFamily(families, kReportsTotal);
  ASSERT_NE(reports, nullptr);
  ASSERT_EQ(reports->samples.size(), 1u);
  EXPECT_EQ(reports->samples[0].value, 0);
  const MetricFamily* rejected = FindFamily(families, kEventsRejectedTotal);
  ASSERT_NE(rejected, nullptr);
  EXPECT_EQ(rejected->samples.size(), RejectionReasons().size());
}

TEST(Collect, SkipsSeriesThatNoLongerFit) {
  Snapshot snapshot;
  snapshot.counters = {
      Counter("gone_total", {}, 1),                            // not defined
      Counter("load_seconds", {}, 1),                          // now histogram
      Counter("plain_total", {{"extra", "x"}}, 1),             // labels changed
      Counter("errors_total", {{"kind", "error"}}, 1),         // label missing
      Counter("routes_total", {{"route", "/NotAllowed"}}, 4),  // kept
  };
  snapshot.histograms = {
      Histogram("plain_total", {}, 1, 1, {{1, 1}}),  // now a counter
  };
  int64_t skipped = -1;
  auto families =
      CollectStoreFamilies(LoadAllowlist(kMixedAllowlist), snapshot, &skipped);
  EXPECT_EQ(skipped, 5);
  EXPECT_EQ(FindFamily(families, "gone_total"), nullptr);
  EXPECT_EQ(TextOf(families, "plain_total"),
            "# HELP plain_total no labels\n# TYPE plain_total counter\n"
            "plain_total 0\n");
  EXPECT_EQ(TextOf(families, "routes_total"),
            "# HELP routes_total by route\n# TYPE routes_total counter\n"
            "routes_total{route=\"/NotAllowed\"} 4\n");
}

TEST(Collect, ReorderedLabelsAreMappedAndAddedUp) {
  Snapshot snapshot;
  snapshot.counters = {
      Counter("errors_total", {{"kind", "error"}, {"page", "home"}}, 1),
      Counter("errors_total", {{"page", "home"}, {"kind", "error"}}, 2),
      Counter("errors_total", {{"page", "about"}, {"kind", "rejection"}}, 5),
      Counter("errors_total", {{"page", "zoo"}, {"kind", "error"}}, 1),
  };
  auto families =
      CollectStoreFamilies(LoadAllowlist(kMixedAllowlist), snapshot, nullptr);
  // Enumerated "kind" in allowlist order first, then "page" in byte order.
  EXPECT_EQ(TextOf(families, "errors_total"),
            "# HELP errors_total by kind\n# TYPE errors_total counter\n"
            "errors_total{kind=\"error\",page=\"home\"} 3\n"
            "errors_total{kind=\"error\",page=\"zoo\"} 1\n"
            "errors_total{kind=\"rejection\",page=\"about\"} 5\n");
}

// Checks what must hold of any exported histogram.
void ExpectWellFormed(const HistogramSample& h) {
  uint64_t previous = 0;
  double previous_bound = -kInf;
  for (const auto& [bound, cumulative] : h.buckets) {
    EXPECT_GT(bound, previous_bound);
    EXPECT_GE(cumulative, previous);
    EXPECT_LE(cumulative, h.count);
    previous = cumulative;
    previous_bound = bound;
  }
}

struct RebucketCase {
  const char* name;
  std::vector<double> current_bounds;
  std::vector<std::pair<double, uint64_t>> stored;  // non-cumulative
  uint64_t count;
  std::vector<uint64_t> expected;  // cumulative, one per current bound
};

TEST(Collect, RebucketsOntoCurrentBounds) {
  const RebucketCase cases[] = {
      {"same bounds",
       {0.1, 1, 10},
       {{0.1, 2}, {1, 3}, {10, 4}, {kInf, 1}},
       10,
       {2, 5, 9}},
      {"finer bounds",
       {0.05, 0.1, 0.5, 1, 5, 10, 100},
       {{0.1, 2}, {1, 3}, {10, 4}, {kInf, 1}},
       10,
       {0, 2, 2, 5, 5, 9, 9}},
      {"coarser bounds", {1}, {{0.1, 2}, {1, 3}, {10, 4}, {kInf, 1}}, 10, {5}},
      {"shifted bounds",
       {0.05, 0.5, 1, 5, 100},
       {{0.1, 2}, {1, 3}, {10, 4}, {kInf, 1}},
       10,
       {0, 2, 5, 5, 9}},
      {"all above", {0.001}, {{0.1, 2}, {kInf, 1}}, 3, {0}},
      {"only +Inf stored", {1, 2}, {{kInf, 4}}, 4, {0, 0}},
      {"inconsistent store is clamped", {1, 2}, {{1, 5}}, 3, {3, 3}},
  };
  for (const RebucketCase& c : cases) {
    std::string json = R"({"allowedMetrics": [{"name": "h", "help": "x",
        "type": "histogram", "buckets": [)";
    for (size_t i = 0; i < c.current_bounds.size(); ++i) {
      json += (i ? "," : "") + FormatNumber(c.current_bounds[i]);
    }
    json += "]}]}";
    Snapshot snapshot;
    snapshot.histograms = {Histogram("h", {}, 1.5, c.count, c.stored)};
    auto families =
        CollectStoreFamilies(LoadAllowlist(json), snapshot, nullptr);
    const MetricFamily* h = FindFamily(families, "h");
    ASSERT_NE(h, nullptr) << c.name;
    ASSERT_EQ(h->histograms.size(), 1u) << c.name;
    const HistogramSample& sample = h->histograms[0];
    EXPECT_EQ(sample.count, c.count) << c.name;
    EXPECT_EQ(sample.sum, 1.5) << c.name;
    ASSERT_EQ(sample.buckets.size(), c.expected.size()) << c.name;
    for (size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_EQ(sample.buckets[i].first, c.current_bounds[i]) << c.name;
      EXPECT_EQ(sample.buckets[i].second, c.expected[i]) << c.name << " " << i;
    }
    ExpectWellFormed(sample);
  }
}

TEST(Collect, MergesSeriesStoredUnderDifferentBuckets) {
  // Data from before and after a change of buckets, for the same series.
  Snapshot snapshot;
  snapshot.histograms = {
      Histogram("load_seconds", {}, 2, 3, {{0.25, 1}, {2, 1}, {kInf, 1}}),
      Histogram("load_seconds", {}, 1, 2, {{0.5, 1}, {1, 1}}),
  };
  auto families =
      CollectStoreFamilies(LoadAllowlist(kMixedAllowlist), snapshot, nullptr);
  EXPECT_EQ(TextOf(families, "load_seconds"),
            "# HELP load_seconds loads\n# TYPE load_seconds histogram\n"
            "load_seconds_bucket{le=\"0.5\"} 2\n"
            "load_seconds_bucket{le=\"1\"} 3\n"
            "load_seconds_bucket{le=\"+Inf\"} 5\n"
            "load_seconds_sum 3\nload_seconds_count 5\n");
}

HistogramSeries NativeSeries(std::string metric, LabelPairs labels,
                             const std::vector<double>& values, int schema,
                             std::vector<std::pair<double, uint64_t>> buckets) {
  HistogramSeries series;
  series.metric = std::move(metric);
  series.labels = std::move(labels);
  for (double v : values) series.sum += v;
  series.count = values.size();
  series.buckets = std::move(buckets);
  if (schema >= kNativeMinSchema) series.native = NativeOf(values, schema);
  return series;
}

void ExpectNative(const HistogramSample& sample, const NativeHistogram& want) {
  ASSERT_TRUE(sample.native.has_value());
  EXPECT_EQ(sample.native->schema, want.schema);
  EXPECT_EQ(sample.native->zero_threshold, want.zero_threshold);
  EXPECT_EQ(sample.native->zero_count, want.zero_count);
  EXPECT_EQ(sample.native->positive, want.positive);
  EXPECT_EQ(sample.native->negative, want.negative);
}

TEST(Collect, NativeHistogramsCarryTheirNativePart) {
  Allowlist allowlist = LoadAllowlist(R"({"allowedMetrics": [
    {"name": "n_seconds", "type": "histogram", "native": {"schema": 2},
     "labels": [{"name": "k", "allowedValues": ["a", "b"]}]},
    {"name": "c_seconds", "type": "histogram", "buckets": [1]}]})");
  Snapshot snapshot;
  // Stored at a higher schema than the allowlist's now: shown at 2.
  snapshot.histograms.push_back(
      NativeSeries("n_seconds", {{"k", "a"}}, {0.5, 3, -4, 0}, 5, {{kInf, 4}}));
  snapshot.histograms.push_back(
      NativeSeries("c_seconds", {}, {0.5}, 3, {{1, 1}}));
  std::vector<MetricFamily> families =
      CollectStoreFamilies(allowlist, snapshot, nullptr);
  const MetricFamily* n = FindFamily(families, "n_seconds");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->histograms.size(), 2u);
  // A native-only histogram has no classic bucket but +Inf.
  EXPECT_TRUE(n->histograms[0].buckets.empty());
  EXPECT_EQ(n->histograms[0].count, 4u);
  ExpectNative(n->histograms[0], NativeOf({0.5, 3, -4, 0}, 2));
  // The zero-filled series is an empty native histogram at the schema.
  ExpectNative(n->histograms[1], NativeOf({}, 2));
  // Text shows the classic part only.
  EXPECT_EQ(TextOf(families, "n_seconds"),
            "# TYPE n_seconds histogram\n"
            "n_seconds_bucket{k=\"a\",le=\"+Inf\"} 4\n"
            "n_seconds_sum{k=\"a\"} -0.5\n"
            "n_seconds_count{k=\"a\"} 4\n"
            "n_seconds_bucket{k=\"b\",le=\"+Inf\"} 0\n"
            "n_seconds_sum{k=\"b\"} 0\n"
            "n_seconds_count{k=\"b\"} 0\n");
  // Not native in the allowlist: no native part, whatever is stored.
  const MetricFamily* c = FindFamily(families, "c_seconds");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->histograms.size(), 1u);
  EXPECT_FALSE(c->histograms[0].native.has_value());
}

TEST(Collect, NativeSeriesObservedBeforeTheMetricTurnedNativeAreSeeded) {
  Allowlist allowlist = LoadAllowlist(R"({"allowedMetrics": [
    {"name": "n_seconds", "type": "histogram", "buckets": [0.1, 1],
     "native": true}]})");
  Snapshot snapshot;
  // Two observations (0.05 and 5) before `native`: no native part.
  snapshot.histograms.push_back(
      NativeSeries("n_seconds", {}, {0.05, 5}, -99, {{0.1, 1}, {kInf, 1}}));
  std::vector<MetricFamily> families =
      CollectStoreFamilies(allowlist, snapshot, nullptr);
  const MetricFamily* n = FindFamily(families, "n_seconds");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->histograms.size(), 1u);
  // At the classic bounds, +Inf's at the highest finite one the row has
  // (as the store will seed it): counts exact.
  ExpectNative(n->histograms[0], NativeOf({0.1, 0.1}, 3));
}

TEST(Collect, NativeSeriesAddUpAtTheLowerSchema) {
  Allowlist allowlist = LoadAllowlist(R"({"allowedMetrics": [
    {"name": "n_seconds", "type": "histogram", "native": true,
     "labels": [{"name": "k", "allowedValues": ["a"]}]}]})");
  Snapshot snapshot;
  // The same exported series stored twice (labels in two orders are one
  // series; here: two rows whose labels map to k="a").
  snapshot.histograms.push_back(
      NativeSeries("n_seconds", {{"k", "a"}}, {1, 2}, 3, {{kInf, 2}}));
  snapshot.histograms.push_back(
      NativeSeries("n_seconds", {{"k", "a"}}, {8}, 1, {{kInf, 1}}));
  std::vector<MetricFamily> families =
      CollectStoreFamilies(allowlist, snapshot, nullptr);
  const MetricFamily* n = FindFamily(families, "n_seconds");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->histograms.size(), 1u);
  EXPECT_EQ(n->histograms[0].count, 3u);
  ExpectNative(n->histograms[0], NativeOf({1, 2, 8}, 1));
}

TEST(Collect, NativeSeriesAreShownWithinTheAllowlistsBucketCapNow) {
  // Stored when the cap was 160; the allowlist now says 5.
  Allowlist allowlist = LoadAllowlist(R"({"allowedMetrics": [
    {"name": "n_seconds", "type": "histogram",
     "native": {"schema": 8, "max_buckets": 5}}]})");
  std::vector<double> values;
  for (int i = 0; i < 40; ++i) values.push_back(std::ldexp(1.0, i - 20));
  Snapshot snapshot;
  snapshot.histograms.push_back(
      NativeSeries("n_seconds", {}, values, 8, {{kInf, values.size()}}));
  std::vector<MetricFamily> families =
      CollectStoreFamilies(allowlist, snapshot, nullptr);
  const MetricFamily* n = FindFamily(families, "n_seconds");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->histograms.size(), 1u);
  NativeHistogram want = NativeOf(values, 8);
  LimitNativeBuckets(5, &want);
  EXPECT_LT(want.schema, 8);
  ExpectNative(n->histograms[0], want);
  EXPECT_LE(n->histograms[0].native->positive.size(), 5u);
}

TEST(Collect, ExporterFamilies) {
  ExporterStats stats;
  stats.store.file_bytes = 4096;
  stats.store.series = 12;
  stats.store.clients = 3;
  stats.scrape_duration_seconds = 0.0025;
  stats.skipped_series = 1;
  stats.reloads_success = 2;
  stats.reloads_failure = 1;
  stats.last_reload_successful = false;
  stats.last_reload_success_timestamp = 1700000000;
  stats.series_expired = 7;
  auto families = ExporterFamilies(stats);
  EXPECT_EQ(SerializeText(families),
            "# HELP pum_exporter_allowlist_last_reload_success_timestamp_"
            "seconds When the allowlist was last loaded successfully, in unix "
            "seconds.\n"
            "# TYPE pum_exporter_allowlist_last_reload_success_timestamp_"
            "seconds gauge\n"
            "pum_exporter_allowlist_last_reload_success_timestamp_seconds "
            "1.7e+09\n"
            "# HELP pum_exporter_allowlist_last_reload_successful 1 if the "
            "last reload of the allowlist succeeded (or none failed since the "
            "start), else 0.\n"
            "# TYPE pum_exporter_allowlist_last_reload_successful gauge\n"
            "pum_exporter_allowlist_last_reload_successful 0\n"
            "# HELP pum_exporter_allowlist_reloads_total Reloads of the "
            "allowlist after a change or SIGHUP, by result.\n"
            "# TYPE pum_exporter_allowlist_reloads_total counter\n"
            "pum_exporter_allowlist_reloads_total{result=\"failure\"} 1\n"
            "pum_exporter_allowlist_reloads_total{result=\"success\"} 2\n"
            "# HELP pum_exporter_dedup_clients Clients whose de-duplication "
            "state the store keeps.\n"
            "# TYPE pum_exporter_dedup_clients gauge\n"
            "pum_exporter_dedup_clients 3\n"
            "# HELP pum_exporter_scrape_duration_seconds Time this scrape "
            "took to read the store and build the metric families, in "
            "seconds.\n"
            "# TYPE pum_exporter_scrape_duration_seconds gauge\n"
            "pum_exporter_scrape_duration_seconds 0.0025\n"
            "# HELP pum_exporter_series_expired_total Series removed from "
            "the store because they were not updated for their metric's "
            "series_ttl.\n"
            "# TYPE pum_exporter_series_expired_total counter\n"
            "pum_exporter_series_expired_total 7\n"
            "# HELP pum_exporter_skipped_series Stored series not exported "
            "because their metric left the allowlist or changed type or "
            "labels.\n"
            "# TYPE pum_exporter_skipped_series gauge\n"
            "pum_exporter_skipped_series 1\n"
            "# HELP pum_exporter_store_series Series (a metric and its label "
            "values) the store holds.\n"
            "# TYPE pum_exporter_store_series gauge\n"
            "pum_exporter_store_series 12\n"
            "# HELP pum_exporter_store_size_bytes Size of the SQLite database "
            "and its write-ahead log, in bytes.\n"
            "# TYPE pum_exporter_store_size_bytes gauge\n"
            "pum_exporter_store_size_bytes 4096\n");
}

TEST(Collect, MergeFamiliesKeepsNameOrder) {
  auto families =
      CollectStoreFamilies(LoadAllowlist(kSeedAllowlist), Snapshot(), nullptr);
  size_t before = families.size();
  MergeFamilies(ExporterFamilies(ExporterStats()), &families);
  EXPECT_EQ(families.size(), before + ExporterFamilies({}).size());
  for (size_t i = 1; i < families.size(); ++i) {
    EXPECT_LT(families[i - 1].name, families[i].name);
  }
}

TEST(ZeroFilledSeries, EveryCombinationLastLabelFastestOrNone) {
  auto label = [](const std::string& name, std::vector<std::string> values,
                  const std::string& pattern) {
    LabelDef l;
    l.name = name;
    l.allowed_values = std::move(values);
    l.pattern = pattern;
    return l;
  };
  using Values = std::vector<std::vector<std::string>>;
  std::vector<std::string> many(101, "v");
  struct Case {
    std::string name;
    std::vector<LabelDef> labels;
    Values want;
  } cases[] = {
      {"no labels: one series", {}, {{}}},
      {"two by two",
       {label("a", {"x", "y"}, ""), label("b", {"1", "2"}, "")},
       {{"x", "1"}, {"x", "2"}, {"y", "1"}, {"y", "2"}}},
      {"a pattern label: none", {label("a", {}, "^.*$")}, {}},
      {"an empty value list: none", {label("a", {}, "")}, {}},
      {"more than kMaxZeroFilledSeries: none",
       {label("a", many, ""), label("b", many, "")},
       {}},
  };
  for (const Case& c : cases) {
    MetricDef def;
    def.name = "m_total";
    def.labels = c.labels;
    EXPECT_EQ(ZeroFilledSeries(def), c.want) << c.name;
  }
}

}  // namespace
}  // namespace pum
