#include "exporter/exposition.h"

#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <limits>
#include <locale>
#include <string>
#include <vector>

namespace pum {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct NumberCase {
  double value;
  const char* text;       // FormatNumber
  const char* canonical;  // FormatCanonicalNumber (OpenMetrics "le")
};

// Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) gives.
const NumberCase kNumberCases[] = {
    {0.1, "0.1", "0.1"},
    {0.45, "0.45", "0.45"},
    {0.1 + 0.3 + 0.05, "0.45", "0.45"},
    {0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"},
    {0.05, "0.05", "0.05"},
    {7, "7", "7.0"},
    {3.5, "3.5", "3.5"},
    {1, "1", "1.0"},
    {10, "10", "10.0"},
    {0, "0", "0.0"},
    {-0.0, "-0", "-0.0"},
    {-2.5, "-2.5", "-2.5"},
    {1e-05, "1e-05", "1e-05"},
    {2.5e-05, "2.5e-05", "2.5e-05"},
    {0.0001, "0.0001", "0.0001"},
    {0.00123, "0.00123", "0.00123"},
    {100000, "100000", "100000.0"},
    {123456, "123456", "123456.0"},
    {999999.5, "999999.5", "999999.5"},
    {1e6, "1e+06", "1e+06"},
    {1234567, "1.234567e+06", "1.234567e+06"},
    {12345.678, "12345.678", "12345.678"},
    {1e+21, "1e+21", "1e+21"},
    {1e+100, "1e+100", "1e+100"},
    {5e-324, "5e-324", "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308",
     "1.7976931348623157e+308"},
    {kInf, "+Inf", "+Inf"},
    {-kInf, "-Inf", "-Inf"},
    {kNaN, "NaN", "NaN"},
};

TEST(Exposition, FormatNumberTable) {
  for (const NumberCase& c : kNumberCases) {
    EXPECT_EQ(FormatNumber(c.value), c.text) << c.text;
    EXPECT_EQ(FormatCanonicalNumber(c.value), c.canonical) << c.text;
  }
}

TEST(Exposition, FormatNumberRoundTrips) {
  const double values[] = {0.1,
                           0.45,
                           1.0 / 3,
                           2.0 / 3,
                           1e-7,
                           123.45,
                           6e23,
                           1e300,
                           -1e-300,
                           0.3 - 0.1,
                           9007199254740993.0,
                           4.35,
                           17.000000000000004};
  for (double v : values) {
    std::string text = FormatNumber(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

struct EscapeCase {
  std::string value;
  std::string escaped;
};

TEST(Exposition, EscapeLabelValueTable) {
  const EscapeCase cases[] = {
      {"plain", "plain"},
      {"back\\slash", "back\\\\slash"},
      {"dq\"uote", "dq\\\"uote"},
      {"new\nline", "new\\nline"},
      {"\\\"\n", "\\\\\\\"\\n"},
      {"tab\tcr\r", "tab\tcr\r"},
      {"\xC3\xA9t\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80",
       "\xC3\xA9t\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80"},
      {"", ""},
      {"} x=\"y\" {", "} x=\\\"y\\\" {"},
  };
  for (const EscapeCase& c : cases) {
    EXPECT_EQ(EscapeLabelValue(c.value), c.escaped);
  }
}

std::vector<MetricFamily> SampleFamilies() {
  MetricFamily counter;
  counter.name = "usage_total";
  counter.help = "Feature usage.\nSecond line with a \\ and \"quotes\".";
  counter.kind = MetricKind::kCounter;
  counter.samples = {
      {{{"browser", "chrome"}, {"feature", "a\"b\\c\nd"}}, 7},
      {{{"browser", "firefox"}, {"feature", "\xE2\x9C\x93"}}, 0.45},
  };

  MetricFamily plain_counter;
  plain_counter.name = "app_load_succeeded";
  plain_counter.help = "Loads.";
  plain_counter.kind = MetricKind::kCounter;
  plain_counter.samples = {{{}, 3}};

  MetricFamily histogram;
  histogram.name = "firebase_response_time";
  histogram.help = "seconds";
  histogram.kind = MetricKind::kHistogram;
  HistogramSample h;
  h.labels = {{"host", "a"}};
  h.buckets = {{0.05, 1}, {0.1, 2}, {1, 2}, {10, 3}};
  h.count = 3;
  h.sum = 0.1 + 0.3 + 0.05;
  HistogramSample empty;
  empty.buckets = {{0.05, 0}};
  histogram.histograms = {h, empty};

  MetricFamily gauge;
  gauge.name = "pum_exporter_store_size_bytes";
  gauge.help = "";
  gauge.kind = MetricKind::kGauge;
  gauge.samples = {{{}, 1234567}};

  MetricFamily untyped;
  untyped.name = "odd";
  untyped.help = "h";
  untyped.kind = MetricKind::kUntyped;
  untyped.samples = {{{}, -kInf}, {{{"x", "y"}}, kNaN}};

  MetricFamily no_series;
  no_series.name = "nothing_total";
  no_series.help = "none yet";
  no_series.kind = MetricKind::kCounter;

  return {counter, plain_counter, histogram, gauge, untyped, no_series};
}

const char kExpectedText[] =
    "# HELP usage_total Feature usage.\\nSecond line with a \\\\ and "
    "\"quotes\".\n"
    "# TYPE usage_total counter\n"
    "usage_total{browser=\"chrome\",feature=\"a\\\"b\\\\c\\nd\"} 7\n"
    "usage_total{browser=\"firefox\",feature=\"\xE2\x9C\x93\"} 0.45\n"
    "# HELP app_load_succeeded Loads.\n"
    "# TYPE app_load_succeeded counter\n"
    "app_load_succeeded 3\n"
    "# HELP firebase_response_time seconds\n"
    "# TYPE firebase_response_time histogram\n"
    "firebase_response_time_bucket{host=\"a\",le=\"0.05\"} 1\n"
    "firebase_response_time_bucket{host=\"a\",le=\"0.1\"} 2\n"
    "firebase_response_time_bucket{host=\"a\",le=\"1\"} 2\n"
    "firebase_response_time_bucket{host=\"a\",le=\"10\"} 3\n"
    "firebase_response_time_bucket{host=\"a\",le=\"+Inf\"} 3\n"
    "firebase_response_time_sum{host=\"a\"} 0.45\n"
    "firebase_response_time_count{host=\"a\"} 3\n"
    "firebase_response_time_bucket{le=\"0.05\"} 0\n"
    "firebase_response_time_bucket{le=\"+Inf\"} 0\n"
    "firebase_response_time_sum 0\n"
    "firebase_response_time_count 0\n"
    "# TYPE pum_exporter_store_size_bytes gauge\n"
    "pum_exporter_store_size_bytes 1.234567e+06\n"
    "# HELP odd h\n"
    "# TYPE odd untyped\n"
    "odd -Inf\n"
    "odd{x=\"y\"} NaN\n"
    "# HELP nothing_total none yet\n"
    "# TYPE nothing_total counter\n";

const char kExpectedOpenMetrics[] =
    "# TYPE usage counter\n"
    "# HELP usage Feature usage.\\nSecond line with a \\\\ and "
    "\\\"quotes\\\".\n"
    "usage_total{browser=\"chrome\",feature=\"a\\\"b\\\\c\\nd\"} 7\n"
    "usage_total{browser=\"firefox\",feature=\"\xE2\x9C\x93\"} 0.45\n"
    "# TYPE app_load_succeeded unknown\n"
    "# HELP app_load_succeeded Loads.\n"
    "app_load_succeeded 3\n"
    "# TYPE firebase_response_time histogram\n"
    "# HELP firebase_response_time seconds\n"
    "firebase_response_time_bucket{host=\"a\",le=\"0.05\"} 1\n"
    "firebase_response_time_bucket{host=\"a\",le=\"0.1\"} 2\n"
    "firebase_response_time_bucket{host=\"a\",le=\"1.0\"} 2\n"
    "firebase_response_time_bucket{host=\"a\",le=\"10.0\"} 3\n"
    "firebase_response_time_bucket{host=\"a\",le=\"+Inf\"} 3\n"
    "firebase_response_time_sum{host=\"a\"} 0.45\n"
    "firebase_response_time_count{host=\"a\"} 3\n"
    "firebase_response_time_bucket{le=\"0.05\"} 0\n"
    "firebase_response_time_bucket{le=\"+Inf\"} 0\n"
    "firebase_response_time_sum 0\n"
    "firebase_response_time_count 0\n"
    "# TYPE pum_exporter_store_size_bytes gauge\n"
    "pum_exporter_store_size_bytes 1.234567e+06\n"
    "# TYPE odd unknown\n"
    "# HELP odd h\n"
    "odd -Inf\n"
    "odd{x=\"y\"} NaN\n"
    "# TYPE nothing counter\n"
    "# HELP nothing none yet\n"
    "# EOF\n";

TEST(Exposition, TextFormatExact) {
  EXPECT_EQ(SerializeText(SampleFamilies()), kExpectedText);
}

TEST(Exposition, OpenMetricsExact) {
  EXPECT_EQ(SerializeOpenMetrics(SampleFamilies()), kExpectedOpenMetrics);
}

TEST(Exposition, EmptyInput) {
  EXPECT_EQ(SerializeText({}), "");
  EXPECT_EQ(SerializeOpenMetrics({}), "# EOF\n");
}

TEST(Exposition, StableOutput) {
  std::string first = SerializeText(SampleFamilies());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(SerializeText(SampleFamilies()), first);
}

TEST(Exposition, PlusInfBucketGivenByCallerIsNotRepeated) {
  MetricFamily family;
  family.name = "h";
  family.help = "x";
  family.kind = MetricKind::kHistogram;
  HistogramSample series;
  series.buckets = {{1, 1}, {kInf, 2}};
  series.count = 2;
  series.sum = 2.5;
  family.histograms = {series};
  EXPECT_EQ(SerializeText({family}),
            "# HELP h x\n# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 2.5\nh_count 2\n");
}

// A numpunct that writes 1.234,5: what a German locale would do to printf
// or iostreams.
class CommaNumpunct : public std::numpunct<char> {
 protected:
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

class ScopedGlobalLocale {
 public:
  ScopedGlobalLocale() : previous_cpp_(std::locale()) {
    const char* current = std::setlocale(LC_ALL, nullptr);
    previous_c_ = current ? current : "C";
    // A comma-decimal C locale if one is installed; the C++ one always.
    for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8"}) {
      if (std::setlocale(LC_ALL, name) != nullptr) break;
    }
    std::locale::global(std::locale(std::locale::classic(), new CommaNumpunct));
  }
  ~ScopedGlobalLocale() {
    std::locale::global(previous_cpp_);
    std::setlocale(LC_ALL, previous_c_.c_str());
  }

 private:
  std::locale previous_cpp_;
  std::string previous_c_;
};

TEST(Exposition, IgnoresGlobalLocale) {
  ScopedGlobalLocale locale;
  for (const NumberCase& c : kNumberCases) {
    EXPECT_EQ(FormatNumber(c.value), c.text);
  }
  EXPECT_EQ(SerializeText(SampleFamilies()), kExpectedText);
  EXPECT_EQ(SerializeOpenMetrics(SampleFamilies()), kExpectedOpenMetrics);
}

}  // namespace
}  // namespace pum
