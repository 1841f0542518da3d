// The metric model: what pum knows about one metric it accepts and exports
// (its type, its labels with their allowed values or pattern and caps, a
// histogram's buckets, the bounds of one event), and the Prometheus name
// rules those definitions follow.
//
// MetricDef and LabelDef are plain values. The allowlist's file parser
// builds them from the files in metrics.d/ (file_parser.h), own_metrics.h
// builds pum's own; fcgi-ingest's validator judges events against them and
// the exporter renders their HELP, TYPE and zero series. Once built they
// are not changed, and are then safe to share between threads (RE2 matching
// is thread-safe).
#ifndef PUM_SCHEMA_ALLOWLIST_METRIC_H_
#define PUM_SCHEMA_ALLOWLIST_METRIC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/native/native_histogram.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace pum {

enum class MetricType { kCounter, kHistogram };

// "counter" or "histogram": the word of the allowlist's "type" and of the
// exposition's # TYPE line.
const char* MetricTypeName(MetricType type);

// The defaults of "max_inc" and "range".
inline constexpr double kDefaultMaxInc = 1e6;
inline constexpr double kDefaultRangeBound = 1e12;
// The "maxValues" of a pattern label that does not set one.
inline constexpr uint32_t kDefaultPatternMaxValues = 1000;
// The prefix of pum's own metric names (own_metrics.h), which an allowlist
// file may not use.
inline constexpr char kReservedMetricPrefix[] = "pum_";

// One label of a metric: either enumerated (`allowed_values`) or matched by
// a pattern (`pattern` and its compiled `regex`), never both.
struct LabelDef {
  std::string name;
  // The enumerated values, in file order; empty when `pattern` is used.
  std::vector<std::string> allowed_values;
  // The pattern source (RE2 syntax); empty when `allowed_values` is used.
  std::string pattern;
  // `pattern` compiled by RE2, anchored at both ends; null when
  // `allowed_values` is used. RE2 matches in time linear in the value's
  // length and never recurses on its input, whatever the pattern.
  std::shared_ptr<const re2::RE2> regex;
  // The most distinct values kept for this label of this metric; 0 (no cap)
  // only for an enumerated label. A pattern label without "maxValues" gets
  // kDefaultPatternMaxValues.
  uint32_t max_values = 0;
  // Where values past `max_values` are counted.
  std::string overflow_value = "__overflow__";

  // True for an enumerated label (no pattern).
  bool enumerated() const { return pattern.empty(); }

  // True if `value` is allowed: one of allowed_values (exactly, bytes
  // compared), or a full match of the pattern. Does not apply max_values
  // (that needs the store). A pattern label must have its `regex`.
  bool Allows(std::string_view value) const;
};

// One metric: a counter or a histogram with its labels.
struct MetricDef {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<LabelDef> labels;  // in file order; exported in this order
  // Histogram bucket upper bounds, finite and strictly increasing, without
  // +Inf. Empty for counters.
  std::vector<double> buckets;
  // The most one counter event may add ("max_inc"; counters only).
  double max_inc = kDefaultMaxInc;
  // The values a histogram observation may take ("range": [min, max],
  // inclusive; histograms only).
  double range_min = -kDefaultRangeBound;
  double range_max = kDefaultRangeBound;
  // Also kept as a Prometheus native histogram ("native": true, or
  // {"schema": S, "max_buckets": N}; histograms only). A native histogram
  // without "buckets" has no classic buckets (empty `buckets`).
  bool native = false;
  // The native histogram's schema (resolution), -4 to 8; default 3.
  int native_schema = kNativeDefaultSchema;
  // The most buckets a native series keeps before its resolution is
  // reduced; default 160.
  uint32_t native_max_buckets = kNativeDefaultMaxBuckets;
  // "series_ttl", in milliseconds: a stored series of this metric not
  // updated for this long is removed (the exporter's upkeep does it) and
  // its capped label values free their slots. 0 (the default): series never
  // expire. Only a metric with a pattern label may set it; at least 1000
  // (one second).
  int64_t series_ttl_ms = 0;
  std::string file;  // where it was defined, for messages ("" for pum's own)
  int line = 0;

  // The label called `label_name`, or null.
  const LabelDef* FindLabel(std::string_view label_name) const;

  // The classic bucket bounds: `buckets`, or Prometheus' default buckets
  // when a histogram that is not native has none (pum's own definitions).
  const std::vector<double>& ClassicBounds() const;

  // True if every label is enumerated (none, too), so that every
  // combination can be exported at zero from the start.
  bool FullyEnumerated() const;
};

// Prometheus' default histogram buckets (.005 ... 10), the buckets of a
// histogram whose definition gives none.
const std::vector<double>& DefaultBuckets();

// True for [a-zA-Z_:][a-zA-Z0-9_:]* (metric names) and
// [a-zA-Z_][a-zA-Z0-9_]* (label names), ASCII only. Reserved names ("le",
// "__..." labels, the "pum_" prefix) are valid here; the allowlist's file
// parser refuses them.
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace pum

#endif  // PUM_SCHEMA_ALLOWLIST_METRIC_H_
