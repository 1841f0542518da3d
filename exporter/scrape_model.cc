#include "exporter/scrape_model.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "exporter/collect.h"  // kMaxZeroFilledSeries
#include "exporter/protobuf_exposition.h"
#include "schema/own_metrics/own_metrics.h"

namespace pum {
namespace {

using StoredLabels = std::vector<std::pair<std::string, std::string>>;

constexpr uint64_t kNever = ~uint64_t{0};

void AppendLengthPrefixed(std::string* out, std::string_view text) {
  uint32_t n = static_cast<uint32_t>(text.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof(n));
  out->append(text);
}

// A stored series' identity: its kind, metric and labels as stored.
std::string StoredKey(char kind, const std::string& metric,
                      const StoredLabels& labels) {
  std::string key(1, kind);
  AppendLengthPrefixed(&key, metric);
  for (const auto& [name, value] : labels) {
    AppendLengthPrefixed(&key, name);
    AppendLengthPrefixed(&key, value);
  }
  return key;
}

// StoredKey()'s labels again (to order the rare series that several stored
// ones add up to).
StoredLabels LabelsOfKey(std::string_view key) {
  auto take = [&key]() {
    uint32_t n = 0;
    std::memcpy(&n, key.data(), sizeof(n));
    std::string text(key.substr(sizeof(n), n));
    key.remove_prefix(sizeof(n) + n);
    return text;
  };
  key.remove_prefix(1);  // the kind
  take();                // the metric
  StoredLabels labels;
  while (!key.empty()) {
    std::string name = take();
    labels.emplace_back(std::move(name), take());
  }
  return labels;
}

std::string ValuesKey(const std::vector<std::string>& values) {
  std::string key;
  for (const std::string& value : values) AppendLengthPrefixed(&key, value);
  return key;
}

}  // namespace

size_t ScrapeBody::size() const {
  size_t n = 0;
  for (const auto& piece : pieces) n += piece->size();
  return n;
}

std::string ScrapeBody::Join() const {
  std::string out;
  out.reserve(size());
  for (const auto& piece : pieces) out.append(*piece);
  return out;
}

struct ScrapeModel::Impl {
  struct Series;

  // One stored series, as the store last gave it, re-bucketed.
  struct Contributor {
    Series* series = nullptr;          // null: skipped
    const std::string* key = nullptr;  // StoredKey(), owned by the map
    double value = 0;                  // counter
    double sum = 0;                    // histogram
    uint64_t count = 0;
    std::vector<uint64_t> per_bucket;  // per current bound, not cumulative
    NativeHistogram native;            // native histograms: StoredNative()
    uint64_t seen = 0;                 // the last full Apply() listing it
  };

  struct Chunk;
  struct Family;

  struct Series {
    Family* family = nullptr;
    Chunk* chunk = nullptr;
    std::vector<std::string> values;  // in the definition's label order
    std::vector<size_t> ranks;        // each value's place in allowedValues
    std::string labels;               // RenderLabels()
    bool zero_filled = false;
    std::vector<Contributor*> contributors;  // by stored labels
  };

  struct Cached {
    uint64_t version = kNever;
    std::shared_ptr<const std::string> data;  // text or deflate segment
    uint32_t crc = 0;                         // of the text
    uint64_t text_size = 0;
  };

  // A chunk's cache slots: the two text formats, then the protobuf one.
  static constexpr int kProtobufSlot = 2;

  struct Chunk {
    std::vector<Series*> series;  // in order
    uint64_t version = 0;
    Cached cache[3][2];  // [format, or kProtobufSlot][gzip]
  };

  struct Family {
    const MetricDef* def = nullptr;
    MetricKind kind = MetricKind::kCounter;
    std::vector<double> bounds;
    FamilyLayout layout[2];                      // [format]
    std::vector<std::unique_ptr<Chunk>> chunks;  // never empty
    std::unordered_map<std::string, std::unique_ptr<Series>> series;
    size_t capacity = 1;  // series a chunk holds before it may split
  };

  Impl(std::shared_ptr<const Allowlist> allowlist_in,
       ScrapeModelOptions options_in)
      : allowlist(std::move(allowlist_in)),
        options(options_in),
        segmenter(options_in.gzip_level) {
    Build();
  }

  // ------------------------------------------------------------ building

  void AddFamily(const MetricDef& def) {
    if (by_name.count(def.name) != 0) return;  // the allowlist's wins
    auto family = std::make_unique<Family>();
    family->def = &def;
    family->kind = def.type == MetricType::kHistogram ? MetricKind::kHistogram
                                                      : MetricKind::kCounter;
    if (family->kind == MetricKind::kHistogram) {
      family->bounds = def.ClassicBounds();
      assert(std::adjacent_find(family->bounds.begin(), family->bounds.end(),
                                std::greater_equal<double>()) ==
             family->bounds.end());
    }
    for (ExpositionFormat format :
         {ExpositionFormat::kText, ExpositionFormat::kOpenMetrics}) {
      family->layout[static_cast<int>(format)] = MakeFamilyLayout(
          format, def.name, def.help, family->kind, family->bounds);
    }
    size_t lines =
        family->kind == MetricKind::kHistogram ? family->bounds.size() + 3 : 1;
    family->capacity = std::max<size_t>(1, options.chunk_lines / lines);
    family->chunks.push_back(NewChunk());
    by_name.emplace(def.name, family.get());
    families.push_back(std::move(family));
  }

  void Build() {
    for (const MetricDef& def : allowlist->metrics()) AddFamily(def);
    for (const MetricDef& def : InternalMetrics()) AddFamily(def);
    std::sort(families.begin(), families.end(),
              [](const auto& a, const auto& b) {
                return a->def->name < b->def->name;
              });
    for (auto& family : families) ZeroFill(family.get());
  }

  // Every combination of allowed values (collect.h's ZeroFilledSeries()).
  void ZeroFill(Family* family) {
    for (std::vector<std::string>& values : ZeroFilledSeries(*family->def)) {
      FindOrAddSeries(family, std::move(values))->zero_filled = true;
    }
  }

  std::unique_ptr<Chunk> NewChunk() {
    auto chunk = std::make_unique<Chunk>();
    chunk->version = ++versions;
    return chunk;
  }

  // ------------------------------------------------------------ series

  void Touch(Chunk* chunk) {
    chunk->version = ++versions;
    for (auto& per_format : chunk->cache) {
      for (Cached& cached : per_format) cached = Cached();
    }
  }

  static bool Less(const Series* a, const Series* b) {
    for (size_t i = 0; i < a->values.size(); ++i) {
      if (a->ranks[i] != b->ranks[i]) return a->ranks[i] < b->ranks[i];
      int c = a->values[i].compare(b->values[i]);
      if (c != 0) return c < 0;
    }
    return false;
  }

  Series* FindOrAddSeries(Family* family, std::vector<std::string> values) {
    std::string key = ValuesKey(values);
    auto found = family->series.find(key);
    if (found != family->series.end()) return found->second.get();
    auto owned = std::make_unique<Series>();
    Series* series = owned.get();
    series->family = family;
    const MetricDef& def = *family->def;
    LabelPairs pairs;
    for (size_t i = 0; i < values.size(); ++i) {
      const std::vector<std::string>& allowed = def.labels[i].allowed_values;
      series->ranks.push_back(
          std::find(allowed.begin(), allowed.end(), values[i]) -
          allowed.begin());
      pairs.emplace_back(def.labels[i].name, values[i]);
    }
    series->labels = RenderLabels(pairs);
    series->values = std::move(values);
    family->series.emplace(std::move(key), std::move(owned));
    Insert(family, series);
    return series;
  }

  void Insert(Family* family, Series* series) {
    auto& chunks = family->chunks;
    // The first chunk whose last series is not before this one.
    auto it = std::partition_point(
        chunks.begin(), chunks.end(), [series](const auto& chunk) {
          return !chunk->series.empty() && Less(chunk->series.back(), series);
        });
    if (it == chunks.end()) --it;
    Chunk* chunk = it->get();
    chunk->series.insert(std::lower_bound(chunk->series.begin(),
                                          chunk->series.end(), series, Less),
                         series);
    series->chunk = chunk;
    Touch(chunk);
    if (chunk->series.size() > 2 * family->capacity) {
      std::unique_ptr<Chunk> next = NewChunk();
      size_t half = chunk->series.size() / 2;
      next->series.assign(chunk->series.begin() + half, chunk->series.end());
      chunk->series.resize(half);
      for (Series* moved : next->series) moved->chunk = next.get();
      chunks.insert(it + 1, std::move(next));
    }
  }

  void RemoveSeries(Series* series) {
    Family* family = series->family;
    Chunk* chunk = series->chunk;
    chunk->series.erase(
        std::find(chunk->series.begin(), chunk->series.end(), series));
    Touch(chunk);
    if (chunk->series.empty() && family->chunks.size() > 1) {
      auto it =
          std::find_if(family->chunks.begin(), family->chunks.end(),
                       [chunk](const auto& c) { return c.get() == chunk; });
      bool first = it == family->chunks.begin();
      family->chunks.erase(it);
      // The family's HELP and TYPE lines move to the next chunk.
      if (first) Touch(family->chunks.front().get());
    }
    family->series.erase(ValuesKey(series->values));
  }

  // The exported series for a stored one, or null (skipped).
  Series* Resolve(const std::string& metric, MetricKind kind,
                  const StoredLabels& stored) {
    auto it = by_name.find(metric);
    if (it == by_name.end() || it->second->kind != kind) return nullptr;
    Family* family = it->second;
    const MetricDef& def = *family->def;
    if (stored.size() != def.labels.size()) return nullptr;
    std::vector<std::string> values(def.labels.size());
    std::vector<bool> seen_label(def.labels.size(), false);
    for (const auto& [name, value] : stored) {
      size_t i = 0;
      while (i < def.labels.size() && def.labels[i].name != name) ++i;
      if (i == def.labels.size() || seen_label[i]) return nullptr;
      seen_label[i] = true;
      values[i] = value;
    }
    return FindOrAddSeries(family, std::move(values));
  }

  // ------------------------------------------------------------ changes

  // The contributor for a stored series, created (and attached to its
  // exported series) if new; *created says which.
  Contributor* FindOrAddContributor(char kind_tag, MetricKind kind,
                                    const std::string& metric,
                                    const StoredLabels& labels, bool* created) {
    std::string key = StoredKey(kind_tag, metric, labels);
    auto it = stored.find(key);
    *created = it == stored.end();
    if (!*created) return it->second.get();
    auto owned = std::make_unique<Contributor>();
    Contributor* contributor = owned.get();
    contributor->series = Resolve(metric, kind, labels);
    contributor->key =
        &stored.emplace(std::move(key), std::move(owned)).first->first;
    if (contributor->series == nullptr) {
      ++skipped;
      return contributor;
    }
    // In the order of the stored labels, as collect.cc adds them up.
    auto& list = contributor->series->contributors;
    auto at = list.begin();
    while (at != list.end() && LabelsOfKey(*(*at)->key) < labels) ++at;
    list.insert(at, contributor);
    if (kind == MetricKind::kHistogram) {
      contributor->per_bucket.assign(contributor->series->family->bounds.size(),
                                     0);
    }
    return contributor;
  }

  void ApplyCounter(const CounterSeries& in) {
    bool created = false;
    Contributor* c = FindOrAddContributor('c', MetricKind::kCounter, in.metric,
                                          in.labels, &created);
    c->seen = generation;
    if (c->series == nullptr) return;
    if (!created && c->value == in.value &&
        std::signbit(c->value) == std::signbit(in.value)) {
      return;
    }
    c->value = in.value;
    Touch(c->series->chunk);
  }

  void ApplyHistogram(const HistogramSeries& in) {
    bool created = false;
    Contributor* c = FindOrAddContributor('h', MetricKind::kHistogram,
                                          in.metric, in.labels, &created);
    c->seen = generation;
    if (c->series == nullptr) return;
    // Re-bucketed onto the current bounds (collect.cc's AddHistogram()).
    const std::vector<double>& bounds = c->series->family->bounds;
    scratch_buckets.assign(bounds.size(), 0);
    for (const auto& [stored_bound, n] : in.buckets) {
      if (std::isnan(stored_bound)) continue;
      auto it = std::lower_bound(bounds.begin(), bounds.end(), stored_bound);
      if (it != bounds.end()) scratch_buckets[it - bounds.begin()] += n;
    }
    if (!created && c->count == in.count && c->sum == in.sum &&
        std::signbit(c->sum) == std::signbit(in.sum) &&
        c->per_bucket == scratch_buckets) {
      return;
    }
    c->count = in.count;
    c->sum = in.sum;
    c->per_bucket.swap(scratch_buckets);
    if (c->series->family->def->native) c->native = StoredNative(in);
    Touch(c->series->chunk);
  }

  void RemoveContributor(Contributor* c) {
    if (c->series == nullptr) {
      --skipped;
      return;
    }
    Series* series = c->series;
    auto& list = series->contributors;
    list.erase(std::find(list.begin(), list.end(), c));
    if (list.empty() && !series->zero_filled) {
      RemoveSeries(series);
    } else {
      Touch(series->chunk);
    }
  }

  void Apply(const Changes& changes) {
    if (changes.full) ++generation;
    for (const CounterSeries& in : changes.counters) ApplyCounter(in);
    for (const HistogramSeries& in : changes.histograms) ApplyHistogram(in);
    if (!changes.full) return;
    for (auto it = stored.begin(); it != stored.end();) {
      if (it->second->seen == generation) {
        ++it;
        continue;
      }
      RemoveContributor(it->second.get());
      it = stored.erase(it);
    }
  }

  // ------------------------------------------------------------ rendering

  void RenderChunk(const Family& family, const Chunk& chunk,
                   ExpositionFormat format, std::string* out) {
    const FamilyLayout& layout = family.layout[static_cast<int>(format)];
    if (&chunk == family.chunks.front().get()) out->append(layout.header);
    if (family.kind != MetricKind::kHistogram) {
      for (const Series* series : chunk.series) {
        double value = 0;
        for (const Contributor* c : series->contributors) value += c->value;
        AppendSampleLine(out, layout, series->labels, value);
      }
      return;
    }
    const size_t n = family.bounds.size();
    for (const Series* series : chunk.series) {
      uint64_t count = 0;
      double sum = 0;
      scratch_buckets.assign(n, 0);
      for (const Contributor* c : series->contributors) {
        count += c->count;
        sum += c->sum;
        for (size_t i = 0; i < n; ++i) scratch_buckets[i] += c->per_bucket[i];
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < n; ++i) {
        cumulative += scratch_buckets[i];
        scratch_buckets[i] = std::min(cumulative, count);
      }
      AppendHistogramLines(out, layout, series->labels, scratch_buckets.data(),
                           count, sum);
    }
  }

  // ------------------------------------------------------------ plain data

  // One series of a histogram family as RenderChunk() renders it.
  static HistogramSample HistogramOf(const Family& family, const Series& series,
                                     LabelPairs labels) {
    HistogramSample out;
    out.labels = std::move(labels);
    const size_t n = family.bounds.size();
    std::vector<uint64_t> buckets(n, 0);
    NativeHistogram native;
    native.schema = family.def->native_schema;
    for (const Contributor* c : series.contributors) {
      out.count += c->count;
      out.sum += c->sum;
      for (size_t i = 0; i < n; ++i) buckets[i] += c->per_bucket[i];
      if (c->count > 0) MergeNative(c->native, &native);
    }
    if (family.def->native) {
      // As collect.cc: the allowlist's cap now.
      LimitNativeBuckets(family.def->native_max_buckets, &native);
      out.native = ToNativeBuckets(native);
    }
    uint64_t cumulative = 0;
    out.buckets.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      cumulative += buckets[i];
      out.buckets.emplace_back(family.bounds[i],
                               std::min(cumulative, out.count));
    }
    return out;
  }

  // The family's name, help and kind, without series.
  static MetricFamily HeaderOf(const Family& family) {
    MetricFamily out;
    out.name = family.def->name;
    out.help = family.def->help;
    out.kind = family.kind;
    return out;
  }

  // Appends the chunk's series to *out.
  static void AddSeriesOf(const Family& family, const Chunk& chunk,
                          MetricFamily* out) {
    const MetricDef& def = *family.def;
    for (const Series* series : chunk.series) {
      LabelPairs labels;
      for (size_t i = 0; i < series->values.size(); ++i) {
        labels.emplace_back(def.labels[i].name, series->values[i]);
      }
      if (family.kind == MetricKind::kHistogram) {
        out->histograms.push_back(
            HistogramOf(family, *series, std::move(labels)));
        continue;
      }
      Sample sample;
      sample.labels = std::move(labels);
      for (const Contributor* c : series->contributors) {
        sample.value += c->value;
      }
      out->samples.push_back(std::move(sample));
    }
  }

  static MetricFamily FamilyOf(const Family& family) {
    MetricFamily out = HeaderOf(family);
    for (const auto& chunk : family.chunks) AddSeriesOf(family, *chunk, &out);
    return out;
  }

  // The own families from *next on that sort before `before` (all the
  // rest when it is null): each goes before the first family it sorts
  // before. Advances *next past them.
  static std::vector<MetricFamily> TakeOwn(const std::vector<MetricFamily>& own,
                                           size_t* next,
                                           const std::string* before) {
    std::vector<MetricFamily> taken;
    while (*next < own.size() &&
           (before == nullptr || own[*next].name < *before)) {
      taken.push_back(own[(*next)++]);
    }
    return taken;
  }

  std::vector<MetricFamily> Families(
      const std::vector<MetricFamily>& own) const {
    std::vector<MetricFamily> out;
    out.reserve(families.size() + own.size());
    size_t next_own = 0;
    for (const auto& family : families) {
      for (MetricFamily& f : TakeOwn(own, &next_own, &family->def->name)) {
        out.push_back(std::move(f));
      }
      out.push_back(FamilyOf(*family));
    }
    for (MetricFamily& f : TakeOwn(own, &next_own, nullptr)) {
      out.push_back(std::move(f));
    }
    return out;
  }

  // Adds a rendered piece to the body (and to the gzip member's CRC).
  void AddPiece(const Cached& cached, ScrapeBody* out) {
    if (cached.text_size == 0) return;
    out->pieces.push_back(cached.data);
    crc = Crc32Combine(crc, cached.crc, cached.text_size);
    text_size += cached.text_size;
  }

  // `text` as a piece of the body in the current encoding.
  Status MakePiece(std::string_view text, bool gzip, Cached* cached) {
    cached->text_size = text.size();
    if (!gzip) {
      cached->data = std::make_shared<const std::string>(text);
      return Status::Ok();
    }
    cached->crc = Crc32(text);
    auto segment = std::make_shared<std::string>();
    Status status = segmenter.Compress(text, segment.get());
    cached->data = std::move(segment);
    return status;
  }

  Status RenderOwn(const std::vector<MetricFamily>& own, size_t* next,
                   const std::string* before, ExpositionFormat format,
                   bool gzip, bool eof, ScrapeBody* out) {
    std::vector<MetricFamily> batch = TakeOwn(own, next, before);
    if (batch.empty() && !eof) return Status::Ok();
    std::string text = SerializeFamilies(batch, format);
    if (eof) text.append("# EOF\n");
    Cached cached;
    Status status = MakePiece(text, gzip, &cached);
    if (!status.ok()) return status;
    AddPiece(cached, out);
    return Status::Ok();
  }

  void Begin(bool gzip, ScrapeBody* out) {
    out->gzipped = gzip;
    out->pieces.clear();
    stats = RenderStats();
    crc = Crc32(std::string_view());
    text_size = 0;
    if (gzip) {
      static const auto kHeader =
          std::make_shared<const std::string>(GzipHeader());
      out->pieces.push_back(kHeader);
    }
  }

  void End(bool gzip, ScrapeBody* out) {
    if (gzip) {
      out->pieces.push_back(
          std::make_shared<const std::string>(GzipTrailer(crc, text_size)));
    }
  }

  // The chunk's piece in `slot`, rendered by `render` unless cached.
  template <typename RenderFn>
  Status ChunkPiece(Chunk* chunk, int slot, bool gzip, RenderFn render,
                    const Cached** piece) {
    ++stats.chunks;
    Cached& cached = chunk->cache[slot][gzip ? 1 : 0];
    *piece = &cached;
    if (cached.version == chunk->version) return Status::Ok();
    ++stats.rendered;
    scratch_text.clear();
    render(&scratch_text);
    Status status = MakePiece(scratch_text, gzip, &cached);
    if (!status.ok()) {
      cached = Cached();
      return status;
    }
    cached.version = chunk->version;
    return Status::Ok();
  }

  Status Render(ExpositionFormat format, bool gzip,
                const std::vector<MetricFamily>& own, ScrapeBody* out) {
    Begin(gzip, out);
    const int f = static_cast<int>(format);
    size_t next_own = 0;
    for (const auto& family : families) {
      Status status = RenderOwn(own, &next_own, &family->def->name, format,
                                gzip, false, out);
      if (!status.ok()) return status;
      for (const auto& chunk : family->chunks) {
        const Cached* piece = nullptr;
        status = ChunkPiece(
            chunk.get(), f, gzip,
            [&](std::string* text) {
              RenderChunk(*family, *chunk, format, text);
            },
            &piece);
        if (!status.ok()) return status;
        AddPiece(*piece, out);
      }
    }
    Status status = RenderOwn(own, &next_own, nullptr, format, gzip,
                              format == ExpositionFormat::kOpenMetrics, out);
    if (!status.ok()) return status;
    End(gzip, out);
    return Status::Ok();
  }

  // The protobuf exposition: each chunk's Metric fields are cached like
  // its text; a family's length and header fields, and the own families,
  // are serialized every time (one piece before the family's chunks).
  Status RenderProtobuf(bool gzip, const std::vector<MetricFamily>& own,
                        ScrapeBody* out) {
    Begin(gzip, out);
    size_t next_own = 0;
    std::vector<const Cached*> pieces;
    for (const auto& family : families) {
      std::string head =
          SerializeProtobuf(TakeOwn(own, &next_own, &family->def->name));
      pieces.clear();
      size_t metrics_size = 0;
      for (const auto& chunk : family->chunks) {
        const Cached* piece = nullptr;
        Status status = ChunkPiece(
            chunk.get(), kProtobufSlot, gzip,
            [&](std::string* bytes) {
              MetricFamily part;
              part.kind = family->kind;
              AddSeriesOf(*family, *chunk, &part);
              AppendProtobufMetrics(bytes, part);
            },
            &piece);
        if (!status.ok()) return status;
        metrics_size += piece->text_size;
        pieces.push_back(piece);
      }
      AppendProtobufFamilyHeader(&head, HeaderOf(*family), metrics_size);
      Status status = AddFresh(head, gzip, out);
      if (!status.ok()) return status;
      for (const Cached* piece : pieces) AddPiece(*piece, out);
    }
    Status status = AddFresh(
        SerializeProtobuf(TakeOwn(own, &next_own, nullptr)), gzip, out);
    if (!status.ok()) return status;
    End(gzip, out);
    return Status::Ok();
  }

  // Adds `bytes`, made for this scrape only, to the body.
  Status AddFresh(std::string_view bytes, bool gzip, ScrapeBody* out) {
    if (bytes.empty()) return Status::Ok();
    Cached cached;
    Status status = MakePiece(bytes, gzip, &cached);
    if (!status.ok()) return status;
    AddPiece(cached, out);
    return Status::Ok();
  }

  const std::shared_ptr<const Allowlist> allowlist;
  const ScrapeModelOptions options;
  DeflateSegmenter segmenter;

  std::vector<std::unique_ptr<Family>> families;  // by name
  std::unordered_map<std::string_view, Family*> by_name;
  std::unordered_map<std::string, std::unique_ptr<Contributor>> stored;
  int64_t skipped = 0;
  uint64_t generation = 0;
  uint64_t versions = 0;

  RenderStats stats;
  uint32_t crc = 0;
  uint64_t text_size = 0;
  std::vector<uint64_t> scratch_buckets;
  std::string scratch_text;
};

ScrapeModel::ScrapeModel(std::shared_ptr<const Allowlist> allowlist,
                         ScrapeModelOptions options)
    : impl_(std::make_unique<Impl>(std::move(allowlist), options)) {}

ScrapeModel::~ScrapeModel() = default;

const Allowlist* ScrapeModel::allowlist() const {
  return impl_->allowlist.get();
}

void ScrapeModel::Apply(const Changes& changes) { impl_->Apply(changes); }

int64_t ScrapeModel::skipped_series() const { return impl_->skipped; }

Status ScrapeModel::Render(ExpositionFormat format, bool gzip,
                           const std::vector<MetricFamily>& own,
                           ScrapeBody* out) {
  return impl_->Render(format, gzip, own, out);
}

Status ScrapeModel::RenderProtobuf(bool gzip,
                                   const std::vector<MetricFamily>& own,
                                   ScrapeBody* out) {
  return impl_->RenderProtobuf(gzip, own, out);
}

std::vector<MetricFamily> ScrapeModel::Families(
    const std::vector<MetricFamily>& own) const {
  return impl_->Families(own);
}

ScrapeModel::RenderStats ScrapeModel::last_render() const {
  return impl_->stats;
}

}  // namespace pum
