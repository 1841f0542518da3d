#include "exporter/collect.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "schema/store/native_column.h"

namespace pum {
namespace {

using LabelValues = std::vector<std::string>;
using StoredLabels = std::vector<std::pair<std::string, std::string>>;

// One exported series while it is being added up.
struct SeriesAccum {
  double value = 0;  // counter
  double sum = 0;    // histogram
  uint64_t count = 0;
  // Observations per current bucket, not cumulative; one per bound.
  std::vector<uint64_t> per_bucket;
  // The native part (native histograms only), at most at the metric's
  // current schema.
  NativeHistogram native;
};

struct MetricAccum {
  const MetricDef* def = nullptr;
  std::vector<double> bounds;  // histograms: the current bounds
  std::map<LabelValues, SeriesAccum> series;
};

using AccumMap = std::map<std::string_view, MetricAccum>;

// The allowlist's and the internal definitions, by name; the first wins.
AccumMap MakeAccums(const Allowlist& allowlist) {
  AccumMap accums;
  auto add = [&accums](const MetricDef& def) {
    MetricAccum accum;
    accum.def = &def;
    if (def.type == MetricType::kHistogram) {
      accum.bounds = def.ClassicBounds();
      // AddHistogram()'s lower_bound needs them increasing (the allowlist
      // parser refuses any other order).
      assert(std::adjacent_find(accum.bounds.begin(), accum.bounds.end(),
                                std::greater_equal<double>()) ==
             accum.bounds.end());
    }
    accums.emplace(def.name, std::move(accum));
  };
  for (const MetricDef& def : allowlist.metrics()) add(def);
  for (const MetricDef& def : InternalMetrics()) add(def);
  return accums;
}

// A new exported series of `accum`: no observations, at the metric's
// bounds and native schema.
void InitSeries(const MetricAccum& accum, SeriesAccum* series) {
  series->per_bucket.resize(accum.bounds.size(), 0);
  series->native.schema = accum.def->native_schema;
}

// The stored labels' values in the definition's label order; false if the
// label names are not exactly the definition's.
bool MapLabels(const MetricDef& def, const StoredLabels& stored,
               LabelValues* values) {
  if (stored.size() != def.labels.size()) return false;
  values->assign(def.labels.size(), std::string());
  std::vector<bool> seen(def.labels.size(), false);
  for (const auto& [name, value] : stored) {
    size_t i = 0;
    while (i < def.labels.size() && def.labels[i].name != name) ++i;
    if (i == def.labels.size() || seen[i]) return false;
    seen[i] = true;
    (*values)[i] = value;
  }
  return true;
}

// The series for `stored` labels of `metric` of `type`, or null (skip).
SeriesAccum* FindSeries(AccumMap* accums, const std::string& metric,
                        MetricType type, const StoredLabels& stored) {
  auto it = accums->find(metric);
  if (it == accums->end() || it->second.def->type != type) return nullptr;
  MetricAccum& accum = it->second;
  LabelValues values;
  if (!MapLabels(*accum.def, stored, &values)) return nullptr;
  auto [entry, added] = accum.series.try_emplace(std::move(values));
  if (added) InitSeries(accum, &entry->second);
  return &entry->second;
}

void AddHistogram(const MetricAccum& accum, const HistogramSeries& stored,
                  SeriesAccum* series) {
  const std::vector<double>& bounds = accum.bounds;
  if (accum.def->native && stored.count > 0) {
    MergeNative(StoredNative(stored), &series->native);
  }
  series->sum += stored.sum;
  series->count += stored.count;
  for (const auto& [stored_bound, n] : stored.buckets) {
    if (std::isnan(stored_bound)) continue;
    // The first current bound >= the stored one: every observation that was
    // <= stored_bound is also <= that bound. Past the last bound: +Inf only.
    auto it = std::lower_bound(bounds.begin(), bounds.end(), stored_bound);
    if (it != bounds.end()) series->per_bucket[it - bounds.begin()] += n;
  }
}

// Every combination of allowed values, in the labels' order.
void ZeroFill(MetricAccum* accum) {
  for (LabelValues& values : ZeroFilledSeries(*accum->def)) {
    auto [entry, added] = accum->series.try_emplace(std::move(values));
    if (added) InitSeries(*accum, &entry->second);
  }
}

LabelPairs ToLabelPairs(const MetricDef& def, const LabelValues& values) {
  assert(values.size() == def.labels.size());
  LabelPairs pairs;
  for (size_t i = 0; i < values.size(); ++i) {
    pairs.emplace_back(def.labels[i].name, values[i]);
  }
  return pairs;
}

HistogramSample ToHistogram(const MetricAccum& accum,
                            const SeriesAccum& series) {
  const std::vector<double>& bounds = accum.bounds;
  assert(series.per_bucket.size() == bounds.size());
  HistogramSample sample;
  sample.sum = series.sum;
  sample.count = series.count;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += series.per_bucket[i];
    sample.buckets.emplace_back(bounds[i], std::min(cumulative, series.count));
  }
  if (accum.def->native) {
    // The allowlist's cap now, which may be lower than when it was stored.
    NativeHistogram native = series.native;
    LimitNativeBuckets(accum.def->native_max_buckets, &native);
    sample.native = ToNativeBuckets(native);
  }
  return sample;
}

// Where a series goes: each label's value ranks by its place among the
// allowed values (the seed's order), values not listed after them in byte
// order.
using SortKey = std::vector<std::pair<size_t, std::string_view>>;

SortKey MakeSortKey(const MetricDef& def, const LabelValues& values) {
  SortKey key;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::vector<std::string>& allowed = def.labels[i].allowed_values;
    size_t rank =
        std::find(allowed.begin(), allowed.end(), values[i]) - allowed.begin();
    key.emplace_back(rank, values[i]);
  }
  return key;
}

using SeriesEntry = std::pair<const LabelValues, SeriesAccum>;

std::vector<const SeriesEntry*> SortedSeries(const MetricAccum& accum) {
  std::vector<std::pair<SortKey, const SeriesEntry*>> keyed;
  for (const SeriesEntry& entry : accum.series) {
    keyed.emplace_back(MakeSortKey(*accum.def, entry.first), &entry);
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const SeriesEntry*> sorted;
  for (const auto& item : keyed) sorted.push_back(item.second);
  return sorted;
}

MetricFamily ToFamily(const MetricAccum& accum) {
  const MetricDef& def = *accum.def;
  MetricFamily family;
  family.name = def.name;
  family.help = def.help;
  family.kind = def.type == MetricType::kHistogram ? MetricKind::kHistogram
                                                   : MetricKind::kCounter;
  for (const SeriesEntry* entry : SortedSeries(accum)) {
    LabelPairs labels = ToLabelPairs(def, entry->first);
    if (family.kind == MetricKind::kHistogram) {
      family.histograms.push_back(ToHistogram(accum, entry->second));
      family.histograms.back().labels = std::move(labels);
    } else {
      family.samples.push_back({std::move(labels), entry->second.value});
    }
  }
  return family;
}

MetricFamily Gauge(const char* name, const char* help, double value) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.kind = MetricKind::kGauge;
  family.samples.push_back({{}, value});
  return family;
}

bool ByName(const MetricFamily& a, const MetricFamily& b) {
  return a.name < b.name;
}

}  // namespace

NativeHistogram StoredNative(const HistogramSeries& stored) {
  if (stored.native.has_value() &&
      NativeTotalCount(*stored.native) == stored.count) {
    return *stored.native;
  }
  return NativeFromClassic(stored.buckets);
}

NativeBuckets ToNativeBuckets(const NativeHistogram& h) {
  NativeBuckets native;
  native.schema = h.schema;
  native.zero_threshold = h.zero_threshold;
  native.zero_count = h.zero_count;
  native.positive = h.positive;
  native.negative = h.negative;
  return native;
}

std::vector<MetricFamily> CollectStoreFamilies(const Allowlist& allowlist,
                                               const Snapshot& snapshot,
                                               int64_t* skipped) {
  AccumMap accums = MakeAccums(allowlist);
  int64_t skipped_series = 0;
  for (const CounterSeries& stored : snapshot.counters) {
    SeriesAccum* series =
        FindSeries(&accums, stored.metric, MetricType::kCounter, stored.labels);
    if (series == nullptr) {
      ++skipped_series;
      continue;
    }
    series->value += stored.value;
  }
  for (const HistogramSeries& stored : snapshot.histograms) {
    SeriesAccum* series = FindSeries(&accums, stored.metric,
                                     MetricType::kHistogram, stored.labels);
    if (series == nullptr) {
      ++skipped_series;
      continue;
    }
    AddHistogram(accums.at(stored.metric), stored, series);
  }
  std::vector<MetricFamily> families;
  for (auto& [name, accum] : accums) {
    ZeroFill(&accum);
    families.push_back(ToFamily(accum));
  }
  if (skipped != nullptr) *skipped = skipped_series;
  return families;
}

std::vector<MetricFamily> ExporterFamilies(const ExporterStats& stats) {
  std::vector<MetricFamily> families;
  families.push_back(
      Gauge(kExporterStoreSizeBytes,
            "Size of the SQLite database and its write-ahead log, in bytes.",
            static_cast<double>(stats.store.file_bytes)));
  families.push_back(Gauge(kExporterStoreSeries,
                           "Series (a metric and its label values) the store "
                           "holds.",
                           static_cast<double>(stats.store.series)));
  families.push_back(Gauge(kExporterDedupClients,
                           "Clients whose de-duplication state the store "
                           "keeps.",
                           static_cast<double>(stats.store.clients)));
  families.push_back(Gauge(kExporterScrapeDuration,
                           "Time this scrape took to read the store and "
                           "build the metric families, in seconds.",
                           stats.scrape_duration_seconds));
  families.push_back(Gauge(kExporterSkippedSeries,
                           "Stored series not exported because their metric "
                           "left the allowlist or changed type or labels.",
                           static_cast<double>(stats.skipped_series)));
  families.push_back(Gauge(
      kExporterLastReloadSuccessful,
      "1 if the last reload of the allowlist succeeded (or none failed since "
      "the start), else 0.",
      stats.last_reload_successful ? 1 : 0));
  families.push_back(Gauge(kExporterLastReloadSuccessTimestamp,
                           "When the allowlist was last loaded successfully, "
                           "in unix seconds.",
                           stats.last_reload_success_timestamp));
  MetricFamily expired =
      Gauge(kExporterSeriesExpiredTotal,
            "Series removed from the store because they were not updated for "
            "their metric's series_ttl.",
            static_cast<double>(stats.series_expired));
  expired.kind = MetricKind::kCounter;
  families.push_back(std::move(expired));
  MetricFamily reloads;
  reloads.name = kExporterReloadsTotal;
  reloads.help =
      "Reloads of the allowlist after a change or SIGHUP, by result.";
  reloads.kind = MetricKind::kCounter;
  reloads.samples = {
      {{{"result", "failure"}}, static_cast<double>(stats.reloads_failure)},
      {{{"result", "success"}}, static_cast<double>(stats.reloads_success)},
  };
  families.push_back(std::move(reloads));
  std::sort(families.begin(), families.end(), ByName);
  return families;
}

void MergeFamilies(std::vector<MetricFamily> more,
                   std::vector<MetricFamily>* families) {
  assert(std::is_sorted(families->begin(), families->end(), ByName));
  assert(std::is_sorted(more.begin(), more.end(), ByName));
  std::vector<MetricFamily> merged;
  merged.reserve(families->size() + more.size());
  std::merge(std::make_move_iterator(families->begin()),
             std::make_move_iterator(families->end()),
             std::make_move_iterator(more.begin()),
             std::make_move_iterator(more.end()), std::back_inserter(merged),
             ByName);
  *families = std::move(merged);
}

std::vector<std::vector<std::string>> ZeroFilledSeries(const MetricDef& def) {
  std::vector<std::vector<std::string>> all;
  if (!def.FullyEnumerated()) return all;
  size_t combinations = 1;
  for (const LabelDef& label : def.labels) {
    combinations *= label.allowed_values.size();
    if (combinations == 0 || combinations > kMaxZeroFilledSeries) return all;
  }
  all.reserve(combinations);
  std::vector<size_t> index(def.labels.size(), 0);
  for (size_t n = 0; n < combinations; ++n) {
    std::vector<std::string> values;
    for (size_t i = 0; i < def.labels.size(); ++i) {
      values.push_back(def.labels[i].allowed_values[index[i]]);
    }
    all.push_back(std::move(values));
    // Next combination, last label fastest.
    for (size_t i = def.labels.size(); i-- > 0;) {
      if (++index[i] < def.labels[i].allowed_values.size()) break;
      index[i] = 0;
    }
  }
  return all;
}

}  // namespace pum
