#include "schema/allowlist/allowlist.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The seed's own example (peardeck/prometheus-user-metrics, abbreviated).
constexpr char kSeedFile[] = R"({
    "allowedMetrics": [
        {
            "name": "usage_total",
            "help": "counts of usage, like times a feature has been used, etc",
            "type": "counter",
            "labels": [
                {
                    "name": "browser",
                    "allowedValues": ["chrome", "firefox", "safari", "edge"]
                },
                {
                    "name": "feature",
                    "allowedValues": ["quickQuestion", "blockStudent"]
                }
            ]
        },
        {
            "name": "firebase_response_time",
            "help": "measures firebase response times in seconds",
            "type": "histogram",
            "labels": [
                {
                    "name": "firebaseHost",
                    "allowedValues": ["pd-dev-1.firebaseio.com"]
                }
            ],
            "buckets": [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
        },
        {
            "name": "performance_timing_navigationStart",
            "help": "Performance timing metric",
            "type": "histogram",
            "labels": [],
            "buckets": [0.01, 0.05, 0.1]
        }
    ]
})";

std::vector<std::string> Names(const Allowlist& allowlist) {
  std::vector<std::string> names;
  for (const MetricDef& m : allowlist.metrics()) names.push_back(m.name);
  return names;
}

TEST(Allowlist, SeedFormatIsAccepted) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(kSeedFile, "app.json");
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_THAT(Names(allowlist),
              ElementsAre("firebase_response_time",
                          "performance_timing_navigationStart", "usage_total"));

  const MetricDef* usage = allowlist.Find("usage_total");
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

  const MetricDef* firebase = allowlist.Find("firebase_response_time");
  ASSERT_NE(firebase, nullptr);
  EXPECT_EQ(firebase->type, MetricType::kHistogram);
  EXPECT_THAT(firebase->buckets,
              ElementsAre(0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100));
  EXPECT_TRUE(
      allowlist.Find("performance_timing_navigationStart")->labels.empty());
}

TEST(Allowlist, FindReturnsNullForAnUnknownName) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedFile, "app.json").ok());
  EXPECT_EQ(allowlist.Find("nope"), nullptr);
  EXPECT_EQ(allowlist.Find(""), nullptr);
  EXPECT_EQ(allowlist.Find("usage"), nullptr);
  EXPECT_EQ(allowlist.Find("usage_total_x"), nullptr);
}

TEST(Allowlist, OmittedBucketsAreTheDefaultBuckets) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist
                  .AddFile(R"({"allowedMetrics": [
                      {"name": "h", "type": "histogram"}]})",
                           "x.json")
                  .ok());
  EXPECT_EQ(allowlist.Find("h")->buckets, DefaultBuckets());
  EXPECT_THAT(DefaultBuckets(), ElementsAre(0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5, 1, 2.5, 5, 10));
}

TEST(Allowlist, HelpAndLabelsMayBeOmitted) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(
      R"({"allowedMetrics": [{"name": "c_total", "type": "counter"}]})",
      "x.json");
  ASSERT_TRUE(status.ok()) << status.message();
  const MetricDef* c = allowlist.Find("c_total");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->help, "");
  EXPECT_TRUE(c->labels.empty());
  EXPECT_TRUE(c->FullyEnumerated());
}

TEST(Allowlist, AnEmptyListIsValid) {
  Allowlist allowlist;
  EXPECT_TRUE(allowlist.AddFile(R"({"allowedMetrics": []})", "x.json").ok());
  EXPECT_TRUE(allowlist.metrics().empty());
}

constexpr char kPatternFile[] = R"({"allowedMetrics": [
  {"name": "views_total", "type": "counter", "labels": [
    {"name": "route", "pattern": "/[a-z]+", "maxValues": 50},
    {"name": "host", "pattern": "[a-z.]+", "maxValues": 3,
     "overflowValue": "other"},
    {"name": "kind", "allowedValues": ["a", "b"]}]}]})";

TEST(Allowlist, PatternLabelsCompileAndKeepTheirCaps) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(kPatternFile, "x.json");
  ASSERT_TRUE(status.ok()) << status.message();
  const MetricDef* m = allowlist.Find("views_total");
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

TEST(Allowlist, PatternMustMatchTheWholeValue) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kPatternFile, "x.json").ok());
  const LabelDef* route = allowlist.Find("views_total")->FindLabel("route");
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

// The label `a` of metric foo with `pattern`, compiled by AddFile.
std::unique_ptr<Allowlist> PatternAllowlist(const std::string& pattern,
                                            Status* status) {
  auto allowlist = std::make_unique<Allowlist>();
  std::string escaped;
  for (char c : pattern) {
    if (c == '\\' || c == '"') escaped.push_back('\\');
    escaped.push_back(c);
  }
  *status = allowlist->AddFile(
      "{\"allowedMetrics\": [{\"name\": \"foo\", \"type\": \"counter\", "
      "\"labels\": [{\"name\": \"a\", \"pattern\": \"" +
          escaped + "\"}]}]}",
      "x.json");
  return allowlist;
}

// Regression: std::regex recursed once per character, so a ~48 KB value
// against ^[\s\S]*$ overflowed the stack and killed pum-ingest (SIGSEGV),
// and (a+)+$ backtracked exponentially. RE2 is linear and iterative: 1 MiB
// values against pathological patterns are judged, and quickly.
TEST(Allowlist, PatternsMatchHugeValuesWithoutRecursionOrBacktracking) {
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
    Status status;
    auto allowlist = PatternAllowlist(c.pattern, &status);
    ASSERT_TRUE(status.ok()) << c.pattern << ": " << status.message();
    const LabelDef* a = allowlist->Find("foo")->FindLabel("a");
    EXPECT_EQ(a->Allows(c.value), c.allowed) << c.pattern;
  }
}

TEST(Allowlist, PatternsOutsideRe2SyntaxAreLoadErrors) {
  const char* const patterns[] = {
      R"((a)\1)",  // backreference
      "(?=a)a",    // lookahead
      "(?!a)b",    // negative lookahead
      "(?<=a)b",   // lookbehind
      "a{2000}",   // repetition over RE2's limit of 1000
      "[z-a]",     // bad range
  };
  for (const char* pattern : patterns) {
    Status status;
    PatternAllowlist(pattern, &status);
    EXPECT_FALSE(status.ok()) << pattern;
    EXPECT_THAT(status.message(), HasSubstr("does not compile")) << pattern;
  }
}

TEST(Allowlist, PatternsOfTheEcmaScriptSubsetCompile) {
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
    Status status;
    auto allowlist = PatternAllowlist(c.pattern, &status);
    ASSERT_TRUE(status.ok()) << c.pattern << ": " << status.message();
    EXPECT_EQ(allowlist->Find("foo")->FindLabel("a")->Allows(c.value),
              c.allowed)
        << c.pattern << " " << c.value;
  }
}

TEST(Allowlist, MaxIncAndRangeHaveDefaultsAndCanBeSet) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(R"({"allowedMetrics": [
    {"name": "a_total", "type": "counter"},
    {"name": "b_total", "type": "counter", "max_inc": 5},
    {"name": "c_seconds", "type": "histogram"},
    {"name": "d_seconds", "type": "histogram", "range": [0, 3600]}]})",
                                    "x.json");
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(allowlist.Find("a_total")->max_inc, 1e6);
  EXPECT_EQ(allowlist.Find("b_total")->max_inc, 5);
  EXPECT_EQ(allowlist.Find("c_seconds")->range_min, -1e12);
  EXPECT_EQ(allowlist.Find("c_seconds")->range_max, 1e12);
  EXPECT_EQ(allowlist.Find("d_seconds")->range_min, 0);
  EXPECT_EQ(allowlist.Find("d_seconds")->range_max, 3600);
}

TEST(Allowlist, BadMaxIncAndRangeAreErrorsWithFileAndLine) {
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
    Allowlist allowlist;
    Status status = allowlist.AddFile(
        std::string("{\"allowedMetrics\": [\n{\"name\": \"m\",\n") + c.metric +
            "}]}",
        "x.json");
    EXPECT_FALSE(status.ok()) << c.metric;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.metric;
    EXPECT_THAT(status.message(), StartsWith("x.json:3: ")) << c.metric;
  }
}

// A pattern label with no "maxValues" let clients create series without
// bound; it gets a default cap.
TEST(Allowlist, PatternLabelsWithoutMaxValuesAreCappedByDefault) {
  Status status;
  auto allowlist = PatternAllowlist("[a-z]+", &status);
  ASSERT_TRUE(status.ok()) << status.message();
  const LabelDef* a = allowlist->Find("foo")->FindLabel("a");
  EXPECT_EQ(a->max_values, kDefaultPatternMaxValues);
  EXPECT_EQ(a->overflow_value, "__overflow__");
}

TEST(Allowlist, EnumeratedLabelsAllowOnlyTheirValues) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedFile, "x.json").ok());
  const LabelDef* browser = allowlist.Find("usage_total")->FindLabel("browser");
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
    {"MetricDefinedTwiceInOneFile",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"counter\"},\n"
     "{\"name\": \"foo\", \"type\": \"histogram\"}]}",
     "x.json:3: metric \"foo\" is defined twice (first at x.json:2)"},
    {"NameOfAHistogramSeries",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo\", \"type\": \"histogram\"},\n"
     "{\"name\": \"foo_count\", \"type\": \"counter\"}]}",
     "x.json:3: metric \"foo_count\" collides with a series of histogram "
     "\"foo\" (x.json:2)"},
    {"HistogramNamedAfterASeries",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"foo_sum\", \"type\": \"counter\"},\n"
     "{\"name\": \"foo\", \"type\": \"histogram\"}]}",
     "x.json:2: metric \"foo_sum\" collides with a series of histogram "
     "\"foo\" (x.json:3)"},
};

class AllowlistErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AllowlistErrors, NameFileAndLine) {
  const ErrorCase& c = GetParam();
  Allowlist allowlist;
  Status status = allowlist.AddFile(c.text, "x.json");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  std::string expected = c.message;
  if (!expected.empty() && expected.back() == '*') {
    EXPECT_THAT(status.message(),
                StartsWith(expected.substr(0, expected.size() - 1)));
    EXPECT_EQ(status.message().find('\n'), std::string::npos)
        << status.message();
  } else {
    EXPECT_EQ(status.message(), expected);
  }
  EXPECT_TRUE(allowlist.metrics().empty());
}

INSTANTIATE_TEST_SUITE_P(Allowlist, AllowlistErrors,
                         ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.test);
                         });

TEST(Allowlist, NulByteIsAnError) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(
      std::string("{\"allowedMetrics\": []}\n\0", 24), "x.json");
  EXPECT_EQ(status.message(), "x.json:2: invalid JSON: a NUL byte in the text");
}

TEST(Allowlist, EveryErrorIsReportedOnePerLineInLineOrder) {
  const char* text =
      "{\"allowedMetrics\": [\n"
      "{\"name\": \"a\", \"type\": \"gauge\"},\n"
      "{\"name\": \"b\", \"type\": \"counter\", \"labels\": [\n"
      " {\"name\": \"le\", \"allowedValues\": [\"x\", \"x\"]}]},\n"
      "{\"name\": \"c\", \"type\": \"histogram\", \"buckets\": [2, 1],\n"
      " \"bukets\": []},\n"
      "{\"name\": \"d\", \"type\": \"counter\"},\n"
      "{\"name\": \"d\", \"type\": \"counter\"}]}";
  Allowlist allowlist;
  Status status = allowlist.AddFile(text, "x.json");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "x.json:2: metric \"a\": unknown type \"gauge\" (pum supports "
            "\"counter\" and \"histogram\")\n"
            "x.json:4: metric \"b\": label name \"le\" is reserved "
            "(histogram buckets use it)\n"
            "x.json:4: metric \"b\": label \"le\": allowed value \"x\" is "
            "listed twice\n"
            "x.json:5: metric \"c\": buckets must be strictly increasing, "
            "but 1 follows 2\n"
            "x.json:6: unknown key \"bukets\" in metric \"c\"\n"
            "x.json:8: metric \"d\" is defined twice (first at x.json:7)");
}

TEST(Allowlist, ErrorsLeaveTheAllowlistUnchanged) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedFile, "seed.json").ok());
  Status status = allowlist.AddFile(
      R"({"allowedMetrics": [{"name": "good_total", "type": "counter"},
                            {"name": "bad", "type": "gauge"}]})",
      "more.json");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(allowlist.metrics().size(), 3u);
  EXPECT_EQ(allowlist.Find("good_total"), nullptr);
}

TEST(Allowlist, AMetricDefinedInTwoFilesIsAnError) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedFile, "a.json").ok());
  Status status = allowlist.AddFile(
      "{\"allowedMetrics\": [\n"
      "  {\"name\": \"usage_total\", \"type\": \"counter\"}]}",
      "b.json");
  EXPECT_EQ(status.message(),
            "b.json:2: metric \"usage_total\" is defined twice (first at "
            "a.json:4)");
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

TEST(Allowlist, LimitsTheCombinationsOfEnumeratedValues) {
  Allowlist ok;
  EXPECT_TRUE(ok.AddFile(Combinations(100, 100), "x.json").ok());
  Allowlist too_many;
  EXPECT_EQ(too_many.AddFile(Combinations(101, 100), "x.json").message(),
            "x.json:2: metric \"m\": its allowed label values make more than "
            "10000 combinations, each exported as a series");
}

TEST(Allowlist, PatternLabelsDoNotCountAsCombinations) {
  Allowlist allowlist;
  std::string text = Combinations(100, 100);
  // Replace label b's values by a pattern.
  text = text.substr(0, text.find(", {\"name\": \"b\"")) +
         ", {\"name\": \"b\", \"pattern\": \".*\"}]}]}";
  Status status = allowlist.AddFile(text, "x.json");
  EXPECT_TRUE(status.ok()) << status.message();
}

TEST(Allowlist, CrLfLineEndingsCountLines) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(
      "{\"allowedMetrics\": [\r\n{\"name\": \"foo\", \"type\": \"counter\",\r\n"
      " \"x\": 1}]}",
      "x.json");
  EXPECT_EQ(status.message(), "x.json:3: unknown key \"x\" in metric \"foo\"");
}

TEST(Allowlist, ValidNames) {
  struct Case {
    const char* name;
    bool metric;
    bool label;
  };
  const Case cases[] = {
      {"a", true, true},        {"_a", true, true},
      {"a_b_1", true, true},    {"A9", true, true},
      {"a:b", true, false},     {":a", true, false},
      {"", false, false},       {"1a", false, false},
      {"a-b", false, false},    {"a.b", false, false},
      {"a b", false, false},    {"\xc3\xa9t\xc3\xa9", false, false},
      {"__name__", true, true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidMetricName(c.name), c.metric) << c.name;
    EXPECT_EQ(IsValidLabelName(c.name), c.label) << c.name;
  }
}

TEST(Allowlist, MetricTypeNames) {
  EXPECT_STREQ(MetricTypeName(MetricType::kCounter), "counter");
  EXPECT_STREQ(MetricTypeName(MetricType::kHistogram), "histogram");
}

// --- LoadDir --------------------------------------------------------------

TEST(Allowlist, LoadDirReadsJsonFilesInNameOrder) {
  testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(dir.Write(
      "b.json", R"({"allowedMetrics": [{"name": "b", "type": "counter"}]})"));
  ASSERT_TRUE(dir.Write(
      "a.json", R"({"allowedMetrics": [{"name": "z", "type": "counter"}]})"));
  ASSERT_TRUE(dir.Write("notes.txt", "not json"));
  ASSERT_TRUE(dir.Write("a.json.bak", "not json"));
  ASSERT_TRUE(dir.Write(".hidden.json", "not json"));
  ASSERT_EQ(mkdir(dir.Path("sub.json").c_str(), 0700), 0);
  Allowlist allowlist;
  Status status = Allowlist::LoadDir(dir.path(), &allowlist);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_THAT(Names(allowlist), ElementsAre("b", "z"));
  EXPECT_EQ(allowlist.Find("z")->file, dir.Path("a.json"));
  EXPECT_EQ(allowlist.Find("z")->line, 1);
}

TEST(Allowlist, LoadDirNamesFileAndLineAcrossFiles) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.Write("a.json",
                        "{\"allowedMetrics\": [\n"
                        "  {\"name\": \"dup\", \"type\": \"counter\"}]}"));
  ASSERT_TRUE(dir.Write("b.json",
                        "{\"allowedMetrics\": [\n"
                        "  {\"name\": \"x\", \"type\": \"gauge\"},\n"
                        "  {\"name\": \"dup\", \"type\": \"counter\"}]}"));
  ASSERT_TRUE(dir.Write("c.json", "{\"allowedMetrics\": [}"));
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedFile, "seed.json").ok());
  Status status = Allowlist::LoadDir(dir.path(), &allowlist);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(),
            dir.Path("b.json") +
                ":2: metric \"x\": unknown type \"gauge\" (pum supports "
                "\"counter\" and \"histogram\")\n" +
                dir.Path("b.json") +
                ":3: metric \"dup\" is defined twice (first at " +
                dir.Path("a.json") + ":2)\n" + dir.Path("c.json") +
                ":1: invalid JSON: Invalid value.");
  EXPECT_EQ(allowlist.metrics().size(), 3u);  // unchanged
}

TEST(Allowlist, LoadDirOfAMissingDirectoryIsNotFound) {
  testing::TempDir dir;
  Allowlist allowlist;
  Status status = Allowlist::LoadDir(dir.Path("missing"), &allowlist);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_THAT(status.message(), StartsWith(dir.Path("missing") + ": "));
}

TEST(Allowlist, LoadDirOfAnEmptyDirectoryIsAnEmptyAllowlist) {
  testing::TempDir dir;
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedFile, "seed.json").ok());
  EXPECT_TRUE(Allowlist::LoadDir(dir.path(), &allowlist).ok());
  EXPECT_TRUE(allowlist.metrics().empty());
}

TEST(Allowlist, LoadDirAcceptsATrailingSlash) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.Write("a.json", "{\"allowedMetrics\": [}"));
  Allowlist allowlist;
  Status status = Allowlist::LoadDir(dir.path() + "/", &allowlist);
  EXPECT_THAT(status.message(), StartsWith(dir.Path("a.json") + ":1: "));
}

TEST(Allowlist, LoadDirFollowsSymlinks) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.Write(
      "real", R"({"allowedMetrics": [{"name": "l", "type": "counter"}]})"));
  ASSERT_EQ(symlink(dir.Path("real").c_str(), dir.Path("l.json").c_str()), 0);
  ASSERT_EQ(symlink("nowhere", dir.Path("dangling.json").c_str()), 0);
  Allowlist allowlist;
  ASSERT_TRUE(Allowlist::LoadDir(dir.path(), &allowlist).ok());
  EXPECT_THAT(Names(allowlist), ElementsAre("l"));
}

TEST(Allowlist, FingerprintChangesWithTheJsonFiles) {
  testing::TempDir dir;
  EXPECT_EQ(AllowlistFingerprint(dir.Path("missing")), "");
  std::string empty = AllowlistFingerprint(dir.path());
  EXPECT_NE(empty, "");
  ASSERT_TRUE(dir.Write("a.json", "{}"));
  std::string one = AllowlistFingerprint(dir.path());
  EXPECT_NE(one, empty);
  EXPECT_EQ(AllowlistFingerprint(dir.path()), one);  // stable
  ASSERT_TRUE(dir.Write("notes.txt", "x"));
  EXPECT_EQ(AllowlistFingerprint(dir.path()), one);  // ignores other files
  ASSERT_TRUE(dir.Write("a.json", "{ }"));           // size changes
  std::string edited = AllowlistFingerprint(dir.path());
  EXPECT_NE(edited, one);
  // Same size, new mtime.
  struct timespec times[2] = {{0, 0}, {1000, 5}};
  ASSERT_EQ(utimensat(AT_FDCWD, dir.Path("a.json").c_str(), times, 0), 0);
  std::string touched = AllowlistFingerprint(dir.path());
  EXPECT_NE(touched, edited);
  ASSERT_TRUE(dir.Write("b.json", "{}"));
  EXPECT_NE(AllowlistFingerprint(dir.path()), touched);
}

// --- pum's own metrics ----------------------------------------------------

TEST(Allowlist, InternalMetricsAreSortedCountersWithHelp) {
  const std::vector<MetricDef>& metrics = InternalMetrics();
  std::vector<std::string> names;
  for (const MetricDef& m : metrics) {
    names.push_back(m.name);
    EXPECT_EQ(m.type, MetricType::kCounter) << m.name;
    EXPECT_FALSE(m.help.empty()) << m.name;
    EXPECT_TRUE(IsValidMetricName(m.name)) << m.name;
    EXPECT_THAT(m.name, StartsWith("pum_"));
    EXPECT_TRUE(m.FullyEnumerated()) << m.name;
  }
  EXPECT_THAT(names,
              ElementsAre(kDuplicateBatchesTotal, kEventsAcceptedTotal,
                          kEventsRejectedTotal, kRequestsTotal, kReportsTotal));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

const MetricDef* FindInternal(const std::string& name) {
  for (const MetricDef& m : InternalMetrics()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

TEST(Allowlist, InternalMetricsHaveTheirLabels) {
  const MetricDef* requests = FindInternal(kRequestsTotal);
  ASSERT_NE(requests, nullptr);
  ASSERT_EQ(requests->labels.size(), 1u);
  EXPECT_EQ(requests->labels[0].name, "code");
  EXPECT_EQ(requests->labels[0].allowed_values, IngestStatusCodes());
  EXPECT_THAT(IngestStatusCodes(),
              ElementsAre("200", "204", "400", "403", "405", "409", "413",
                          "422", "503"));

  const MetricDef* rejected = FindInternal(kEventsRejectedTotal);
  ASSERT_NE(rejected, nullptr);
  ASSERT_EQ(rejected->labels.size(), 1u);
  EXPECT_EQ(rejected->labels[0].name, "reason");
  EXPECT_EQ(rejected->labels[0].allowed_values, RejectionReasons());

  for (const char* name :
       {kReportsTotal, kEventsAcceptedTotal, kDuplicateBatchesTotal}) {
    ASSERT_NE(FindInternal(name), nullptr) << name;
    EXPECT_TRUE(FindInternal(name)->labels.empty()) << name;
  }
  EXPECT_EQ(FindInternal(kReportsTotal)->help,
            "Batches accepted from browsers.");
}

TEST(Allowlist, RejectionReasonsListEveryReason) {
  EXPECT_THAT(RejectionReasons(),
              ElementsAreArray(std::vector<std::string>{
                  reason::kBadEvent, reason::kUnknownMetric,
                  reason::kTypeMismatch, reason::kBadLabels,
                  reason::kLabelValueNotAllowed, reason::kLabelValueTooLong,
                  reason::kBadValue, reason::kTooManyObservations,
                  reason::kTooManyEvents, reason::kValueOutOfRange}));
  for (const std::string& r : RejectionReasons()) {
    EXPECT_TRUE(IsValidLabelName(r)) << r;  // snake_case words
  }
}

// --- the shipped configuration --------------------------------------------

TEST(Allowlist, ShippedMetricsDirLoads) {
  Allowlist allowlist;
  Status status = Allowlist::LoadDir("conf/metrics.d", &allowlist);
  ASSERT_TRUE(status.ok()) << status.message();
  for (const char* name :
       {"usage_total", "firebase_response_time_seconds",
        "app_load_succeeded_total", "page_route_views_total",
        "browser_page_views_total", "browser_page_load_seconds",
        "browser_navigation_phase_seconds", "browser_web_vitals_lcp_seconds",
        "browser_web_vitals_inp_seconds", "browser_web_vitals_fcp_seconds",
        "browser_web_vitals_ttfb_seconds", "browser_web_vitals_cls",
        "browser_errors_total", "browser_api_request_duration_seconds",
        "browser_client_dropped_events_total"}) {
    const MetricDef* m = allowlist.Find(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_FALSE(m->help.empty()) << name;
  }
  EXPECT_THAT(allowlist.Find("firebase_response_time_seconds")->buckets,
              ElementsAre(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100));
  EXPECT_THAT(
      allowlist.Find("usage_total")->FindLabel("feature")->allowed_values,
      ElementsAre("quickQuestion", "blockStudent"));
}

TEST(Allowlist, ShippedBrowserMetricsFollowTheProduct) {
  Allowlist allowlist;
  ASSERT_TRUE(Allowlist::LoadDir("conf/metrics.d", &allowlist).ok());
  EXPECT_THAT(allowlist.Find("browser_navigation_phase_seconds")
                  ->FindLabel("phase")
                  ->allowed_values,
              ElementsAre("redirect", "cache", "dns", "connect", "request",
                          "response", "dom_processing", "dom_content_loaded",
                          "subresources", "load_event"));
  struct Thresholds {
    const char* metric;
    double good;
    double poor;
  };
  for (const Thresholds& t :
       {Thresholds{"browser_web_vitals_lcp_seconds", 2.5, 4},
        Thresholds{"browser_web_vitals_inp_seconds", 0.2, 0.5},
        Thresholds{"browser_web_vitals_cls", 0.1, 0.25},
        Thresholds{"browser_web_vitals_fcp_seconds", 1.8, 3},
        Thresholds{"browser_web_vitals_ttfb_seconds", 0.8, 1.8}}) {
    const std::vector<double>& b = allowlist.Find(t.metric)->buckets;
    EXPECT_NE(std::find(b.begin(), b.end(), t.good), b.end()) << t.metric;
    EXPECT_NE(std::find(b.begin(), b.end(), t.poor), b.end()) << t.metric;
  }
  const MetricDef* api = allowlist.Find("browser_api_request_duration_seconds");
  ASSERT_EQ(api->labels.size(), 3u);
  EXPECT_FALSE(api->labels[0].enumerated());
  EXPECT_EQ(api->labels[0].name, "host");
  EXPECT_TRUE(api->labels[0].Allows("api.example.com"));
  EXPECT_TRUE(api->labels[0].Allows("localhost:8080"));
  EXPECT_FALSE(api->labels[0].Allows("https://api.example.com"));
  EXPECT_EQ(api->labels[0].max_values, 100u);
  for (const MetricDef& m : allowlist.metrics()) {
    if (m.type == MetricType::kCounter &&
        m.file == "conf/metrics.d/browser.json") {
      EXPECT_THAT(m.name, ::testing::EndsWith("_total")) << m.name;
      EXPECT_LE(m.max_inc, 100000) << m.name << ": a tight max_inc";
    }
    // A timing is 0-3600 s: nothing a browser sends can skew a _sum.
    if (m.type == MetricType::kHistogram &&
        m.file == "conf/metrics.d/browser.json" && m.name.size() > 8 &&
        m.name.compare(m.name.size() - 8, 8, "_seconds") == 0) {
      EXPECT_EQ(m.range_min, 0) << m.name;
      EXPECT_EQ(m.range_max, 3600) << m.name;
    }
  }
  EXPECT_EQ(allowlist.Find("browser_web_vitals_cls")->range_max, 100);
  EXPECT_EQ(allowlist.Find("browser_page_views_total")->max_inc, 1000);
}

TEST(Allowlist, SeedExampleLoadsUnchanged) {
  Allowlist allowlist;
  Status status = Allowlist::LoadDir("conf/seed-example", &allowlist);
  ASSERT_TRUE(status.ok()) << status.message();
  for (const char* name :
       {"usage_total", "firebase_response_time", "app_load_succeeded"}) {
    EXPECT_NE(allowlist.Find(name), nullptr) << name;
  }
  EXPECT_NE(allowlist.Find("firebase_response_time")->FindLabel("firebaseHost"),
            nullptr);
}

}  // namespace
}  // namespace pum
