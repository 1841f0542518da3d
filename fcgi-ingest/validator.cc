#include "fcgi-ingest/validator.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace pum {
namespace {

std::string_view View(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// The members of an event that the validator reads, found in one pass over
// its members (the first of a key given twice, as FindMember would; the
// parser refuses such bodies anyway).
struct EventFields {
  const rapidjson::Value* name = nullptr;
  const rapidjson::Value* type = nullptr;
  const rapidjson::Value* labels = nullptr;
  const rapidjson::Value* inc = nullptr;
  const rapidjson::Value* observations = nullptr;
};

void Set(const rapidjson::Value** slot, const rapidjson::Value& v) {
  if (*slot == nullptr) *slot = &v;
}

EventFields ReadFields(const rapidjson::Value& event) {
  EventFields f;
  for (const auto& m : event.GetObject()) {
    std::string_view key = View(m.name);
    switch (key.size()) {
      case 3:
        if (key == "inc") Set(&f.inc, m.value);
        break;
      case 6:
        if (key == "labels") Set(&f.labels, m.value);
        break;
      case 10:
        if (key == "metricName") {
          Set(&f.name, m.value);
        } else if (key == "metricType") {
          Set(&f.type, m.value);
        }
        break;
      case 12:
        if (key == "observations") Set(&f.observations, m.value);
        break;
      default:
        break;
    }
  }
  return f;
}

bool IsFiniteNumber(const rapidjson::Value& v) {
  return v.IsNumber() && std::isfinite(v.GetDouble());
}

// The position of `name` among the metric's labels, or -1.
int LabelIndex(const MetricDef& def, std::string_view name) {
  for (size_t i = 0; i < def.labels.size(); ++i) {
    if (def.labels[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// Reads the "labels" object into `values` (in the metric's label order);
// checks that its names are exactly the metric's. Returns a reason or null.
const char* ReadLabelSet(const rapidjson::Value* labels, const MetricDef& def,
                         std::vector<const rapidjson::Value*>* values) {
  values->assign(def.labels.size(), nullptr);
  size_t given = 0;
  if (labels != nullptr && !labels->IsNull()) {
    if (!labels->IsObject()) return reason::kBadLabels;
    for (const auto& m : labels->GetObject()) {
      int i = LabelIndex(def, View(m.name));
      if (!m.value.IsString() || i < 0 || (*values)[i] != nullptr) {
        return reason::kBadLabels;
      }
      (*values)[i] = &m.value;
      ++given;
    }
  }
  return given == def.labels.size() ? nullptr : reason::kBadLabels;
}

// Checks the label values; `out` gets them in the metric's label order
// (views into the event). `scratch` is reused from event to event. Returns
// a reason or null.
const char* CheckLabels(const rapidjson::Value* labels, const MetricDef& def,
                        const Options& options,
                        std::vector<const rapidjson::Value*>* scratch,
                        std::vector<std::string_view>* out) {
  if (const char* r = ReadLabelSet(labels, def, scratch)) return r;
  out->clear();
  for (size_t i = 0; i < def.labels.size(); ++i) {
    const LabelDef& label = def.labels[i];
    std::string_view value = View(*(*scratch)[i]);
    if (value.size() > options.max_label_value_bytes) {
      return reason::kLabelValueTooLong;
    }
    if (value.find('\0') != std::string_view::npos || !label.Allows(value)) {
      return reason::kLabelValueNotAllowed;
    }
    out->push_back(value);
  }
  return nullptr;
}

const char* CheckInc(const rapidjson::Value* v, const MetricDef& def,
                     double* inc) {
  if (v == nullptr || !IsFiniteNumber(*v) || v->GetDouble() < 0) {
    return reason::kBadValue;
  }
  if (v->GetDouble() > def.max_inc) return reason::kValueOutOfRange;
  *inc = v->GetDouble();
  return nullptr;
}

const char* CheckObservations(const rapidjson::Value* v, const MetricDef& def,
                              const Options& options) {
  if (v == nullptr || !v->IsArray() || v->Empty()) return reason::kBadValue;
  if (v->Size() > options.max_observations_per_event) {
    return reason::kTooManyObservations;
  }
  const char* problem = nullptr;
  for (const auto& o : v->GetArray()) {
    if (!IsFiniteNumber(o)) return reason::kBadValue;
    const double x = o.GetDouble();
    if (x < def.range_min || x > def.range_max) {
      problem = reason::kValueOutOfRange;
    }
  }
  return problem;
}

// The deltas of one batch by series (metric and label values), without
// building a key: an open-addressing table of delta indices, sized once for
// the batch's events (each adds at most one series), that compares a
// series by its MetricDef and the label values the delta already holds.
class SeriesTable {
 public:
  // Room for `series` series at a load of at most 1/2.
  void Reserve(size_t series) {
    size_t n = 16;
    while (n < 2 * series) n *= 2;
    slots_.assign(n, kEmpty);
    defs_.reserve(series);
    hashes_.reserve(series);
  }

  static size_t Hash(const MetricDef* def,
                     const std::vector<std::string_view>& values) {
    size_t h = std::hash<const void*>()(def);
    for (std::string_view v : values) {
      h ^= std::hash<std::string_view>()(v) + 0x9e3779b97f4a7c15u + (h << 6) +
           (h >> 2);
    }
    return h;
  }

  // The delta of the series, or -1; `labels_of(i)` gives delta i's labels.
  template <typename LabelsOf>
  int64_t Find(const MetricDef* def,
               const std::vector<std::string_view>& values, size_t hash,
               const LabelsOf& labels_of) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t slot = slots_[i];
      if (slot == kEmpty) return -1;
      if (hashes_[slot] == hash && defs_[slot] == def &&
          SameValues(labels_of(slot), values)) {
        return slot;
      }
    }
  }

  // Records that the next delta (index size()) is the series.
  void Add(const MetricDef* def, size_t hash) {
    const uint32_t index = static_cast<uint32_t>(defs_.size());
    defs_.push_back(def);
    hashes_.push_back(hash);
    if (2 * defs_.size() > slots_.size()) Grow();
    Place(index);
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  static bool SameValues(const std::vector<Label>& labels,
                         const std::vector<std::string_view>& values) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (labels[i].value != values[i]) return false;
    }
    return true;
  }

  void Place(uint32_t index) {
    const size_t mask = slots_.size() - 1;
    size_t i = hashes_[index] & mask;
    while (slots_[i] != kEmpty) i = (i + 1) & mask;
    slots_[i] = index;
  }

  void Grow() {
    slots_.assign(slots_.size() * 2, kEmpty);
    for (uint32_t i = 0; i + 1 < defs_.size(); ++i) Place(i);
  }

  std::vector<uint32_t> slots_;
  std::vector<const MetricDef*> defs_;  // by delta index
  std::vector<size_t> hashes_;          // by delta index
};

// Builds a delta's labels from the checked values.
std::vector<Label> MakeLabels(const MetricDef& def,
                              const std::vector<std::string_view>& values) {
  std::vector<Label> labels;
  labels.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const LabelDef& label = def.labels[i];
    labels.push_back(Label{label.name, std::string(values[i]), label.max_values,
                           label.overflow_value});
  }
  return labels;
}

// Merges valid events into a Batch, one delta per series.
class BatchBuilder {
 public:
  // `events` is how many events may be added.
  // Each delta added is multiplied by `sample` (>= 1).
  BatchBuilder(ValidationResult* result, size_t events, int sample)
      : batch_(&result->batch),
        result_(result),
        scale_(static_cast<double>(sample)),
        scale_count_(static_cast<uint64_t>(sample)) {
    assert(sample >= 1);
    counters_.Reserve(events);
    histograms_.Reserve(events);
    // Most batches are small; a large one grows its vectors as it goes.
    const size_t guess = std::min<size_t>(events, 64);
    batch_->counters.reserve(guess);
    batch_->histograms.reserve(guess);
    result_->counter_events.reserve(guess);
    result_->histogram_events.reserve(guess);
  }

  // Adds inc x sample. False (and nothing added) if the series' total
  // would leave the exact range. `event` is the event's index.
  bool AddCounter(const MetricDef& def,
                  const std::vector<std::string_view>& values, double sent,
                  size_t event) {
    const double inc = sent * scale_;
    if (!(inc < kMaxExactTotal)) return false;
    const size_t hash = SeriesTable::Hash(&def, values);
    const int64_t found = counters_.Find(
        &def, values, hash, [this](size_t i) -> const auto& {
          return batch_->counters[i].key.labels;
        });
    if (found >= 0) {
      double& total = batch_->counters[found].inc;
      if (!(total + inc < kMaxExactTotal)) return false;
      total += inc;
      result_->counter_events[found].push_back(event);
      return true;
    }
    counters_.Add(&def, hash);
    batch_->counters.push_back(
        CounterDelta{SeriesKey{def.name, MakeLabels(def, values)}, inc});
    result_->counter_events.push_back({event});
    return true;
  }

  // Adds the observations, each counted sample times, and their sum x
  // sample. False (and nothing added) if the series' sum would overflow.
  bool AddHistogram(const MetricDef& def,
                    const std::vector<std::string_view>& values,
                    const rapidjson::Value& observations, size_t event) {
    double sent = 0;
    for (const auto& o : observations.GetArray()) sent += o.GetDouble();
    const double sum = sent * scale_;
    const size_t hash = SeriesTable::Hash(&def, values);
    const int64_t found = histograms_.Find(
        &def, values, hash, [this](size_t i) -> const auto& {
          return batch_->histograms[i].key.labels;
        });
    double base = found < 0 ? 0 : batch_->histograms[found].sum;
    if (!std::isfinite(sum) || !std::isfinite(base + sum)) return false;
    size_t index = static_cast<size_t>(found);
    if (found < 0) {
      index = batch_->histograms.size();
      histograms_.Add(&def, hash);
      HistogramDelta delta;
      delta.key = SeriesKey{def.name, MakeLabels(def, values)};
      delta.buckets.reserve(observations.Size());
      if (def.native) {
        delta.native.emplace();
        delta.native->schema = def.native_schema;
        delta.native_max_buckets = def.native_max_buckets;
      }
      batch_->histograms.push_back(std::move(delta));
      result_->histogram_events.emplace_back();
    }
    result_->histogram_events[index].push_back(event);
    HistogramDelta& delta = batch_->histograms[index];
    const std::vector<double>& bounds = def.ClassicBounds();
    for (const auto& o : observations.GetArray()) {
      Observe(bounds, o.GetDouble(), scale_count_, &delta);
      if (delta.native)
        ObserveNative(o.GetDouble(), scale_count_, &*delta.native);
    }
    delta.sum += sum;
    return true;
  }

  // Reused from event to event.
  std::vector<const rapidjson::Value*>* label_scratch() {
    return &label_scratch_;
  }
  std::vector<std::string_view>* label_values() { return &label_values_; }

 private:
  // Counts `value` `times` times.
  static void Observe(const std::vector<double>& bounds, double value,
                      uint64_t times, HistogramDelta* delta) {
    auto b = std::lower_bound(bounds.begin(), bounds.end(), value);
    double bound =
        b == bounds.end() ? std::numeric_limits<double>::infinity() : *b;
    auto& buckets = delta->buckets;
    auto it = std::lower_bound(buckets.begin(), buckets.end(), bound,
                               [](const std::pair<double, uint64_t>& e,
                                  double x) { return e.first < x; });
    if (it == buckets.end() || it->first != bound) {
      it = buckets.insert(it, {bound, 0});
    }
    it->second += times;
    delta->count += times;
  }

  Batch* batch_;
  ValidationResult* result_;
  const double scale_;          // the batch's sample
  const uint64_t scale_count_;  // the same, for counts
  SeriesTable counters_;
  SeriesTable histograms_;
  std::vector<const rapidjson::Value*> label_scratch_;
  std::vector<std::string_view> label_values_;
};

// Judges one event and, if it is valid, adds it to `builder`. Returns a
// reason or null.
const char* JudgeEvent(const rapidjson::Value& event, size_t index,
                       const Allowlist& allowlist, const Options& options,
                       BatchBuilder* builder) {
  if (!event.IsObject()) return reason::kBadEvent;
  const EventFields f = ReadFields(event);
  if (f.name == nullptr || !f.name->IsString() || f.type == nullptr ||
      !f.type->IsString()) {
    return reason::kBadEvent;
  }
  const MetricDef* def = allowlist.Find(View(*f.name));
  if (def == nullptr) return reason::kUnknownMetric;
  if (View(*f.type) != MetricTypeName(def->type)) return reason::kTypeMismatch;
  std::vector<std::string_view>* values = builder->label_values();
  if (const char* r = CheckLabels(f.labels, *def, options,
                                  builder->label_scratch(), values)) {
    return r;
  }
  if (def->type == MetricType::kCounter) {
    double inc = 0;
    if (const char* r = CheckInc(f.inc, *def, &inc)) return r;
    if (!builder->AddCounter(*def, *values, inc, index)) {
      return reason::kValueOutOfRange;
    }
  } else {
    if (const char* r = CheckObservations(f.observations, *def, options)) {
      return r;
    }
    if (!builder->AddHistogram(*def, *values, *f.observations, index)) {
      return reason::kValueOutOfRange;
    }
  }
  return nullptr;
}

}  // namespace

void ValidateEvents(const rapidjson::Value& events, const Allowlist& allowlist,
                    const Options& options, ValidationResult* out, int sample) {
  const size_t n = events.Size();
  out->sample = sample;
  BatchBuilder builder(out, std::min<size_t>(n, options.max_events_per_batch),
                       sample);
  size_t index = 0;
  for (const auto& event : events.GetArray()) {
    const char* r =
        index >= options.max_events_per_batch
            ? reason::kTooManyEvents
            : JudgeEvent(event, index, allowlist, options, &builder);
    if (r == nullptr) {
      ++out->accepted;
    } else {
      out->rejected.push_back(Rejection{index, r});
    }
    ++index;
  }
}

namespace {

// Removes the elements at `indices` (ascending) from `items`, appending the
// events listed for them in `events` to `moved`.
template <typename Delta>
void RemoveDeltas(const std::vector<size_t>& indices, std::vector<Delta>* items,
                  std::vector<std::vector<size_t>>* events,
                  std::vector<size_t>* moved) {
  // Ascending and unique: erasing from the back keeps the others valid.
  assert(std::adjacent_find(indices.begin(), indices.end(),
                            std::greater_equal<size_t>()) == indices.end());
  for (auto i = indices.rbegin(); i != indices.rend(); ++i) {
    assert(*i < items->size() && items->size() == events->size());
    moved->insert(moved->end(), (*events)[*i].begin(), (*events)[*i].end());
    items->erase(items->begin() + static_cast<std::ptrdiff_t>(*i));
    events->erase(events->begin() + static_cast<std::ptrdiff_t>(*i));
  }
}

}  // namespace

void ValidationResult::RejectDeltas(const std::vector<size_t>& counters,
                                    const std::vector<size_t>& histograms,
                                    const char* reason) {
  std::vector<size_t> moved;
  RemoveDeltas(counters, &batch.counters, &counter_events, &moved);
  RemoveDeltas(histograms, &batch.histograms, &histogram_events, &moved);
  for (size_t event : moved) rejected.push_back(Rejection{event, reason});
  std::sort(
      rejected.begin(), rejected.end(),
      [](const Rejection& a, const Rejection& b) { return a.index < b.index; });
  assert(accepted >= moved.size());
  accepted -= moved.size();
}

}  // namespace pum
