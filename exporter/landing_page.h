// LandingPage: the HTML page pum-exporter serves on GET /, as Prometheus'
// own exporters have one: the program and its version, links to /metrics,
// /-/healthy and /-/ready, and the metrics of the loaded allowlist with
// their type, labels and help.
//
// Contract:
//   - A complete HTML5 document in UTF-8, with no script and no outside
//     resource (its style is inline), so it works offline and under a strict
//     Content-Security-Policy that allows inline styles.
//   - Every text that comes from outside the code (the version line, metric
//     and label names, help texts) is HTML-escaped: HtmlEscape() below.
//   - The links are relative ("metrics", "-/healthy", "-/ready"), so they
//     still work behind a reverse proxy that serves the exporter under a
//     path prefix.
#ifndef PUM_EXPORTER_LANDING_PAGE_H_
#define PUM_EXPORTER_LANDING_PAGE_H_

#include <string>
#include <string_view>

#include "schema/allowlist/allowlist.h"

namespace pum {

// The page for `allowlist`; `version_line` is build_info.h's VersionLine().
std::string RenderLandingPage(std::string_view version_line,
                              const Allowlist& allowlist);

// `text` with & < > " ' replaced by their character references, so that it
// can go in HTML text and in quoted attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace pum

#endif  // PUM_EXPORTER_LANDING_PAGE_H_
