#include "schema/allowlist/allowlist.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "schema/testing/seed_allowlist.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

using ::pum::testing::kSeedAllowlistFile;
using ::testing::ElementsAre;
using ::testing::StartsWith;

std::vector<std::string> Names(const Allowlist& allowlist) {
  std::vector<std::string> names;
  for (const MetricDef& m : allowlist.metrics()) names.push_back(m.name);
  return names;
}

// --- AddFile and merging --------------------------------------------------

TEST(Allowlist, MetricsAreSortedByName) {
  Allowlist allowlist;
  Status status = allowlist.AddFile(kSeedAllowlistFile, "app.json");
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_THAT(Names(allowlist),
              ElementsAre("firebase_response_time",
                          "performance_timing_navigationStart", "usage_total"));
  ASSERT_TRUE(allowlist
                  .AddFile(R"({"allowedMetrics": [
                      {"name": "b_total", "type": "counter"},
                      {"name": "a_total", "type": "counter"}]})",
                           "more.json")
                  .ok());
  EXPECT_THAT(Names(allowlist),
              ElementsAre("a_total", "b_total", "firebase_response_time",
                          "performance_timing_navigationStart", "usage_total"));
  EXPECT_EQ(allowlist.Find("usage_total")->file, "app.json");
  EXPECT_EQ(allowlist.Find("a_total")->file, "more.json");
}

TEST(Allowlist, FindReturnsNullForAnUnknownName) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist.AddFile(kSeedAllowlistFile, "app.json").ok());
  EXPECT_EQ(allowlist.Find("nope"), nullptr);
  EXPECT_EQ(allowlist.Find(""), nullptr);
  EXPECT_EQ(allowlist.Find("usage"), nullptr);
  EXPECT_EQ(allowlist.Find("usage_total_x"), nullptr);
}

// A file whose definitions collide, and the exact message it must give.
struct MergeCase {
  const char* test;
  const char* text;
  const char* message;
};

const MergeCase kMergeCases[] = {
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
    // Regression (found by review): OpenMetrics announced both as family
    // "errs" ("# TYPE errs unknown", then "# TYPE errs counter").
    {"CounterAndItsTotal",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"errs\", \"type\": \"counter\"},\n"
     "{\"name\": \"errs_total\", \"type\": \"counter\"}]}",
     "x.json:3: counter \"errs_total\" has the OpenMetrics family name of "
     "metric \"errs\" (x.json:2)"},
    {"HistogramAndACounterOfItsNameWithTotal",
     "{\"allowedMetrics\": [\n"
     "{\"name\": \"lat_total\", \"type\": \"counter\"},\n"
     "{\"name\": \"lat\", \"type\": \"histogram\"}]}",
     "x.json:2: counter \"lat_total\" has the OpenMetrics family name of "
     "metric \"lat\" (x.json:3)"},
};

class AllowlistMergeErrors : public ::testing::TestWithParam<MergeCase> {};

TEST_P(AllowlistMergeErrors, NameFileAndLine) {
  const MergeCase& c = GetParam();
  Allowlist allowlist;
  Status status = allowlist.AddFile(c.text, "x.json");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(), c.message);
  EXPECT_TRUE(allowlist.metrics().empty());
}

INSTANTIATE_TEST_SUITE_P(Allowlist, AllowlistMergeErrors,
                         ::testing::ValuesIn(kMergeCases),
                         [](const ::testing::TestParamInfo<MergeCase>& info) {
                           return std::string(info.param.test);
                         });

// A histogram of a later file collides with a metric of an earlier one,
// and the other way round.
TEST(Allowlist, CollisionsWithAHistogramSeriesAcrossFiles) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist
                  .AddFile("{\"allowedMetrics\": [\n"
                           "{\"name\": \"foo_count\", \"type\": \"counter\"},\n"
                           "{\"name\": \"bar\", \"type\": \"histogram\"}]}",
                           "a.json")
                  .ok());
  EXPECT_EQ(allowlist
                .AddFile("{\"allowedMetrics\": [\n"
                         "{\"name\": \"foo\", \"type\": \"histogram\"},\n"
                         "{\"name\": \"bar_bucket\", \"type\": \"counter\"}]}",
                         "b.json")
                .message(),
            "b.json:2: histogram \"foo\" has a series named like metric "
            "\"foo_count\" (a.json:2)\n"
            "b.json:3: metric \"bar_bucket\" collides with a series of "
            "histogram \"bar\" (a.json:3)");
  EXPECT_THAT(Names(allowlist), ElementsAre("bar", "foo_count"));
}

// The OpenMetrics family name of a counter foo_total (foo) taken by a
// metric of another file, both ways round; a histogram foo_total is no
// counter, and its family is foo_total.
TEST(Allowlist, OpenMetricsFamilyNamesAcrossFiles) {
  Allowlist allowlist;
  ASSERT_TRUE(allowlist
                  .AddFile("{\"allowedMetrics\": [\n"
                           "{\"name\": \"a_total\", \"type\": \"counter\"},\n"
                           "{\"name\": \"b\", \"type\": \"histogram\"},\n"
                           "{\"name\": \"h_total\", \"type\": \"histogram\"}]}",
                           "a.json")
                  .ok());
  EXPECT_EQ(allowlist
                .AddFile("{\"allowedMetrics\": [\n"
                         "{\"name\": \"a\", \"type\": \"counter\"},\n"
                         "{\"name\": \"b_total\", \"type\": \"counter\"},\n"
                         "{\"name\": \"h\", \"type\": \"counter\"}]}",
                         "b.json")
                .message(),
            "b.json:2: metric \"a\" is the OpenMetrics family name of counter "
            "\"a_total\" (a.json:2)\n"
            "b.json:3: counter \"b_total\" has the OpenMetrics family name of "
            "metric \"b\" (a.json:3)");
  EXPECT_THAT(Names(allowlist), ElementsAre("a_total", "b", "h_total"));
  // A file with a problem adds nothing; "h" alone is fine.
  EXPECT_TRUE(allowlist
                  .AddFile("{\"allowedMetrics\": [{\"name\": \"h\", \"type\": "
                           "\"counter\"}]}",
                           "c.json")
                  .ok());
}

// The parser's problems and the merge's are reported together, in line
// order.
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
  ASSERT_TRUE(allowlist.AddFile(kSeedAllowlistFile, "seed.json").ok());
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
  ASSERT_TRUE(allowlist.AddFile(kSeedAllowlistFile, "a.json").ok());
  Status status = allowlist.AddFile(
      "{\"allowedMetrics\": [\n"
      "  {\"name\": \"usage_total\", \"type\": \"counter\"}]}",
      "b.json");
  EXPECT_EQ(status.message(),
            "b.json:2: metric \"usage_total\" is defined twice (first at "
            "a.json:4)");
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
  ASSERT_TRUE(allowlist.AddFile(kSeedAllowlistFile, "seed.json").ok());
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
  ASSERT_TRUE(allowlist.AddFile(kSeedAllowlistFile, "seed.json").ok());
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
