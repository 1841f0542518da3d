// Allowlist: which metrics browsers may report, with their types, labels,
// allowed label values and histogram buckets (metric.h), as loaded from a
// directory of allowlist files (metrics.d/*.json).
//
// Contract:
//   - LoadDir() reads every *.json file of the directory, in name order;
//     each file is parsed on its own (file_parser.h: the format and what a
//     file may not hold), then merged into the definitions of the files
//     before it.
//   - Merging refuses a metric defined twice (in one file or across files)
//     and a metric named like a series of a histogram (foo_bucket, foo_sum
//     or foo_count beside histogram foo), in whichever order they come.
//   - Loading is all or nothing: on any problem the allowlist is left as it
//     was, and the Status (InvalidArgument) lists every problem found, one
//     "file:line: message" per line, files in name order, lines in order.
//   - Loaded, an Allowlist is not changed (pum-exporter swaps in a new one
//     on reload) and is then safe to share between threads.
//
// pum's own metrics (pum_*) are not in any allowlist: see
// schema/own_metrics/own_metrics.h.
#ifndef PUM_SCHEMA_ALLOWLIST_ALLOWLIST_H_
#define PUM_SCHEMA_ALLOWLIST_ALLOWLIST_H_

#include <string>
#include <string_view>
#include <vector>

#include "schema/allowlist/metric.h"
#include "schema/base/status.h"

namespace pum {

class Allowlist {
 public:
  Allowlist() = default;

  // Loads every *.json file in `dir` (regular files or links to them, not
  // hidden ones; in name order) into `out`, replacing what it held. An
  // empty directory gives an empty allowlist. A directory that does not
  // exist is NotFound, one that cannot be read IoError; a file that cannot
  // be read is a problem like the others. On error `out` is unchanged.
  static Status LoadDir(const std::string& dir, Allowlist* out);

  // Parses one file's text and merges its definitions into those already
  // here; `filename` is used in messages and MetricDef::file. On error
  // (InvalidArgument, every problem listed) nothing is added.
  Status AddFile(const std::string& text, const std::string& filename);

  // The metric called `name`, or null. The pointer stays valid while this
  // Allowlist is neither changed nor destroyed.
  const MetricDef* Find(std::string_view name) const;

  // All metrics, sorted by name.
  const std::vector<MetricDef>& metrics() const { return metrics_; }

 private:
  std::vector<MetricDef> metrics_;  // sorted by name, names unique
};

// A cheap fingerprint of the *.json files in `dir` (names, sizes, mtimes in
// nanoseconds), which changes when one of them is added, removed or
// written: then the allowlist should be reloaded. Other files are ignored.
// Empty if `dir` cannot be read. Meant to be compared for equality only.
std::string AllowlistFingerprint(const std::string& dir);

}  // namespace pum

#endif  // PUM_SCHEMA_ALLOWLIST_ALLOWLIST_H_
