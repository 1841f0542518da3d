// ScrapeModel: what /metrics shows, kept between scrapes and changed by the
// store's changes, with the rendered text (and its gzip) cached per chunk of
// series, so that a scrape renders and compresses only what changed.
//
// Contract:
//   - The output is byte for byte what collect.h's CollectStoreFamilies()
//     of the same stored series, merged with the `own` families
//     (MergeFamilies()) and serialized (exposition.h), gives: same
//     families, order, zero-filled series, skipped series, re-bucketing
//     and additions of stored series that map to one exported series. It
//     is built on the same serializer blocks.
//   - A model is built for one allowlist; an allowlist reload needs a new
//     model (ExporterState builds one when the allowlist changes), which
//     re-renders everything.
//   - Apply() takes stored series as the store gives them (full current
//     values, not deltas). With `full`, the changes are every stored
//     series: those not listed are removed. Without it, the listed series
//     are added or replace what the model had, and the others stay. A
//     listed series equal to what the model holds changes nothing.
//   - Families are kept in name order and the series of a family in the
//     order of collect.h (allowed-value rank, then bytes), each series
//     placed once when it first appears; its label set is rendered once.
//   - The series of a family are cut into chunks of about
//     options.chunk_lines lines; a chunk splits when it doubles and goes
//     away when empty (a family keeps one, which renders its HELP/TYPE).
//     A change to a series marks its chunk, and only marked chunks are
//     rendered again, per format (text, OpenMetrics, protobuf) and per
//     encoding, when a scrape asks.
//   - gzip: one member (gzip_stream.h) whose deflate segments are the
//     chunks' (cached) and the own families' (compressed every scrape).
//   - Render() returns the body as shared, immutable pieces: a caller may
//     send them after it let another thread Apply() and Render() again.
//   - Not thread-safe: one thread at a time (ExporterState holds a mutex).
#ifndef PUM_EXPORTER_SCRAPE_MODEL_H_
#define PUM_EXPORTER_SCRAPE_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exporter/exposition.h"
#include "exporter/gzip_stream.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/status.h"
#include "schema/store/store.h"

namespace pum {

struct ScrapeModelOptions {
  // About 64 KB of text a chunk (a 10-bound histogram series is 14 lines).
  size_t chunk_lines = 1000;
  int gzip_level = kGzipLevel;
};

// A response body: its pieces in order.
struct ScrapeBody {
  bool gzipped = false;
  std::vector<std::shared_ptr<const std::string>> pieces;
  size_t size() const;
  std::string Join() const;
};

class ScrapeModel {
 public:
  explicit ScrapeModel(std::shared_ptr<const Allowlist> allowlist,
                       ScrapeModelOptions options = ScrapeModelOptions());
  ~ScrapeModel();
  ScrapeModel(const ScrapeModel&) = delete;
  ScrapeModel& operator=(const ScrapeModel&) = delete;

  const Allowlist* allowlist() const;

  // Store::ReadChanges()'s answer (or Read()'s every series, as full).
  void Apply(const Changes& changes);

  // Stored series not exported (their metric left the allowlist or changed
  // type or label names).
  int64_t skipped_series() const;

  // The exposition in `format`, gzipped or not, with `own` (sorted by
  // name) merged in. Fails only if compression fails.
  Status Render(ExpositionFormat format, bool gzip,
                const std::vector<MetricFamily>& own, ScrapeBody* out);

  // The protobuf exposition (protobuf_exposition.h) of the same families,
  // gzipped or not: byte for byte SerializeProtobuf(Families(own)). Each
  // chunk's Metric fields are cached (per encoding) like its text, and
  // rendered again only when the chunk changed; the families' lengths and
  // header fields and the `own` families are serialized every call. Fails
  // only if compression fails.
  Status RenderProtobuf(bool gzip, const std::vector<MetricFamily>& own,
                        ScrapeBody* out);

  // The families Render() renders, as plain data, with `own` (sorted by
  // name) merged in: the same families, order, series, labels and values
  // (SerializeText() of them is Render(kText)'s body, SerializeProtobuf()
  // RenderProtobuf()'s); built anew each call.
  std::vector<MetricFamily> Families(
      const std::vector<MetricFamily>& own) const;

  // What the last Render() did: chunks in all, chunks rendered anew.
  struct RenderStats {
    size_t chunks = 0;
    size_t rendered = 0;
  };
  RenderStats last_render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pum

#endif  // PUM_EXPORTER_SCRAPE_MODEL_H_
