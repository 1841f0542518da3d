#include "exporter/landing_page.h"

#include <gtest/gtest.h>

#include <string>

namespace pum {
namespace {

TEST(LandingPage, HtmlEscapeReplacesTheFiveSpecialCharacters) {
  struct Case {
    const char* text;
    const char* escaped;
  };
  const Case cases[] = {
      {"", ""},
      {"plain text, caf\xC3\xA9", "plain text, caf\xC3\xA9"},
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"a & b", "a &amp; b"},
      {"&amp;", "&amp;amp;"},
      {"\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HtmlEscape(c.text), c.escaped) << c.text;
  }
}

TEST(LandingPage, ShowsVersionLinksAndTheMetrics) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(R"({"allowedMetrics": [
    {"name": "b_total", "help": "Bees.", "type": "counter",
     "labels": [{"name": "hive", "allowedValues": ["x"]},
                {"name": "kind", "pattern": "[a-z]+"}]},
    {"name": "a_seconds", "help": "Aye.", "type": "histogram"},
    {"name": "c_seconds", "help": "Sea.", "type": "histogram",
     "native": {"schema": 5}}]})",
                                    "m.json");
  ASSERT_TRUE(status.ok()) << status.message();
  const std::string page = RenderLandingPage(
      "pum-exporter, version 0.1.0 (revision abc1234)", allowlist);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>\n", 0), 0u);
  EXPECT_NE(page.find("<title>pum-exporter</title>"), std::string::npos);
  EXPECT_NE(page.find("<p>pum-exporter, version 0.1.0 (revision abc1234)</p>"),
            std::string::npos);
  for (const char* link : {"<a href=\"metrics\">/metrics</a>",
                           "<a href=\"-/healthy\">/-/healthy</a>",
                           "<a href=\"-/ready\">/-/ready</a>"}) {
    EXPECT_NE(page.find(link), std::string::npos) << link;
  }
  EXPECT_NE(page.find("<h2>The allowlist: 3 metrics</h2>"), std::string::npos);
  EXPECT_NE(page.find("<tr><td><code>c_seconds</code></td><td>histogram, "
                      "native (schema 5)</td>"),
            std::string::npos)
      << page;
  // Sorted by name, as the allowlist keeps them.
  const size_t a = page.find(
      "<tr><td><code>a_seconds</code></td><td>histogram</td><td></td>"
      "<td>Aye.</td></tr>");
  const size_t b = page.find(
      "<tr><td><code>b_total</code></td><td>counter</td><td><code>hive</code>, "
      "<code>kind</code></td><td>Bees.</td></tr>");
  EXPECT_NE(a, std::string::npos) << page;
  EXPECT_NE(b, std::string::npos) << page;
  EXPECT_LT(a, b);
  EXPECT_EQ(page.substr(page.size() - 16), "</body>\n</html>\n");
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST(LandingPage, EscapesEverythingFromOutside) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(R"({"allowedMetrics": [
    {"name": "x_total", "type": "counter",
     "help": "<script>alert(\"pwned\")</script> & <b>bold</b> 'q'"}]})",
                                    "m.json");
  ASSERT_TRUE(status.ok()) << status.message();
  const std::string page = RenderLandingPage(
      "pum-exporter, version <img src=x onerror=1>", allowlist);
  EXPECT_NE(page.find("<td>&lt;script&gt;alert(&quot;pwned&quot;)&lt;/"
                      "script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &#39;q&#39;"
                      "</td>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<p>pum-exporter, version &lt;img src=x onerror=1&gt;"
                      "</p>"),
            std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
}

TEST(LandingPage, SaysSoWhenTheAllowlistIsEmpty) {
  const std::string page = RenderLandingPage("v", Allowlist());
  EXPECT_NE(page.find("<h2>The allowlist: 0 metrics</h2>"), std::string::npos);
  EXPECT_NE(page.find("every event is rejected"), std::string::npos);
  EXPECT_EQ(page.find("<table>"), std::string::npos);
}

TEST(LandingPage, OneMetricIsSingular) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist
                  .AddFile(R"({"allowedMetrics": [
    {"name": "x_total", "help": "X.", "type": "counter"}]})",
                           "m.json")
                  .ok());
  EXPECT_NE(RenderLandingPage("v", allowlist)
                .find("<h2>The allowlist: 1 metric</h2>"),
            std::string::npos);
}

}  // namespace
}  // namespace pum
