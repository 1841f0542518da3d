// libFuzzer target: Allowlist::AddFile (schema/allowlist/allowlist.h) on the
// fuzzer's bytes as the text of one metrics.d/*.json file. Invariants checked
// on every input: a failure is InvalidArgument whose message names "fuzz.json:"
// on every line; a success gives metrics sorted by name with valid names,
// histograms with finite strictly increasing buckets, labels with exactly one
// of allowedValues/pattern, each allowed value Allows()ed; every pattern is
// then run (RE2, linear time) on slices of the input; the same text added a
// second time fails (every metric is defined twice).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schema/allowlist/allowlist.h"

namespace {

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_allowlist: invariant broken: %s (%s)\n", what,
               detail.c_str());
  std::abort();
}

// PUM_FUZZ_FIRST_LINE_ONLY=1: only the message's first line must name the
// file (bug 5 in README.md: a name holding "\n" breaks the later lines).
bool FirstLineOnly() {
  const char* v = std::getenv("PUM_FUZZ_FIRST_LINE_ONLY");
  return v != nullptr && std::string(v) == "1";
}

void CheckError(const pum::Status& s) {
  static const bool first_line_only = FirstLineOnly();
  if (s.code() != pum::Status::Code::kInvalidArgument)
    Fail("a failure other than InvalidArgument", s.message());
  size_t start = 0;
  const std::string& m = s.message();
  if (m.empty()) Fail("a failure without a message", m);
  while (start < m.size()) {
    size_t end = m.find('\n', start);
    if (end == std::string::npos) end = m.size();
    if (m.compare(start, 10, "fuzz.json:") != 0)
      Fail("an error line not naming fuzz.json:line", m);
    if (first_line_only) break;
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  pum::Allowlist allowlist;
  pum::Status s = allowlist.AddFile(text, "fuzz.json");
  if (!s.ok()) {
    CheckError(s);
    if (!allowlist.metrics().empty()) Fail("a failed file added metrics", "");
    return 0;
  }
  const auto& metrics = allowlist.metrics();
  for (size_t i = 0; i < metrics.size(); ++i) {
    const pum::MetricDef& m = metrics[i];
    if (i > 0 && !(metrics[i - 1].name < m.name)) Fail("unsorted", m.name);
    if (!pum::IsValidMetricName(m.name) || m.name.rfind("pum_", 0) == 0)
      Fail("bad metric name accepted", m.name);
    if (allowlist.Find(m.name) != &m) Fail("Find misses a metric", m.name);
    for (size_t b = 0; b < m.buckets.size(); ++b) {
      if (!std::isfinite(m.buckets[b])) Fail("a bucket not finite", m.name);
      if (b > 0 && !(m.buckets[b - 1] < m.buckets[b]))
        Fail("buckets not strictly increasing", m.name);
    }
    if (m.type == pum::MetricType::kHistogram && m.buckets.empty())
      Fail("a histogram without buckets", m.name);
    for (const pum::LabelDef& l : m.labels) {
      if (!pum::IsValidLabelName(l.name) || l.name == "le")
        Fail("bad label name accepted", l.name);
      if (m.FindLabel(l.name) != &l) Fail("FindLabel misses a label", l.name);
      if (l.enumerated() == (l.regex != nullptr))
        Fail("a label with both or neither of allowedValues/pattern", l.name);
      for (const std::string& v : l.allowed_values) {
        if (!l.Allows(v)) Fail("an allowed value not allowed", v);
      }
      if (!l.enumerated()) {
        // The pattern on slices of the input: linear time, whatever it is.
        for (size_t len : {size_t{0}, size_t{1}, size / 3, size}) {
          (void)l.Allows(std::string_view(text).substr(0, len));
          (void)l.Allows(std::string_view(text).substr(size - len));
        }
      }
    }
  }
  if (!metrics.empty()) {
    pum::Status twice = allowlist.AddFile(text, "fuzz.json");
    if (twice.ok()) Fail("a metric defined twice accepted", metrics[0].name);
    CheckError(twice);
  }
  return 0;
}
