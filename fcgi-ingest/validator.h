// Validator: a batch's events, judged one by one against the allowlist,
// become the deltas to store plus the list of rejected events.
//
// Contract (the reasons are the reason:: constants of
// schema/allowlist/allowlist.h):
//   - Events past Options::max_events_per_batch: too_many_events.
//   - An event must be an object with string "metricName" and
//     "metricType": else bad_event. Other keys are ignored.
//   - The name must be in the allowlist (unknown_metric) and the type must
//     be the allowlist's ("counter" / "histogram"): else type_mismatch.
//   - "labels" is an object of string values (omitted or null = {}); its
//     names must be exactly the metric's label names, each once: else
//     bad_labels. Then, in the metric's label order, a value longer than
//     Options::max_label_value_bytes is label_value_too_long, and a value
//     holding a NUL character or not allowed by LabelDef::Allows is
//     label_value_not_allowed.
//   - A counter needs "inc", a finite number >= 0 (bad_value) and at most
//     the metric's max_inc (value_out_of_range). A histogram needs
//     "observations", a non-empty array (bad_value) of at most
//     Options::max_observations_per_event elements (too_many_observations),
//     each a finite number (bad_value) inside the metric's range
//     (value_out_of_range).
//   - Sampling: `sample` (the batch's "sample", 1-kMaxSample, default 1)
//     multiplies what every valid event adds: a counter's inc, each
//     observation's bucket count and the histogram's count (by N), and the
//     sum of its observations. The checks above (max_inc, range) judge the
//     values as sent; the exact-range checks below judge the scaled ones.
//   - An event that would make its series' (scaled) increment within the
//     batch reach 2^53, or its (scaled) sum overflow, is value_out_of_range
//     (the store refuses those).
//   - Each valid event adds to the delta of its series; the deltas of one
//     series within a batch are merged. Each Label carries its LabelDef's
//     max_values and overflow_value for the store. An observation goes to
//     the smallest allowlist bucket bound >= its value, else to +Inf; the
//     HistogramDelta lists only buckets that got observations, by bound.
//   - Counter deltas are in the order their series first appear, and so are
//     histogram deltas; Batch::id is left unset.
//   - Cost: an event's fields are read in one pass over its members; label
//     values stay views into the tree while they are checked and while
//     their series is looked up (a table keyed by MetricDef and values, no
//     key string built), and only a series' first event builds its Labels.
//     Nothing is allocated per event beyond the deltas themselves.
#ifndef PUM_FCGI_INGEST_VALIDATOR_H_
#define PUM_FCGI_INGEST_VALIDATOR_H_

#include <rapidjson/document.h>

#include <cstddef>
#include <vector>

#include "schema/allowlist/allowlist.h"
#include "schema/config/config.h"
#include "schema/own_metrics/own_metrics.h"
#include "schema/store/store.h"

namespace pum {

struct Rejection {
  size_t index = 0;         // position of the event in the batch
  const char* reason = "";  // one of the reason:: constants
};

struct ValidationResult {
  Batch batch;                      // the valid events' deltas
  size_t accepted = 0;              // how many events were valid
  std::vector<Rejection> rejected;  // by index
  // The events merged into each delta: counter_events[i] lists the indices
  // of the events in batch.counters[i] (ascending); same for histograms.
  std::vector<std::vector<size_t>> counter_events;
  std::vector<std::vector<size_t>> histogram_events;
  // The factor the deltas were multiplied by (the batch's "sample").
  int sample = 1;

  // Moves the events of the given deltas (indices into batch.counters and
  // batch.histograms, ascending) to `rejected` with `reason` and removes
  // those deltas from the batch; `rejected` stays sorted by index.
  void RejectDeltas(const std::vector<size_t>& counters,
                    const std::vector<size_t>& histograms, const char* reason);
};

// Judges every element of `events` (a JSON array), the deltas of the valid
// ones multiplied by `sample` (>= 1). `out` must be empty.
void ValidateEvents(const rapidjson::Value& events, const Allowlist& allowlist,
                    const Options& options, ValidationResult* out,
                    int sample = 1);

}  // namespace pum

#endif  // PUM_FCGI_INGEST_VALIDATOR_H_
