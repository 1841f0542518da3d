// GroupCommitter: lets the threads of one pum-ingest process share one Store,
// committing the batches that wait at the same moment in one transaction
// (group commit, as leveldb's writers do).
//
// Contract:
//   - Apply() may be called from any number of threads at once. A caller's
//     batch is queued; the first caller in the queue becomes the leader: it
//     takes every batch queued at that moment (at most kMaxGroup), applies
//     them with ONE Store::ApplyGroup, hands each waiting caller its own
//     result and wakes them; the next caller in the queue then leads the
//     next group. Apply() returns only after the transaction that holds
//     its batch has committed (or failed): an acknowledged batch is durable.
//   - Each batch gets exactly what Store::Apply() would have given it had the
//     batches been applied one after the other in queue order (see
//     Store::ApplyGroup); a store error (busy past its timeout, disk full)
//     is every batch's error in that group, none of them applied. A batch
//     that is not valid (InvalidArgument) fails alone: the others of its
//     group are applied again without it.
//   - The Store is only used by the leader, one leader at a time; nothing
//     else may use it while the GroupCommitter exists.
#ifndef PUM_FCGI_INGEST_GROUP_COMMITTER_H_
#define PUM_FCGI_INGEST_GROUP_COMMITTER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

#include "schema/base/status.h"
#include "schema/store/store.h"

namespace pum {

class GroupCommitter {
 public:
  // The most batches one transaction holds.
  static constexpr size_t kMaxGroup = 64;

  // `store` must outlive the GroupCommitter.
  explicit GroupCommitter(Store* store);

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // As Store::Apply(), in a group with whatever other threads apply at the
  // same moment. `now` (unix seconds) is the batch's time; a group is
  // stamped with the latest of its batches'.
  Status Apply(const Batch& batch, int64_t now, ApplyResult* result,
               OutOfRange* out_of_range = nullptr);

  // How many transactions and batches have been committed through Apply()
  // (for tests and the benchmark's profile).
  uint64_t groups() const;
  uint64_t batches() const;

 private:
  struct Writer;

  void Lead(std::unique_lock<std::mutex>* lock);

  Store* store_;
  mutable std::mutex mu_;
  std::deque<Writer*> queue_;  // guarded by mu_; the front one leads
  uint64_t groups_ = 0;        // guarded by mu_
  uint64_t batches_ = 0;       // guarded by mu_
};

}  // namespace pum

#endif  // PUM_FCGI_INGEST_GROUP_COMMITTER_H_
