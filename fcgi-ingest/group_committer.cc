#include "fcgi-ingest/group_committer.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

namespace pum {

struct GroupCommitter::Writer {
  const Batch* batch = nullptr;
  int64_t now = 0;
  bool done = false;
  Status status;
  ApplyResult result = ApplyResult::kApplied;
  OutOfRange out_of_range;
  std::condition_variable cv;
};

GroupCommitter::GroupCommitter(Store* store) : store_(store) {
  assert(store_ != nullptr);
}

Status GroupCommitter::Apply(const Batch& batch, int64_t now,
                             ApplyResult* result, OutOfRange* out_of_range) {
  Writer writer;
  writer.batch = &batch;
  writer.now = now;
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&writer);
  while (!writer.done && queue_.front() != &writer) writer.cv.wait(lock);
  if (!writer.done) Lead(&lock);
  assert(writer.done);
  if (writer.status.ok()) {
    *result = writer.result;
    if (out_of_range != nullptr && writer.result == ApplyResult::kOutOfRange) {
      *out_of_range = std::move(writer.out_of_range);
    }
  }
  return writer.status;
}

// Called with `*lock` held by the writer at the front of the queue; returns
// with it held, that writer's group done and the next leader woken.
void GroupCommitter::Lead(std::unique_lock<std::mutex>* lock) {
  const size_t n = std::min(queue_.size(), kMaxGroup);
  std::vector<Writer*> group(queue_.begin(), queue_.begin() + n);
  lock->unlock();

  std::vector<const Batch*> batches;
  batches.reserve(n);
  int64_t now = 0;
  for (Writer* w : group) {
    batches.push_back(w->batch);
    now = std::max(now, w->now);
  }
  std::vector<ApplyResult> results;
  std::vector<OutOfRange> refused;
  Status s = store_->ApplyGroup(batches, now, &results, &refused);
  if (s.ok()) {
    for (size_t i = 0; i < n; ++i) {
      group[i]->result = results[i];
      group[i]->out_of_range = std::move(refused[i]);
    }
  } else if (s.code() == Status::Code::kInvalidArgument && n > 1) {
    // One batch is not valid: each on its own, so that it fails alone.
    for (Writer* w : group) {
      w->status = store_->Apply(*w->batch, now, &w->result, &w->out_of_range);
    }
  } else {
    for (Writer* w : group) w->status = s;
  }

  lock->lock();
  ++groups_;
  batches_ += n;
  for (size_t i = 0; i < n; ++i) {
    assert(queue_.front() == group[i]);
    queue_.pop_front();
    group[i]->done = true;
    // The leader is group[0], awake; the others wait on their own cv.
    if (i > 0) group[i]->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
}

uint64_t GroupCommitter::groups() const {
  std::lock_guard<std::mutex> lock(mu_);
  return groups_;
}

uint64_t GroupCommitter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

}  // namespace pum
