#include "exporter/scrape_model.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "exporter/collect.h"
#include "exporter/exposition.h"
#include "exporter/protobuf_exposition.h"
#include "schema/testing/gunzip.h"

namespace pum {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

const char kAllowlist[] = R"({"allowedMetrics": [
  {"name": "usage_total", "help": "usage \\ with \"quotes\"\nand a newline",
   "type": "counter",
   "labels": [
     {"name": "browser", "allowedValues": ["chrome", "firefox", "safari"]},
     {"name": "feature", "allowedValues": ["quickQuestion", "blockStudent"]}]},
  {"name": "errors", "help": "errors by page", "type": "counter",
   "labels": [{"name": "page", "pattern": "^.*$"}]},
  {"name": "latency_seconds", "help": "latency", "type": "histogram",
   "labels": [{"name": "path", "pattern": "^.*$"}],
   "buckets": [0.05, 0.1, 0.5, 1, 5]},
  {"name": "load_seconds", "help": "page loads", "type": "histogram",
   "labels": []},
  {"name": "native_seconds", "help": "native", "type": "histogram",
   "labels": [{"name": "path", "pattern": "^.*$"}], "buckets": [1],
   "native": {"schema": 2, "max_buckets": 6}}
]})";

// The same metrics after an edit: other bounds, labels reordered.
const char kEditedAllowlist[] = R"({"allowedMetrics": [
  {"name": "usage_total", "help": "usage", "type": "counter",
   "labels": [
     {"name": "feature", "allowedValues": ["blockStudent", "quickQuestion"]},
     {"name": "browser", "allowedValues": ["safari", "chrome", "firefox"]}]},
  {"name": "errors", "help": "errors by page", "type": "histogram",
   "labels": [{"name": "page", "pattern": "^.*$"}]},
  {"name": "latency_seconds", "help": "latency", "type": "histogram",
   "labels": [{"name": "path", "pattern": "^.*$"}],
   "buckets": [0.1, 0.25, 2]}
]})";

std::shared_ptr<const Allowlist> LoadAllowlist(const char* text) {
  auto allowlist = std::make_shared<Allowlist>();
  Status status = allowlist->AddFile(text, "test.json");
  EXPECT_TRUE(status.ok()) << status.ToString();
  return allowlist;
}

using StoredLabels = std::vector<std::pair<std::string, std::string>>;

CounterSeries Counter(std::string metric, StoredLabels labels, double value) {
  CounterSeries series;
  series.metric = std::move(metric);
  series.labels = std::move(labels);
  series.value = value;
  return series;
}

HistogramSeries Histogram(std::string metric, StoredLabels labels, double sum,
                          std::vector<std::pair<double, uint64_t>> buckets) {
  HistogramSeries series;
  series.metric = std::move(metric);
  series.labels = std::move(labels);
  series.sum = sum;
  series.buckets = std::move(buckets);
  for (const auto& bucket : series.buckets) series.count += bucket.second;
  return series;
}

// The store as the tests change it: by (kind, metric, labels).
class FakeStore {
 public:
  void Put(const CounterSeries& series) {
    counters_[{series.metric, series.labels}] = series;
    changed_counters_.push_back({series.metric, series.labels});
  }
  void Put(const HistogramSeries& series) {
    histograms_[{series.metric, series.labels}] = series;
    changed_histograms_.push_back({series.metric, series.labels});
  }
  void RemoveCounter(const std::string& metric, const StoredLabels& labels) {
    counters_.erase({metric, labels});
    removed_ = true;
  }
  void RemoveHistogram(const std::string& metric, const StoredLabels& labels) {
    histograms_.erase({metric, labels});
    removed_ = true;
  }

  // Every series, sorted as Store::Read() sorts them.
  Snapshot Read() const {
    Snapshot snapshot;
    for (const auto& [key, series] : counters_) {
      snapshot.counters.push_back(series);
    }
    for (const auto& [key, series] : histograms_) {
      snapshot.histograms.push_back(series);
    }
    return snapshot;
  }

  // As ReadChanges() answers: everything after a removal or when asked,
  // else the current values of what changed since the last call, each
  // once, in no particular order (here: the last written first).
  Changes ReadChanges(bool force_full) {
    Changes changes;
    if (removed_ || force_full) {
      Snapshot snapshot = Read();
      changes.full = true;
      changes.counters = std::move(snapshot.counters);
      changes.histograms = std::move(snapshot.histograms);
    } else {
      std::set<Key> done;
      for (auto it = changed_counters_.rbegin(); it != changed_counters_.rend();
           ++it) {
        if (done.insert(*it).second) changes.counters.push_back(counters_[*it]);
      }
      done.clear();
      for (auto it = changed_histograms_.rbegin();
           it != changed_histograms_.rend(); ++it) {
        if (done.insert(*it).second) {
          changes.histograms.push_back(histograms_[*it]);
        }
      }
    }
    changed_counters_.clear();
    changed_histograms_.clear();
    removed_ = false;
    return changes;
  }

  const std::map<std::pair<std::string, StoredLabels>, CounterSeries>&
  counters() const {
    return counters_;
  }
  const std::map<std::pair<std::string, StoredLabels>, HistogramSeries>&
  histograms() const {
    return histograms_;
  }

 private:
  std::map<std::pair<std::string, StoredLabels>, CounterSeries> counters_;
  std::map<std::pair<std::string, StoredLabels>, HistogramSeries> histograms_;
  using Key = std::pair<std::string, StoredLabels>;
  std::vector<Key> changed_counters_;  // written since the last read
  std::vector<Key> changed_histograms_;
  bool removed_ = false;
};

std::vector<MetricFamily> Own(double scrape_seconds) {
  ExporterStats stats;
  stats.scrape_duration_seconds = scrape_seconds;
  stats.store.series = 3;
  return ExporterFamilies(stats);
}

// The from-scratch path's families (collect.h).
std::vector<MetricFamily> ReferenceFamilies(
    const Allowlist& allowlist, const Snapshot& snapshot,
    const std::vector<MetricFamily>& own) {
  std::vector<MetricFamily> families =
      CollectStoreFamilies(allowlist, snapshot, nullptr);
  MergeFamilies(own, &families);
  return families;
}

// What today's from-scratch path renders (collect.h + exposition.h).
std::string Reference(const Allowlist& allowlist, const Snapshot& snapshot,
                      const std::vector<MetricFamily>& own,
                      ExpositionFormat format, int64_t* skipped = nullptr) {
  std::vector<MetricFamily> families =
      CollectStoreFamilies(allowlist, snapshot, skipped);
  MergeFamilies(own, &families);
  return format == ExpositionFormat::kOpenMetrics
             ? SerializeOpenMetrics(families)
             : SerializeText(families);
}

using ::pum::testing::Gunzip;

std::string Render(ScrapeModel* model, ExpositionFormat format, bool gzip,
                   const std::vector<MetricFamily>& own) {
  ScrapeBody body;
  Status status = model->Render(format, gzip, own, &body);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(body.gzipped, gzip);
  return gzip ? Gunzip(body.Join()) : body.Join();
}

// RenderProtobuf()'s body, gunzipped.
std::string RenderProtobuf(ScrapeModel* model, bool gzip,
                           const std::vector<MetricFamily>& own) {
  ScrapeBody body;
  Status status = model->RenderProtobuf(gzip, own, &body);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(body.gzipped, gzip);
  return gzip ? Gunzip(body.Join()) : body.Join();
}

// The protobuf exposition of the from-scratch path.
std::string ReferenceProtobuf(const Allowlist& allowlist,
                              const Snapshot& snapshot,
                              const std::vector<MetricFamily>& own) {
  return SerializeProtobuf(ReferenceFamilies(allowlist, snapshot, own));
}

Changes Full(const Snapshot& snapshot) {
  Changes changes;
  changes.full = true;
  changes.counters = snapshot.counters;
  changes.histograms = snapshot.histograms;
  return changes;
}

// Lines of `text` that start with `prefix`, in order.
std::vector<std::string> LinesStartingWith(const std::string& text,
                                           const std::string& prefix) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    if (line.compare(0, prefix.size(), prefix) == 0) lines.push_back(line);
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

TEST(ScrapeModel, MatchesTheFromScratchRender) {
  struct Case {
    const char* name;
    std::vector<CounterSeries> counters;
    std::vector<HistogramSeries> histograms;
  };
  const Case cases[] = {
      {"empty store: zero-filled families only", {}, {}},
      {"counters, allowed and not allowed values, escaping",
       {Counter("usage_total",
                {{"browser", "firefox"}, {"feature", "blockStudent"}}, 3),
        Counter("usage_total",
                {{"browser", "lynx"}, {"feature", "quickQuestion"}}, 1.5),
        Counter("errors", {{"page", "a\"b\\c\nd"}}, 1234567),
        Counter("errors", {{"page", "/"}}, 0.1)},
       {}},
      {"histograms re-bucketed from other bounds",
       {},
       {Histogram("latency_seconds", {{"path", "/b"}}, 2.25,
                  {{0.05, 1}, {0.2, 2}, {3, 1}, {kInf, 4}}),
        Histogram("latency_seconds", {{"path", "/a"}}, 0.1 + 0.2, {{0.1, 3}}),
        Histogram("load_seconds", {}, 7, {{2.5, 1}, {10, 2}})}},
      {"skipped: unknown metric, other type, other labels",
       {Counter("gone_total", {}, 1), Counter("latency_seconds", {}, 1),
        Counter("errors", {{"page", "x"}, {"extra", "y"}}, 1)},
       {Histogram("usage_total", {}, 1, {{1, 1}})}},
      {"own metrics' names sort among the internal ones",
       {Counter("pum_reports_total", {}, 42)},
       {}},
  };
  auto allowlist = LoadAllowlist(kAllowlist);
  for (const Case& c : cases) {
    Snapshot snapshot;
    snapshot.counters = c.counters;
    snapshot.histograms = c.histograms;
    for (size_t chunk_lines : {1, 7, 1000}) {
      ScrapeModelOptions options;
      options.chunk_lines = chunk_lines;
      ScrapeModel model(allowlist, options);
      model.Apply(Full(snapshot));
      int64_t skipped = 0;
      for (ExpositionFormat format :
           {ExpositionFormat::kText, ExpositionFormat::kOpenMetrics}) {
        std::string want =
            Reference(*allowlist, snapshot, Own(0.5), format, &skipped);
        EXPECT_EQ(Render(&model, format, false, Own(0.5)), want) << c.name;
        EXPECT_EQ(Render(&model, format, true, Own(0.5)), want) << c.name;
      }
      EXPECT_EQ(model.skipped_series(), skipped) << c.name;
      // The plain families (the protobuf exposition's): those of the
      // from-scratch path.
      std::vector<MetricFamily> families = model.Families(Own(0.5));
      EXPECT_EQ(
          SerializeText(families),
          Reference(*allowlist, snapshot, Own(0.5), ExpositionFormat::kText))
          << c.name;
      const std::string protobuf =
          ReferenceProtobuf(*allowlist, snapshot, Own(0.5));
      EXPECT_EQ(SerializeProtobuf(families), protobuf) << c.name;
      for (bool gzip : {false, true}) {
        EXPECT_EQ(RenderProtobuf(&model, gzip, Own(0.5)), protobuf)
            << c.name << " chunk_lines " << chunk_lines << " gzip " << gzip;
      }
    }
  }
}

TEST(ScrapeModel, NewSeriesLandsInItsPlace) {
  struct Case {
    const char* name;
    std::vector<std::string> before;  // errors{page} already stored
    std::string added;
    std::vector<std::string> want;  // the pages in the output's order
  };
  const Case cases[] = {
      {"first", {"b", "c"}, "a", {"a", "b", "c"}},
      {"between", {"a", "c"}, "b", {"a", "b", "c"}},
      {"last", {"a", "b"}, "c", {"a", "b", "c"}},
      {"byte order, not length",
       {"/page/10", "/page/9"},
       "/page/1",
       {"/page/1", "/page/10", "/page/9"}},
      {"into an empty family", {}, "x", {"x"}},
  };
  auto allowlist = LoadAllowlist(kAllowlist);
  for (const Case& c : cases) {
    ScrapeModelOptions options;
    options.chunk_lines = 1;  // a chunk splits past two series
    ScrapeModel model(allowlist, options);
    FakeStore store;
    for (const std::string& page : c.before) {
      store.Put(Counter("errors", {{"page", page}}, 1));
    }
    model.Apply(store.ReadChanges(true));
    Render(&model, ExpositionFormat::kText, false, {});
    store.Put(Counter("errors", {{"page", c.added}}, 2));
    model.Apply(store.ReadChanges(false));
    std::string text = Render(&model, ExpositionFormat::kText, false, {});
    std::vector<std::string> want;
    for (const std::string& page : c.want) {
      want.push_back("errors{page=\"" + page + "\"} " +
                     (page == c.added ? "2" : "1"));
    }
    EXPECT_EQ(LinesStartingWith(text, "errors{"), want) << c.name;
    // Only the chunk it went into (and the one it split off) rendered.
    EXPECT_LE(model.last_render().rendered, 2u) << c.name;
    EXPECT_GE(model.last_render().rendered, 1u) << c.name;
    EXPECT_EQ(text,
              Reference(*allowlist, store.Read(), {}, ExpositionFormat::kText))
        << c.name;
  }
}

TEST(ScrapeModel, ChangedSeriesRendersOnlyItsChunk) {
  auto allowlist = LoadAllowlist(kAllowlist);
  ScrapeModelOptions options;
  options.chunk_lines = 80;  // 10 series of 8 lines a chunk, at most 20
  ScrapeModel model(allowlist, options);
  FakeStore store;
  for (int j = 0; j < 200; ++j) {
    store.Put(Histogram("latency_seconds", {{"path", std::to_string(1000 + j)}},
                        j, {{0.1, 1}}));
  }
  model.Apply(store.ReadChanges(true));
  for (bool gzip : {false, true}) {
    Render(&model, ExpositionFormat::kOpenMetrics, gzip, Own(1));
    const size_t chunks = model.last_render().chunks;
    EXPECT_EQ(model.last_render().rendered, chunks);

    // Nothing changed: nothing rendered (the own families are every time).
    model.Apply(store.ReadChanges(false));
    Render(&model, ExpositionFormat::kOpenMetrics, gzip, Own(2));
    EXPECT_EQ(model.last_render().rendered, 0u);

    // The same values again: nothing changed either.
    store.Put(Histogram("latency_seconds", {{"path", "1050"}}, 50, {{0.1, 1}}));
    model.Apply(store.ReadChanges(false));
    Render(&model, ExpositionFormat::kOpenMetrics, gzip, Own(2));
    EXPECT_EQ(model.last_render().rendered, 0u);

    // One series: its chunk only.
    store.Put(Histogram("latency_seconds", {{"path", "1050"}}, 51,
                        {{0.1, 1}, {1, 1}}));
    model.Apply(store.ReadChanges(false));
    std::string text =
        Render(&model, ExpositionFormat::kOpenMetrics, gzip, Own(3));
    EXPECT_EQ(model.last_render().rendered, 1u);
    EXPECT_EQ(text, Reference(*allowlist, store.Read(), Own(3),
                              ExpositionFormat::kOpenMetrics));

    // The other format has its own cache: rendered in full once.
    Render(&model, ExpositionFormat::kText, gzip, Own(3));
    EXPECT_EQ(model.last_render().rendered, chunks);

    // So has the protobuf one: in full once, then only what changed.
    EXPECT_EQ(RenderProtobuf(&model, gzip, Own(3)),
              ReferenceProtobuf(*allowlist, store.Read(), Own(3)));
    EXPECT_EQ(model.last_render().chunks, chunks);
    EXPECT_EQ(model.last_render().rendered, chunks);
    RenderProtobuf(&model, gzip, Own(4));
    EXPECT_EQ(model.last_render().rendered, 0u);
    store.Put(Histogram("latency_seconds", {{"path", "1199"}}, 199,
                        {{0.1, 1}, {5, 1}}));
    model.Apply(store.ReadChanges(false));
    EXPECT_EQ(RenderProtobuf(&model, gzip, Own(5)),
              ReferenceProtobuf(*allowlist, store.Read(), Own(5)));
    EXPECT_EQ(model.last_render().rendered, 1u);
    store.Put(
        Histogram("latency_seconds", {{"path", "1199"}}, 199, {{0.1, 1}}));
    // Back to the unchanged store for the gzip round.
    store.Put(Histogram("latency_seconds", {{"path", "1050"}}, 50, {{0.1, 1}}));
    model.Apply(store.ReadChanges(false));
  }
}

TEST(ScrapeModel, AllowlistReloadRebuildsAndRebuckets) {
  FakeStore store;
  store.Put(Counter("usage_total",
                    {{"browser", "chrome"}, {"feature", "blockStudent"}}, 2));
  store.Put(Counter("usage_total",
                    {{"feature", "blockStudent"}, {"browser", "chrome"}}, 3));
  store.Put(Counter("errors", {{"page", "/x"}}, 1));  // now a histogram
  store.Put(Histogram("latency_seconds", {{"path", "/p"}}, 3.5,
                      {{0.05, 1}, {0.5, 2}, {1, 3}, {5, 1}, {kInf, 1}}));
  store.Put(Histogram("load_seconds", {}, 1, {{1, 1}}));  // now gone
  auto before = LoadAllowlist(kAllowlist);
  auto after = LoadAllowlist(kEditedAllowlist);
  ScrapeModel old_model(before);
  old_model.Apply(store.ReadChanges(true));
  EXPECT_EQ(Render(&old_model, ExpositionFormat::kText, false, Own(1)),
            Reference(*before, store.Read(), Own(1), ExpositionFormat::kText));

  // What ExporterState does when the allowlist changed: a new model and
  // every series from the store again.
  ScrapeModel model(after);
  model.Apply(store.ReadChanges(true));
  int64_t skipped = 0;
  for (ExpositionFormat format :
       {ExpositionFormat::kText, ExpositionFormat::kOpenMetrics}) {
    EXPECT_EQ(Render(&model, format, true, Own(1)),
              Reference(*after, store.Read(), Own(1), format, &skipped));
    EXPECT_EQ(model.last_render().rendered, model.last_render().chunks);
  }
  EXPECT_EQ(model.skipped_series(), skipped);
  EXPECT_EQ(skipped, 2);  // errors (a counter), load_seconds
  std::string text = Render(&model, ExpositionFormat::kText, false, {});
  EXPECT_NE(text.find("latency_seconds_bucket{path=\"/p\",le=\"0.1\"} 1\n"
                      "latency_seconds_bucket{path=\"/p\",le=\"0.25\"} 1\n"
                      "latency_seconds_bucket{path=\"/p\",le=\"2\"} 6\n"
                      "latency_seconds_bucket{path=\"/p\",le=\"+Inf\"} 8\n"),
            std::string::npos)
      << text;
  // The two stored orders of one label set are one series, added up.
  EXPECT_NE(
      text.find("usage_total{feature=\"blockStudent\",browser=\"chrome\"} 5\n"),
      std::string::npos);
}

TEST(ScrapeModel, RemovedSeriesLeaveAndZeroFilledOnesStay) {
  auto allowlist = LoadAllowlist(kAllowlist);
  ScrapeModelOptions options;
  options.chunk_lines = 1;
  ScrapeModel model(allowlist, options);
  FakeStore store;
  store.Put(Counter("errors", {{"page", "a"}}, 1));
  store.Put(Counter("errors", {{"page", "b"}}, 1));
  store.Put(Counter("errors", {{"page", "c"}}, 1));
  StoredLabels zero = {{"browser", "safari"}, {"feature", "quickQuestion"}};
  store.Put(Counter("usage_total", zero, 4));
  model.Apply(store.ReadChanges(false));
  Render(&model, ExpositionFormat::kText, false, {});
  store.RemoveCounter("errors", {{"page", "a"}});
  store.RemoveCounter("errors", {{"page", "b"}});
  store.RemoveCounter("errors", {{"page", "c"}});
  store.RemoveCounter("usage_total", zero);
  model.Apply(store.ReadChanges(false));  // full: something was removed
  std::string text = Render(&model, ExpositionFormat::kText, false, {});
  EXPECT_EQ(text,
            Reference(*allowlist, store.Read(), {}, ExpositionFormat::kText));
  EXPECT_TRUE(LinesStartingWith(text, "errors{").empty());
  EXPECT_NE(text.find("# TYPE errors counter\n"), std::string::npos);
  EXPECT_NE(
      text.find(
          "usage_total{browser=\"safari\",feature=\"quickQuestion\"} 0\n"),
      std::string::npos);
}

// Random sequences of writes, removals and partial or full change sets:
// after each, every format and encoding is what a from-scratch render of
// the store gives.
TEST(ScrapeModel, RandomChangesRenderAsFromScratch) {
  auto allowlist = LoadAllowlist(kAllowlist);
  const std::vector<std::string> values = {
      "chrome", "firefox", "safari", "lynx", "quickQuestion", "blockStudent",
      "",       "a\"b",    "x\ny",   "/1",   "/10",           "/2"};
  const std::vector<double> bounds = {0.01, 0.05, 0.07, 0.1, 0.5,
                                      1,    5,    7,    kInf};
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&rng](const auto& v) { return v[rng() % v.size()]; };
    ScrapeModelOptions options;
    options.chunk_lines = 1 + rng() % 40;
    ScrapeModel model(allowlist, options);
    FakeStore store;
    for (int step = 0; step < 60; ++step) {
      int writes = rng() % 6;
      for (int w = 0; w < writes; ++w) {
        switch (rng() % 6) {
          case 0:
            store.Put(
                Counter("usage_total",
                        {{"browser", pick(values)}, {"feature", pick(values)}},
                        rng() % 4 == 0 ? 0.1 * (rng() % 30) : rng() % 2000000));
            break;
          case 1:  // the other label order: added to the same series
            store.Put(
                Counter("usage_total",
                        {{"feature", pick(values)}, {"browser", pick(values)}},
                        rng() % 100));
            break;
          case 2:
            store.Put(Counter("errors", {{"page", pick(values)}}, rng() % 9));
            break;
          case 3: {
            std::vector<std::pair<double, uint64_t>> buckets;
            for (double bound : bounds) {
              if (rng() % 3 == 0) buckets.emplace_back(bound, rng() % 5);
            }
            store.Put(Histogram("latency_seconds", {{"path", pick(values)}},
                                0.1 * (rng() % 100), buckets));
            break;
          }
          case 4: {
            // A native series, sometimes without its native part (observed
            // before the metric turned native): seeded alike on both paths.
            HistogramSeries series;
            series.metric = "native_seconds";
            series.labels = {{"path", pick(values)}};
            NativeHistogram native;
            native.schema = 1 + static_cast<int>(rng() % 4);
            for (int i = rng() % 12; i > 0; --i) {
              double v = std::ldexp(1.0 + (rng() % 100) / 100.0,
                                    static_cast<int>(rng() % 30) - 15);
              if (rng() % 4 == 0) v = -v;
              ObserveNative(v, 1, &native);
              series.sum += v;
              series.buckets.emplace_back(v <= 1 ? 1 : kInf, 1);
              ++series.count;
            }
            std::sort(series.buckets.begin(), series.buckets.end());
            std::vector<std::pair<double, uint64_t>> merged;
            for (const auto& b : series.buckets) {
              if (!merged.empty() && merged.back().first == b.first) {
                merged.back().second += b.second;
              } else {
                merged.push_back(b);
              }
            }
            series.buckets = merged;
            if (rng() % 3 != 0) series.native = native;
            store.Put(series);
            break;
          }
          default:  // skipped ones
            store.Put(Counter(rng() % 2 ? "gone_total" : "latency_seconds",
                              {{"path", pick(values)}}, 1));
        }
      }
      if (rng() % 6 == 0 && !store.counters().empty()) {
        auto it = store.counters().begin();
        std::advance(it, rng() % store.counters().size());
        auto key = it->first;
        store.RemoveCounter(key.first, key.second);
      }
      if (rng() % 8 == 0 && !store.histograms().empty()) {
        auto key = store.histograms().begin()->first;
        store.RemoveHistogram(key.first, key.second);
      }
      model.Apply(store.ReadChanges(rng() % 5 == 0));
      ExpositionFormat format =
          rng() % 2 ? ExpositionFormat::kOpenMetrics : ExpositionFormat::kText;
      bool gzip = rng() % 2;
      auto own = Own(step);
      int64_t skipped = 0;
      ASSERT_EQ(Render(&model, format, gzip, own),
                Reference(*allowlist, store.Read(), own, format, &skipped))
          << "seed " << seed << " step " << step;
      ASSERT_EQ(model.skipped_series(), skipped)
          << "seed " << seed << " step " << step;
      // The protobuf exposition: cached per chunk (its own cache, taken
      // up in some steps only), and the plain families it is made of.
      if (step % 3 == 0) {
        const std::string protobuf =
            ReferenceProtobuf(*allowlist, store.Read(), own);
        ASSERT_EQ(RenderProtobuf(&model, rng() % 2, own), protobuf)
            << "seed " << seed << " step " << step;
        ASSERT_EQ(SerializeProtobuf(model.Families(own)), protobuf)
            << "seed " << seed << " step " << step;
      }
    }
  }
}

TEST(ScrapeModel, PiecesOutliveTheNextRender) {
  auto allowlist = LoadAllowlist(kAllowlist);
  ScrapeModel model(allowlist);
  FakeStore store;
  store.Put(Counter("errors", {{"page", "a"}}, 1));
  model.Apply(store.ReadChanges(true));
  ScrapeBody first;
  ASSERT_TRUE(model.Render(ExpositionFormat::kText, true, {}, &first).ok());
  const std::string sent = first.Join();
  store.Put(Counter("errors", {{"page", "a"}}, 2));
  model.Apply(store.ReadChanges(false));
  ScrapeBody second;
  ASSERT_TRUE(model.Render(ExpositionFormat::kText, true, {}, &second).ok());
  EXPECT_EQ(first.Join(), sent);  // unchanged by the second render
  EXPECT_NE(second.Join(), sent);

  ScrapeBody protobuf;
  ASSERT_TRUE(model.RenderProtobuf(true, {}, &protobuf).ok());
  const std::string sent_protobuf = protobuf.Join();
  store.Put(Counter("errors", {{"page", "a"}}, 3));
  model.Apply(store.ReadChanges(false));
  ScrapeBody next;
  ASSERT_TRUE(model.RenderProtobuf(true, {}, &next).ok());
  EXPECT_EQ(protobuf.Join(), sent_protobuf);
  EXPECT_NE(next.Join(), sent_protobuf);
}

// Regression: each cached gzip piece kept a buffer the size of its text
// (~64 KB for ~5 KB of deflate), 7 MB at 8,000 histograms; the memory the
// cache holds is now what it sends.
TEST(ScrapeModel, CachedPiecesHoldNoSlack) {
  auto allowlist = LoadAllowlist(kAllowlist);
  ScrapeModel model(allowlist);
  FakeStore store;
  for (int j = 0; j < 2000; ++j) {
    store.Put(Histogram("latency_seconds", {{"path", std::to_string(j)}}, j,
                        {{0.1, 1}, {1, j % 7}}));
  }
  model.Apply(store.ReadChanges(true));
  for (int kind = 0; kind < 3; ++kind) {
    for (bool gzip : {false, true}) {
      ScrapeBody body;
      Status status = kind == 2
                          ? model.RenderProtobuf(gzip, Own(1), &body)
                          : model.Render(static_cast<ExpositionFormat>(kind),
                                         gzip, Own(1), &body);
      ASSERT_TRUE(status.ok()) << kind << gzip;
      ASSERT_GT(model.last_render().chunks, 10u);
      size_t capacity = 0;
      for (const auto& piece : body.pieces) capacity += piece->capacity();
      EXPECT_LE(capacity, body.size() + 32 * body.pieces.size())
          << "format " << kind << ", gzip " << gzip;
    }
  }
}

}  // namespace
}  // namespace pum
