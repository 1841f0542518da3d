#include "schema/own_metrics/own_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pum {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::StartsWith;

TEST(OwnMetrics, InternalMetricsAreSortedCountersWithHelp) {
  const std::vector<MetricDef>& metrics = InternalMetrics();
  std::vector<std::string> names;
  for (const MetricDef& m : metrics) {
    names.push_back(m.name);
    EXPECT_EQ(m.type, MetricType::kCounter) << m.name;
    EXPECT_FALSE(m.help.empty()) << m.name;
    EXPECT_TRUE(IsValidMetricName(m.name)) << m.name;
    EXPECT_THAT(m.name, StartsWith(kReservedMetricPrefix));
    EXPECT_TRUE(m.FullyEnumerated()) << m.name;
  }
  EXPECT_THAT(names, ElementsAre(kDuplicateBatchesTotal, kEventsAcceptedTotal,
                                 kEventsRejectedTotal, kRequestsTotal,
                                 kSampledBatchesTotal, kReportsTotal));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

const MetricDef* FindInternal(const std::string& name) {
  for (const MetricDef& m : InternalMetrics()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

TEST(OwnMetrics, InternalMetricsHaveTheirLabels) {
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

  for (const char* name : {kReportsTotal, kEventsAcceptedTotal,
                           kDuplicateBatchesTotal, kSampledBatchesTotal}) {
    ASSERT_NE(FindInternal(name), nullptr) << name;
    EXPECT_TRUE(FindInternal(name)->labels.empty()) << name;
  }
  EXPECT_EQ(FindInternal(kReportsTotal)->help,
            "Batches accepted from browsers.");
}

// Regression (issue 8): pum_ingest_requests_total{code="429"} and
// {code="500"} were exported at zero forever: pum-ingest never answers
// them (429 is the web server's rate limit).
TEST(OwnMetrics, IngestStatusCodesAreOnlyCodesPumIngestAnswers) {
  for (const char* never : {"429", "500"}) {
    EXPECT_EQ(std::count(IngestStatusCodes().begin(), IngestStatusCodes().end(),
                         never),
              0)
        << never;
  }
  EXPECT_TRUE(
      std::is_sorted(IngestStatusCodes().begin(), IngestStatusCodes().end()));
}

TEST(OwnMetrics, RejectionReasonsListEveryReason) {
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

}  // namespace
}  // namespace pum
