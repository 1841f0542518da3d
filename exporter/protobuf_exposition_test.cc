#include "exporter/protobuf_exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "exporter/exposition.h"
#include "exporter/metrics.pb.h"
#include "exporter/protobuf_test_util.h"

namespace pum {
namespace {

namespace pb = ::io::prometheus::client;

using Buckets = std::vector<std::pair<int32_t, uint64_t>>;
using Spans = std::vector<std::pair<int32_t, uint32_t>>;  // (offset, length)

std::vector<pb::MetricFamily> Parse(const std::string& body) {
  return testing::ParseProtobufBody(body);
}

Spans SpansOf(const google::protobuf::RepeatedPtrField<pb::BucketSpan>& in) {
  Spans out;
  for (const pb::BucketSpan& span : in) {
    out.emplace_back(span.offset(), span.length());
  }
  return out;
}

std::vector<int64_t> DeltasOf(
    const google::protobuf::RepeatedField<int64_t>& in) {
  return std::vector<int64_t>(in.begin(), in.end());
}

// Spans and deltas back to (index, count) as Prometheus reads them, the
// empty buckets inside spans left out.
Buckets Decode(const google::protobuf::RepeatedPtrField<pb::BucketSpan>& spans,
               const google::protobuf::RepeatedField<int64_t>& deltas) {
  Buckets out;
  int64_t index = 0;
  int64_t count = 0;
  int d = 0;
  for (int s = 0; s < spans.size(); ++s) {
    index += spans[s].offset();
    for (uint32_t i = 0; i < spans[s].length(); ++i, ++index) {
      EXPECT_LT(d, deltas.size());
      if (d >= deltas.size()) return out;
      count += deltas[d++];
      if (count != 0) out.emplace_back(static_cast<int32_t>(index), count);
    }
  }
  EXPECT_EQ(d, deltas.size()) << "deltas without a span";
  return out;
}

// Prometheus 2.42's isNativeHistogram() (model/textparse/protobufparse.go).
bool NativeFor242(const pb::Histogram& h) {
  return h.negative_delta_size() > 0 || h.positive_delta_size() > 0 ||
         h.zero_count() > 0 || h.zero_threshold() > 0;
}

// Prometheus' current isNativeHistogram(): spans count too.
bool NativeForLatest(const pb::Histogram& h) {
  return h.positive_span_size() > 0 || h.negative_span_size() > 0 ||
         h.zero_threshold() > 0 || h.zero_count() > 0;
}

// What Prometheus 2.42's ValidateHistogram() (tsdb/head_append.go) asks of
// one side: later spans' offsets >= 0, as many deltas as the spans' lengths,
// no bucket below 0; adds the side's observations to *total.
::testing::AssertionResult ValidSide(
    const google::protobuf::RepeatedPtrField<pb::BucketSpan>& spans,
    const google::protobuf::RepeatedField<int64_t>& deltas, uint64_t* total) {
  int64_t length = 0;
  for (int s = 0; s < spans.size(); ++s) {
    if (s > 0 && spans[s].offset() < 0) {
      return ::testing::AssertionFailure() << "span " << s << " offset < 0";
    }
    length += spans[s].length();
  }
  if (length != deltas.size()) {
    return ::testing::AssertionFailure()
           << "spans need " << length << " buckets, have " << deltas.size();
  }
  int64_t count = 0;
  for (int64_t delta : deltas) {
    count += delta;
    if (count < 0) return ::testing::AssertionFailure() << "bucket < 0";
    *total += static_cast<uint64_t>(count);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult ValidFor242(const pb::Histogram& h) {
  uint64_t total = 0;
  auto result = ValidSide(h.negative_span(), h.negative_delta(), &total);
  if (!result) return result;
  result = ValidSide(h.positive_span(), h.positive_delta(), &total);
  if (!result) return result;
  if (total > h.sample_count()) {
    return ::testing::AssertionFailure()
           << total << " in buckets, count " << h.sample_count();
  }
  return ::testing::AssertionSuccess();
}

MetricFamily OneHistogram(HistogramSample series) {
  MetricFamily family;
  family.name = "h_seconds";
  family.help = "A histogram.";
  family.kind = MetricKind::kHistogram;
  family.histograms.push_back(std::move(series));
  return family;
}

struct NativeCase {
  const char* what;
  NativeBuckets native;
  uint64_t count;
  // Expected wire fields.
  Spans positive_spans;
  std::vector<int64_t> positive_deltas;
  Spans negative_spans;
  std::vector<int64_t> negative_deltas;
  bool native_for_242;
};

NativeBuckets Native(int32_t schema, double zero_threshold, uint64_t zero_count,
                     Buckets positive, Buckets negative) {
  NativeBuckets n;
  n.schema = schema;
  n.zero_threshold = zero_threshold;
  n.zero_count = zero_count;
  n.positive = std::move(positive);
  n.negative = std::move(negative);
  return n;
}

constexpr double kMinThreshold = 2.938735877055719e-39;  // 2^-128

TEST(ProtobufExposition, NativeHistogramTable) {
  const NativeCase cases[] = {
      {"one span",
       Native(3, kMinThreshold, 0, {{0, 1}, {1, 2}, {2, 2}}, {}),
       5,
       {{0, 3}},
       {1, 1, 0},
       {},
       {},
       true},
      {"a gap of 3 starts a new span",
       Native(3, kMinThreshold, 0, {{0, 1}, {1, 2}, {5, 1}, {6, 3}}, {}),
       7,
       {{0, 2}, {3, 2}},
       {1, 1, -1, 2},
       {},
       {},
       true},
      {"a gap of 1 is filled",
       Native(3, 0, 0, {{0, 1}, {2, 4}}, {}),
       5,
       {{0, 3}},
       {1, -1, 4},
       {},
       {},
       true},
      {"a gap of 2 is filled",
       Native(0, 0, 0, {{7, 1}, {10, 1}}, {}),
       2,
       {{7, 4}},
       {1, -1, 0, 1},
       {},
       {},
       true},
      {"negative first index",
       Native(2, 0, 0, {{-3, 2}, {-2, 2}}, {}),
       4,
       {{-3, 2}},
       {2, 0},
       {},
       {},
       true},
      {"spans far apart",
       Native(8, 0, 0, {{-1000, 3}, {1000, 1}, {2000, 5}}, {}),
       9,
       {{-1000, 1}, {1999, 1}, {999, 1}},
       {3, -2, 4},
       {},
       {},
       true},
      {"negative buckets only",
       Native(3, 0.001, 0, {}, {{1, 5}, {4, 1}}),
       6,
       {},
       {},
       {{1, 4}},
       {5, -5, 0, 1},
       true},
      {"negative buckets far apart",
       Native(3, 0, 0, {}, {{1, 5}, {5, 1}}),
       6,
       {},
       {},
       {{1, 1}, {3, 1}},
       {5, -4},
       true},
      {"both sides and the zero bucket",
       Native(-4, 0.5, 3, {{0, 2}}, {{-1, 1}, {0, 1}}),
       7,
       {{0, 1}},
       {2},
       {{-1, 2}},
       {1, 0},
       true},
      {"zero bucket only",
       Native(3, 0.001, 4, {}, {}),
       4,
       {},
       {},
       {},
       {},
       true},
      {"zero bucket only, threshold 0",
       Native(3, 0, 4, {}, {}),
       4,
       {},
       {},
       {},
       {},
       true},
      {"empty, threshold 2^-128",
       Native(3, kMinThreshold, 0, {}, {}),
       0,
       {},
       {},
       {},
       {},
       true},
      // client_golang's no-op span; Prometheus 2.42 still takes it as
      // classic (it looks at deltas and the zero bucket only).
      {"empty, threshold 0: no-op span",
       Native(3, 0, 0, {}, {}),
       0,
       {{0, 0}},
       {},
       {},
       {},
       false},
      {"large counts",
       Native(1, 0, 0, {{0, uint64_t{1} << 62}, {1, 1}}, {}),
       (uint64_t{1} << 62) + 1,
       {{0, 2}},
       {int64_t{1} << 62, 1 - (int64_t{1} << 62)},
       {},
       {},
       true},
  };
  for (const NativeCase& c : cases) {
    SCOPED_TRACE(c.what);
    HistogramSample series;
    series.count = c.count;
    series.sum = 1.5;
    series.native = c.native;
    std::vector<pb::MetricFamily> parsed =
        Parse(SerializeProtobuf({OneHistogram(series)}));
    ASSERT_EQ(parsed.size(), 1u);
    ASSERT_EQ(parsed[0].metric_size(), 1);
    const pb::Histogram& h = parsed[0].metric(0).histogram();
    EXPECT_EQ(h.sample_count(), c.count);
    EXPECT_EQ(h.sample_sum(), 1.5);
    EXPECT_EQ(h.bucket_size(), 0);
    EXPECT_TRUE(h.has_schema());
    EXPECT_EQ(h.schema(), c.native.schema);
    EXPECT_TRUE(h.has_zero_threshold());
    EXPECT_EQ(h.zero_threshold(), c.native.zero_threshold);
    EXPECT_TRUE(h.has_zero_count());
    EXPECT_EQ(h.zero_count(), c.native.zero_count);
    EXPECT_EQ(SpansOf(h.positive_span()), c.positive_spans);
    EXPECT_EQ(DeltasOf(h.positive_delta()), c.positive_deltas);
    EXPECT_EQ(SpansOf(h.negative_span()), c.negative_spans);
    EXPECT_EQ(DeltasOf(h.negative_delta()), c.negative_deltas);
    // Read back as Prometheus does, the same buckets.
    EXPECT_EQ(Decode(h.positive_span(), h.positive_delta()), c.native.positive);
    EXPECT_EQ(Decode(h.negative_span(), h.negative_delta()), c.native.negative);
    EXPECT_TRUE(ValidFor242(h));
    EXPECT_EQ(NativeFor242(h), c.native_for_242);
    EXPECT_TRUE(NativeForLatest(h));
  }
}

TEST(ProtobufExposition, ClassicHistogram) {
  HistogramSample series;
  series.labels = {{"route", "/a"}};
  series.buckets = {{0.05, 1}, {0.1, 3}, {1, 3}, {10, 4}};
  series.count = 5;
  series.sum = 12.25;
  std::vector<pb::MetricFamily> parsed =
      Parse(SerializeProtobuf({OneHistogram(series)}));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].name(), "h_seconds");
  EXPECT_EQ(parsed[0].help(), "A histogram.");
  EXPECT_EQ(parsed[0].type(), pb::HISTOGRAM);
  ASSERT_EQ(parsed[0].metric_size(), 1);
  const pb::Metric& m = parsed[0].metric(0);
  ASSERT_EQ(m.label_size(), 1);
  EXPECT_EQ(m.label(0).name(), "route");
  EXPECT_EQ(m.label(0).value(), "/a");
  EXPECT_FALSE(m.has_counter());
  ASSERT_TRUE(m.has_histogram());
  const pb::Histogram& h = m.histogram();
  EXPECT_EQ(h.sample_count(), 5u);
  EXPECT_EQ(h.sample_sum(), 12.25);
  ASSERT_EQ(h.bucket_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(h.bucket(i).upper_bound(), series.buckets[i].first);
    EXPECT_EQ(h.bucket(i).cumulative_count(), series.buckets[i].second);
  }
  // Nothing native: Prometheus takes it as classic.
  EXPECT_FALSE(h.has_schema());
  EXPECT_FALSE(h.has_zero_threshold());
  EXPECT_FALSE(h.has_zero_count());
  EXPECT_EQ(h.positive_span_size() + h.negative_span_size(), 0);
  EXPECT_FALSE(NativeFor242(h));
  EXPECT_FALSE(NativeForLatest(h));
}

TEST(ProtobufExposition, NoInfBucketIsSent) {
  HistogramSample series;
  series.buckets = {{1, 2}, {std::numeric_limits<double>::infinity(), 3}};
  series.count = 3;
  std::vector<pb::MetricFamily> parsed =
      Parse(SerializeProtobuf({OneHistogram(series)}));
  ASSERT_EQ(parsed.size(), 1u);
  const pb::Histogram& h = parsed[0].metric(0).histogram();
  ASSERT_EQ(h.bucket_size(), 1);
  EXPECT_EQ(h.bucket(0).upper_bound(), 1);
  EXPECT_EQ(h.bucket(0).cumulative_count(), 2u);
}

TEST(ProtobufExposition, ClassicAndNative) {
  HistogramSample series;
  series.buckets = {{0.5, 2}, {2, 5}};
  series.count = 6;
  series.sum = 7;
  series.native = Native(3, kMinThreshold, 1, {{-8, 2}, {0, 1}, {8, 2}}, {});
  std::vector<pb::MetricFamily> parsed =
      Parse(SerializeProtobuf({OneHistogram(series)}));
  ASSERT_EQ(parsed.size(), 1u);
  const pb::Histogram& h = parsed[0].metric(0).histogram();
  ASSERT_EQ(h.bucket_size(), 2);
  EXPECT_EQ(h.bucket(1).upper_bound(), 2);
  EXPECT_EQ(h.bucket(1).cumulative_count(), 5u);
  EXPECT_EQ(h.schema(), 3);
  EXPECT_EQ(h.zero_count(), 1u);
  EXPECT_EQ(SpansOf(h.positive_span()), (Spans{{-8, 1}, {7, 1}, {7, 1}}));
  EXPECT_EQ(DeltasOf(h.positive_delta()), (std::vector<int64_t>{2, -1, 1}));
  EXPECT_TRUE(ValidFor242(h));
  EXPECT_TRUE(NativeFor242(h));
}

// A native-only histogram: no classic bucket in protobuf; the text formats
// ignore `native` and show the +Inf bucket, _sum and _count.
TEST(ProtobufExposition, NativeOnlyHistogram) {
  HistogramSample series;
  series.labels = {{"a", "b"}};
  series.count = 3;
  series.sum = 0.75;
  series.native = Native(3, kMinThreshold, 0, {{-5, 3}}, {});
  MetricFamily family = OneHistogram(series);
  std::vector<pb::MetricFamily> parsed = Parse(SerializeProtobuf({family}));
  ASSERT_EQ(parsed.size(), 1u);
  const pb::Histogram& h = parsed[0].metric(0).histogram();
  EXPECT_EQ(h.bucket_size(), 0);
  EXPECT_EQ(h.sample_count(), 3u);
  EXPECT_EQ(DeltasOf(h.positive_delta()), (std::vector<int64_t>{3}));
  const std::string expected =
      "# HELP h_seconds A histogram.\n"
      "# TYPE h_seconds histogram\n"
      "h_seconds_bucket{a=\"b\",le=\"+Inf\"} 3\n"
      "h_seconds_sum{a=\"b\"} 0.75\n"
      "h_seconds_count{a=\"b\"} 3\n";
  EXPECT_EQ(SerializeText({family}), expected);
  family.histograms[0].native.reset();
  EXPECT_EQ(SerializeText({family}), expected);
}

TEST(ProtobufExposition, TextIgnoresNative) {
  HistogramSample series;
  series.buckets = {{1, 1}};
  series.count = 2;
  series.sum = 3;
  MetricFamily classic = OneHistogram(series);
  series.native = Native(0, 0.1, 1, {{1, 1}}, {});
  MetricFamily both = OneHistogram(series);
  EXPECT_EQ(SerializeText({both}), SerializeText({classic}));
  EXPECT_EQ(SerializeOpenMetrics({both}), SerializeOpenMetrics({classic}));
}

TEST(ProtobufExposition, CountersGaugesUntyped) {
  const double inf = std::numeric_limits<double>::infinity();
  const double values[] = {
      0,    -0.0, 1,
      0.45, 1e21, -2.5,
      inf,  -inf, std::numeric_limits<double>::quiet_NaN()};
  const MetricKind kinds[] = {MetricKind::kCounter, MetricKind::kGauge,
                              MetricKind::kUntyped};
  const pb::MetricType types[] = {pb::COUNTER, pb::GAUGE, pb::UNTYPED};
  for (int k = 0; k < 3; ++k) {
    MetricFamily family;
    family.name = "x_total";
    family.kind = kinds[k];
    for (double v : values) {
      Sample sample;
      sample.labels = {{"v", std::to_string(family.samples.size())}};
      sample.value = v;
      family.samples.push_back(sample);
    }
    std::vector<pb::MetricFamily> parsed = Parse(SerializeProtobuf({family}));
    ASSERT_EQ(parsed.size(), 1u);
    EXPECT_EQ(parsed[0].type(), types[k]);
    EXPECT_TRUE(parsed[0].has_help());  // set, empty
    EXPECT_EQ(parsed[0].help(), "");
    ASSERT_EQ(parsed[0].metric_size(), static_cast<int>(std::size(values)));
    for (int i = 0; i < parsed[0].metric_size(); ++i) {
      const pb::Metric& m = parsed[0].metric(i);
      EXPECT_EQ(m.label(0).value(), std::to_string(i));
      EXPECT_EQ(m.has_counter(), k == 0);
      EXPECT_EQ(m.has_gauge(), k == 1);
      EXPECT_EQ(m.has_untyped(), k == 2);
      EXPECT_FALSE(m.has_histogram());
      EXPECT_FALSE(m.has_timestamp_ms());
      double got = k == 0   ? m.counter().value()
                   : k == 1 ? m.gauge().value()
                            : m.untyped().value();
      if (std::isnan(values[i])) {
        EXPECT_TRUE(std::isnan(got));
      } else {
        EXPECT_EQ(got, values[i]);
        EXPECT_EQ(std::signbit(got), std::signbit(values[i]));
      }
    }
  }
}

TEST(ProtobufExposition, HostileBytesSentAsTheyAre) {
  const std::string hostile = std::string("a\"b\\c\nd \xE2\x9C\x93 }{,=\t") +
                              std::string(1, '\0') + "\xff\xfe";
  MetricFamily family;
  family.name = "test_hostile_total";
  family.help = "Help with \"quotes\", \\ and\nnewlines \xE2\x9C\x93";
  family.kind = MetricKind::kCounter;
  Sample sample;
  sample.labels = {{"value", hostile}, {"empty", ""}};
  sample.value = 2;
  family.samples.push_back(sample);
  std::vector<pb::MetricFamily> parsed = Parse(SerializeProtobuf({family}));
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].help(), family.help);
  ASSERT_EQ(parsed[0].metric(0).label_size(), 2);
  EXPECT_EQ(parsed[0].metric(0).label(0).name(), "value");
  EXPECT_EQ(parsed[0].metric(0).label(0).value(), hostile);
  EXPECT_EQ(parsed[0].metric(0).label(1).name(), "empty");
  EXPECT_EQ(parsed[0].metric(0).label(1).value(), "");
  EXPECT_EQ(parsed[0].metric(0).counter().value(), 2);
}

TEST(ProtobufExposition, FamiliesAndSeriesInTheOrderGiven) {
  std::vector<MetricFamily> families;
  for (const char* name : {"zeta", "alpha", "mid", "empty_family"}) {
    MetricFamily family;
    family.name = name;
    family.help = std::string("help of ") + name;
    family.kind = MetricKind::kGauge;
    if (std::string(name) != "empty_family") {
      for (const char* value : {"3", "1", "2"}) {
        Sample sample;
        sample.labels = {{"n", value}};
        family.samples.push_back(sample);
      }
    }
    families.push_back(family);
  }
  std::vector<pb::MetricFamily> parsed = Parse(SerializeProtobuf(families));
  ASSERT_EQ(parsed.size(), 4u);
  for (size_t f = 0; f < 4; ++f) {
    EXPECT_EQ(parsed[f].name(), families[f].name);
    EXPECT_EQ(parsed[f].help(), families[f].help);
    ASSERT_EQ(parsed[f].metric_size(),
              static_cast<int>(families[f].samples.size()));
    for (int i = 0; i < parsed[f].metric_size(); ++i) {
      EXPECT_EQ(parsed[f].metric(i).label(0).value(),
                families[f].samples[i].labels[0].second);
    }
  }
  EXPECT_EQ(SerializeProtobuf({}), "");
}

// The family is assembled metric by metric: the same bytes libprotobuf
// writes for the whole message, prefixed with its varint length.
TEST(ProtobufExposition, BytesAreLibprotobufs) {
  MetricFamily family;
  family.name = "h";
  family.help = "x";
  family.kind = MetricKind::kHistogram;
  for (int i = 0; i < 1000; ++i) {  // a length that needs a 3-byte varint
    HistogramSample series;
    series.labels = {{"i", std::to_string(i)}};
    series.buckets = {{1, static_cast<uint64_t>(i)}};
    series.count = static_cast<uint64_t>(i) + 1;
    series.sum = i * 0.5;
    if (i % 2 == 0) series.native = Native(3, 0, 0, {{i, 1}}, {{-i, 1}});
    family.histograms.push_back(series);
  }
  const std::string body = SerializeProtobuf({family});
  std::vector<pb::MetricFamily> parsed = Parse(body);
  ASSERT_EQ(parsed.size(), 1u);
  const std::string message = parsed[0].SerializeAsString();
  std::string expected;
  {
    google::protobuf::io::StringOutputStream stream(&expected);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint32(static_cast<uint32_t>(message.size()));
    coded.WriteString(message);
  }
  EXPECT_GT(message.size(), 16384u);
  EXPECT_EQ(body, expected);
}

}  // namespace
}  // namespace pum
