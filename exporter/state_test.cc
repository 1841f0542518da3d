#include "exporter/state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "exporter/collect.h"
#include "exporter/exposition.h"
#include "schema/allowlist/allowlist.h"
#include "schema/store/store.h"
#include "schema/testing/gunzip.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

const char kBefore[] = R"({"allowedMetrics": [
  {"name": "load_seconds", "help": "Loads.", "type": "histogram",
   "labels": [{"name": "page", "pattern": "^.*$"}],
   "buckets": [0.1, 0.5, 1, 5]}]})";
const char kAfter[] = R"({"allowedMetrics": [
  {"name": "load_seconds", "help": "Loads.", "type": "histogram",
   "labels": [{"name": "page", "pattern": "^.*$"}],
   "buckets": [0.25, 2]},
  {"name": "late_total", "help": "Added later.", "type": "counter"}]})";

using ::pum::testing::Gunzip;

// `text` without the exporter's own lines (the scrape duration changes).
std::string WithoutOwn(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos + 1);
    if (line.find("pum_exporter_") == std::string::npos) out += line;
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

class StateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_dir_ = dir_.Path("metrics.d");
    ASSERT_EQ(mkdir(metrics_dir_.c_str(), 0755), 0);
    ASSERT_TRUE(dir_.Write("metrics.d/a.json", kBefore));
    auto allowlist = std::make_shared<Allowlist>();
    ASSERT_TRUE(Allowlist::LoadDir(metrics_dir_, allowlist.get()).ok());
    std::unique_ptr<Store> store;
    ASSERT_TRUE(Store::Open(dir_.Path("pum.db"), StoreOptions(), &store).ok());
    state_ = std::make_unique<ExporterState>(
        std::move(store), std::move(allowlist), metrics_dir_, 100);
    ASSERT_TRUE(
        Store::Open(dir_.Path("pum.db"), StoreOptions(), &writer_).ok());
  }

  void Observe(const std::string& page, double bound, uint64_t n) {
    Batch batch;
    HistogramDelta delta;
    delta.key.metric = "load_seconds";
    delta.key.labels.push_back({"page", page, 0, ""});
    delta.sum = bound * static_cast<double>(n);
    delta.count = n;
    delta.buckets = {{bound, n}};
    batch.histograms.push_back(delta);
    ApplyResult result;
    ASSERT_TRUE(writer_->Apply(batch, 1, &result).ok());
    ASSERT_EQ(result, ApplyResult::kApplied);
  }

  std::string Scrape(ExpositionFormat format, bool gzip) {
    ScrapeBody body;
    Status status = state_->Scrape(format, gzip, &body);
    EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(body.gzipped, gzip);
    return gzip ? Gunzip(body.Join()) : body.Join();
  }

  // collect.h's render of what the store holds now, for the allowlist in
  // use, without the exporter's own families.
  std::string FromScratch(ExpositionFormat format) {
    Snapshot snapshot;
    EXPECT_TRUE(writer_->Read(&snapshot).ok());
    std::vector<MetricFamily> families =
        CollectStoreFamilies(*state_->allowlist(), snapshot, nullptr);
    return format == ExpositionFormat::kOpenMetrics
               ? SerializeOpenMetrics(families)
               : SerializeText(families);
  }

  testing::TempDir dir_;
  std::string metrics_dir_;
  std::unique_ptr<ExporterState> state_;
  std::unique_ptr<Store> writer_;  // another connection, as pum-ingest's
};

TEST_F(StateTest, ScrapesFollowTheStoreAndTheAllowlist) {
  struct Step {
    const char* name;
    const char* allowlist;  // written and reloaded first, unless null
    std::vector<std::tuple<std::string, double, uint64_t>> writes;
  };
  const Step steps[] = {
      {"an empty store", nullptr, {}},
      {"first writes", nullptr, {{"/a", 0.1, 2}, {"/c", 0.7, 1}}},
      {"nothing written", nullptr, {}},
      {"a new series between", nullptr, {{"/b", 3, 1}}},
      {"reload: other bounds, a new metric", kAfter, {}},
      {"writes after the reload", nullptr, {{"/a", 1, 4}, {"/d", 0.01, 1}}},
      {"reload back", kBefore, {{"/e", 9, 1}}},
  };
  for (const Step& step : steps) {
    if (step.allowlist != nullptr) {
      ASSERT_TRUE(dir_.Write("metrics.d/a.json", step.allowlist));
      ASSERT_TRUE(state_->ReloadAllowlist(200).ok()) << step.name;
    }
    for (const auto& [page, bound, n] : step.writes) Observe(page, bound, n);
    for (ExpositionFormat format :
         {ExpositionFormat::kText, ExpositionFormat::kOpenMetrics}) {
      const std::string want = FromScratch(format);
      EXPECT_EQ(WithoutOwn(Scrape(format, false)), WithoutOwn(want))
          << step.name;
      EXPECT_EQ(WithoutOwn(Scrape(format, true)), WithoutOwn(want))
          << step.name;
    }
  }
  // After the reload back: the stored buckets on the first bounds again.
  EXPECT_NE(Scrape(ExpositionFormat::kText, false)
                .find("load_seconds_bucket{page=\"/a\",le=\"1\"} 6\n"),
            std::string::npos);
}

}  // namespace
}  // namespace pum
