#include "exporter/upkeep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
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

const char kTtlJson[] = R"({"allowedMetrics": [
  {"name": "pages_total", "help": "Pages.", "type": "counter",
   "series_ttl": "1h",
   "labels": [{"name": "route", "pattern": "/[a-z0-9]*", "maxValues": 2}]},
  {"name": "kept_total", "help": "Kept.", "type": "counter",
   "labels": [{"name": "route", "pattern": "/[a-z0-9]*"}]}]})";

class UpkeepExpiryTest : public UpkeepTest {
 protected:
  void SetUp() override {
    UpkeepTest::SetUp();
    ASSERT_TRUE(dir_.Write("metrics.d/one.json", kTtlJson));
    ASSERT_TRUE(state_->ReloadAllowlist(100).ok());
    ASSERT_TRUE(
        Store::Open(dir_.Path("pum.db"), StoreOptions(), &writer_).ok());
  }

  // What a worker writes: `metric`{route} += 1 at `now`.
  void Post(int64_t now, const std::string& route,
            const std::string& metric = "pages_total") {
    Batch batch;
    CounterDelta delta;
    delta.key.metric = metric;
    const bool capped = metric == "pages_total";
    delta.key.labels.push_back(
        Label{"route", route, capped ? 2u : 1000u, "__overflow__"});
    delta.inc = 1;
    batch.counters.push_back(delta);
    ApplyResult result;
    ASSERT_TRUE(writer_->Apply(batch, now, &result).ok());
    ASSERT_EQ(result, ApplyResult::kApplied);
  }

  UpkeepOptions Options() {
    UpkeepOptions options = UpkeepTest::Options();
    options.initial_fingerprint = AllowlistFingerprint(metrics_dir_);
    return options;
  }

  std::unique_ptr<Store> writer_;
};

TEST_F(UpkeepExpiryTest, ExpiresTheSeriesOfMetricsWithASeriesTtl) {
  Upkeep upkeep(state_.get(), Options());
  Post(1000, "/old");
  Post(1000, "/old", "kept_total");  // no series_ttl: never expires
  Post(2000, "/young");
  std::string body = Scrape();
  EXPECT_TRUE(Contains(body, "\npum_exporter_series_expired_total 0\n"));
  EXPECT_TRUE(Contains(body, "\npages_total{route=\"/old\"} 1\n")) << body;

  upkeep.RunOnce(1000 + 3600, false);  // /old is exactly 1h old: kept
  EXPECT_TRUE(Contains(Scrape(), "\npages_total{route=\"/old\"} 1\n"));
  upkeep.RunOnce(1000 + 3600 + 1, false);
  body = Scrape();
  EXPECT_FALSE(Contains(body, "pages_total{route=\"/old\"}")) << body;
  EXPECT_TRUE(Contains(body, "\npages_total{route=\"/young\"} 1\n")) << body;
  EXPECT_TRUE(Contains(body, "\nkept_total{route=\"/old\"} 1\n")) << body;
  EXPECT_TRUE(Contains(body, "\npum_exporter_series_expired_total 1\n"));
  EXPECT_TRUE(Contains(body, "\npum_exporter_store_series 2\n")) << body;

  // The freed slot goes to a new value rather than the overflow value.
  Post(5000, "/new");
  Post(5000, "/third");  // cap 2 reached: overflow
  body = Scrape();
  EXPECT_TRUE(Contains(body, "\npages_total{route=\"/new\"} 1\n")) << body;
  EXPECT_TRUE(Contains(body, "\npages_total{route=\"__overflow__\"} 1\n"));

  // A returning series starts from zero.
  upkeep.RunOnce(5000 + 3601, false);  // everything of pages_total
  body = Scrape();
  EXPECT_FALSE(Contains(body, "pages_total{")) << body;
  EXPECT_TRUE(Contains(body, "\npum_exporter_series_expired_total 4\n"));
  Post(9000, "/old");
  EXPECT_TRUE(Contains(Scrape(), "\npages_total{route=\"/old\"} 1\n"));
}

TEST_F(UpkeepExpiryTest, OneRoundCompletesAPassOfManyTransactions) {
  UpkeepOptions options = Options();
  options.expiry_rows = 1;
  Upkeep upkeep(state_.get(), options);
  // pages_total (cap 2): /r0, /r1 and the overflow series.
  for (int i = 0; i < 10; ++i) Post(1000, "/r" + std::to_string(i));
  for (int i = 0; i < 10; ++i) {
    Post(1000, "/k" + std::to_string(i), "kept_total");
  }
  EXPECT_TRUE(Contains(Scrape(), "\npum_exporter_store_series 13\n"));
  upkeep.RunOnce(1000 + 3601, false);  // 4 transactions of 1 row at most
  std::string body = Scrape();
  EXPECT_FALSE(Contains(body, "pages_total{")) << body;
  EXPECT_TRUE(Contains(body, "\npum_exporter_series_expired_total 3\n"));
  EXPECT_TRUE(Contains(body, "\npum_exporter_store_series 10\n")) << body;
}

TEST_F(UpkeepExpiryTest, TheThreadUsesTheInjectedClock) {
  std::atomic<int64_t> now{1000};
  UpkeepOptions options = Options();
  options.interval = std::chrono::milliseconds(20);
  options.clock = [&now] { return now.load(); };
  Post(1000, "/a");
  Upkeep upkeep(state_.get(), options);
  upkeep.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(Contains(Scrape(), "\npages_total{route=\"/a\"} 1\n"));
  now = 1000 + 3601;  // an hour later, by the upkeep's clock
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (state_->ReloadStats().series_expired == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  upkeep.Stop();
  EXPECT_EQ(state_->ReloadStats().series_expired, 1u);
  EXPECT_FALSE(Contains(Scrape(), "pages_total{"));
}

}  // namespace
}  // namespace pum
