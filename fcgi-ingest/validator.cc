#include "fcgi-ingest/validator.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace pum {
namespace {

std::string_view View(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// The member `name` of object `event`, or null.
const rapidjson::Value* Member(const rapidjson::Value& event,
                               const char* name) {
  auto it = event.FindMember(name);
  return it == event.MemberEnd() ? nullptr : &it->value;
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
const char* ReadLabelSet(const rapidjson::Value& event, const MetricDef& def,
                         std::vector<const rapidjson::Value*>* values) {
  values->assign(def.labels.size(), nullptr);
  const rapidjson::Value* labels = Member(event, "labels");
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

// Checks the label values and builds the series' labels. Returns a reason
// or null.
const char* CheckLabels(const rapidjson::Value& event, const MetricDef& def,
                        const Options& options, std::vector<Label>* out) {
  std::vector<const rapidjson::Value*> values;
  if (const char* r = ReadLabelSet(event, def, &values)) return r;
  out->clear();
  out->reserve(def.labels.size());
  for (size_t i = 0; i < def.labels.size(); ++i) {
    const LabelDef& label = def.labels[i];
    std::string_view value = View(*values[i]);
    if (value.size() > options.max_label_value_bytes) {
      return reason::kLabelValueTooLong;
    }
    if (value.find('\0') != std::string_view::npos || !label.Allows(value)) {
      return reason::kLabelValueNotAllowed;
    }
    out->push_back(Label{label.name, std::string(value), label.max_values,
                         label.overflow_value});
  }
  return nullptr;
}

const char* CheckInc(const rapidjson::Value& event, const MetricDef& def,
                     double* inc) {
  const rapidjson::Value* v = Member(event, "inc");
  if (v == nullptr || !IsFiniteNumber(*v) || v->GetDouble() < 0) {
    return reason::kBadValue;
  }
  if (v->GetDouble() > def.max_inc) return reason::kValueOutOfRange;
  *inc = v->GetDouble();
  return nullptr;
}

const char* CheckObservations(const rapidjson::Value& event,
                              const MetricDef& def, const Options& options,
                              const rapidjson::Value** out) {
  const rapidjson::Value* v = Member(event, "observations");
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
  if (problem != nullptr) return problem;
  *out = v;
  return nullptr;
}

// Merges valid events into a Batch, one delta per series.
class BatchBuilder {
 public:
  explicit BatchBuilder(ValidationResult* result)
      : batch_(&result->batch), result_(result) {}

  // False (and nothing added) if the series' total would leave the exact
  // range. `event` is the event's index.
  bool AddCounter(const MetricDef& def, std::vector<Label> labels, double inc,
                  size_t event) {
    std::string key = SeriesKeyString(def.name, labels);
    auto it = counters_.find(key);
    if (it != counters_.end()) {
      double& total = batch_->counters[it->second].inc;
      if (!(total + inc < kMaxExactTotal)) return false;
      total += inc;
      result_->counter_events[it->second].push_back(event);
      return true;
    }
    counters_.emplace(std::move(key), batch_->counters.size());
    batch_->counters.push_back(
        CounterDelta{SeriesKey{def.name, std::move(labels)}, inc});
    result_->counter_events.push_back({event});
    return true;
  }

  // False (and nothing added) if the series' sum would overflow.
  bool AddHistogram(const MetricDef& def, std::vector<Label> labels,
                    const rapidjson::Value& observations, size_t event) {
    double sum = 0;
    for (const auto& o : observations.GetArray()) sum += o.GetDouble();
    std::string key = SeriesKeyString(def.name, labels);
    auto it = histograms_.find(key);
    size_t index =
        it == histograms_.end() ? batch_->histograms.size() : it->second;
    double base = it == histograms_.end() ? 0 : batch_->histograms[index].sum;
    if (!std::isfinite(sum) || !std::isfinite(base + sum)) return false;
    if (it == histograms_.end()) {
      histograms_.emplace(std::move(key), index);
      HistogramDelta delta;
      delta.key = SeriesKey{def.name, std::move(labels)};
      batch_->histograms.push_back(std::move(delta));
      result_->histogram_events.emplace_back();
    }
    result_->histogram_events[index].push_back(event);
    HistogramDelta& delta = batch_->histograms[index];
    const std::vector<double>& bounds =
        def.buckets.empty() ? DefaultBuckets() : def.buckets;
    for (const auto& o : observations.GetArray()) {
      Observe(bounds, o.GetDouble(), &delta);
    }
    delta.sum += sum;
    return true;
  }

 private:
  static std::string SeriesKeyString(const std::string& metric,
                                     const std::vector<Label>& labels) {
    std::string key = metric;
    for (const Label& l : labels) {
      key.push_back('\0');
      key += l.value;
    }
    return key;
  }

  static void Observe(const std::vector<double>& bounds, double value,
                      HistogramDelta* delta) {
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
    ++it->second;
    ++delta->count;
  }

  Batch* batch_;
  ValidationResult* result_;
  std::unordered_map<std::string, size_t> counters_;
  std::unordered_map<std::string, size_t> histograms_;
};

// Judges one event and, if it is valid, adds it to `builder`. Returns a
// reason or null.
const char* JudgeEvent(const rapidjson::Value& event, size_t index,
                       const Allowlist& allowlist, const Options& options,
                       BatchBuilder* builder) {
  if (!event.IsObject()) return reason::kBadEvent;
  const rapidjson::Value* name = Member(event, "metricName");
  const rapidjson::Value* type = Member(event, "metricType");
  if (name == nullptr || !name->IsString() || type == nullptr ||
      !type->IsString()) {
    return reason::kBadEvent;
  }
  const MetricDef* def = allowlist.Find(View(*name));
  if (def == nullptr) return reason::kUnknownMetric;
  if (View(*type) != MetricTypeName(def->type)) return reason::kTypeMismatch;
  std::vector<Label> labels;
  if (const char* r = CheckLabels(event, *def, options, &labels)) return r;
  if (def->type == MetricType::kCounter) {
    double inc = 0;
    if (const char* r = CheckInc(event, *def, &inc)) return r;
    if (!builder->AddCounter(*def, std::move(labels), inc, index)) {
      return reason::kValueOutOfRange;
    }
  } else {
    const rapidjson::Value* observations = nullptr;
    if (const char* r =
            CheckObservations(event, *def, options, &observations)) {
      return r;
    }
    if (!builder->AddHistogram(*def, std::move(labels), *observations, index)) {
      return reason::kValueOutOfRange;
    }
  }
  return nullptr;
}

}  // namespace

void ValidateEvents(const rapidjson::Value& events, const Allowlist& allowlist,
                    const Options& options, ValidationResult* out) {
  BatchBuilder builder(out);
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
