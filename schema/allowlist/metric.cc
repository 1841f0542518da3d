#include "schema/allowlist/metric.h"

#include <re2/re2.h>

#include <algorithm>
#include <cassert>

namespace pum {
namespace {

bool IsNameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
    return true;
  }
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool IsValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

}  // namespace

const char* MetricTypeName(MetricType type) {
  return type == MetricType::kHistogram ? "histogram" : "counter";
}

bool LabelDef::Allows(std::string_view value) const {
  if (enumerated()) {
    return std::find(allowed_values.begin(), allowed_values.end(), value) !=
           allowed_values.end();
  }
  // The file parser compiles every pattern it keeps.
  assert(regex != nullptr);
  if (regex == nullptr) return false;
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex);
}

const LabelDef* MetricDef::FindLabel(std::string_view label_name) const {
  for (const LabelDef& label : labels) {
    if (label.name == label_name) return &label;
  }
  return nullptr;
}

bool MetricDef::FullyEnumerated() const {
  return std::all_of(labels.begin(), labels.end(),
                     [](const LabelDef& l) { return l.enumerated(); });
}

const std::vector<double>& MetricDef::ClassicBounds() const {
  return buckets.empty() && !native ? DefaultBuckets() : buckets;
}

const std::vector<double>& DefaultBuckets() {
  static const std::vector<double> kBuckets = {.005, .01, .025, .05, .1, .25,
                                               .5,   1,   2.5,  5,   10};
  return kBuckets;
}

bool IsValidMetricName(std::string_view name) {
  return IsValidName(name, true);
}

bool IsValidLabelName(std::string_view name) {
  return IsValidName(name, false);
}

}  // namespace pum
