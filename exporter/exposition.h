// Exposition: metric families as plain data, and pure serializers for the
// Prometheus text format 0.0.4 and OpenMetrics 1.0 (after prometheus-cpp's
// MetricFamily / TextSerializer).
//
// Contract:
//   - The serializers are pure functions of their input: no I/O, no global
//     state, no locale. They print families in the order given and series in
//     the order given; the caller sorts (Collect() does).
//   - SerializeText() and SerializeOpenMetrics() are built from the building
//     blocks below (FamilyLayout, RenderLabels(), AppendSampleLine(),
//     AppendHistogramLines()), which callers that keep rendered text between
//     scrapes (scrape_model.h) use too: both paths give the same bytes.
//   - Family names are unique and valid Prometheus metric names, label names
//     valid label names; the serializers do not check this.
//   - HELP and TYPE are printed once per family (HELP only when non-empty),
//     even for a family without series.
//   - Label values are escaped: backslash, double quote and line feed become
//     \\, \" and \n; any other byte (UTF-8 included) is copied as is. HELP is
//     escaped the same way except that the text format leaves '"' alone.
//   - Numbers are printed as Go's strconv.FormatFloat(v, 'g', -1, 64) prints
//     them, which is what client_golang sends: the shortest digits that
//     read back to the same double (0.45, not 0.45000000000000001), fixed
//     notation for decimal exponents -4..5 and exponent notation otherwise
//     (1e-05, 1.5e+06, 1e+21), integers without a point ("7"), "-0", "+Inf",
//     "-Inf", "NaN". Never affected by the C or C++ global locale.
//   - HistogramSample::native is ignored here: the text formats carry the
//     classic buckets only (protobuf_exposition.h sends both).
//   - Histogram buckets are given cumulative, in increasing bound order,
//     without +Inf; the serializers add the +Inf bucket with the series'
//     count. In the text format the "le" label is FormatNumber(bound); in
//     OpenMetrics it is the spec's canonical form, with ".0" appended to a
//     bound that has neither a point nor an exponent ("1.0", "0.05",
//     "1e-05", "+Inf").
//   - OpenMetrics: a counter family named "x_total" is announced as "x" with
//     samples "x_total"; a counter whose name does not end in "_total" is
//     announced as type "unknown" under its own name, so that the sample
//     names are the same in both formats. Untyped becomes "unknown". The
//     exposition ends with "# EOF\n".
#ifndef PUM_EXPORTER_EXPOSITION_H_
#define PUM_EXPORTER_EXPOSITION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pum {

enum class MetricKind { kCounter, kGauge, kHistogram, kUntyped };

// Text format 0.0.4 or OpenMetrics 1.0.
enum class ExpositionFormat { kText, kOpenMetrics };

// Label (name, value) pairs, in the order they are printed.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// One series of a counter, gauge or untyped family.
struct Sample {
  LabelPairs labels;
  double value = 0;
};

// The native (sparse exponential) part of a histogram series, as Prometheus
// defines it; absent for classic-only histograms.
struct NativeBuckets {
  int32_t schema = 3;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  // (bucket index, count): non-zero counts, strictly increasing index;
  // negative: buckets of |value|.
  std::vector<std::pair<int32_t, uint64_t>> positive;
  std::vector<std::pair<int32_t, uint64_t>> negative;
};

// One series of a histogram family.
struct HistogramSample {
  LabelPairs labels;
  // (upper bound, cumulative count), increasing bounds, without +Inf; may
  // be empty (a native-only histogram: the text formats then show only the
  // +Inf bucket, _sum and _count).
  std::vector<std::pair<double, uint64_t>> buckets;
  uint64_t count = 0;  // also the +Inf bucket
  double sum = 0;
  // The native buckets; only the protobuf format carries them
  // (protobuf_exposition.h), the text formats ignore them.
  std::optional<NativeBuckets> native;
};

struct MetricFamily {
  std::string name;
  std::string help;
  MetricKind kind = MetricKind::kUntyped;
  std::vector<Sample> samples;              // counter, gauge, untyped
  std::vector<HistogramSample> histograms;  // histogram
};

// Text format 0.0.4.
std::string SerializeText(const std::vector<MetricFamily>& families);

// OpenMetrics 1.0 text, ending with "# EOF\n".
std::string SerializeOpenMetrics(const std::vector<MetricFamily>& families);

// The families in `format` without OpenMetrics' closing "# EOF\n", for
// callers that assemble a body from parts.
std::string SerializeFamilies(const std::vector<MetricFamily>& families,
                              ExpositionFormat format);

// What every line of one family shares in one format, computed once.
struct FamilyLayout {
  ExpositionFormat format = ExpositionFormat::kText;
  std::string name;
  MetricKind kind = MetricKind::kUntyped;
  // The family's HELP and TYPE lines, in the format's order.
  std::string header;
  // Histograms: the "le" value of each bound, empty for a +Inf bound
  // (skipped: the +Inf bucket is the count).
  std::vector<std::string> le;
};

// The layout of a family `name` of `kind`; `bounds` (histograms) are the
// bounds of every series of the family.
FamilyLayout MakeFamilyLayout(ExpositionFormat format, const std::string& name,
                              const std::string& help, MetricKind kind,
                              const std::vector<double>& bounds);

// `a="x",b="y"`: the labels inside the braces, values escaped; "" if none.
std::string RenderLabels(const LabelPairs& labels);

// One counter, gauge or untyped sample: `name{labels} value\n`; `labels` as
// RenderLabels() renders them.
void AppendSampleLine(std::string* out, const FamilyLayout& layout,
                      std::string_view labels, double value);

// One histogram series: a bucket line per layout.le (cumulative[i] for
// bound i, skipping +Inf bounds), the +Inf bucket with `count`, _sum and
// _count.
void AppendHistogramLines(std::string* out, const FamilyLayout& layout,
                          std::string_view labels, const uint64_t* cumulative,
                          uint64_t count, double sum);

// Appends FormatNumber(value).
void AppendNumber(std::string* out, double value);

// Building blocks, exposed for tests.
std::string FormatNumber(double value);
std::string FormatCanonicalNumber(double value);  // OpenMetrics "le"
std::string EscapeLabelValue(std::string_view value);

}  // namespace pum

#endif  // PUM_EXPORTER_EXPOSITION_H_
