#include "exporter/upkeep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "exporter/state.h"
#include "schema/allowlist/allowlist.h"
#include "schema/store/store.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

const char kOneJson[] = R"({"allowedMetrics": [
  {"name": "one_total", "help": "One.", "type": "counter"}]})";
const char kTwoJson[] = R"({"allowedMetrics": [
  {"name": "two_total", "help": "Two.", "type": "counter"}]})";
const char kBrokenJson[] = R"({"allowedMetrics": [
  {"name": "three_total", "help": "Three.", "type": "gauge"}]})";

class UpkeepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_dir_ = dir_.Path("metrics.d");
    ASSERT_EQ(mkdir(metrics_dir_.c_str(), 0755), 0);
    ASSERT_TRUE(dir_.Write("metrics.d/one.json", kOneJson));
    fingerprint_ = AllowlistFingerprint(metrics_dir_);
    auto allowlist = std::make_shared<Allowlist>();
    ASSERT_TRUE(Allowlist::LoadDir(metrics_dir_, allowlist.get()).ok());
    std::unique_ptr<Store> store;
    ASSERT_TRUE(Store::Open(dir_.Path("pum.db"), StoreOptions(), &store).ok());
    state_ = std::make_unique<ExporterState>(
        std::move(store), std::move(allowlist), metrics_dir_, 100);
  }

  UpkeepOptions Options() {
    UpkeepOptions options;
    options.interval = std::chrono::hours(1);
    options.dedup_retention_seconds = 3600;
    options.initial_fingerprint = fingerprint_;
    return options;
  }

  std::string Scrape() {
    std::string body;
    Status status = state_->Scrape(ExpositionFormat::kText, &body);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return body;
  }

  testing::TempDir dir_;
  std::string metrics_dir_;
  std::string fingerprint_;
  std::unique_ptr<ExporterState> state_;
};

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_F(UpkeepTest, ReloadsWhenTheFilesChange) {
  Upkeep upkeep(state_.get(), Options());
  upkeep.RunOnce(1000, false);
  EXPECT_EQ(state_->ReloadStats().reloads_success, 0u);  // nothing changed

  ASSERT_TRUE(dir_.Write("metrics.d/two.json", kTwoJson));
  upkeep.RunOnce(1001, false);
  ExporterStats stats = state_->ReloadStats();
  EXPECT_EQ(stats.reloads_success, 1u);
  EXPECT_EQ(stats.last_reload_success_timestamp, 1001);
  EXPECT_EQ(state_->allowlist()->metrics().size(), 2u);
  std::string body = Scrape();
  EXPECT_TRUE(Contains(body, "\ntwo_total 0\n")) << body;
  EXPECT_TRUE(Contains(
      body, "pum_exporter_allowlist_reloads_total{result=\"success\"} 1\n"));
}

TEST_F(UpkeepTest, BrokenAllowlistKeepsTheOldOne) {
  Upkeep upkeep(state_.get(), Options());
  ASSERT_TRUE(dir_.Write("metrics.d/three.json", kBrokenJson));
  upkeep.RunOnce(1000, false);
  ExporterStats stats = state_->ReloadStats();
  EXPECT_EQ(stats.reloads_failure, 1u);
  EXPECT_FALSE(stats.last_reload_successful);
  EXPECT_EQ(state_->allowlist()->metrics().size(), 1u);
  std::string body = Scrape();
  EXPECT_TRUE(Contains(body, "\none_total 0\n"));
  EXPECT_FALSE(Contains(body, "three_total"));
  EXPECT_TRUE(
      Contains(body, "\npum_exporter_allowlist_last_reload_successful 0\n"));
  EXPECT_TRUE(Contains(
      body, "pum_exporter_allowlist_reloads_total{result=\"failure\"} 1\n"));

  upkeep.RunOnce(1001, false);  // unchanged: not tried again
  EXPECT_EQ(state_->ReloadStats().reloads_failure, 1u);
  upkeep.RunOnce(1002, true);  // SIGHUP: tried again
  EXPECT_EQ(state_->ReloadStats().reloads_failure, 2u);

  ASSERT_EQ(unlink(dir_.Path("metrics.d/three.json").c_str()), 0);
  upkeep.RunOnce(1003, false);
  stats = state_->ReloadStats();
  EXPECT_EQ(stats.reloads_success, 1u);
  EXPECT_TRUE(stats.last_reload_successful);
}

TEST_F(UpkeepTest, PrunesIdleClients) {
  {
    // A second connection to the same file, as a worker would have.
    std::unique_ptr<Store> writer;
    ASSERT_TRUE(Store::Open(dir_.Path("pum.db"), StoreOptions(), &writer).ok());
    Batch batch;
    batch.id = BatchId{"client-1", 0};
    CounterDelta delta;
    delta.key.metric = "one_total";
    delta.inc = 1;
    batch.counters.push_back(delta);
    ApplyResult result;
    ASSERT_TRUE(writer->Apply(batch, 1000, &result).ok());
  }
  EXPECT_TRUE(Contains(Scrape(), "\npum_exporter_dedup_clients 1\n"));
  Upkeep upkeep(state_.get(), Options());
  upkeep.RunOnce(1000 + 3600 - 1, false);  // not idle long enough
  EXPECT_TRUE(Contains(Scrape(), "\npum_exporter_dedup_clients 1\n"));
  upkeep.RunOnce(1000 + 3600 + 1, false);
  std::string body = Scrape();
  EXPECT_TRUE(Contains(body, "\npum_exporter_dedup_clients 0\n"));
  EXPECT_TRUE(Contains(body, "\none_total 1\n"));  // the counts stay
}

TEST_F(UpkeepTest, ThreadReloadsOnRequestAndStops) {
  Upkeep upkeep(state_.get(), Options());
  upkeep.Start();
  upkeep.RequestReload();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (state_->ReloadStats().reloads_success == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(state_->ReloadStats().reloads_success, 1u);
  upkeep.Stop();
  upkeep.Stop();  // twice is fine
}

}  // namespace
}  // namespace pum
