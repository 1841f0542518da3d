#include "fcgi-ingest/validator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "fcgi-ingest/batch_parser.h"
#include "fcgi-ingest/test_util.h"

namespace pum {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

class ValidatorTest : public ::testing::Test {
 protected:
  ValidatorTest() : allowlist_(testing::TestAllowlist()) {
    options_.max_events_per_batch = 4;
    options_.max_observations_per_event = 3;
    options_.max_label_value_bytes = 24;
  }

  // Validates the events array `events_json`.
  ValidationResult Validate(const std::string& events_json) {
    ParsedBatch parsed;
    Status s = ParseBatch(events_json, &parsed);
    EXPECT_TRUE(s.ok()) << s.message();
    ValidationResult result;
    if (s.ok()) ValidateEvents(parsed.events(), *allowlist_, options_, &result);
    return result;
  }

  // The reason one event is rejected with, or "" if it is accepted.
  std::string Judge(const std::string& event_json) {
    ValidationResult result = Validate("[" + event_json + "]");
    EXPECT_EQ(result.accepted + result.rejected.size(), 1u);
    return result.rejected.empty() ? "" : result.rejected[0].reason;
  }

  std::shared_ptr<const Allowlist> allowlist_;
  Options options_;
};

const char kUsage[] = R"("metricName": "usage_total", "metricType": "counter")";
const char kLabels[] =
    R"("labels": {"browser": "chrome", "feature": "quickQuestion"})";
const char kFirebase[] =
    R"("metricName": "firebase_response_time", "metricType": "histogram",
       "labels": {"firebaseHost": "pd-dev-1.firebaseio.com"})";
const char kApp[] =
    R"("metricName": "app_load_succeeded", "metricType": "counter")";
const char kBig[] = R"("metricName": "big_total", "metricType": "counter")";
const char kWide[] =
    R"("metricName": "wide_seconds", "metricType": "histogram")";
const char kTiming[] =
    R"("metricName": "timing_seconds", "metricType": "histogram")";
const char kRoute[] =
    R"("metricName": "route_views_total", "metricType": "counter")";

std::string Event(const std::string& a, const std::string& b = "",
                  const std::string& c = "") {
  std::string s = "{" + a;
  if (!b.empty()) s += ", " + b;
  if (!c.empty()) s += ", " + c;
  return s + "}";
}

TEST_F(ValidatorTest, JudgesEachEvent) {
  struct Case {
    std::string event;
    std::string reason;  // "" = accepted
  };
  const std::string usage = kUsage;
  const std::string labels = kLabels;
  const std::string fb = kFirebase;
  const std::string app = kApp;
  const std::string route = kRoute;
  std::vector<Case> cases = {
      // Accepted.
      {Event(usage, labels, R"("inc": 1)"), ""},
      {Event(usage, labels, R"("inc": 0)"), ""},
      {Event(usage, labels, R"("inc": 2.5, "extra": [1, {}])"), ""},
      {Event(usage, labels, R"("inc": 1e6)"), ""},
      {Event(usage, labels, R"("inc": 1000000.0001)"),
       reason::kValueOutOfRange},
      {Event(usage, labels, R"("inc": 1.7e308)"), reason::kValueOutOfRange},
      {Event(kBig, R"("inc": 9e15)"), ""},
      {Event(kTiming, R"("observations": [0, 3600])"), ""},
      {Event(kTiming, R"("observations": [0, 3600.001])"),
       reason::kValueOutOfRange},
      {Event(kTiming, R"("observations": [-0.001])"), reason::kValueOutOfRange},
      {Event(fb, R"("observations": [-1e12, 1e12])"), ""},
      {Event(fb, R"("observations": [1e12, 1.000001e12])"),
       reason::kValueOutOfRange},
      {Event(app, R"("inc": 1)"), ""},
      {Event(app, R"("labels": {})", R"("inc": 1)"), ""},
      {Event(app, R"("labels": null)", R"("inc": 1)"), ""},
      {Event(fb, R"("observations": [0.1])"), ""},
      {Event(fb, R"("observations": [-1, 0, 1e11])"), ""},
      {Event(route, R"("labels": {"route": "/home"})", R"("inc": 1)"), ""},
      {Event(route, R"("labels": {"route": "/"})", R"("inc": 1)"), ""},
      // bad_event
      {"1", reason::kBadEvent},
      {"null", reason::kBadEvent},
      {"\"usage_total\"", reason::kBadEvent},
      {"[]", reason::kBadEvent},
      {"{}", reason::kBadEvent},
      {R"({"metricName": "usage_total", "inc": 1})", reason::kBadEvent},
      {R"({"metricType": "counter", "inc": 1})", reason::kBadEvent},
      {R"({"metricName": 1, "metricType": "counter"})", reason::kBadEvent},
      {R"({"metricName": "app_load_succeeded", "metricType": null})",
       reason::kBadEvent},
      // unknown_metric
      {R"({"metricName": "nope", "metricType": "counter", "inc": 1})",
       reason::kUnknownMetric},
      {R"({"metricName": "pum_reports_total", "metricType": "counter",
           "inc": 1})",
       reason::kUnknownMetric},
      {R"({"metricName": "USAGE_TOTAL", "metricType": "counter", "inc": 1})",
       reason::kUnknownMetric},
      // type_mismatch
      {R"({"metricName": "usage_total", "metricType": "histogram",
           "observations": [1]})",
       reason::kTypeMismatch},
      {R"({"metricName": "firebase_response_time", "metricType": "counter",
           "inc": 1})",
       reason::kTypeMismatch},
      {R"({"metricName": "usage_total", "metricType": "distribution"})",
       reason::kTypeMismatch},
      {R"({"metricName": "usage_total", "metricType": "Counter"})",
       reason::kTypeMismatch},
      // bad_labels
      {Event(usage, R"("inc": 1)"), reason::kBadLabels},
      {Event(usage, R"("labels": null)", R"("inc": 1)"), reason::kBadLabels},
      {Event(usage, R"("labels": {"browser": "chrome"})", R"("inc": 1)"),
       reason::kBadLabels},
      {Event(usage,
             R"("labels": {"browser": "chrome", "feature": "quickQuestion",
                           "os": "linux"})",
             R"("inc": 1)"),
       reason::kBadLabels},
      // A label given twice never reaches the validator: the batch parser
      // refuses duplicate keys (BatchParser.DuplicateKeyInAnEventIsRefused...).
      {Event(usage, R"("labels": {"browser": 1, "feature": "quickQuestion"})",
             R"("inc": 1)"),
       reason::kBadLabels},
      {Event(usage,
             R"("labels": {"browser": null, "feature": "quickQuestion"})",
             R"("inc": 1)"),
       reason::kBadLabels},
      {Event(usage, R"("labels": ["chrome", "quickQuestion"])", R"("inc": 1)"),
       reason::kBadLabels},
      {Event(usage, R"("labels": "browser=chrome")", R"("inc": 1)"),
       reason::kBadLabels},
      {Event(app, R"("labels": {"x": "y"})", R"("inc": 1)"),
       reason::kBadLabels},
      // label_value_not_allowed
      {Event(usage,
             R"("labels": {"browser": "opera", "feature": "quickQuestion"})",
             R"("inc": 1)"),
       reason::kLabelValueNotAllowed},
      {Event(usage,
             R"("labels": {"browser": "Chrome", "feature": "quickQuestion"})",
             R"("inc": 1)"),
       reason::kLabelValueNotAllowed},
      {Event(usage, R"("labels": {"browser": "", "feature": "quickQuestion"})",
             R"("inc": 1)"),
       reason::kLabelValueNotAllowed},
      {Event(route, R"("labels": {"route": "home"})", R"("inc": 1)"),
       reason::kLabelValueNotAllowed},
      {Event(route, R"("labels": {"route": "/home/x"})", R"("inc": 1)"),
       reason::kLabelValueNotAllowed},
      {Event(route, R"("labels": {"route": "/a\u0000"})", R"("inc": 1)"),
       reason::kLabelValueNotAllowed},
      // label_value_too_long (24 bytes allowed here)
      {Event(route, R"("labels": {"route": "/aaaaaaaaaaaaaaaaaaaaaaaa"})",
             R"("inc": 1)"),
       reason::kLabelValueTooLong},
      {Event(usage,
             R"("labels": {"browser": "chromechromechromechromechrome",
                           "feature": "quickQuestion"})",
             R"("inc": 1)"),
       reason::kLabelValueTooLong},
      // bad_value (counters)
      {Event(usage, labels), reason::kBadValue},
      {Event(usage, labels, R"("inc": -1)"), reason::kBadValue},
      {Event(usage, labels, R"("inc": -0.001)"), reason::kBadValue},
      {Event(usage, labels, R"("inc": "1")"), reason::kBadValue},
      {Event(usage, labels, R"("inc": null)"), reason::kBadValue},
      {Event(usage, labels, R"("inc": true)"), reason::kBadValue},
      {Event(usage, labels, R"("inc": [1])"), reason::kBadValue},
      {Event(usage, labels, R"("observations": [1])"), reason::kBadValue},
      // bad_value (histograms)
      {Event(fb), reason::kBadValue},
      {Event(fb, R"("observations": [])"), reason::kBadValue},
      {Event(fb, R"("observations": 0.1)"), reason::kBadValue},
      {Event(fb, R"("observations": {"0": 0.1})"), reason::kBadValue},
      {Event(fb, R"("observations": [0.1, "0.2"])"), reason::kBadValue},
      {Event(fb, R"("observations": [null])"), reason::kBadValue},
      {Event(fb, R"("observations": [[0.1]])"), reason::kBadValue},
      {Event(fb, R"("observations": [1e308, 1e308])"),
       reason::kValueOutOfRange},
      {Event(kWide, R"("observations": [1e308, 1e308])"),
       reason::kValueOutOfRange},
      {Event(kWide, R"("observations": [1e308, -1e308])"), ""},
      {Event(fb, R"("inc": 1)"), reason::kBadValue},
      // too_many_observations (3 allowed here)
      {Event(fb, R"("observations": [1, 2, 3, 4])"),
       reason::kTooManyObservations},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Judge(c.event), c.reason) << c.event;
  }
}

TEST_F(ValidatorTest, ChecksTheLabelSetBeforeTheValues) {
  // A missing label wins over a value that is not allowed.
  EXPECT_EQ(
      Judge(Event(kUsage, R"("labels": {"browser": "opera"})", R"("inc": 1)")),
      reason::kBadLabels);
  // Labels are judged before the value.
  EXPECT_EQ(Judge(Event(kUsage,
                        R"("labels": {"browser": "opera",
                                      "feature": "quickQuestion"})",
                        R"("inc": -1)")),
            reason::kLabelValueNotAllowed);
}

TEST_F(ValidatorTest, ExtraEventsAreTooManyEvents) {
  std::string valid = Event(kApp, R"("inc": 1)");
  ValidationResult result = Validate("[" + valid + "," + valid + ",1," + valid +
                                     "," + valid + "," + valid + "]");
  EXPECT_EQ(result.accepted, 3u);
  ASSERT_EQ(result.rejected.size(), 3u);
  EXPECT_EQ(result.rejected[0].index, 2u);
  EXPECT_STREQ(result.rejected[0].reason, reason::kBadEvent);
  EXPECT_EQ(result.rejected[1].index, 4u);
  EXPECT_STREQ(result.rejected[1].reason, reason::kTooManyEvents);
  EXPECT_EQ(result.rejected[2].index, 5u);
  EXPECT_STREQ(result.rejected[2].reason, reason::kTooManyEvents);
  ASSERT_EQ(result.batch.counters.size(), 1u);
  EXPECT_EQ(result.batch.counters[0].inc, 3);
}

TEST_F(ValidatorTest, SeedCounterMergesIncrements) {
  std::string e = Event(kUsage, kLabels, R"("inc": 3.5)");
  ValidationResult result = Validate("[" + e + "," + e + "]");
  EXPECT_EQ(result.accepted, 2u);
  EXPECT_TRUE(result.rejected.empty());
  ASSERT_EQ(result.batch.counters.size(), 1u);
  const CounterDelta& delta = result.batch.counters[0];
  EXPECT_EQ(delta.inc, 7);
  EXPECT_EQ(delta.key.metric, "usage_total");
  ASSERT_EQ(delta.key.labels.size(), 2u);
  EXPECT_EQ(delta.key.labels[0].name, "browser");
  EXPECT_EQ(delta.key.labels[0].value, "chrome");
  EXPECT_EQ(delta.key.labels[1].name, "feature");
  EXPECT_EQ(delta.key.labels[1].value, "quickQuestion");
  EXPECT_FALSE(result.batch.id.has_value());
}

TEST_F(ValidatorTest, LabelsComeInTheMetricsOrderWithTheirCaps) {
  ValidationResult result = Validate(
      "[" +
      Event(kUsage,
            R"("labels": {"feature": "blockStudent", "browser": "firefox"})",
            R"("inc": 1)") +
      "," +
      Event(kUsage, R"("inc": 2)",
            R"("labels": {"browser": "firefox", "feature": "blockStudent"})") +
      "," + Event(kRoute, R"("labels": {"route": "/x"})", R"("inc": 1)") + "]");
  ASSERT_EQ(result.batch.counters.size(), 2u);
  const CounterDelta& usage = result.batch.counters[0];
  EXPECT_EQ(usage.inc, 3);
  EXPECT_EQ(usage.key.labels[0].name, "browser");
  EXPECT_EQ(usage.key.labels[0].value, "firefox");
  EXPECT_EQ(usage.key.labels[0].max_values, 0u);
  EXPECT_EQ(usage.key.labels[1].value, "blockStudent");
  const CounterDelta& route = result.batch.counters[1];
  ASSERT_EQ(route.key.labels.size(), 1u);
  EXPECT_EQ(route.key.labels[0].value, "/x");
  EXPECT_EQ(route.key.labels[0].max_values, 2u);
  EXPECT_EQ(route.key.labels[0].overflow_value, "other");
}

TEST_F(ValidatorTest, SeedHistogramBuckets) {
  ValidationResult result = Validate(
      "[" + Event(kFirebase, R"("observations": [0.1, 0.3, 0.05])") + "]");
  ASSERT_EQ(result.batch.histograms.size(), 1u);
  const HistogramDelta& h = result.batch.histograms[0];
  EXPECT_EQ(h.key.metric, "firebase_response_time");
  EXPECT_EQ(h.count, 3u);
  EXPECT_DOUBLE_EQ(h.sum, 0.45);
  // Not cumulative: one each in le=0.05, le=0.1 and le=0.5, i.e. cumulative
  // 1, 2, 2, 3, ..., 3 over 0.05, 0.1, 0.2, 0.5, ..., 100.
  std::vector<std::pair<double, uint64_t>> want = {
      {0.05, 1}, {0.1, 1}, {0.5, 1}};
  EXPECT_EQ(h.buckets, want);
}

TEST_F(ValidatorTest, HistogramEdgesAndMerging) {
  ValidationResult result = Validate(
      "[" + Event(kFirebase, R"("observations": [100, 100.5, -3])") + "," +
      Event(kFirebase, R"("observations": [1e9, 0.2, 0.2])") + "]");
  ASSERT_EQ(result.batch.histograms.size(), 1u);
  const HistogramDelta& h = result.batch.histograms[0];
  EXPECT_EQ(h.count, 6u);
  EXPECT_DOUBLE_EQ(h.sum, (100 + 100.5 - 3) + (1e9 + 0.2 + 0.2));
  std::vector<std::pair<double, uint64_t>> want = {
      {0.05, 1}, {0.2, 2}, {100, 1}, {kInf, 2}};
  EXPECT_EQ(h.buckets, want);
}

TEST_F(ValidatorTest, OverflowingMergeIsRejected) {
  std::string big = Event(kBig, R"("inc": 5e15)");
  ValidationResult result = Validate("[" + big + "," + big + "]");
  EXPECT_EQ(result.accepted, 1u);
  ASSERT_EQ(result.rejected.size(), 1u);
  EXPECT_EQ(result.rejected[0].index, 1u);
  EXPECT_STREQ(result.rejected[0].reason, reason::kValueOutOfRange);
  ASSERT_EQ(result.batch.counters.size(), 1u);
  EXPECT_EQ(result.batch.counters[0].inc, 5e15);

  std::string obs = Event(kWide, R"("observations": [1e308])");
  result = Validate("[" + obs + "," + obs + "]");
  EXPECT_EQ(result.accepted, 1u);
  ASSERT_EQ(result.batch.histograms.size(), 1u);
  EXPECT_EQ(result.batch.histograms[0].count, 1u);
  EXPECT_TRUE(std::isfinite(result.batch.histograms[0].sum));
}

TEST_F(ValidatorTest, RecordsTheEventsOfEachDelta) {
  ValidationResult result =
      Validate("[" + Event(kApp, R"("inc": 1)") + "," +
               Event(kBig, R"("inc": 2)") + "," + Event(kApp, R"("inc": 3)") +
               "," + Event(kTiming, R"("observations": [1])") + "]");
  ASSERT_EQ(result.accepted, 4u);
  using Events = std::vector<std::vector<size_t>>;
  EXPECT_EQ(result.counter_events, (Events{{0, 2}, {1}}));
  EXPECT_EQ(result.histogram_events, (Events{{3}}));
  result.RejectDeltas({0}, {0}, reason::kValueOutOfRange);
  EXPECT_EQ(result.accepted, 1u);
  ASSERT_EQ(result.rejected.size(), 3u);
  EXPECT_EQ(result.rejected[0].index, 0u);
  EXPECT_EQ(result.rejected[1].index, 2u);
  EXPECT_EQ(result.rejected[2].index, 3u);
  EXPECT_STREQ(result.rejected[2].reason, reason::kValueOutOfRange);
  ASSERT_EQ(result.batch.counters.size(), 1u);
  EXPECT_EQ(result.batch.counters[0].key.metric, "big_total");
  EXPECT_TRUE(result.batch.histograms.empty());
  EXPECT_EQ(result.counter_events, (Events{{1}}));
}

// Many series, each seen several times in a scrambled order, beside
// metrics without labels that only their MetricDef tells apart: each series
// gets one delta, in the order of first appearance, with its own events.
TEST_F(ValidatorTest, MergesEachSeriesOnceInFirstAppearanceOrder) {
  options_.max_events_per_batch = 1000;
  std::vector<std::string> routes;
  for (char a = 'a'; a <= 'z'; ++a) {
    for (char b = 'a'; b <= 'd'; ++b)
      routes.push_back(std::string("/") + a + b);
  }
  // Values that concatenate alike must stay apart.
  routes.push_back("/ab" + std::string("c"));
  routes.push_back("/a");
  std::string body = "[";
  std::vector<std::string> first_order;  // routes by first appearance
  std::map<std::string, std::vector<size_t>> events_of;
  std::vector<std::vector<size_t>> unlabelled(2);  // app, big
  const size_t n = 600;
  for (size_t i = 0; i < n; ++i) {
    if (i) body += ",";
    if (i % 10 == 3 || i % 10 == 7) {
      const bool app = i % 10 == 3;
      body += Event(app ? kApp : kBig, R"("inc": 1)");
      unlabelled[app ? 0 : 1].push_back(i);
      continue;
    }
    const std::string& route = routes[(i * 37) % routes.size()];
    body += Event(kRoute, R"("labels": {"route": ")" + route + R"("})",
                  R"("inc": 2)");
    if (events_of[route].empty()) first_order.push_back(route);
    events_of[route].push_back(i);
  }
  body += "]";
  ValidationResult result = Validate(body);
  ASSERT_EQ(result.accepted, n);
  ASSERT_EQ(result.batch.counters.size(), first_order.size() + 2);
  size_t next_route = 0;
  for (size_t d = 0; d < result.batch.counters.size(); ++d) {
    const CounterDelta& delta = result.batch.counters[d];
    const std::vector<size_t>& events = result.counter_events[d];
    if (delta.key.metric == "route_views_total") {
      ASSERT_EQ(delta.key.labels.size(), 1u);
      const std::string& route = first_order[next_route++];
      EXPECT_EQ(delta.key.labels[0].value, route) << d;
      EXPECT_EQ(events, events_of[route]) << route;
      EXPECT_EQ(delta.inc, 2.0 * events_of[route].size()) << route;
    } else {
      const bool app = delta.key.metric == "app_load_succeeded";
      EXPECT_TRUE(app || delta.key.metric == "big_total") << delta.key.metric;
      EXPECT_TRUE(delta.key.labels.empty());
      EXPECT_EQ(events, unlabelled[app ? 0 : 1]) << delta.key.metric;
      EXPECT_EQ(delta.inc, static_cast<double>(events.size()));
    }
  }
  EXPECT_EQ(next_route, first_order.size());
}

// An event given as a tree the parser did not build (keys twice): the first
// of each key counts, as before the fields were read in one pass.
TEST_F(ValidatorTest, TheFirstOfAKeyGivenTwiceCounts) {
  // Padded with 16 NULs, as batch_parser pads its input: RapidJSON's SIMD
  // scanning (-DRAPIDJSON_SSE2) reads aligned 16-byte blocks past the end of
  // the text (regression: make asan's global-buffer-overflow on a literal).
  std::string text = R"([{"metricName": "app_load_succeeded",
                 "metricType": "counter", "inc": 2, "inc": -1,
                 "metricName": "nope", "metricType": "histogram"}])";
  const size_t length = text.size();
  text.append(16, '\0');
  rapidjson::Document doc;
  doc.Parse(text.c_str(), length);
  ASSERT_FALSE(doc.HasParseError());
  ValidationResult result;
  ValidateEvents(doc, *allowlist_, options_, &result);
  EXPECT_EQ(result.accepted, 1u);
  ASSERT_EQ(result.batch.counters.size(), 1u);
  EXPECT_EQ(result.batch.counters[0].inc, 2);
}

TEST_F(ValidatorTest, EmptyBatch) {
  ValidationResult result = Validate("[]");
  EXPECT_EQ(result.accepted, 0u);
  EXPECT_TRUE(result.rejected.empty());
  EXPECT_TRUE(result.batch.counters.empty());
  EXPECT_TRUE(result.batch.histograms.empty());
}

TEST_F(ValidatorTest, DefaultBucketsWhenTheMetricHasNone) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist
                  .AddFile(R"({"allowedMetrics": [{"name": "h", "help": "x",
                              "type": "histogram", "labels": []}]})",
                           "h.json")
                  .ok());
  ParsedBatch parsed;
  ASSERT_TRUE(ParseBatch(R"([{"metricName": "h", "metricType": "histogram",
                              "observations": [0.003, 11]}])",
                         &parsed)
                  .ok());
  ValidationResult result;
  ValidateEvents(parsed.events(), allowlist, options_, &result);
  ASSERT_EQ(result.batch.histograms.size(), 1u);
  std::vector<std::pair<double, uint64_t>> want = {
      {DefaultBuckets().front(), 1}, {kInf, 1}};
  EXPECT_EQ(result.batch.histograms[0].buckets, want);
}

TEST_F(ValidatorTest, NativeHistogramsGetANativeDeltaScaledBySample) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist
                  .AddFile(R"({"allowedMetrics": [
                    {"name": "n_seconds", "type": "histogram",
                     "native": {"schema": 2, "max_buckets": 50}},
                    {"name": "b_seconds", "type": "histogram",
                     "buckets": [1], "native": true},
                    {"name": "c_seconds", "type": "histogram",
                     "buckets": [1]}]})",
                           "n.json")
                  .ok());
  ParsedBatch parsed;
  ASSERT_TRUE(ParseBatch(R"([
    {"metricName": "n_seconds", "metricType": "histogram",
     "observations": [0.003, 11, -2, 0]},
    {"metricName": "b_seconds", "metricType": "histogram",
     "observations": [0.5, 2]},
    {"metricName": "n_seconds", "metricType": "histogram",
     "observations": [11]},
    {"metricName": "c_seconds", "metricType": "histogram",
     "observations": [0.5]}])",
                         &parsed)
                  .ok());
  for (int sample : {1, 5}) {
    SCOPED_TRACE(sample);
    const uint64_t n = static_cast<uint64_t>(sample);
    ValidationResult result;
    options_.max_events_per_batch = 10;
    options_.max_observations_per_event = 10;
    ValidateEvents(parsed.events(), allowlist, options_, &result, sample);
    ASSERT_EQ(result.batch.histograms.size(), 3u);
    const HistogramDelta& native_only = result.batch.histograms[0];
    // No classic buckets: every observation in +Inf.
    EXPECT_EQ(native_only.buckets,
              (std::vector<std::pair<double, uint64_t>>{{kInf, 5 * n}}));
    ASSERT_TRUE(native_only.native.has_value());
    NativeHistogram want;
    want.schema = 2;
    for (double v : {0.003, 11.0, -2.0, 0.0, 11.0}) ObserveNative(v, n, &want);
    EXPECT_EQ(*native_only.native, want);
    EXPECT_EQ(native_only.native_max_buckets, 50u);
    EXPECT_EQ(NativeTotalCount(*native_only.native), native_only.count);
    const HistogramDelta& both = result.batch.histograms[1];
    ASSERT_TRUE(both.native.has_value());
    EXPECT_EQ(both.native->schema, kNativeDefaultSchema);
    EXPECT_EQ(both.native_max_buckets, kNativeDefaultMaxBuckets);
    EXPECT_EQ(both.buckets,
              (std::vector<std::pair<double, uint64_t>>{{1, n}, {kInf, n}}));
    EXPECT_EQ(NativeTotalCount(*both.native), 2 * n);
    EXPECT_FALSE(result.batch.histograms[2].native.has_value());
  }
}

}  // namespace
}  // namespace pum
