#include "exporter/state.h"

#include <cassert>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "exporter/exposition.h"
#include "exporter/gzip_stream.h"
#include "exporter/protobuf_exposition.h"
#include "schema/base/log.h"
#include "schema/config/config.h"

namespace pum {

ExporterState::ExporterState(std::unique_ptr<Store> store,
                             std::shared_ptr<const Allowlist> allowlist,
                             std::string metrics_dir, int64_t loaded_at)
    : store_(std::move(store)),
      allowlist_(std::move(allowlist)),
      metrics_dir_(std::move(metrics_dir)) {
  assert(store_ != nullptr && allowlist_ != nullptr);
  reloads_.last_reload_success_timestamp = static_cast<double>(loaded_at);
}

Status ExporterState::Refresh(std::vector<MetricFamily>* own) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const Allowlist> allowlist = this->allowlist();
  if (model_ == nullptr || model_->allowlist() != allowlist.get()) {
    model_.reset();  // the old one's memory first
    model_ = std::make_unique<ScrapeModel>(allowlist);
    cursor_ = ReadCursor();  // a new model starts from every series
  }
  Changes changes;
  StoreStats store_stats;
  {
    std::lock_guard<std::mutex> lock(store_mu_);
    ReadCursor cursor = cursor_;
    Status status = store_->ReadChanges(&cursor, &changes);
    if (status.ok()) status = store_->Stats(&store_stats);
    if (!status.ok()) return status;
    cursor_ = cursor;
  }
  model_->Apply(changes);
  changes = Changes();  // freed before rendering
  ExporterStats stats = ReloadStats();
  stats.store = store_stats;
  stats.skipped_series = model_->skipped_series();
  stats.scrape_duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  *own = ExporterFamilies(stats);
  return Status::Ok();
}

Status ExporterState::RefreshAndRender(bool gzip, ScrapeBody* body,
                                       const RenderFn& render) {
  std::lock_guard<std::mutex> model_lock(model_mu_);
  std::vector<MetricFamily> own;
  Status status = Refresh(&own);
  if (!status.ok()) return status;
  status = render(gzip, own, body);
  if (!status.ok() && gzip) {
    // Compression failed (zlib out of memory): the body uncompressed.
    LogWarn("gzip failed, answering uncompressed", {{"err", status.message()}});
    status = render(/*gzip=*/false, own, body);
  }
  return status;
}

Status ExporterState::Scrape(ExpositionFormat format, bool gzip,
                             ScrapeBody* body) {
  return RefreshAndRender(gzip, body, [&](bool z, const auto& own, auto* out) {
    return model_->Render(format, z, own, out);
  });
}

Status ExporterState::ScrapeProtobuf(bool gzip, ScrapeBody* body) {
  return RefreshAndRender(gzip, body, [&](bool z, const auto& own, auto* out) {
    return model_->RenderProtobuf(z, own, out);
  });
}

Status ExporterState::Scrape(ExpositionFormat format, std::string* body) {
  ScrapeBody pieces;
  Status status = Scrape(format, /*gzip=*/false, &pieces);
  if (status.ok()) *body = pieces.Join();
  return status;
}

Status ExporterState::Ping() {
  std::lock_guard<std::mutex> lock(store_mu_);
  return store_->Ping();
}

Status ExporterState::Checkpoint() {
  std::lock_guard<std::mutex> lock(store_mu_);
  return store_->Checkpoint();
}

Status ExporterState::PruneClients(int64_t before, int64_t* pruned) {
  std::lock_guard<std::mutex> lock(store_mu_);
  return store_->PruneClients(before, pruned);
}

Status ExporterState::ExpireSeries(const std::string& metric,
                                   int64_t not_updated_since, int max_rows,
                                   int64_t* expired) {
  int64_t removed = 0;
  {
    std::lock_guard<std::mutex> lock(store_mu_);
    Status status =
        store_->ExpireSeries(metric, not_updated_since, max_rows, &removed);
    if (!status.ok()) return status;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    reloads_.series_expired += static_cast<uint64_t>(removed);
  }
  *expired = removed;
  return Status::Ok();
}

Status ExporterState::ReloadAllowlist(int64_t now) {
  auto next = std::make_shared<Allowlist>();
  Status status = Allowlist::LoadDir(metrics_dir_, next.get());
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) {
    ++reloads_.reloads_failure;
    reloads_.last_reload_successful = false;
    LogError("reloading the allowlist failed, keeping the previous one",
             {{"dir", metrics_dir_}, {"err", status.message()}});
    return status;
  }
  ++reloads_.reloads_success;
  reloads_.last_reload_successful = true;
  reloads_.last_reload_success_timestamp = static_cast<double>(now);
  LogInfo("reloaded the allowlist",
          {{"dir", metrics_dir_}, {"metrics", next->metrics().size()}});
  if (next->metrics().empty()) {
    LogWarn(kNoMetricsWarning, {{"dir", metrics_dir_}});
  }
  allowlist_ = std::move(next);
  return Status::Ok();
}

std::shared_ptr<const Allowlist> ExporterState::allowlist() const {
  std::lock_guard<std::mutex> lock(mu_);
  return allowlist_;
}

ExporterStats ExporterState::ReloadStats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

}  // namespace pum
