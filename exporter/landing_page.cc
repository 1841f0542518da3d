#include "exporter/landing_page.h"

#include <string>

namespace pum {
namespace {

constexpr char kHead[] = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pum-exporter</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
table { border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: .3em 1em .3em 0; border-bottom: 1px solid #ddd; }
code { font-size: 95%; }
</style>
</head>
<body>
<h1>pum-exporter</h1>
<p>Page-usage metrics that browsers report, as Prometheus metrics.</p>
)";

constexpr char kLinks[] = R"(<ul>
<li><a href="metrics">/metrics</a>: the metrics, for Prometheus to scrape</li>
<li><a href="-/healthy">/-/healthy</a>: 200 while the process serves</li>
<li><a href="-/ready">/-/ready</a>: 200 when the store can be read</li>
</ul>
)";

std::string LabelNames(const MetricDef& metric) {
  std::string out;
  for (const LabelDef& label : metric.labels) {
    if (!out.empty()) out += ", ";
    out += "<code>" + HtmlEscape(label.name) + "</code>";
  }
  return out;
}

// "counter", "histogram", or "histogram, native (schema S)".
std::string TypeText(const MetricDef& metric) {
  std::string out = MetricTypeName(metric.type);
  if (metric.native) {
    out += ", native (schema " + std::to_string(metric.native_schema) + ")";
  }
  return out;
}

std::string MetricsTable(const Allowlist& allowlist) {
  const auto& metrics = allowlist.metrics();
  std::string out = "<h2>The allowlist: " + std::to_string(metrics.size()) +
                    (metrics.size() == 1 ? " metric" : " metrics") + "</h2>\n";
  if (metrics.empty()) {
    return out +
           "<p>No metrics: every event is rejected as "
           "<code>unknown_metric</code>. Add *.json files to the allowlist "
           "directory.</p>\n";
  }
  out +=
      "<table>\n<tr><th>Name</th><th>Type</th><th>Labels</th><th>Help</th>"
      "</tr>\n";
  for (const MetricDef& metric : metrics) {
    out += "<tr><td><code>" + HtmlEscape(metric.name) + "</code></td><td>" +
           TypeText(metric) + "</td><td>" + LabelNames(metric) + "</td><td>" +
           HtmlEscape(metric.help) + "</td></tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderLandingPage(std::string_view version_line,
                              const Allowlist& allowlist) {
  std::string page = kHead;
  page += "<p>" + HtmlEscape(version_line) + "</p>\n";
  page += kLinks;
  page += MetricsTable(allowlist);
  page += "</body>\n</html>\n";
  return page;
}

}  // namespace pum
