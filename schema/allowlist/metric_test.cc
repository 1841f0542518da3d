#include "schema/allowlist/metric.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pum {
namespace {

using ::testing::ElementsAre;

TEST(Metric, ValidNames) {
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

TEST(Metric, MetricTypeNames) {
  EXPECT_STREQ(MetricTypeName(MetricType::kCounter), "counter");
  EXPECT_STREQ(MetricTypeName(MetricType::kHistogram), "histogram");
}

TEST(Metric, DefaultBucketsArePrometheusDefaults) {
  EXPECT_THAT(DefaultBuckets(), ElementsAre(0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5, 1, 2.5, 5, 10));
}

TEST(Metric, DefaultsOfANewDefinition) {
  MetricDef def;
  EXPECT_EQ(def.type, MetricType::kCounter);
  EXPECT_EQ(def.max_inc, kDefaultMaxInc);
  EXPECT_EQ(def.range_min, -kDefaultRangeBound);
  EXPECT_EQ(def.range_max, kDefaultRangeBound);
  EXPECT_TRUE(def.FullyEnumerated());  // no labels
  LabelDef label;
  EXPECT_TRUE(label.enumerated());
  EXPECT_EQ(label.max_values, 0u);
  EXPECT_EQ(label.overflow_value, "__overflow__");
}

TEST(Metric, AnEnumeratedLabelAllowsExactlyItsValues) {
  LabelDef label;
  label.name = "browser";
  label.allowed_values = {"chrome", "caf\xc3\xa9", std::string("a\0b", 3)};
  struct Case {
    std::string value;
    bool allowed;
  };
  const Case cases[] = {
      {"chrome", true},
      {"Chrome", false},
      {"chrom", false},
      {"chromex", false},
      {"", false},
      {std::string("chrome\0", 7), false},
      {"caf\xc3\xa9", true},
      {"cafe", false},
      {std::string("a\0b", 3), true},
      {"a", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(label.Allows(c.value), c.allowed) << c.value;
  }
}

TEST(Metric, FindLabelAndFullyEnumerated) {
  MetricDef def;
  def.labels.resize(2);
  def.labels[0].name = "a";
  def.labels[0].allowed_values = {"x"};
  def.labels[1].name = "b";
  def.labels[1].allowed_values = {"y"};
  EXPECT_EQ(def.FindLabel("a"), &def.labels[0]);
  EXPECT_EQ(def.FindLabel("b"), &def.labels[1]);
  EXPECT_EQ(def.FindLabel("c"), nullptr);
  EXPECT_EQ(def.FindLabel(""), nullptr);
  EXPECT_TRUE(def.FullyEnumerated());
  def.labels[1].allowed_values.clear();
  def.labels[1].pattern = "[a-z]+";  // a pattern label (regex unused here)
  EXPECT_FALSE(def.labels[1].enumerated());
  EXPECT_FALSE(def.FullyEnumerated());
}

}  // namespace
}  // namespace pum
