// Protobuf exposition: metric families (exposition.h's plain data) as
// Prometheus' protobuf format, "application/vnd.google.protobuf;
// proto=io.prometheus.client.MetricFamily; encoding=delimited", the one
// format that carries native histograms. The messages are
// exporter/metrics.proto (after prometheus/client_model's metrics.proto).
//
// Contract:
//   - Pure, like exposition.h's serializers: no I/O, no global state, no
//     locale; families in the order given, series in the order given.
//   - Each family is one io.prometheus.client.MetricFamily message,
//     preceded by its length as a varint, as client_golang's expfmt writes
//     them (pbutil.WriteDelimited) and Prometheus reads them (readDelimited
//     in model/textparse/protobufparse.go). The bytes are those libprotobuf
//     writes for the message: fields in number order. A family without
//     series is still sent (name, help, type, no metric; Prometheus skips
//     it).
//   - name, help (even empty) and type (COUNTER, GAUGE, UNTYPED, HISTOGRAM)
//     are always set; help and label values are sent as they are (no
//     escaping: any byte is fine in protobuf; Prometheus wants UTF-8).
//     Labels in the order given (Prometheus sorts them).
//   - Counters, gauges, untyped: Metric.counter / gauge / untyped .value.
//   - Histograms: sample_count, sample_sum, and a Bucket (cumulative_count,
//     upper_bound) per classic bucket given, in the order given, except a
//     +Inf bound: like client_golang, no +Inf bucket is sent (Prometheus
//     makes it from sample_count). No classic bucket for a series without
//     any (native-only).
//   - HistogramSample::native, when set: schema, zero_threshold and
//     zero_count always, then the positive and negative buckets as spans
//     and deltas, as client_golang's makeBuckets() builds them: the first
//     span's offset is the first bucket's index, a later span's offset the
//     gap since the previous span's last bucket; a gap of one or two
//     buckets does not start a new span but is filled with empty buckets;
//     each delta is the bucket's count minus the previous bucket's (0 before
//     the first) in the same (positive or negative) list. A native
//     histogram with no bucket, no zero count and a zero_threshold of 0
//     gets a no-op positive span (offset 0, length 0), as client_golang
//     sends, so that newer Prometheus versions see it as native.
//     Prometheus 2.42 decides from the first series of a family alone, and
//     sees a histogram as native only with a delta, a zero_count > 0 or a
//     zero_threshold > 0 (isNativeHistogram()): a series meant as native
//     needs a zero_threshold > 0 (client_golang's default is 2^-128) to be
//     seen as native before its first observation.
//   - The caller keeps NativeBuckets' invariants (strictly increasing
//     indexes in each list; counts fit in int64); debug builds assert them.
#ifndef PUM_EXPORTER_PROTOBUF_EXPOSITION_H_
#define PUM_EXPORTER_PROTOBUF_EXPOSITION_H_

#include <string>
#include <vector>

#include "exporter/exposition.h"

namespace pum {

// The Content-Type of the protobuf exposition.
inline constexpr char kProtobufContentType[] =
    "application/vnd.google.protobuf; "
    "proto=io.prometheus.client.MetricFamily; encoding=delimited";

// The families as a sequence of length-delimited MetricFamily messages.
std::string SerializeProtobuf(const std::vector<MetricFamily>& families);

// Appends one family (its varint length, then the message) to *out.
void AppendProtobufFamily(std::string* out, const MetricFamily& family);

// AppendProtobufFamily() in two parts, for a caller that keeps a family's
// series in pieces (scrape_model.h caches them per chunk): the Metric
// fields (tag, length, message) of the family's series, in order, which
// concatenate; and the family's varint length and its name, help and type
// fields, for metrics_size bytes of Metric fields after them (the series
// of `family` are not read). AppendProtobufFamily() is the header for the
// family's metrics, then the metrics.
void AppendProtobufMetrics(std::string* out, const MetricFamily& family);
void AppendProtobufFamilyHeader(std::string* out, const MetricFamily& family,
                                size_t metrics_size);

}  // namespace pum

#endif  // PUM_EXPORTER_PROTOBUF_EXPOSITION_H_
