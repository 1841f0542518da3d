// scrape-fill: writes the scrape benchmark's series (tests/bench/scrape.mjs)
// straight into a pum store through Store::Apply, for callgrind profiles of
// pum-exporter that need no nginx or pum-ingest (tests/bench/
// scrape_callgrind.sh).
//
//   scrape-fill DB fill N      N series bench_latency_seconds{path="/page/J"},
//                              two observations each
//   scrape-fill DB one K N     one observation on one series (K-th write)
//   scrape-fill DB spread K N  one observation on each of 400 series spread
//                              evenly over the N (a different set per K)
//
// The values are scrape.mjs's obs(j, r). Exit status 0 when every batch
// was applied.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "schema/store/store.h"

namespace {

const double kBounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
constexpr int kSpread = 400;
constexpr int kFillBatch = 500;

double Obs(long j, long r) {
  return static_cast<double>((j * 37 + r * 11) % 97) / 96 * 6;
}

// One histogram delta of `values` on series j.
pum::HistogramDelta Delta(long j, const std::vector<double>& values) {
  pum::HistogramDelta delta;
  delta.key.metric = "bench_latency_seconds";
  pum::Label label;
  label.name = "path";
  label.value = "/page/" + std::to_string(j);
  label.max_values = 200000;
  label.overflow_value = "__overflow__";
  delta.key.labels.push_back(label);
  for (double bound : kBounds) delta.buckets.emplace_back(bound, 0);
  delta.buckets.emplace_back(std::numeric_limits<double>::infinity(), 0);
  for (double v : values) {
    size_t b = 0;
    while (b < 10 && v > kBounds[b]) ++b;
    ++delta.buckets[b].second;
    delta.sum += v;
    ++delta.count;
  }
  std::vector<std::pair<double, uint64_t>> nonzero;
  for (const auto& bucket : delta.buckets) {
    if (bucket.second != 0) nonzero.push_back(bucket);
  }
  delta.buckets = nonzero;
  return delta;
}

bool Apply(pum::Store* store, const pum::Batch& batch) {
  pum::ApplyResult result;
  pum::Status status = store->Apply(batch, 0, &result);
  if (!status.ok() || result != pum::ApplyResult::kApplied) {
    std::fprintf(stderr, "scrape-fill: apply failed: %s\n",
                 status.ToString().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: scrape-fill DB fill N | one K N | spread K N\n");
    return 2;
  }
  std::unique_ptr<pum::Store> store;
  pum::Status status = pum::Store::Open(argv[1], pum::StoreOptions(), &store);
  if (!status.ok()) {
    std::fprintf(stderr, "scrape-fill: %s\n", status.ToString().c_str());
    return 1;
  }
  const std::string what = argv[2];
  if (what == "fill") {
    long n = std::atol(argv[3]);
    for (long start = 0; start < n; start += kFillBatch) {
      pum::Batch batch;
      for (long j = start; j < n && j < start + kFillBatch; ++j) {
        batch.histograms.push_back(Delta(j, {Obs(j, 0), Obs(j, 1)}));
      }
      if (!Apply(store.get(), batch)) return 1;
    }
    return 0;
  }
  if (argc < 5) return 2;
  long k = std::atol(argv[3]);
  long n = std::atol(argv[4]);
  pum::Batch batch;
  if (what == "one") {
    long j = (k * 7919 + 13) % n;
    batch.histograms.push_back(Delta(j, {Obs(j, k + 2)}));
  } else if (what == "spread") {
    for (long i = 0; i < kSpread; ++i) {
      long j = (i * n / kSpread + k) % n;
      batch.histograms.push_back(Delta(j, {Obs(j, k + 2)}));
    }
  } else {
    return 2;
  }
  return Apply(store.get(), batch) ? 0 : 1;
}
