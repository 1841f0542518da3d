#include "exporter/protobuf_exposition.h"

#include <google/protobuf/io/coded_stream.h>

#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "exporter/metrics.pb.h"

namespace pum {
namespace {

namespace pb = ::io::prometheus::client;
using ::google::protobuf::io::CodedOutputStream;

// MetricFamily.metric = 4, length-delimited: (4 << 3) | 2.
constexpr uint8_t kMetricTag = 0x22;

void AppendVarint(std::string* out, uint64_t value) {
  uint8_t buf[10];
  uint8_t* end = CodedOutputStream::WriteVarint64ToArray(value, buf);
  out->append(reinterpret_cast<const char*>(buf), end - buf);
}

// Appends `message` serialized (its fields in number order).
void AppendMessage(std::string* out, const ::google::protobuf::MessageLite& m) {
  const size_t size = m.ByteSizeLong();
  const size_t at = out->size();
  out->resize(at + size);
  // A Metric or a family's header is far below protobuf's 2 GiB limit.
  bool ok = m.SerializeToArray(&(*out)[at], static_cast<int>(size));
  assert(ok);
  (void)ok;
}

pb::MetricType TypeOf(MetricKind kind) {
  switch (kind) {
    case MetricKind::kCounter:
      return pb::COUNTER;
    case MetricKind::kGauge:
      return pb::GAUGE;
    case MetricKind::kHistogram:
      return pb::HISTOGRAM;
    case MetricKind::kUntyped:
      break;
  }
  return pb::UNTYPED;
}

void SetLabels(const LabelPairs& labels, pb::Metric* metric) {
  for (const auto& [name, value] : labels) {
    pb::LabelPair* pair = metric->add_label();
    pair->set_name(name);
    pair->set_value(value);
  }
}

// client_golang's makeBuckets(): spans and deltas of (index, count) pairs.
template <typename AddSpan, typename AddDelta>
void EncodeBuckets(const std::vector<std::pair<int32_t, uint64_t>>& buckets,
                   AddSpan add_span, AddDelta add_delta) {
  pb::BucketSpan* span = nullptr;
  int64_t previous = 0;  // the previous bucket's count
  int64_t next = 0;      // the index after the previous bucket
  for (size_t n = 0; n < buckets.size(); ++n) {
    const int64_t index = buckets[n].first;
    assert(buckets[n].second <=
           static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    const int64_t count = static_cast<int64_t>(buckets[n].second);
    assert(n == 0 || index >= next);  // strictly increasing
    const int64_t gap = index - next;
    if (n == 0 || gap > 2) {
      span = add_span();
      span->set_offset(static_cast<int32_t>(gap));
      span->set_length(0);
    } else {
      for (int64_t i = 0; i < gap; ++i) {
        span->set_length(span->length() + 1);
        add_delta(-previous);
        previous = 0;
      }
    }
    span->set_length(span->length() + 1);
    add_delta(count - previous);
    previous = count;
    next = index + 1;
  }
}

void SetNative(const NativeBuckets& native, pb::Histogram* h) {
  h->set_schema(native.schema);
  h->set_zero_threshold(native.zero_threshold);
  h->set_zero_count(native.zero_count);
  EncodeBuckets(
      native.negative, [h] { return h->add_negative_span(); },
      [h](int64_t delta) { h->add_negative_delta(delta); });
  EncodeBuckets(
      native.positive, [h] { return h->add_positive_span(); },
      [h](int64_t delta) { h->add_positive_delta(delta); });
  if (native.zero_threshold == 0 && native.zero_count == 0 &&
      h->positive_span_size() == 0 && h->negative_span_size() == 0) {
    // No observation yet: a no-op span marks it native (client_golang).
    pb::BucketSpan* span = h->add_positive_span();
    span->set_offset(0);
    span->set_length(0);
  }
}

void SetHistogram(const HistogramSample& series, pb::Metric* metric) {
  pb::Histogram* h = metric->mutable_histogram();
  h->set_sample_count(series.count);
  h->set_sample_sum(series.sum);
  for (const auto& [bound, cumulative] : series.buckets) {
    if (std::isinf(bound) && bound > 0) continue;  // made from sample_count
    pb::Bucket* bucket = h->add_bucket();
    bucket->set_cumulative_count(cumulative);
    bucket->set_upper_bound(bound);
  }
  if (series.native.has_value()) SetNative(*series.native, h);
}

// Appends one Metric field (tag, length, message) to *out.
void AppendMetric(std::string* out, const pb::Metric& metric) {
  out->push_back(static_cast<char>(kMetricTag));
  AppendVarint(out, metric.ByteSizeLong());
  AppendMessage(out, metric);
}

}  // namespace

void AppendProtobufMetrics(std::string* out, const MetricFamily& family) {
  // One Metric message at a time, reused, so a large family never is one
  // big message (nor bound by protobuf's 2 GiB message limit).
  pb::Metric metric;
  if (family.kind == MetricKind::kHistogram) {
    for (const HistogramSample& series : family.histograms) {
      metric.Clear();
      SetLabels(series.labels, &metric);
      SetHistogram(series, &metric);
      AppendMetric(out, metric);
    }
    return;
  }
  for (const Sample& sample : family.samples) {
    metric.Clear();
    SetLabels(sample.labels, &metric);
    switch (family.kind) {
      case MetricKind::kCounter:
        metric.mutable_counter()->set_value(sample.value);
        break;
      case MetricKind::kGauge:
        metric.mutable_gauge()->set_value(sample.value);
        break;
      default:
        metric.mutable_untyped()->set_value(sample.value);
        break;
    }
    AppendMetric(out, metric);
  }
}

void AppendProtobufFamilyHeader(std::string* out, const MetricFamily& family,
                                size_t metrics_size) {
  pb::MetricFamily header;
  header.set_name(family.name);
  header.set_help(family.help);
  header.set_type(TypeOf(family.kind));
  // The bytes libprotobuf would write for the whole message: name, help,
  // type, then each metric (fields in number order).
  AppendVarint(out, header.ByteSizeLong() + metrics_size);
  AppendMessage(out, header);
}

void AppendProtobufFamily(std::string* out, const MetricFamily& family) {
  std::string metrics;
  AppendProtobufMetrics(&metrics, family);
  AppendProtobufFamilyHeader(out, family, metrics.size());
  out->append(metrics);
}

std::string SerializeProtobuf(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& family : families) {
    AppendProtobufFamily(&out, family);
  }
  return out;
}

}  // namespace pum
