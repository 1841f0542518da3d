#include "schema/own_metrics/own_metrics.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

namespace pum {
namespace {

// A counter called `name`, with one enumerated label (unless `label` is
// null) whose allowed values are `values`.
MetricDef InternalCounter(const char* name, const char* help, const char* label,
                          const std::vector<std::string>& values) {
  assert(std::strncmp(name, kReservedMetricPrefix,
                      std::strlen(kReservedMetricPrefix)) == 0);
  MetricDef def;
  def.name = name;
  def.help = help;
  def.type = MetricType::kCounter;
  if (label != nullptr) {
    assert(!values.empty());
    LabelDef l;
    l.name = label;
    l.allowed_values = values;
    def.labels.push_back(std::move(l));
  }
  return def;
}

std::vector<MetricDef> MakeInternalMetrics() {
  std::vector<MetricDef> defs = {
      InternalCounter(kReportsTotal, "Batches accepted from browsers.", nullptr,
                      {}),
      InternalCounter(kRequestsTotal,
                      "Requests pum-ingest answered, by HTTP status code.",
                      "code", IngestStatusCodes()),
      InternalCounter(kEventsRejectedTotal,
                      "Events pum-ingest rejected, by reason.", "reason",
                      RejectionReasons()),
      InternalCounter(kEventsAcceptedTotal,
                      "Events pum-ingest validated and applied.", nullptr, {}),
      InternalCounter(kDuplicateBatchesTotal,
                      "Batches acknowledged again without being applied, "
                      "because their (client, seq) was applied before.",
                      nullptr, {}),
      InternalCounter(kSampledBatchesTotal,
                      "Batches applied with a sample N over 1 (each stood "
                      "for N sessions): their increments, histogram counts "
                      "and sums were multiplied by N.",
                      nullptr, {}),
  };
  std::sort(
      defs.begin(), defs.end(),
      [](const MetricDef& a, const MetricDef& b) { return a.name < b.name; });
  return defs;
}

}  // namespace

const std::vector<MetricDef>& InternalMetrics() {
  static const std::vector<MetricDef>* const kMetrics =
      new std::vector<MetricDef>(MakeInternalMetrics());
  return *kMetrics;
}

const std::vector<std::string>& RejectionReasons() {
  static const std::vector<std::string>* const kReasons =
      new std::vector<std::string>{
          reason::kBadEvent,
          reason::kUnknownMetric,
          reason::kTypeMismatch,
          reason::kBadLabels,
          reason::kLabelValueNotAllowed,
          reason::kLabelValueTooLong,
          reason::kBadValue,
          reason::kTooManyObservations,
          reason::kTooManyEvents,
          reason::kValueOutOfRange,
      };
  return *kReasons;
}

const std::vector<std::string>& IngestStatusCodes() {
  static const std::vector<std::string>* const kCodes =
      new std::vector<std::string>{"200", "204", "400", "403", "405",
                                   "409", "413", "422", "503"};
  return *kCodes;
}

}  // namespace pum
