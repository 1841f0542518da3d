#include "schema/allowlist/file_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "schema/base/text.h"
#include "schema/testing/seed_allowlist.h"

namespace pum {
namespace {

using ::pum::testing::kSeedAllowlistFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What ParseAllowlistFile() gives for one file.
struct Parsed {
  std::vector<MetricDef> metrics;  // in file order
  std::string message;             // the problems, one per line; "" if none

  bool ok() const { return message.empty(); }
  // The metric called `name`, or null.
  const MetricDef* Find(std::string_view name) const {
    for (const MetricDef& m : metrics) {
      if (m.name == name) return &m;
    }
    return nullptr;
  }
};

Parsed Parse(const std::string& text, const std::string& filename = "x.json") {
  FileErrors errors(filename);
  Parsed parsed;
  ParseAllowlistFile(text, &errors, &parsed.metrics);
  std::vector<std::string> lines;
  errors.AppendTo(&lines);
  parsed.message = JoinLines(lines);
  EXPECT_EQ(errors.empty(), parsed.ok());
  return parsed;
}

std::vector<std::string> Names(const std::vector<MetricDef>& metrics) {
  std::vector<std::string> names;
  for (const MetricDef& m : metrics) names.push_back(m.name);
  return names;
}

TEST(FileParser, SeedFormatIsAccepted) {
  Parsed parsed = Parse(kSeedAllowlistFile, "app.json");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  EXPECT_THAT(Names(parsed.metrics),  // file order
              ElementsAre("usage_total", "firebase_response_time",
                          "performance_timing_navigationStart"));

  const MetricDef* usage = parsed.Find("usage_total");
  ASSERT_NE(usage, nullptr);
  EXPECT_EQ(usage->type, MetricType::kCounter);
  EXPECT_EQ(usage->help,
            "counts of usage, like times a feature has been used, etc");
  ASSERT_EQ(usage->labels.size(), 2u);
  EXPECT_EQ(usage->labels[0].name, "browser");  // file order, not sorted
  EXPECT_THAT(usage->labels[0].allowed_values,
              ElementsAre("chrome", "firefox", "safari", "edge"));
  EXPECT_EQ(usage->labels[1].name, "feature");
  EXPECT_TRUE(usage->labels[1].enumerated());
  EXPECT_TRUE(usage->FullyEnumerated());
  EXPECT_TRUE(usage->buckets.empty());
  EXPECT_EQ(usage->file, "app.json");
  EXPECT_EQ(usage->line, 4);  // the line of its "name"

  const MetricDef* firebase = parsed.Find("firebase_response_time");
  ASSERT_NE(firebase, nullptr);
  EXPECT_EQ(firebase->type, MetricType::kHistogram);
  EXPECT_THAT(firebase->buckets,
              ElementsAre(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100));
  EXPECT_TRUE(
      parsed.Find("performance_timing_navigationStart")->labels.empty());
}

TEST(FileParser, OmittedBucketsAreTheDefaultBuckets) {
  Parsed parsed = Parse(R"({"allowedMetrics": [
      {"name": "h", "type": "histogram"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  EXPECT_EQ(parsed.Find("h")->buckets, DefaultBuckets());
  EXPECT_THAT(DefaultBuckets(), ElementsAre(0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5, 1, 2.5, 5, 10));
}

TEST(FileParser, HelpAndLabelsMayBeOmitted) {
  Parsed parsed =
      Parse(R"({"allowedMetrics": [{"name": "c_total", "type": "counter"}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  const MetricDef* c = parsed.Find("c_total");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->help, "");
  EXPECT_TRUE(c->labels.empty());
  EXPECT_TRUE(c->FullyEnumerated());
  EXPECT_EQ(c->file, "x.json");
  EXPECT_EQ(c->line, 1);
}

TEST(FileParser, AnEmptyListIsValid) {
  Parsed parsed = Parse(R"({"allowedMetrics": []})");
  EXPECT_TRUE(parsed.ok()) << parsed.message;
  EXPECT_TRUE(parsed.metrics.empty());
}

// The definitions without problems are kept, in file order; the Allowlist
// decides whether to use them.
TEST(FileParser, KeepsTheDefinitionsWithoutProblems) {
  Parsed parsed = Parse(
      "{\"allowedMetrics\": [\n"
      "{\"name\": \"b_total\", \"type\": \"counter\"},\n"
      "{\"name\": \"bad\", \"type\": \"gauge\"},\n"
      "{\"name\": \"a_total\", \"type\": \"counter\"}]}");
  EXPECT_EQ(parsed.message,
            "x.json:3: metric \"bad\": unknown type \"gauge\" (pum supports "
            "\"counter\" and \"histogram\")");
  EXPECT_THAT(Names(parsed.metrics), ElementsAre("b_total", "a_total"));
}

constexpr char kPatternFile[] = R"({"allowedMetrics": [
  {"name": "views_total", "type": "counter", "labels": [
    {"name": "route", "pattern": "/[a-z]+", "maxValues": 50},
    {"name": "host", "pattern": "[a-z.]+", "maxValues": 3,
     "overflowValue": "other"},
    {"name": "kind", "allowedValues": ["a", "b"]}]}]})";

TEST(FileParser, PatternLabelsCompileAndKeepTheirCaps) {
  Parsed parsed = Parse(kPatternFile);
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  const MetricDef* m = parsed.Find("views_total");
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(m->FullyEnumerated());
  const LabelDef* route = m->FindLabel("route");
  ASSERT_NE(route, nullptr);
  EXPECT_FALSE(route->enumerated());
  EXPECT_EQ(route->pattern, "/[a-z]+");
  EXPECT_NE(route->regex, nullptr);
  EXPECT_TRUE(route->allowed_values.empty());
  EXPECT_EQ(route->max_values, 50u);
  EXPECT_EQ(route->overflow_value, "__overflow__");
  const LabelDef* host = m->FindLabel("host");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->max_values, 3u);
  EXPECT_EQ(host->overflow_value, "other");
  EXPECT_EQ(m->FindLabel("nope"), nullptr);
  EXPECT_EQ(m->FindLabel("kind")->max_values, 0u);
}

TEST(FileParser, PatternMustMatchTheWholeValue) {
  Parsed parsed = Parse(kPatternFile);
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  const LabelDef* route = parsed.Find("views_total")->FindLabel("route");
  struct Case {
    const char* value;
    bool allowed;
  };
  const Case cases[] = {
      {"/home", true},   {"/a", true},     {"/", false}, {"x/home", false},
      {"/home/", false}, {"/Home", false}, {"", false},  {"/home\n", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(route->Allows(c.value), c.allowed) << c.value;
  }
}

// A file whose metric foo has the label `a` with `pattern`.
Parsed ParsePattern(const std::string& pattern) {
  std::string escaped;
  for (char c : pattern) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    escaped.push_back(c);
  }
  return Parse(
      "{\"allowedMetrics\": [{\"name\": \"foo\", \"type\": \"counter\", "
      "\"labels\": [{\"name\": \"a\", \"pattern\": \"" +
      escaped + "\"}]}]}");
}

// Regression: std::regex recursed once per character, so a ~48 KB value
// against ^[\s\S]*$ overflowed the stack and killed pum-ingest (SIGSEGV),
// and (a+)+$ backtracked exponentially. RE2 is linear and iterative: 1 MiB
// values against pathological patterns are judged, and quickly.
TEST(FileParser, PatternsMatchHugeValuesWithoutRecursionOrBacktracking) {
  struct Case {
    const char* pattern;
    std::string value;
    bool allowed;
  };
  const std::string mib_a(1 << 20, 'a');
  const Case cases[] = {
      {R"(^[\s\S]*$)", mib_a, true},
      {R"([\s\S]*)", mib_a + "\n", true},
      {"(a+)+$", mib_a + "!", false},
      {"(a|aa)+", mib_a, true},
      {"(a|a)*b", mib_a, false},
      {"(.*)*x", mib_a, false},
      {"([a-z]+)*[0-9]", std::string(1 << 20, 'z'), false},
      {"(?:a?){1000}a{1000}", std::string(1000, 'a'), true},
      {".{0,1000}", std::string(2000, 'a'), false},
  };
  for (const Case& c : cases) {
    Parsed parsed = ParsePattern(c.pattern);
    ASSERT_TRUE(parsed.ok()) << c.pattern << ": " << parsed.message;
    const LabelDef* a = parsed.Find("foo")->FindLabel("a");
    EXPECT_EQ(a->Allows(c.value), c.allowed) << c.pattern;
  }
}

TEST(FileParser, PatternsOutsideRe2SyntaxAreLoadErrors) {
  const char* const patterns[] = {
      R"((a)\1)",  // backreference
      "(?=a)a",    // lookahead
      "(?!a)b",    // negative lookahead
      "(?<=a)b",   // lookbehind
      "a{2000}",   // repetition over RE2's limit of 1000
      "[z-a]",     // bad range
  };
  for (const char* pattern : patterns) {
    Parsed parsed = ParsePattern(pattern);
    EXPECT_FALSE(parsed.ok()) << pattern;
    EXPECT_THAT(parsed.message, HasSubstr("does not compile")) << pattern;
  }
}

TEST(FileParser, PatternsOfTheEcmaScriptSubsetCompile) {
  struct Case {
    const char* pattern;
    const char* value;
    bool allowed;
  };
  const Case cases[] = {
      {R"(\d{3})", "123", true},
      {R"(\d{3})", "12a", false},
      {R"([A-Za-z0-9_-]+)", "Ab_9-", true},
      {R"(^/users/\w+$)", "/users/bob", true},
      {"https?://[^/]+", "https://example.com", true},
      {"https?://[^/]+", "ftp://example.com", false},
      {"(?:foo|bar)+", "foobarfoo", true},
      {"caf\u00e9", "caf\u00e9", true},
      {".", "\u00e9", true},  // one code point, not one byte
  };
  for (const Case& c : cases) {
    Parsed parsed = ParsePattern(c.pattern);
    ASSERT_TRUE(parsed.ok()) << c.pattern << ": " << parsed.message;
    EXPECT_EQ(parsed.Find("foo")->FindLabel("a")->Allows(c.value), c.allowed)
        << c.pattern << " " << c.value;
  }
}

// A pattern label with no "maxValues" let clients create series without
// bound; it gets a default cap.
TEST(FileParser, PatternLabelsWithoutMaxValuesAreCappedByDefault) {
  Parsed parsed = ParsePattern("[a-z]+");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  const LabelDef* a = parsed.Find("foo")->FindLabel("a");
  EXPECT_EQ(a->max_values, kDefaultPatternMaxValues);
  EXPECT_EQ(a->overflow_value, "__overflow__");
}

TEST(FileParser, MaxIncAndRangeHaveDefaultsAndCanBeSet) {
  Parsed parsed = Parse(R"({"allowedMetrics": [
    {"name": "a_total", "type": "counter"},
    {"name": "b_total", "type": "counter", "max_inc": 5},
    {"name": "c_seconds", "type": "histogram"},
    {"name": "d_seconds", "type": "histogram", "range": [0, 3600]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  EXPECT_EQ(parsed.Find("a_total")->max_inc, 1e6);
  EXPECT_EQ(parsed.Find("b_total")->max_inc, 5);
  EXPECT_EQ(parsed.Find("c_seconds")->range_min, -1e12);
  EXPECT_EQ(parsed.Find("c_seconds")->range_max, 1e12);
  EXPECT_EQ(parsed.Find("d_seconds")->range_min, 0);
  EXPECT_EQ(parsed.Find("d_seconds")->range_max, 3600);
}

TEST(FileParser, BadMaxIncAndRangeAreErrorsWithFileAndLine) {
  struct Case {
    const char* metric;
    const char* message;
  };
  const Case cases[] = {
      {R"("type": "counter", "max_inc": 0)", "\"max_inc\" must be a number"},
      {R"("type": "counter", "max_inc": -1)", "\"max_inc\" must be a number"},
      {R"("type": "counter", "max_inc": "5")", "\"max_inc\" must be a number"},
      {R"("type": "counter", "max_inc": 1e16)", "below 2^53"},
      {R"("type": "counter", "range": [0, 1])",
       "\"range\" is only for a histogram"},
      {R"("type": "histogram", "max_inc": 1)",
       "\"max_inc\" is only for a counter"},
      {R"("type": "histogram", "range": [1, 1])", "min < max"},
      {R"("type": "histogram", "range": [2, 1])", "min < max"},
      {R"("type": "histogram", "range": [0])", "\"range\" must be [min, max]"},
      {R"("type": "histogram", "range": [0, 1, 2])", "must be [min, max]"},
      {R"("type": "histogram", "range": [0, "1"])", "must be [min, max]"},
      {R"("type": "histogram", "range": {"min": 0})", "must be [min, max]"},
      {R"("type": "histogram", "range": [0, 1e999])", "Number too big"},
  };
  for (const Case& c : cases) {
    Parsed parsed =
        Parse(std::string("{\"allowedMetrics\": [\n{\"name\": \"m\",\n") +
              c.metric + "}]}");
    EXPECT_FALSE(parsed.ok()) << c.metric;
    EXPECT_THAT(parsed.message, HasSubstr(c.message)) << c.metric;
    EXPECT_THAT(parsed.message, StartsWith("x.json:3: ")) << c.metric;
    EXPECT_TRUE(parsed.metrics.empty()) << c.metric;
  }
}

TEST(FileParser, NativeHistogramsHaveASchemaAndABucketCap) {
  Parsed parsed = Parse(R"({"allowedMetrics": [
    {"name": "a_seconds", "type": "histogram"},
    {"name": "b_seconds", "type": "histogram", "native": true},
    {"name": "c_seconds", "type": "histogram", "native": {"schema": -4}},
    {"name": "d_seconds", "type": "histogram", "buckets": [1, 2],
     "native": {"schema": 8, "max_buckets": 20}},
    {"name": "e_seconds", "type": "histogram", "native": false}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  struct Case {
    const char* name;
    bool native;
    int schema;
    uint32_t max_buckets;
    size_t classic_bounds;
  };
  const Case cases[] = {
      {"a_seconds", false, 3, 160, DefaultBuckets().size()},
      // Native without "buckets": no classic buckets to guess.
      {"b_seconds", true, 3, 160, 0},
      {"c_seconds", true, -4, 160, 0},
      {"d_seconds", true, 8, 20, 2},
      {"e_seconds", false, 3, 160, DefaultBuckets().size()},
  };
  for (const Case& c : cases) {
    const MetricDef* def = parsed.Find(c.name);
    ASSERT_NE(def, nullptr) << c.name;
    EXPECT_EQ(def->native, c.native) << c.name;
    EXPECT_EQ(def->native_schema, c.schema) << c.name;
    EXPECT_EQ(def->native_max_buckets, c.max_buckets) << c.name;
    EXPECT_EQ(def->ClassicBounds().size(), c.classic_bounds) << c.name;
  }
}

TEST(FileParser, BadNativeIsAnErrorWithFileAndLine) {
  struct Case {
    const char* metric;
    const char* message;
  };
  const Case cases[] = {
      {R"("type": "counter", "native": true)",
       "\"native\" is only for a histogram"},
      {R"("type": "histogram", "native": 1)", "must be true, false or"},
      {R"("type": "histogram", "native": "yes")", "must be true, false or"},
      {R"("type": "histogram", "native": [3])", "must be true, false or"},
      {R"("type": "histogram", "native": {"schema": 9})", "from -4 to 8"},
      {R"("type": "histogram", "native": {"schema": -5})", "from -4 to 8"},
      {R"("type": "histogram", "native": {"schema": 2.5})", "from -4 to 8"},
      {R"("type": "histogram", "native": {"schema": "3"})", "from -4 to 8"},
      {R"("type": "histogram", "native": {"max_buckets": 0})",
       "\"max_buckets\" must be an integer from 1"},
      {R"("type": "histogram", "native": {"max_buckets": 1e9})",
       "\"max_buckets\" must be an integer from 1"},
      {R"("type": "histogram", "native": {"zero_threshold": 1})",
       "unknown key \"zero_threshold\""},
      {R"("type": "histogram", "native": {"schema": 1, "schema": 2})",
       "\"schema\""},
  };
  for (const Case& c : cases) {
    Parsed parsed =
        Parse(std::string("{\"allowedMetrics\": [\n{\"name\": \"m\",\n") +
              c.metric + "}]}");
    EXPECT_FALSE(parsed.ok()) << c.metric;
    EXPECT_THAT(parsed.message, HasSubstr(c.message)) << c.metric;
    EXPECT_THAT(parsed.message, StartsWith("x.json:3: ")) << c.metric;
    EXPECT_TRUE(parsed.metrics.empty()) << c.metric;
  }
}

TEST(FileParser, SeriesTtlIsAPrometheusDurationOnAPatternMetric) {
  Parsed parsed = Parse(R"({"allowedMetrics": [
    {"name": "a_total", "type": "counter",
     "labels": [{"name": "route", "pattern": "/[a-z]*"}]},
    {"name": "b_total", "type": "counter", "series_ttl": "30d",
     "labels": [{"name": "route", "pattern": "/[a-z]*"}]},
    {"name": "c_seconds", "type": "histogram", "series_ttl": "1h30m",
     "labels": [{"name": "m", "allowedValues": ["GET"]},
                {"name": "route", "pattern": "/[a-z]*", "maxValues": 5}]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  EXPECT_EQ(parsed.Find("a_total")->series_ttl_ms, 0);  // no expiry
  EXPECT_EQ(parsed.Find("b_total")->series_ttl_ms, 30LL * 86400 * 1000);
  EXPECT_EQ(parsed.Find("c_seconds")->series_ttl_ms, 5400 * 1000);
}

TEST(FileParser, ParseDurationFollowsPrometheus) {
  struct Case {
    const char* text;
    int64_t ms;  // -1: refused
  };
  const Case cases[] = {
      {"1s", 1000},
      {"2s", 2000},
      {"1500ms", 1500},
      {"90m", 5400000},
      {"1h30m", 5400000},
      {"1d", 86400000},
      {"1w", 7 * 86400000LL},
      {"1y", 365 * 86400000LL},
      {"1y2w3d4h5m6s7ms", 365 * 86400000LL + 2 * 7 * 86400000LL +
                              3 * 86400000LL + 4 * 3600000LL + 5 * 60000LL +
                              6000 + 7},
      {"01h", 3600000},
      {"0s", 0},
      {"100y", kMaxSeriesTtlMs},
      {"", -1},
      {"s", -1},
      {"1", -1},
      {"1.5h", -1},
      {"-1h", -1},
      {"+1h", -1},
      {" 1h", -1},
      {"1h ", -1},
      {"1H", -1},
      {"1m1h", -1},  // out of order
      {"1h1h", -1},  // repeated
      {"1ms1s", -1},
      {"1sec", -1},
      {"1us", -1},
      {"101y", -1},
      {"5300w", -1},
      {"99999999999999999999999s", -1},
  };
  for (const Case& c : cases) {
    int64_t ms = -1;
    EXPECT_EQ(ParseDuration(c.text, &ms), c.ms >= 0) << c.text;
    if (c.ms >= 0) {
      EXPECT_EQ(ms, c.ms) << c.text;
    }
  }
}

TEST(FileParser, BadSeriesTtlIsAnErrorWithFileAndLine) {
  const char kPattern[] = R"("labels": [{"name": "r", "pattern": "x"}])";
  const char kBad[] =
      "\"series_ttl\" must be a duration from 1s to 100y such as \"30d\" or "
      "\"1h30m\" (units y, w, d, h, m, s, ms, in that order)";
  const char kNeedsPattern[] =
      "\"series_ttl\" needs a label with \"pattern\" (the series of a metric "
      "whose labels are all enumerated are exported from the start and "
      "never expire)";
  const std::string p = std::string(", ") + kPattern;
  const std::string cases[][2] = {
      {R"("type": "counter", "series_ttl": "30x")" + p, kBad},
      {R"("type": "counter", "series_ttl": "")" + p, kBad},
      {R"("type": "counter", "series_ttl": "0s")" + p, kBad},
      {R"("type": "counter", "series_ttl": "999ms")" + p, kBad},
      {R"("type": "counter", "series_ttl": "1m1h")" + p, kBad},
      {R"("type": "counter", "series_ttl": "1.5h")" + p, kBad},
      {R"("type": "counter", "series_ttl": "101y")" + p, kBad},
      {R"("type": "counter", "series_ttl": 30)" + p, kBad},
      {R"("type": "counter", "series_ttl": null)" + p, kBad},
      {R"("type": "counter", "series_ttl": "30d")", kNeedsPattern},
      {R"("type": "histogram", "series_ttl": "30d", "labels": [)"
       R"({"name": "m", "allowedValues": ["GET"]}])",
       kNeedsPattern},
  };
  for (const auto& [metric, message] : cases) {
    Parsed parsed =
        Parse("{\"allowedMetrics\": [\n{\"name\": \"m\",\n" + metric + "}]}");
    EXPECT_EQ(parsed.message, "x.json:3: metric \"m\": " + message) << metric;
    EXPECT_TRUE(parsed.metrics.empty()) << metric;
  }
  // A broken pattern label is reported as itself, not as a missing one.
  Parsed parsed = Parse(
      "{\"allowedMetrics\": [\n{\"name\": \"m\", \"type\": \"counter\",\n"
      "\"series_ttl\": \"1d\", \"labels\": [{\"name\": \"r\",\n"
      "\"pattern\": \"(\"}]}]}");
  EXPECT_THAT(parsed.message, StartsWith("x.json:4: metric \"m\": label "
                                         "\"r\": pattern \"(\" does not "
                                         "compile"));
  EXPECT_EQ(parsed.message.find('\n'), std::string::npos) << parsed.message;
}

TEST(FileParser, EnumeratedLabelsAllowOnlyTheirValues) {
  Parsed parsed = Parse(kSeedAllowlistFile);
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  const LabelDef* browser = parsed.Find("usage_total")->FindLabel("browser");
  ASSERT_NE(browser, nullptr);
  EXPECT_TRUE(browser->Allows("chrome"));
  EXPECT_TRUE(browser->Allows("edge"));
  EXPECT_FALSE(browser->Allows("Chrome"));
  EXPECT_FALSE(browser->Allows("chrom"));
  EXPECT_FALSE(browser->Allows(""));
  EXPECT_FALSE(browser->Allows(std::string_view("chrome\0", 7)));
}

// A file with one error, and the exact message it must give. A message
// ending in "*" only has to start with what comes before.
struct ErrorCase {
  const char* test;
  const char* text;
  const char* message;
};

const ErrorCase kErrorCases[] = {
    {"InvalidJson",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\" \"type\": \"counter\"}\n"
     "]}",
     "x.json:2: invalid JSON: Missing a comma or '}' after an object member."},
    {"InvalidUtf8",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"\xff\", \"type\": \"counter\"}]}",
     "x.json:2: invalid JSON: Invalid encoding in string."},
    {"CommentsAreNotJson",
     "{\"allowedMetrics\": [\n"
     "// no comments here\n"
     "]}",
     "x.json:2: invalid JSON: *"},
    {"TruncatedFile", "{\"allowedMetrics\": [\n{\"name\": \"foo\"",
     "x.json:2: invalid JSON: *"},
    {"EmptyFile", "", "x.json:1: invalid JSON: The document is empty."},
    {"NotAnObject", "[]",
     "x.json:1: the file must hold an object, not an array"},
    {"MissingAllowedMetrics", "{}", "x.json:1: missing \"allowedMetrics\""},
    {"AllowedMetricsNotAnArray", "{\"allowedMetrics\": {}}",
     "x.json:1: \"allowedMetrics\" must be an array, not an object"},
    {"UnknownTopLevelKey",
     "{\"allowedMetrics\": [],\n"
     " \"metrics\": []}",
     "x.json:2: unknown key \"metrics\" at the top level (expected "
     "\"allowedMetrics\")"},
    {"MetricNotAnObject",
     "{\"allowedMetrics\": [\n"
     " \"foo\"]}",
     "x.json:2: allowedMetrics[0] must be an object, not a string"},
    {"UnknownMetricKey",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\",\n"
     " \"bukets\": [1]}\n"
     "]}",
     "x.json:3: unknown key \"bukets\" in metric \"foo\""},
    {"DuplicateMetricKey",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\",\n"
     " \"type\": \"histogram\"}]}",
     "x.json:3: duplicate key \"type\" in metric \"foo\""},
    {"InvalidMetricName",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"1foo\", \"type\": \"counter\"}]}",
     "x.json:2: metric name \"1foo\" is not a valid Prometheus metric name "
     "([a-zA-Z_:][a-zA-Z0-9_:]*)"},
    {"EmptyMetricName",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"\", \"type\": \"counter\"}]}",
     "x.json:2: metric name \"\" is not a valid Prometheus metric name *"},
    {"ReservedMetricPrefix",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"pum_reports_total\", \"type\": \"counter\"}]}",
     "x.json:2: metric name \"pum_reports_total\" is reserved: the prefix "
     "\"pum_\" is for pum's own metrics"},
    {"NameNotAString",
     "{\"allowedMetrics\": [\n"
     "{\"name\": 5, \"type\": \"counter\"}]}",
     "x.json:2: allowedMetrics[0]: \"name\" must be a string, not a number"},
    {"MissingName",
     "{\"allowedMetrics\": [\n"
     "{\"type\": \"counter\"}]}",
     "x.json:2: allowedMetrics[0]: missing \"name\""},
    {"HelpNotAString",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"help\": null}]}",
     "x.json:2: metric \"foo\": \"help\" must be a string, not null"},
    {"UnknownType",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\",\n"
     " \"type\": \"gauge\"}]}",
     "x.json:3: metric \"foo\": unknown type \"gauge\" (pum supports "
     "\"counter\" and \"histogram\")"},
    {"MissingType",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\"}]}",
     "x.json:2: metric \"foo\": missing \"type\""},
    {"BucketsNotIncreasing",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\", \"buckets\": [\n"
     " 0.1,\n"
     " 1,\n"
     " 0.5]}]}",
     "x.json:5: metric \"foo\": buckets must be strictly increasing, but 0.5 "
     "follows 1"},
    {"BucketsRepeated",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\", \"buckets\": [1, 1]}]}",
     "x.json:2: metric \"foo\": buckets must be strictly increasing, but 1 "
     "follows 1"},
    {"BucketNotANumber",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\", \"buckets\": [1,\n"
     " \"2\"]}]}",
     "x.json:3: metric \"foo\": a bucket must be a finite number, not a "
     "string"},
    {"BucketTooLarge",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\", \"buckets\": [1e999]}]}",
     "x.json:2: invalid JSON: Number too big to be stored in double."},
    {"BucketsEmpty",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\", \"buckets\": []}]}",
     "x.json:2: metric \"foo\": \"buckets\" must not be empty (omit it for "
     "Prometheus' default buckets)"},
    {"BucketsOnACounter",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\",\n"
     " \"buckets\": [1]}]}",
     "x.json:3: metric \"foo\": \"buckets\" is only for a histogram"},
    {"LabelsNotAnArray",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": {}}]}",
     "x.json:2: metric \"foo\": \"labels\" must be an array, not an object"},
    {"LabelNotAnObject",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " \"browser\"]}]}",
     "x.json:3: metric \"foo\": labels[0] must be an object, not a string"},
    {"LabelMissingName",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"allowedValues\": [\"x\"]}]}]}",
     "x.json:3: metric \"foo\": labels[0]: missing \"name\""},
    {"UnknownLabelKey",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [\"x\"],\n"
     "  \"allowedValue\": [\"y\"]}]}]}",
     "x.json:4: unknown key \"allowedValue\" in label \"a\" of metric "
     "\"foo\""},
    {"InvalidLabelName",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a-b\", \"allowedValues\": [\"x\"]}]}]}",
     "x.json:3: metric \"foo\": label name \"a-b\" is not a valid Prometheus "
     "label name ([a-zA-Z_][a-zA-Z0-9_]*)"},
    {"LabelNameWithAColon",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a:b\", \"allowedValues\": [\"x\"]}]}]}",
     "x.json:3: metric \"foo\": label name \"a:b\" is not a valid *"},
    {"LabelLeIsReserved",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"le\", \"allowedValues\": [\"x\"]}]}]}",
     "x.json:3: metric \"foo\": label name \"le\" is reserved (histogram "
     "buckets use it)"},
    {"DoubleUnderscoreLabelIsReserved",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"__name__\", \"allowedValues\": [\"x\"]}]}]}",
     "x.json:3: metric \"foo\": label name \"__name__\" is reserved (names "
     "starting with \"__\" are for Prometheus)"},
    {"LabelDefinedTwice",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [\"x\"]},\n"
     " {\"name\": \"a\", \"allowedValues\": [\"y\"]}]}]}",
     "x.json:4: metric \"foo\": label \"a\" is defined twice (first on line "
     "3)"},
    {"BothAllowedValuesAndPattern",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [\"x\"], \"pattern\": \"x\"}]}]}",
     "x.json:3: metric \"foo\": label \"a\": has both \"allowedValues\" and "
     "\"pattern\"; give one"},
    {"NeitherAllowedValuesNorPattern",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\"}]}]}",
     "x.json:3: metric \"foo\": label \"a\": needs \"allowedValues\" or "
     "\"pattern\""},
    {"PatternDoesNotCompile",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\",\n"
     "  \"pattern\": \"(a\"}]}]}",
     "x.json:4: metric \"foo\": label \"a\": pattern \"(a\" does not "
     "compile *"},
    {"PatternEmpty",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"pattern\": \"\"}]}]}",
     "x.json:3: metric \"foo\": label \"a\": \"pattern\" is empty"},
    {"AllowedValuesEmpty",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": []}]}]}",
     "x.json:3: metric \"foo\": label \"a\": \"allowedValues\" is empty"},
    {"AllowedValueListedTwice",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [\"x\", \"y\",\n"
     "  \"x\"]}]}]}",
     "x.json:4: metric \"foo\": label \"a\": allowed value \"x\" is listed "
     "twice"},
    {"AllowedValueEmptyString",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [\"\"]}]}]}",
     "x.json:3: metric \"foo\": label \"a\": an allowed value is empty "
     "(Prometheus reads an empty value as a missing label)"},
    {"AllowedValueNotAString",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [1]}]}]}",
     "x.json:3: metric \"foo\": label \"a\": an allowed value must be a "
     "string, not a number"},
    {"MaxValuesWithAllowedValues",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"allowedValues\": [\"x\"], \"maxValues\": 1}]}]}",
     "x.json:3: metric \"foo\": label \"a\": \"maxValues\" and "
     "\"overflowValue\" go with \"pattern\" only"},
    {"MaxValuesZero",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"pattern\": \"x\",\n"
     "  \"maxValues\": 0}]}]}",
     "x.json:4: metric \"foo\": label \"a\": \"maxValues\" must be an "
     "integer from 1 to 1000000"},
    {"MaxValuesFraction",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"pattern\": \"x\", \"maxValues\": 1.5}]}]}",
     "x.json:3: metric \"foo\": label \"a\": \"maxValues\" must be an "
     "integer from 1 to 1000000"},
    {"OverflowValueWithoutMaxValues",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"pattern\": \"x\", \"overflowValue\": \"o\"}]}]}",
     "x.json:3: metric \"foo\": label \"a\": \"overflowValue\" needs "
     "\"maxValues\""},
    {"OverflowValueEmpty",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\", \"labels\": [\n"
     " {\"name\": \"a\", \"pattern\": \"x\", \"maxValues\": 2,\n"
     "  \"overflowValue\": \"\"}]}]}",
     "x.json:4: metric \"foo\": label \"a\": \"overflowValue\" is empty"},
};

class FileParserErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(FileParserErrors, NameFileAndLine) {
  const ErrorCase& c = GetParam();
  Parsed parsed = Parse(c.text);
  std::string expected = c.message;
  if (!expected.empty() && expected.back() == '*') {
    EXPECT_THAT(parsed.message,
                StartsWith(expected.substr(0, expected.size() - 1)));
    EXPECT_EQ(parsed.message.find('\n'), std::string::npos) << parsed.message;
  } else {
    EXPECT_EQ(parsed.message, expected);
  }
  EXPECT_TRUE(parsed.metrics.empty());
}

INSTANTIATE_TEST_SUITE_P(FileParser, FileParserErrors,
                         ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.test);
                         });

TEST(FileParser, NulByteIsAnError) {
  Parsed parsed = Parse(std::string("{\"allowedMetrics\": []}\n\0", 24));
  EXPECT_EQ(parsed.message, "x.json:2: invalid JSON: a NUL byte in the text");
}

// Every problem of a file is reported, one per line, in line order.
TEST(FileParser, EveryProblemIsReportedInLineOrder) {
  Parsed parsed = Parse(
      "{\"allowedMetrics\": [\n"
      "{\"name\": \"a\", \"type\": \"gauge\"},\n"
      "{\"name\": \"b\", \"type\": \"counter\", \"labels\": [\n"
      " {\"name\": \"le\", \"allowedValues\": [\"x\", \"x\"]}]},\n"
      "{\"name\": \"c\", \"type\": \"histogram\", \"buckets\": [2, 1],\n"
      " \"bukets\": []}]}");
  EXPECT_EQ(parsed.message,
            "x.json:2: metric \"a\": unknown type \"gauge\" (pum supports "
            "\"counter\" and \"histogram\")\n"
            "x.json:4: metric \"b\": label name \"le\" is reserved "
            "(histogram buckets use it)\n"
            "x.json:4: metric \"b\": label \"le\": allowed value \"x\" is "
            "listed twice\n"
            "x.json:5: metric \"c\": buckets must be strictly increasing, "
            "but 1 follows 2\n"
            "x.json:6: unknown key \"bukets\" in metric \"c\"");
  EXPECT_TRUE(parsed.metrics.empty());
}

// A metric with labels of `a` and `b` allowed values.
std::string Combinations(int a, int b) {
  std::string text =
      "{\"allowedMetrics\": [\n{\"name\": \"m\", \"type\": \"counter\", "
      "\"labels\": [";
  for (int label = 0; label < 2; ++label) {
    text += label == 0 ? "{\"name\": \"a\", " : ", {\"name\": \"b\", ";
    text += "\"allowedValues\": [";
    for (int i = 0; i < (label == 0 ? a : b); ++i) {
      text += (i > 0 ? ", \"v" : "\"v") + std::to_string(i) + "\"";
    }
    text += "]}";
  }
  return text + "]}]}";
}

TEST(FileParser, LimitsTheCombinationsOfEnumeratedValues) {
  EXPECT_TRUE(Parse(Combinations(100, 100)).ok());
  EXPECT_EQ(Parse(Combinations(101, 100)).message,
            "x.json:2: metric \"m\": its allowed label values make more than "
            "10000 combinations, each exported as a series");
}

TEST(FileParser, PatternLabelsDoNotCountAsCombinations) {
  std::string text = Combinations(100, 100);
  // Replace label b's values by a pattern.
  text = text.substr(0, text.find(", {\"name\": \"b\"")) +
         ", {\"name\": \"b\", \"pattern\": \".*\"}]}]}";
  Parsed parsed = Parse(text);
  EXPECT_TRUE(parsed.ok()) << parsed.message;
}

TEST(FileParser, CrLfLineEndingsCountLines) {
  Parsed parsed = Parse(
      "{\"allowedMetrics\": [\r\n{\"name\": \"foo\", \"type\": \"counter\",\r\n"
      " \"x\": 1}]}");
  EXPECT_EQ(parsed.message, "x.json:3: unknown key \"x\" in metric \"foo\"");
}

}  // namespace
}  // namespace pum
