// pum's own metrics: the catalogue of the series pum-ingest writes about
// itself into the store (batches, requests by status code, events accepted
// and rejected by reason, duplicate and sampled batches) and pum-exporter
// exports beside the allowlist's metrics.
//
// It is the vocabulary the two binaries share: pum-ingest counts under
// these names and label values, pum-exporter gives them HELP and TYPE and
// exports every label value at zero from the start. It is not part of the
// allowlist: no file defines these metrics, and their names start with
// kReservedMetricPrefix ("pum_"), which an allowlist file may not use. (The
// exporter's metrics about itself, pum_exporter_*, are the exporter's.)
//
// Every list here is fixed at build time, built on first use and never
// changed: safe to read from any thread.
#ifndef PUM_SCHEMA_OWN_METRICS_OWN_METRICS_H_
#define PUM_SCHEMA_OWN_METRICS_OWN_METRICS_H_

#include <string>
#include <vector>

#include "schema/allowlist/metric.h"

namespace pum {

// The metrics' names.
inline constexpr char kReportsTotal[] = "pum_reports_total";
inline constexpr char kRequestsTotal[] = "pum_ingest_requests_total";
inline constexpr char kEventsRejectedTotal[] =
    "pum_ingest_events_rejected_total";
inline constexpr char kEventsAcceptedTotal[] =
    "pum_ingest_events_accepted_total";
inline constexpr char kDuplicateBatchesTotal[] =
    "pum_ingest_duplicate_batches_total";
inline constexpr char kSampledBatchesTotal[] =
    "pum_ingest_sampled_batches_total";

// pum's own metrics as definitions: counters, each with HELP, sorted by
// name; pum_ingest_requests_total has the label "code" (IngestStatusCodes())
// and pum_ingest_events_rejected_total the label "reason"
// (RejectionReasons()), both enumerated; the others have no labels.
const std::vector<MetricDef>& InternalMetrics();

// Why an event was rejected: the `reason` of a 200/422 answer and the label
// value of pum_ingest_events_rejected_total. RejectionReasons() lists them
// all (they are the label's allowed values).
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

// Every reason:: constant, in the order above.
const std::vector<std::string>& RejectionReasons();

// The HTTP status codes pum-ingest answers with, as the label values of
// pum_ingest_requests_total{code}, ascending. Only codes pum-ingest can
// answer are listed, so that no exported series stays at zero forever:
// not 429 (rate limits are the web server's) nor 500.
const std::vector<std::string>& IngestStatusCodes();

}  // namespace pum

#endif  // PUM_SCHEMA_OWN_METRICS_OWN_METRICS_H_
