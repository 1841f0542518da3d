#include "fcgi-ingest/group_committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "schema/store/sqlite.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

constexpr int64_t kNow = 1700000000;

std::unique_ptr<Store> OpenStore(const std::string& path) {
  std::unique_ptr<Store> store;
  Status s = Store::Open(path, StoreOptions(), &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

Batch CounterBatch(const std::string& metric, double inc) {
  Batch batch;
  CounterDelta delta;
  delta.key.metric = metric;
  delta.inc = inc;
  batch.counters.push_back(delta);
  return batch;
}

double CounterValue(Store* store, const std::string& metric) {
  Snapshot snapshot;
  EXPECT_TRUE(store->Read(&snapshot).ok());
  for (const CounterSeries& c : snapshot.counters) {
    if (c.metric == metric) return c.value;
  }
  return -1;
}

// Threads apply batches at once, each (client, seq) several times by
// different threads at the same moment: every batch is acknowledged
// (applied or duplicate), each (client, seq) applied exactly once, and the
// batches share transactions.
TEST(GroupCommitter, ConcurrentBatchesAreEachAppliedOnceInSharedTransactions) {
  testing::TempDir dir;
  const std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  GroupCommitter committer(store.get());
  constexpr int kThreads = 8;
  constexpr int kSeqs = 60;
  constexpr int kCopies = 2;  // threads 2k and 2k+1 send the same batches
  // Another connection holds the write lock at first, so the threads'
  // batches pile up behind the first leader.
  sql::Database holder;
  ASSERT_TRUE(holder.Open(path).ok());
  ASSERT_TRUE(holder.Execute("BEGIN IMMEDIATE").ok());
  std::atomic<int> applied{0};
  std::atomic<int> duplicates{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string client = "client" + std::to_string(t / kCopies);
      for (int seq = 0; seq < kSeqs; ++seq) {
        Batch batch = CounterBatch("c", 1);
        batch.id = BatchId{client, seq};
        ApplyResult result;
        Status s = committer.Apply(batch, kNow, &result);
        if (!s.ok()) {
          ++failures;
        } else if (result == ApplyResult::kApplied) {
          ++applied;
        } else if (result == ApplyResult::kDuplicate) {
          ++duplicates;
        } else {
          ++failures;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(holder.Execute("ROLLBACK").ok());
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr int kDistinct = kThreads / kCopies * kSeqs;
  EXPECT_EQ(applied.load(), kDistinct);
  EXPECT_EQ(duplicates.load(), kThreads * kSeqs - kDistinct);
  EXPECT_EQ(CounterValue(store.get(), "c"), kDistinct);
  EXPECT_EQ(committer.batches(), static_cast<uint64_t>(kThreads * kSeqs));
  EXPECT_LT(committer.groups(), committer.batches());
}

TEST(GroupCommitter, AnInvalidBatchFailsAloneAndTheOthersAreApplied) {
  testing::TempDir dir;
  const std::string path = dir.Path("pum.db");
  auto store = OpenStore(path);
  GroupCommitter committer(store.get());
  sql::Database holder;
  ASSERT_TRUE(holder.Open(path).ok());
  ASSERT_TRUE(holder.Execute("BEGIN IMMEDIATE").ok());
  constexpr int kThreads = 6;
  std::vector<Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Thread 3's batch is not valid (a negative increment).
      Batch batch = CounterBatch("c", t == 3 ? -1 : 1);
      ApplyResult result;
      statuses[t] = committer.Apply(batch, kNow, &result);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(holder.Execute("ROLLBACK").ok());
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    if (t == 3) {
      EXPECT_EQ(statuses[t].code(), Status::Code::kInvalidArgument);
    } else {
      EXPECT_TRUE(statuses[t].ok()) << t << ": " << statuses[t].ToString();
    }
  }
  EXPECT_EQ(CounterValue(store.get(), "c"), kThreads - 1);
}

TEST(GroupCommitter, ABusyStoreFailsTheGroupWithNothingApplied) {
  testing::TempDir dir;
  const std::string path = dir.Path("pum.db");
  std::unique_ptr<Store> store;
  StoreOptions options;
  options.busy_timeout_ms = 50;
  ASSERT_TRUE(Store::Open(path, options, &store).ok());
  GroupCommitter committer(store.get());
  sql::Database holder;
  ASSERT_TRUE(holder.Open(path).ok());
  ASSERT_TRUE(holder.Execute("BEGIN IMMEDIATE").ok());
  std::vector<std::thread> threads;
  std::atomic<int> busy{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      ApplyResult result;
      Status s = committer.Apply(CounterBatch("c", 1), kNow, &result);
      if (s.code() == Status::Code::kBusy) ++busy;
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(holder.Execute("ROLLBACK").ok());
  EXPECT_EQ(busy.load(), 4);
  EXPECT_EQ(CounterValue(store.get(), "c"), -1);
  // And the next group goes through.
  ApplyResult result;
  ASSERT_TRUE(committer.Apply(CounterBatch("c", 1), kNow, &result).ok());
  EXPECT_EQ(result, ApplyResult::kApplied);
}

}  // namespace
}  // namespace pum
