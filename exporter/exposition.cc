#include "exporter/exposition.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace pum {
namespace {

constexpr std::string_view kTotalSuffix = "_total";

enum class Format { kText, kOpenMetrics };

void AppendUint(std::string* out, uint64_t value) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, result.ptr);
}

// The shortest round-trip digits of a finite, non-zero |value| and its
// decimal exponent: value = 0.d1d2d3... * 10^(exponent + 1).
void ShortestDigits(double value, std::string* digits, int* exponent) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), std::fabs(value),
                              std::chars_format::scientific);
  std::string_view text(buf, result.ptr - buf);  // d[.ddd]e[+-]xx
  size_t e = text.find('e');
  digits->assign(1, text[0]);
  if (e > 1) digits->append(text.substr(2, e - 2));
  std::string_view exp_text = text.substr(e + 1);
  bool negative = exp_text[0] == '-';
  int magnitude = 0;
  std::from_chars(exp_text.data() + 1, exp_text.data() + exp_text.size(),
                  magnitude);
  *exponent = negative ? -magnitude : magnitude;
}

// Go's %e layout: d.ddde+xx, at least two exponent digits.
void AppendExponentForm(std::string* out, const std::string& digits,
                        int exponent) {
  out->push_back(digits[0]);
  if (digits.size() > 1) {
    out->push_back('.');
    out->append(digits, 1, std::string::npos);
  }
  out->push_back('e');
  out->push_back(exponent < 0 ? '-' : '+');
  int magnitude = std::abs(exponent);
  if (magnitude < 10) out->push_back('0');
  AppendUint(out, static_cast<uint64_t>(magnitude));
}

// Go's %f layout with exactly the digits needed.
void AppendFixedForm(std::string* out, const std::string& digits,
                     int exponent) {
  const int count = static_cast<int>(digits.size());
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) out->push_back('0');
  for (int i = 0; i < point; ++i) out->push_back(i < count ? digits[i] : '0');
  if (count <= point) return;
  out->push_back('.');
  for (int i = point < 0 ? point : 0; i < 0; ++i) out->push_back('0');
  out->append(digits, point > 0 ? point : 0, std::string::npos);
}

void AppendEscaped(std::string* out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && escape_quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

bool EndsWithTotal(std::string_view name) {
  return name.size() > kTotalSuffix.size() &&
         name.substr(name.size() - kTotalSuffix.size()) == kTotalSuffix;
}

const char* TypeName(MetricKind kind, Format format, std::string_view name) {
  switch (kind) {
    case MetricKind::kCounter:
      if (format == Format::kOpenMetrics && !EndsWithTotal(name)) {
        return "unknown";
      }
      return "counter";
    case MetricKind::kGauge:
      return "gauge";
    case MetricKind::kHistogram:
      return "histogram";
    case MetricKind::kUntyped:
      break;
  }
  return format == Format::kOpenMetrics ? "unknown" : "untyped";
}

// The name in HELP and TYPE lines: OpenMetrics counters drop "_total".
std::string_view DescriptorName(const MetricFamily& family, Format format) {
  std::string_view name = family.name;
  if (format == Format::kOpenMetrics && family.kind == MetricKind::kCounter &&
      EndsWithTotal(name)) {
    name.remove_suffix(kTotalSuffix.size());
  }
  return name;
}

void AppendDescriptors(std::string* out, const MetricFamily& family,
                       Format format) {
  std::string_view name = DescriptorName(family, format);
  std::string type_line = "# TYPE ";
  type_line.append(name).push_back(' ');
  type_line.append(TypeName(family.kind, format, family.name)).push_back('\n');
  std::string help_line;
  if (!family.help.empty()) {
    help_line = "# HELP ";
    help_line.append(name).push_back(' ');
    AppendEscaped(&help_line, family.help, format == Format::kOpenMetrics);
    help_line.push_back('\n');
  }
  // The text format's custom is HELP first; OpenMetrics asks for TYPE first.
  if (format == Format::kOpenMetrics) {
    out->append(type_line).append(help_line);
  } else {
    out->append(help_line).append(type_line);
  }
}

Format ToFormat(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics ? Format::kOpenMetrics
                                                  : Format::kText;
}

// The "le" value of `bound`; empty for +Inf (the serializers add that
// bucket from the count).
std::string LeValue(double bound, ExpositionFormat format) {
  if (std::isinf(bound) && bound > 0) return std::string();
  return format == ExpositionFormat::kOpenMetrics ? FormatCanonicalNumber(bound)
                                                  : FormatNumber(bound);
}

// The le values of `series`' bounds, reusing `*layout`'s when the bounds
// are the same as the previous series'.
void UpdateLe(const HistogramSample& series, std::vector<double>* bounds,
              FamilyLayout* layout) {
  bool same = bounds->size() == series.buckets.size();
  for (size_t i = 0; same && i < series.buckets.size(); ++i) {
    // Bit-equal, so that -0 and 0 or NaNs never share a label.
    same = std::memcmp(&(*bounds)[i], &series.buckets[i].first,
                       sizeof(double)) == 0;
  }
  if (same) return;
  bounds->clear();
  layout->le.clear();
  for (const auto& bucket : series.buckets) {
    bounds->push_back(bucket.first);
    layout->le.push_back(LeValue(bucket.first, layout->format));
  }
}

std::string Serialize(const std::vector<MetricFamily>& families,
                      ExpositionFormat format) {
  std::string out;
  std::vector<uint64_t> cumulative;
  for (const MetricFamily& family : families) {
    FamilyLayout layout =
        MakeFamilyLayout(format, family.name, family.help, family.kind, {});
    out.append(layout.header);
    if (family.kind == MetricKind::kHistogram) {
      std::vector<double> bounds;
      for (const HistogramSample& series : family.histograms) {
        // Cumulative counts (Collect's ToHistogram() builds them so).
        assert(std::adjacent_find(series.buckets.begin(), series.buckets.end(),
                                  [](const auto& a, const auto& b) {
                                    return a.first >= b.first ||
                                           a.second > b.second;
                                  }) == series.buckets.end());
        UpdateLe(series, &bounds, &layout);
        cumulative.clear();
        for (const auto& bucket : series.buckets) {
          cumulative.push_back(bucket.second);
        }
        AppendHistogramLines(&out, layout, RenderLabels(series.labels),
                             cumulative.data(), series.count, series.sum);
      }
    } else {
      for (const Sample& sample : family.samples) {
        AppendSampleLine(&out, layout, RenderLabels(sample.labels),
                         sample.value);
      }
    }
  }
  return out;
}

// name{labels} or name{labels,le="x"} (or name{le="x"}), then a space.
void AppendSeriesName(std::string* out, std::string_view name,
                      std::string_view suffix, std::string_view labels,
                      const std::string* le) {
  out->append(name).append(suffix);
  if (labels.empty() && le == nullptr) {
    out->push_back(' ');
    return;
  }
  out->push_back('{');
  out->append(labels);
  if (le != nullptr) {
    if (!labels.empty()) out->push_back(',');
    out->append("le=\"").append(*le).push_back('"');
  }
  out->append("} ");
}

}  // namespace

std::string SerializeText(const std::vector<MetricFamily>& families) {
  return Serialize(families, ExpositionFormat::kText);
}

std::string SerializeOpenMetrics(const std::vector<MetricFamily>& families) {
  return Serialize(families, ExpositionFormat::kOpenMetrics).append("# EOF\n");
}

std::string SerializeFamilies(const std::vector<MetricFamily>& families,
                              ExpositionFormat format) {
  return Serialize(families, format);
}

FamilyLayout MakeFamilyLayout(ExpositionFormat format, const std::string& name,
                              const std::string& help, MetricKind kind,
                              const std::vector<double>& bounds) {
  FamilyLayout layout;
  layout.format = format;
  layout.name = name;
  layout.kind = kind;
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.kind = kind;
  AppendDescriptors(&layout.header, family, ToFormat(format));
  for (double bound : bounds) layout.le.push_back(LeValue(bound, format));
  return layout;
}

std::string RenderLabels(const LabelPairs& labels) {
  std::string out;
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(name).append("=\"");
    AppendEscaped(&out, value, /*escape_quote=*/true);
    out.push_back('"');
  }
  return out;
}

void AppendSampleLine(std::string* out, const FamilyLayout& layout,
                      std::string_view labels, double value) {
  AppendSeriesName(out, layout.name, "", labels, nullptr);
  AppendNumber(out, value);
  out->push_back('\n');
}

void AppendHistogramLines(std::string* out, const FamilyLayout& layout,
                          std::string_view labels, const uint64_t* cumulative,
                          uint64_t count, double sum) {
  // `name_bucket{labels,le="` once for the series' bucket lines.
  std::string prefix;
  prefix.reserve(layout.name.size() + labels.size() + 16);
  prefix.append(layout.name).append("_bucket{").append(labels);
  if (!labels.empty()) prefix.push_back(',');
  prefix.append("le=\"");
  for (size_t i = 0; i < layout.le.size(); ++i) {
    if (layout.le[i].empty()) continue;  // +Inf: added below
    out->append(prefix).append(layout.le[i]).append("\"} ");
    AppendUint(out, cumulative[i]);
    out->push_back('\n');
  }
  out->append(prefix).append("+Inf\"} ");
  AppendUint(out, count);
  out->push_back('\n');
  AppendSeriesName(out, layout.name, "_sum", labels, nullptr);
  AppendNumber(out, sum);
  out->push_back('\n');
  AppendSeriesName(out, layout.name, "_count", labels, nullptr);
  AppendUint(out, count);
  out->push_back('\n');
}

void AppendNumber(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else if (value == 0) {
    out->append(std::signbit(value) ? "-0" : "0");
  } else if (std::fabs(value) < 1e6 && value == std::trunc(value)) {
    // An integer that Go prints in fixed notation: its digits, without
    // the shortest-digits search (counts, integral counter values).
    if (value < 0) out->push_back('-');
    AppendUint(out, static_cast<uint64_t>(std::fabs(value)));
  } else {
    std::string digits;
    int exponent = 0;
    ShortestDigits(value, &digits, &exponent);
    if (value < 0) out->push_back('-');
    // strconv.FormatFloat(v, 'g', -1, 64): %e below 1e-4 and from 1e6.
    if (exponent < -4 || exponent >= 6) {
      AppendExponentForm(out, digits, exponent);
    } else {
      AppendFixedForm(out, digits, exponent);
    }
  }
}

std::string FormatNumber(double value) {
  std::string out;
  AppendNumber(&out, value);
  return out;
}

std::string FormatCanonicalNumber(double value) {
  std::string out = FormatNumber(value);
  if (std::isfinite(value) && out.find_first_of(".e") == std::string::npos) {
    out.append(".0");
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  AppendEscaped(&out, value, /*escape_quote=*/true);
  return out;
}

}  // namespace pum
