// Allowlist: which metrics browsers may report, with their types, labels,
// allowed label values and histogram buckets.
//
// It is loaded from a directory of JSON files (metrics.d/*.json, read in name
// order). Each file is the seed's format,
//   {"allowedMetrics": [{"name", "help", "type", "labels", "buckets"}, ...]}
// plus pum's extensions (PRODUCT.md, "Allowlist"):
//   - a label has either "allowedValues" (a list of strings) or "pattern"
//     (a regular expression in RE2 syntax the whole value must match: the
//     common subset of ECMAScript without backreferences or lookaround);
//   - "maxValues" caps the distinct values kept for a label of a metric
//     (a pattern label without it is capped at 1000); the values past the
//     cap are stored under "overflowValue" (default "__overflow__");
//   - "buckets" may be omitted (Prometheus' default buckets).
//   - "max_inc" on a counter (a number > 0, below 2^53; default 1e6) bounds
//     one event's "inc"; "range": [min, max] on a histogram (finite,
//     min < max; default [-1e12, 1e12]) bounds each observation.
// Loading fails, naming "file:line: what", on: invalid JSON, unknown keys, a
// metric name or label name that is not a valid Prometheus name (or is
// reserved: "le" as a label, "pum_" as a metric prefix), a metric defined
// twice (in one file or across files), a type other than "counter" or
// "histogram", buckets that are not finite and strictly increasing, a label
// with both or neither of allowedValues/pattern, a pattern that does not
// compile, and duplicate label names or allowed values. Every error found is
// reported, one per line of the Status message.
//
// An Allowlist is immutable after loading and safe to share between threads.
#ifndef PUM_SCHEMA_ALLOWLIST_ALLOWLIST_H_
#define PUM_SCHEMA_ALLOWLIST_ALLOWLIST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/base/status.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace pum {

enum class MetricType { kCounter, kHistogram };

// "counter" or "histogram".
const char* MetricTypeName(MetricType type);

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

  bool enumerated() const { return pattern.empty(); }
  // True if `value` is allowed: one of allowed_values, or a full match of
  // the pattern. Does not apply max_values (that needs the store).
  bool Allows(std::string_view value) const;
};

// The defaults of "max_inc" and "range".
inline constexpr double kDefaultMaxInc = 1e6;
inline constexpr double kDefaultRangeBound = 1e12;
// The "maxValues" of a pattern label that does not set one.
inline constexpr uint32_t kDefaultPatternMaxValues = 1000;

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
  std::string file;  // where it was defined, for messages
  int line = 0;

  const LabelDef* FindLabel(std::string_view label_name) const;
  // True if every label is enumerated, so that every combination can be
  // exported at zero from the start.
  bool FullyEnumerated() const;
};

// Prometheus' default histogram buckets (.005 ... 10).
const std::vector<double>& DefaultBuckets();

// True for [a-zA-Z_:][a-zA-Z0-9_:]* (metric names) and
// [a-zA-Z_][a-zA-Z0-9_]* (label names).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

class Allowlist {
 public:
  Allowlist() = default;

  // Loads every *.json file in `dir` (in name order). On error `out` is left
  // unchanged and the Status lists every problem as "file:line: message".
  static Status LoadDir(const std::string& dir, Allowlist* out);

  // Parses one file's text; `filename` is used in messages. Definitions are
  // added to those already in `this`; a name defined twice is an error.
  Status AddFile(const std::string& text, const std::string& filename);

  // The metric called `name`, or null.
  const MetricDef* Find(std::string_view name) const;

  // All metrics, sorted by name.
  const std::vector<MetricDef>& metrics() const { return metrics_; }

 private:
  std::vector<MetricDef> metrics_;  // sorted by name
};

// A cheap fingerprint of the *.json files in `dir` (names, sizes, mtimes):
// when it changes, the allowlist should be reloaded. Empty if `dir` is
// unreadable.
std::string AllowlistFingerprint(const std::string& dir);

// pum's own metrics (pum_reports_total, pum_ingest_requests_total{code}, ...)
// as definitions with HELP and TYPE. Their names start with "pum_", which an
// allowlist file may not use.
const std::vector<MetricDef>& InternalMetrics();

// The internal metrics' names.
inline constexpr char kReportsTotal[] = "pum_reports_total";
inline constexpr char kRequestsTotal[] = "pum_ingest_requests_total";
inline constexpr char kEventsRejectedTotal[] =
    "pum_ingest_events_rejected_total";
inline constexpr char kEventsAcceptedTotal[] =
    "pum_ingest_events_accepted_total";
inline constexpr char kDuplicateBatchesTotal[] =
    "pum_ingest_duplicate_batches_total";

// Why an event was rejected: the `reason` of a 200/422 answer and the label
// value of pum_ingest_events_rejected_total. RejectionReasons() lists them
// all (they are the label's allowedValues).
namespace reason {
inline constexpr char kBadEvent[] = "bad_event";  // not an object, no name
inline constexpr char kUnknownMetric[] = "unknown_metric";
inline constexpr char kTypeMismatch[] = "type_mismatch";
inline constexpr char kBadLabels[] = "bad_labels";  // wrong set or not strings
inline constexpr char kLabelValueNotAllowed[] = "label_value_not_allowed";
inline constexpr char kLabelValueTooLong[] = "label_value_too_long";
inline constexpr char kBadValue[] = "bad_value";
inline constexpr char kTooManyObservations[] = "too_many_observations";
inline constexpr char kTooManyEvents[] = "too_many_events";
// inc over max_inc, an observation outside range, or a delta that would make
// a stored total non-finite or inexact.
inline constexpr char kValueOutOfRange[] = "value_out_of_range";
}  // namespace reason
const std::vector<std::string>& RejectionReasons();

// The HTTP status codes pum-ingest answers with, as label values of
// pum_ingest_requests_total{code}.
const std::vector<std::string>& IngestStatusCodes();

}  // namespace pum

#endif  // PUM_SCHEMA_ALLOWLIST_ALLOWLIST_H_
