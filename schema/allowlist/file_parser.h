// The allowlist file parser: reads one allowlist file into metric
// definitions (metric.h), checking everything that can be checked within a
// file, and names every problem "file:line: message" so that whoever edits
// the file finds it.
//
// The format is the seed's,
//   {"allowedMetrics": [{"name", "help", "type", "labels", "buckets"}, ...]}
// plus pum's extensions (documented for users with the configuration, "The
// allowlist"):
//   - a label has either "allowedValues" (a list of strings) or "pattern"
//     (a regular expression in RE2 syntax the whole value must match: the
//     common subset of ECMAScript without backreferences or lookaround);
//   - "maxValues" caps the distinct values kept for a label of a metric
//     (a pattern label without it is capped at kDefaultPatternMaxValues);
//     the values past the cap are stored under "overflowValue" (default
//     "__overflow__");
//   - "buckets" may be omitted (DefaultBuckets());
//   - "max_inc" on a counter (a number > 0, below 2^53; default
//     kDefaultMaxInc) bounds one event's "inc"; "range": [min, max] on a
//     histogram (finite, min < max; default +-kDefaultRangeBound) bounds each
//     observation;
//   - "series_ttl" (a duration in Prometheus' syntax, see
//     ParseDuration(): "30d", "1h30m"; from 1s to 100y) on a metric with a
//     pattern label: a series not updated for that long expires.
// A problem is: invalid JSON (a NUL byte included), an unknown or duplicate
// key, a metric name or label name that is not a valid Prometheus name or
// is reserved ("le" and "__..." as a label, kReservedMetricPrefix as a
// metric prefix), a type other than "counter" or "histogram", buckets that
// are not finite and strictly increasing, a key of the other type
// ("buckets" or "range" on a counter, "max_inc" on a histogram), a label
// with both or neither of allowedValues/pattern, a pattern that does not
// compile, duplicate label names or allowed values, enumerated values
// that make more than 10000 series for one metric, and a "series_ttl" that is
// not a duration from 1s to 100y or is on a metric without a pattern label.
//
// Names defined twice and names that collide with a histogram's series are
// not the parser's to find: they involve other metrics, maybe of other
// files, and the Allowlist checks them when it merges (allowlist.h).
#ifndef PUM_SCHEMA_ALLOWLIST_FILE_PARSER_H_
#define PUM_SCHEMA_ALLOWLIST_FILE_PARSER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/allowlist/metric.h"

namespace pum {

// The problems found in one allowlist file, reported as "file:line:
// message" lines in line order (problems on one line in the order found).
class FileErrors {
 public:
  explicit FileErrors(std::string filename) : filename_(std::move(filename)) {}

  // Adds `message` about line `line` (>= 1) of the file.
  void Add(int line, std::string message);
  // Adds a message that already names the file and line (the JSON reader's);
  // it is reported before the others, as it is.
  void AddFormatted(std::string message);

  bool empty() const { return errors_.empty(); }
  const std::string& filename() const { return filename_; }

  // Appends the problems to `out`, one "file:line: message" line each,
  // sorted by line.
  void AppendTo(std::vector<std::string>* out) const;

 private:
  std::string filename_;
  // (line, the whole message line); line 0 for AddFormatted().
  std::vector<std::pair<int, std::string>> errors_;
};

// Parses `text`, the contents of the file errors->filename(). Appends to
// `out`, in file order, every metric definition that has no problem (with
// `file` and `line` saying where its "name" is, and the defaults filled
// in), and every problem found to `errors`. A file that is not JSON is one
// problem and gives no definitions.
void ParseAllowlistFile(const std::string& text, FileErrors* errors,
                        std::vector<MetricDef>* out);

// Parses a duration in Prometheus' syntax: one or more <digits><unit>, the
// units in the order y (365d), w (7d), d, h, m, s, ms, each at most once
// ("30d", "1h30m", "1500ms"), into milliseconds. False for anything else
// (empty, a sign, a space, a fraction, units out of order or repeated, an
// unknown unit) or a value above kMaxSeriesTtlMs.
inline constexpr int64_t kMaxSeriesTtlMs = 100LL * 365 * 86400 * 1000;
bool ParseDuration(std::string_view text, int64_t* ms);

}  // namespace pum

#endif  // PUM_SCHEMA_ALLOWLIST_FILE_PARSER_H_
