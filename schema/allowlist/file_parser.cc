#include "schema/allowlist/file_parser.h"

#include <re2/re2.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "schema/base/json_lines.h"
#include "schema/base/text.h"
#include "schema/store/store.h"

namespace pum {
namespace {

// Every combination of enumerated label values is exported at zero, so a
// metric may not enumerate more than this many series.
constexpr uint64_t kMaxCombinations = 10000;
constexpr int64_t kMaxMaxValues = 1000000;

std::string FormatNumber(double d) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, result.ptr);
}

// Reports a key seen twice in one object; returns true if it is new.
bool FirstTime(const JsonNode& member, const std::string& context,
               std::set<std::string>* seen, FileErrors* errors) {
  if (seen->insert(member.key).second) return true;
  errors->Add(member.key_line,
              "duplicate key " + Quote(member.key) + " in " + context);
  return false;
}

bool ExpectType(const JsonNode& node, JsonNode::Type type,
                const std::string& context, FileErrors* errors) {
  if (node.type == type) return true;
  std::string prefix = context.empty() ? "" : context + ": ";
  errors->Add(node.line, prefix + Quote(node.key) + " must be " +
                             JsonTypeName(type) + ", not " +
                             JsonTypeName(node.type));
  return false;
}

// Parses the metrics of one file; see file_parser.h.
class FileParser {
 public:
  FileParser(const std::string& filename, FileErrors* errors)
      : filename_(filename), errors_(errors) {}

  void ParseRoot(const JsonNode& root, std::vector<MetricDef>* out);

 private:
  void ParseMetric(const JsonNode& node, size_t index,
                   std::vector<MetricDef>* out);
  bool ParseMetricMember(const JsonNode& member, const std::string& context,
                         MetricDef* def, bool* has_type, bool* has_buckets);
  bool ParseName(const JsonNode& node, const std::string& context,
                 MetricDef* def);
  bool ParseType(const JsonNode& node, const std::string& context,
                 MetricDef* def);
  bool ParseBuckets(const JsonNode& node, const std::string& context,
                    MetricDef* def);
  bool ParseLabels(const JsonNode& node, const std::string& context,
                   MetricDef* def);
  bool ParseMaxInc(const JsonNode& node, const std::string& context,
                   MetricDef* def);
  bool ParseRange(const JsonNode& node, const std::string& context,
                  MetricDef* def);
  bool ParseNative(const JsonNode& node, const std::string& context,
                   MetricDef* def);
  bool ParseNativeMember(const JsonNode& member, const std::string& context,
                         MetricDef* def);
  bool ParseSeriesTtl(const JsonNode& node, const std::string& context,
                      MetricDef* def);
  bool CheckSeriesTtl(const JsonNode& node, const std::string& context,
                      const MetricDef& def);
  bool ParseLabel(const JsonNode& node, size_t index,
                  const std::string& metric_context, LabelDef* label);
  bool ParseLabelMember(const JsonNode& member, const std::string& context,
                        const std::string& where, LabelDef* label);
  bool ParseAllowedValues(const JsonNode& node, const std::string& context,
                          LabelDef* label);
  bool ParsePattern(const JsonNode& node, const std::string& context,
                    LabelDef* label);
  bool ParseLabelName(const JsonNode& node, const std::string& context,
                      const std::string& metric_context, LabelDef* label);
  bool CheckLabel(const JsonNode& node, const std::string& context,
                  bool has_max, bool has_overflow);
  bool CheckTypeOnlyKeys(const JsonNode& node, const std::string& context,
                         const MetricDef& def);
  bool CheckMetric(const JsonNode& node, const std::string& context,
                   const MetricDef& def, bool has_type, bool has_buckets);

  const std::string& filename_;
  FileErrors* errors_;
};

void FileParser::ParseRoot(const JsonNode& root, std::vector<MetricDef>* out) {
  if (!root.IsObject()) {
    errors_->Add(root.line, std::string("the file must hold an object, not ") +
                                JsonTypeName(root.type));
    return;
  }
  const JsonNode* metrics = nullptr;
  std::set<std::string> seen;
  for (const JsonNode& member : root.children) {
    if (!FirstTime(member, "the top-level object", &seen, errors_)) continue;
    if (member.key == "allowedMetrics") {
      metrics = &member;
    } else {
      errors_->Add(member.key_line, "unknown key " + Quote(member.key) +
                                        " at the top level (expected "
                                        "\"allowedMetrics\")");
    }
  }
  if (metrics == nullptr) {
    errors_->Add(root.line, "missing \"allowedMetrics\"");
    return;
  }
  if (!ExpectType(*metrics, JsonNode::Type::kArray, "", errors_)) {
    return;
  }
  for (size_t i = 0; i < metrics->children.size(); ++i) {
    ParseMetric(metrics->children[i], i, out);
  }
}

// The first member of `object` called `key`, or null.
const JsonNode* FindMember(const JsonNode& object, const char* key) {
  for (const JsonNode& member : object.children) {
    if (member.key == key) return &member;
  }
  return nullptr;
}

void FileParser::ParseMetric(const JsonNode& node, size_t index,
                             std::vector<MetricDef>* out) {
  std::string context = "allowedMetrics[" + std::to_string(index) + "]";
  if (!node.IsObject()) {
    errors_->Add(node.line, context + " must be an object, not " +
                                JsonTypeName(node.type));
    return;
  }
  const JsonNode* name = FindMember(node, "name");
  if (name != nullptr && name->IsString()) {
    context = "metric " + Quote(name->string);
  }
  MetricDef def;
  def.file = filename_;
  def.line = name != nullptr ? name->line : node.line;
  bool ok = true, has_type = false, has_buckets = false;
  std::set<std::string> seen;
  for (const JsonNode& member : node.children) {
    if (!FirstTime(member, context, &seen, errors_)) {
      ok = false;
      continue;
    }
    ok &= ParseMetricMember(member, context, &def, &has_type, &has_buckets);
  }
  ok &= CheckMetric(node, context, def, has_type, has_buckets);
  if (!ok) return;
  if (def.type == MetricType::kHistogram && !has_buckets && !def.native) {
    def.buckets = DefaultBuckets();
  }
  out->push_back(std::move(def));
}

bool FileParser::ParseMetricMember(const JsonNode& member,
                                   const std::string& context, MetricDef* def,
                                   bool* has_type, bool* has_buckets) {
  const std::string& key = member.key;
  if (key == "name") return ParseName(member, context, def);
  if (key == "help") {
    if (!ExpectType(member, JsonNode::Type::kString, context, errors_)) {
      return false;
    }
    def->help = member.string;
    return true;
  }
  if (key == "type") {
    *has_type = true;
    return ParseType(member, context, def);
  }
  if (key == "labels") return ParseLabels(member, context, def);
  if (key == "buckets") {
    *has_buckets = true;
    return ParseBuckets(member, context, def);
  }
  if (key == "series_ttl") return ParseSeriesTtl(member, context, def);
  if (key == "max_inc") return ParseMaxInc(member, context, def);
  if (key == "range") return ParseRange(member, context, def);
  if (key == "native") return ParseNative(member, context, def);
  errors_->Add(member.key_line, "unknown key " + Quote(key) + " in " + context);
  return false;
}

bool FileParser::ParseName(const JsonNode& node, const std::string& context,
                           MetricDef* def) {
  if (!ExpectType(node, JsonNode::Type::kString, context, errors_)) {
    return false;
  }
  def->name = node.string;
  if (!IsValidMetricName(def->name)) {
    errors_->Add(node.line, "metric name " + Quote(def->name) +
                                " is not a valid Prometheus metric name "
                                "([a-zA-Z_:][a-zA-Z0-9_:]*)");
    return false;
  }
  if (def->name.rfind(kReservedMetricPrefix, 0) == 0) {
    errors_->Add(node.line, "metric name " + Quote(def->name) +
                                " is reserved: the prefix \"pum_\" is for "
                                "pum's own metrics");
    return false;
  }
  return true;
}

bool FileParser::ParseType(const JsonNode& node, const std::string& context,
                           MetricDef* def) {
  if (!ExpectType(node, JsonNode::Type::kString, context, errors_)) {
    return false;
  }
  if (node.string == "counter") {
    def->type = MetricType::kCounter;
  } else if (node.string == "histogram") {
    def->type = MetricType::kHistogram;
  } else {
    errors_->Add(node.line, context + ": unknown type " + Quote(node.string) +
                                " (pum supports \"counter\" and "
                                "\"histogram\")");
    return false;
  }
  return true;
}

bool FileParser::ParseBuckets(const JsonNode& node, const std::string& context,
                              MetricDef* def) {
  if (!ExpectType(node, JsonNode::Type::kArray, context, errors_)) {
    return false;
  }
  if (node.children.empty()) {
    errors_->Add(node.line, context +
                                ": \"buckets\" must not be empty (omit it for "
                                "Prometheus' default buckets)");
    return false;
  }
  bool ok = true;
  for (const JsonNode& item : node.children) {
    if (item.type != JsonNode::Type::kNumber || !std::isfinite(item.number)) {
      errors_->Add(item.line, context +
                                  ": a bucket must be a finite number, "
                                  "not " +
                                  JsonTypeName(item.type));
      ok = false;
      continue;
    }
    if (!def->buckets.empty() && !(item.number > def->buckets.back())) {
      errors_->Add(item.line, context +
                                  ": buckets must be strictly increasing, "
                                  "but " +
                                  FormatNumber(item.number) + " follows " +
                                  FormatNumber(def->buckets.back()));
      ok = false;
    }
    def->buckets.push_back(item.number);
  }
  return ok;
}

bool FileParser::ParseMaxInc(const JsonNode& node, const std::string& context,
                             MetricDef* def) {
  if (node.type != JsonNode::Type::kNumber || !(node.number > 0) ||
      !(node.number < kMaxExactTotal)) {
    errors_->Add(node.line, context +
                                ": \"max_inc\" must be a number above 0 and "
                                "below 2^53");
    return false;
  }
  def->max_inc = node.number;
  return true;
}

bool FileParser::ParseRange(const JsonNode& node, const std::string& context,
                            MetricDef* def) {
  const bool pair = node.IsArray() && node.children.size() == 2 &&
                    node.children[0].type == JsonNode::Type::kNumber &&
                    node.children[1].type == JsonNode::Type::kNumber;
  if (!pair || !std::isfinite(node.children[0].number) ||
      !std::isfinite(node.children[1].number) ||
      !(node.children[0].number < node.children[1].number)) {
    errors_->Add(node.line, context +
                                ": \"range\" must be [min, max], two finite "
                                "numbers with min < max");
    return false;
  }
  def->range_min = node.children[0].number;
  def->range_max = node.children[1].number;
  return true;
}

// "native": true | false | {"schema": S, "max_buckets": N}.
bool FileParser::ParseNative(const JsonNode& node, const std::string& context,
                             MetricDef* def) {
  if (node.type == JsonNode::Type::kBool) {
    def->native = node.boolean;
    return true;
  }
  if (!node.IsObject()) {
    errors_->Add(node.line, context +
                                ": \"native\" must be true, false or "
                                "{\"schema\": S, \"max_buckets\": N}");
    return false;
  }
  def->native = true;
  bool ok = true;
  std::set<std::string> seen;
  for (const JsonNode& member : node.children) {
    if (!FirstTime(member, context + "'s \"native\"", &seen, errors_)) {
      ok = false;
      continue;
    }
    ok &= ParseNativeMember(member, context, def);
  }
  return ok;
}

bool FileParser::ParseNativeMember(const JsonNode& member,
                                   const std::string& context, MetricDef* def) {
  const bool integer = member.is_integer;
  if (member.key == "schema") {
    if (!integer || member.integer < kNativeMinSchema ||
        member.integer > kNativeMaxSchema) {
      errors_->Add(member.line, context +
                                    ": \"native\" \"schema\" must be an "
                                    "integer from -4 to 8");
      return false;
    }
    def->native_schema = static_cast<int>(member.integer);
    return true;
  }
  if (member.key == "max_buckets") {
    if (!integer || member.integer < 1 || member.integer > 100000) {
      errors_->Add(member.line, context +
                                    ": \"native\" \"max_buckets\" must be "
                                    "an integer from 1 to 100000");
      return false;
    }
    def->native_max_buckets = static_cast<uint32_t>(member.integer);
    return true;
  }
  errors_->Add(member.key_line, "unknown key " + Quote(member.key) + " in " +
                                    context +
                                    "'s \"native\" (expected "
                                    "\"schema\" or \"max_buckets\")");
  return false;
}

bool FileParser::ParseSeriesTtl(const JsonNode& node,
                                const std::string& context, MetricDef* def) {
  int64_t ms = 0;
  if (!node.IsString() || !ParseDuration(node.string, &ms) || ms < 1000) {
    errors_->Add(node.line, context +
                                ": \"series_ttl\" must be a duration from "
                                "1s to 100y such as \"30d\" or \"1h30m\" "
                                "(units y, w, d, h, m, s, ms, in that order)");
    return false;
  }
  def->series_ttl_ms = ms;
  return true;
}

// "series_ttl" needs a pattern label: the series of a metric whose labels
// are all enumerated are exported from the start and never expire.
bool FileParser::CheckSeriesTtl(const JsonNode& node,
                                const std::string& context,
                                const MetricDef& def) {
  const JsonNode* ttl = FindMember(node, "series_ttl");
  if (ttl == nullptr) return true;
  for (const LabelDef& label : def.labels) {
    if (!label.enumerated()) return true;
  }
  // A pattern label with a problem of its own is not in def.labels: that
  // problem is reported, not this one.
  const JsonNode* labels = FindMember(node, "labels");
  if (labels != nullptr && labels->IsArray()) {
    for (const JsonNode& label : labels->children) {
      if (label.IsObject() && FindMember(label, "pattern") != nullptr) {
        return true;
      }
    }
  }
  errors_->Add(ttl->key_line,
               context +
                   ": \"series_ttl\" needs a label with \"pattern\" (the "
                   "series of a metric whose labels are all enumerated are "
                   "exported from the start and never expire)");
  return false;
}

bool FileParser::ParseLabels(const JsonNode& node, const std::string& context,
                             MetricDef* def) {
  if (!ExpectType(node, JsonNode::Type::kArray, context, errors_)) {
    return false;
  }
  bool ok = true;
  std::map<std::string, int> lines;  // label name -> line
  for (size_t i = 0; i < node.children.size(); ++i) {
    LabelDef label;
    if (!ParseLabel(node.children[i], i, context, &label)) {
      ok = false;
      continue;
    }
    // ParseLabel() accepts no label without a "name".
    const JsonNode* name = FindMember(node.children[i], "name");
    assert(name != nullptr);
    auto [it, inserted] = lines.emplace(label.name, name->line);
    if (!inserted) {
      errors_->Add(name->line, context + ": label " + Quote(label.name) +
                                   " is defined twice (first on line " +
                                   std::to_string(it->second) + ")");
      ok = false;
      continue;
    }
    def->labels.push_back(std::move(label));
  }
  return ok;
}

bool FileParser::ParseLabel(const JsonNode& node, size_t index,
                            const std::string& metric_context,
                            LabelDef* label) {
  std::string label_desc = "labels[" + std::to_string(index) + "]";
  std::string context = metric_context + ": " + label_desc;
  if (!node.IsObject()) {
    errors_->Add(node.line, context + " must be an object, not " +
                                JsonTypeName(node.type));
    return false;
  }
  const JsonNode* name = FindMember(node, "name");
  if (name != nullptr && name->IsString()) {
    label_desc = "label " + Quote(name->string);
    context = metric_context + ": " + label_desc;
  }
  const std::string where = label_desc + " of " + metric_context;
  bool ok = true, has_max = false, has_overflow = false;
  std::set<std::string> seen;
  for (const JsonNode& member : node.children) {
    if (!FirstTime(member, context, &seen, errors_)) {
      ok = false;
      continue;
    }
    has_max |= member.key == "maxValues";
    has_overflow |= member.key == "overflowValue";
    if (member.key == "name") {
      ok &= ParseLabelName(member, context, metric_context, label);
    } else {
      ok &= ParseLabelMember(member, context, where, label);
    }
  }
  if (name == nullptr) {
    errors_->Add(node.line, context + ": missing \"name\"");
    return false;
  }
  // A pattern label is always capped, so that no client can grow the store
  // (or Prometheus) without bound.
  if (!label->enumerated() && label->max_values == 0) {
    label->max_values = kDefaultPatternMaxValues;
  }
  return CheckLabel(node, context, has_max, has_overflow) && ok;
}

bool FileParser::ParseLabelMember(const JsonNode& member,
                                  const std::string& context,
                                  const std::string& where, LabelDef* label) {
  const std::string& key = member.key;
  if (key == "allowedValues") return ParseAllowedValues(member, context, label);
  if (key == "pattern") return ParsePattern(member, context, label);
  if (key == "maxValues") {
    if (!member.is_integer || member.integer < 1 ||
        member.integer > kMaxMaxValues) {
      errors_->Add(member.line, context +
                                    ": \"maxValues\" must be an integer from "
                                    "1 to " +
                                    std::to_string(kMaxMaxValues));
      return false;
    }
    label->max_values = static_cast<uint32_t>(member.integer);
    return true;
  }
  if (key == "overflowValue") {
    if (!ExpectType(member, JsonNode::Type::kString, context, errors_)) {
      return false;
    }
    if (member.string.empty()) {
      errors_->Add(member.line, context + ": \"overflowValue\" is empty");
      return false;
    }
    label->overflow_value = member.string;
    return true;
  }
  errors_->Add(member.key_line, "unknown key " + Quote(key) + " in " + where);
  return false;
}

bool FileParser::ParseLabelName(const JsonNode& node,
                                const std::string& context,
                                const std::string& metric_context,
                                LabelDef* label) {
  if (!ExpectType(node, JsonNode::Type::kString, context, errors_)) {
    return false;
  }
  label->name = node.string;
  std::string problem;
  if (!IsValidLabelName(label->name)) {
    problem = "is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)";
  } else if (label->name == "le") {
    problem = "is reserved (histogram buckets use it)";
  } else if (label->name.compare(0, 2, "__") == 0) {
    problem = "is reserved (names starting with \"__\" are for Prometheus)";
  }
  if (problem.empty()) return true;
  errors_->Add(node.line, metric_context + ": label name " +
                              Quote(label->name) + " " + problem);
  return false;
}

bool FileParser::ParseAllowedValues(const JsonNode& node,
                                    const std::string& context,
                                    LabelDef* label) {
  if (!ExpectType(node, JsonNode::Type::kArray, context, errors_)) {
    return false;
  }
  if (node.children.empty()) {
    errors_->Add(node.line, context + ": \"allowedValues\" is empty");
    return false;
  }
  bool ok = true;
  std::set<std::string> values;
  for (const JsonNode& item : node.children) {
    std::string problem;
    if (!item.IsString()) {
      problem = std::string("an allowed value must be a string, not ") +
                JsonTypeName(item.type);
    } else if (item.string.empty()) {
      problem =
          "an allowed value is empty (Prometheus reads an empty value "
          "as a missing label)";
    } else if (!values.insert(item.string).second) {
      problem = "allowed value " + Quote(item.string) + " is listed twice";
    }
    if (!problem.empty()) {
      errors_->Add(item.line, context + ": " + problem);
      ok = false;
      continue;
    }
    label->allowed_values.push_back(item.string);
  }
  return ok;
}

bool FileParser::ParsePattern(const JsonNode& node, const std::string& context,
                              LabelDef* label) {
  if (!ExpectType(node, JsonNode::Type::kString, context, errors_)) {
    return false;
  }
  if (node.string.empty()) {
    errors_->Add(node.line, context + ": \"pattern\" is empty");
    return false;
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_never_capture(true);
  auto regex = std::make_shared<const RE2>(node.string, options);
  if (!regex->ok()) {
    errors_->Add(node.line, context + ": pattern " + Quote(node.string) +
                                " does not compile (RE2 syntax: no "
                                "backreferences or lookaround): " +
                                regex->error());
    return false;
  }
  label->regex = std::move(regex);
  label->pattern = node.string;
  return true;
}

bool FileParser::CheckLabel(const JsonNode& node, const std::string& context,
                            bool has_max, bool has_overflow) {
  const bool has_values = FindMember(node, "allowedValues") != nullptr;
  const bool has_pattern = FindMember(node, "pattern") != nullptr;
  std::string problem;
  if (has_values && has_pattern) {
    problem = "has both \"allowedValues\" and \"pattern\"; give one";
  } else if (!has_values && !has_pattern) {
    problem = "needs \"allowedValues\" or \"pattern\"";
  } else if (has_values && (has_max || has_overflow)) {
    problem = "\"maxValues\" and \"overflowValue\" go with \"pattern\" only";
  } else if (has_overflow && !has_max) {
    problem = "\"overflowValue\" needs \"maxValues\"";
  }
  if (problem.empty()) return true;
  errors_->Add(node.line, context + ": " + problem);
  return false;
}

// "max_inc" goes with a counter, "range" with a histogram.
bool FileParser::CheckTypeOnlyKeys(const JsonNode& node,
                                   const std::string& context,
                                   const MetricDef& def) {
  const bool counter = def.type == MetricType::kCounter;
  bool ok = true;
  for (const char* key : {"range", "max_inc", "native"}) {
    const bool histogram_key = std::strcmp(key, "max_inc") != 0;
    const JsonNode* misplaced = FindMember(node, key);
    if (misplaced == nullptr || histogram_key != counter) continue;
    errors_->Add(misplaced->key_line, context + ": " + Quote(key) +
                                          " is only for a " +
                                          (counter ? "histogram" : "counter"));
    ok = false;
  }
  return ok;
}

bool FileParser::CheckMetric(const JsonNode& node, const std::string& context,
                             const MetricDef& def, bool has_type,
                             bool has_buckets) {
  bool ok = true;
  if (FindMember(node, "name") == nullptr) {
    errors_->Add(node.line, context + ": missing \"name\"");
    ok = false;
  }
  if (!has_type) {
    errors_->Add(node.line, context + ": missing \"type\"");
    ok = false;
  } else if (has_buckets && def.type == MetricType::kCounter &&
             FindMember(node, "type")->string == "counter") {
    const JsonNode* buckets = FindMember(node, "buckets");
    assert(buckets != nullptr);  // has_buckets
    errors_->Add(buckets->line,
                 context + ": \"buckets\" is only for a histogram");
    ok = false;
  }
  if (has_type) ok &= CheckTypeOnlyKeys(node, context, def);
  ok &= CheckSeriesTtl(node, context, def);
  uint64_t combinations = 1;
  for (const LabelDef& label : def.labels) {
    if (!label.enumerated()) continue;
    combinations *= label.allowed_values.size();
    if (combinations > kMaxCombinations) {
      errors_->Add(node.line, context +
                                  ": its allowed label values make more than " +
                                  std::to_string(kMaxCombinations) +
                                  " combinations, each exported as a series");
      return false;
    }
  }
  return ok;
}

}  // namespace

void FileErrors::Add(int line, std::string message) {
  assert(line >= 1);
  errors_.emplace_back(
      line, filename_ + ":" + std::to_string(line) + ": " + std::move(message));
}

void FileErrors::AddFormatted(std::string message) {
  errors_.emplace_back(0, std::move(message));
}

void FileErrors::AppendTo(std::vector<std::string>* out) const {
  std::vector<std::pair<int, std::string>> sorted = errors_;
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [line, message] : sorted) out->push_back(std::move(message));
}

bool ParseDuration(std::string_view text, int64_t* ms) {
  // Prometheus' units, in the order they must come.
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {
      {"y", 365LL * 86400 * 1000},
      {"w", 7LL * 86400 * 1000},
      {"d", 86400LL * 1000},
      {"h", 3600LL * 1000},
      {"m", 60LL * 1000},
      {"s", 1000},
      {"ms", 1},
  };
  constexpr size_t kNoUnit = sizeof(kUnits) / sizeof(kUnits[0]);
  if (text.empty()) return false;
  int64_t total = 0;
  size_t next_unit = 0;  // units before this one are used up
  size_t i = 0;
  while (i < text.size()) {
    const size_t digits = i;
    int64_t n = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (n > kMaxSeriesTtlMs) return false;  // too big anyway
      n = n * 10 + (text[i] - '0');
    }
    if (i == digits) return false;  // a unit without a number
    size_t end = i;
    while (end < text.size() && (text[end] < '0' || text[end] > '9')) ++end;
    const std::string_view name = text.substr(i, end - i);
    size_t unit = next_unit;
    while (unit < kNoUnit && kUnits[unit].name != name) ++unit;
    if (unit == kNoUnit) return false;  // unknown, repeated or out of order
    if (n > kMaxSeriesTtlMs / kUnits[unit].ms) return false;
    total += n * kUnits[unit].ms;
    if (total > kMaxSeriesTtlMs) return false;
    next_unit = unit + 1;
    i = end;
  }
  *ms = total;
  return true;
}

void ParseAllowlistFile(const std::string& text, FileErrors* errors,
                        std::vector<MetricDef>* out) {
  JsonNode root;
  Status parsed = ParseJsonWithLines(text, errors->filename(), false, &root);
  if (!parsed.ok()) {
    errors->AddFormatted(parsed.message());
    return;
  }
  FileParser(errors->filename(), errors).ParseRoot(root, out);
}

}  // namespace pum
