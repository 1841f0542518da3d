// ExporterState: what pum-exporter's HTTP handlers and its upkeep thread
// share: the store, the current allowlist and the reload counters.
//
// Contract:
//   - Every method is safe to call from any thread at the same time.
//   - The Store is used by one thread at a time (store.h): calls into it are
//     serialized by a mutex, held only for the call itself; collecting and
//     serializing run outside it.
//   - The allowlist is an immutable std::shared_ptr<const Allowlist>: a
//     scrape takes a reference at its start and keeps using that one while
//     a reload swaps in the next.
//   - Scrapes keep a ScrapeModel (scrape_model.h) between them, fed with
//     what the store says changed (Store::ReadChanges(); nothing to render
//     again when nothing was committed); a scrape that finds another allowlist
//     than the model's builds a new model (everything re-rendered). Scrapes
//     run one at a time (a mutex around the model); the body's pieces stay
//     valid after the scrape returns.
//   - ReloadAllowlist() swaps in the new allowlist only if the whole
//     directory loads; otherwise the old one stays, the errors ("file:line:
//     what", one per line) are logged (schema/base/log.h) as one event, and
//     the failure is counted in
//     pum_exporter_allowlist_reloads_total{result="failure"}.
#ifndef PUM_EXPORTER_STATE_H_
#define PUM_EXPORTER_STATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/collect.h"
#include "exporter/scrape_model.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/status.h"
#include "schema/store/store.h"

namespace pum {

class ExporterState {
 public:
  // `metrics_dir` is where ReloadAllowlist() reads from; `loaded_at` (unix
  // seconds) when `allowlist` was loaded.
  ExporterState(std::unique_ptr<Store> store,
                std::shared_ptr<const Allowlist> allowlist,
                std::string metrics_dir, int64_t loaded_at);
  ExporterState(const ExporterState&) = delete;
  ExporterState& operator=(const ExporterState&) = delete;

  // Reads the store and renders every family, the exporter's own included,
  // in `format`, gzipped if `gzip`. Fails (and renders nothing) if the store
  // cannot be read.
  Status Scrape(ExpositionFormat format, bool gzip, ScrapeBody* body);
  // The same, plain, as one string.
  Status Scrape(ExpositionFormat format, std::string* body);
  // The same in the protobuf format (protobuf_exposition.h), from the
  // same model (ScrapeModel::RenderProtobuf(): cached per chunk like the
  // text), gzipped as one member if `gzip`.
  Status ScrapeProtobuf(bool gzip, ScrapeBody* body);

  // OK if the store can be read.
  Status Ping();

  // Store upkeep: a passive WAL checkpoint; forgetting idle clients.
  Status Checkpoint();
  Status PruneClients(int64_t before, int64_t* pruned);
  // Store::ExpireSeries() (one bounded transaction), the series removed
  // counted in pum_exporter_series_expired_total.
  Status ExpireSeries(const std::string& metric, int64_t not_updated_since,
                      int max_rows, int64_t* expired);

  // Loads metrics_dir() again; see the contract above. `now` in unix
  // seconds. Returns the load's Status.
  Status ReloadAllowlist(int64_t now);

  std::shared_ptr<const Allowlist> allowlist() const;
  const std::string& metrics_dir() const { return metrics_dir_; }

  // The reload and expiry counters, as the own metrics show them.
  ExporterStats ReloadStats() const;

 private:
  // Brings the model up to date with the store (a new model if the
  // allowlist changed) and fills *own with the exporter's own families.
  // Called with model_mu_ held.
  Status Refresh(std::vector<MetricFamily>* own);
  // Under the model's lock: Refresh(), then render(gzip, own, body); if
  // compression fails, render(false, ...) (the body uncompressed).
  using RenderFn = std::function<Status(
      bool gzip, const std::vector<MetricFamily>& own, ScrapeBody* body)>;
  Status RefreshAndRender(bool gzip, ScrapeBody* body, const RenderFn& render);

  std::mutex store_mu_;
  std::unique_ptr<Store> store_;  // guarded by store_mu_

  std::mutex model_mu_;                 // taken before store_mu_ and mu_
  std::unique_ptr<ScrapeModel> model_;  // guarded by model_mu_
  ReadCursor cursor_;                   // the model's; guarded by model_mu_

  mutable std::mutex mu_;
  std::shared_ptr<const Allowlist> allowlist_;  // guarded by mu_
  // The reload fields and series_expired only; guarded by mu_.
  ExporterStats reloads_;

  const std::string metrics_dir_;
};

}  // namespace pum

#endif  // PUM_EXPORTER_STATE_H_
