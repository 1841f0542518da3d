// Collect: turns what the store holds into metric families for the
// serializers in exposition.h. Pure functions of their arguments.
//
// Contract of CollectStoreFamilies():
//   - One family per metric of the allowlist and per internal metric
//     (InternalMetrics(): pum_reports_total, ...), with HELP and TYPE from
//     the definition, families sorted by name. (The internal metrics' names
//     start with "pum_", which the allowlist may not use; were a name in
//     both, the allowlist's definition would win.)
//   - Labels are printed in the definition's label order. Series are sorted
//     by their label values in that order, each value ranking by its place
//     in the label's allowedValues (the seed's order), values not listed
//     (pattern labels, values no longer allowed) after them in byte order;
//     so the output is stable from scrape to scrape.
//   - A metric whose labels are all enumerated (MetricDef::FullyEnumerated())
//     has every combination of allowed values from the start, at zero, as
//     long as there are at most kMaxZeroFilledSeries combinations. Other
//     metrics show the series the store holds.
//   - Stored series are skipped (and counted in *skipped) when their metric
//     is no longer defined, is now of the other type, or now has a different
//     set of label names. Stored label values that are no longer allowed are
//     still exported: their counts happened, and dropping them would make a
//     sum() go down.
//   - Two stored series that map to the same label values (say, after the
//     allowlist reordered a metric's labels) are added together.
//   - Histograms are re-bucketed onto the current bounds: stored buckets are
//     (bound at ingest time, observations), not cumulative; the cumulative
//     count for a current bound b is the sum of the observations whose
//     stored bound is <= b (never more than the series' count), and +Inf is
//     the series' count. Whatever the bounds were when the data came in,
//     the buckets are monotonic and +Inf equals _count.
#ifndef PUM_EXPORTER_COLLECT_H_
#define PUM_EXPORTER_COLLECT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "exporter/exposition.h"
#include "schema/allowlist/allowlist.h"
#include "schema/own_metrics/own_metrics.h"
#include "schema/store/store.h"

namespace pum {

// Above this many label combinations a metric is not zero-filled.
inline constexpr size_t kMaxZeroFilledSeries = 10000;

// The label values of every series exported at zero from the start: every
// combination of the allowed values of a fully enumerated metric, in the
// labels' order, the last label varying fastest; none for a metric that is
// not fully enumerated or has more than kMaxZeroFilledSeries combinations.
std::vector<std::vector<std::string>> ZeroFilledSeries(const MetricDef& def);

// The exporter's own metrics.
inline constexpr char kExporterStoreSizeBytes[] =
    "pum_exporter_store_size_bytes";
inline constexpr char kExporterStoreSeries[] = "pum_exporter_store_series";
inline constexpr char kExporterDedupClients[] = "pum_exporter_dedup_clients";
inline constexpr char kExporterScrapeDuration[] =
    "pum_exporter_scrape_duration_seconds";
inline constexpr char kExporterSkippedSeries[] = "pum_exporter_skipped_series";
inline constexpr char kExporterReloadsTotal[] =
    "pum_exporter_allowlist_reloads_total";
inline constexpr char kExporterLastReloadSuccessful[] =
    "pum_exporter_allowlist_last_reload_successful";
inline constexpr char kExporterLastReloadSuccessTimestamp[] =
    "pum_exporter_allowlist_last_reload_success_timestamp_seconds";
inline constexpr char kExporterSeriesExpiredTotal[] =
    "pum_exporter_series_expired_total";

// The inputs of the exporter's own metrics.
struct ExporterStats {
  StoreStats store;
  double scrape_duration_seconds = 0;
  int64_t skipped_series = 0;
  uint64_t reloads_success = 0;
  uint64_t reloads_failure = 0;
  bool last_reload_successful = true;
  double last_reload_success_timestamp = 0;  // unix seconds
  // Series removed by series_ttl since the exporter started.
  uint64_t series_expired = 0;
};

// The families of the allowlist's and the internal metrics; see above.
// `skipped` (may be null) receives the number of stored series skipped.
// The native part of a stored histogram series accounting for all its
// observations: as stored, or (observed before its metric turned native,
// or while it was not) seeded from its classic buckets as the store seeds
// it when the next native delta comes (native_column.h).
NativeHistogram StoredNative(const HistogramSeries& stored);

// A native histogram as the exposition's plain data.
NativeBuckets ToNativeBuckets(const NativeHistogram& h);

std::vector<MetricFamily> CollectStoreFamilies(const Allowlist& allowlist,
                                               const Snapshot& snapshot,
                                               int64_t* skipped);

// The exporter's own metrics, sorted by name.
std::vector<MetricFamily> ExporterFamilies(const ExporterStats& stats);

// Adds `more` to `families`, keeping them sorted by name (both must be).
void MergeFamilies(std::vector<MetricFamily> more,
                   std::vector<MetricFamily>* families);

}  // namespace pum

#endif  // PUM_EXPORTER_COLLECT_H_
