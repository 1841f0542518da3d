// libFuzzer target: the whole request handling of pum-ingest, through
// Ingestor::Handle (fcgi-ingest/ingestor.h): batch parser, validator and
// Store::Apply on a WAL-mode SQLite file in a temporary directory, with the
// shipped allowlist (conf/metrics.d, whose example.json has the seed's
// example metrics) and kFuzzAllowlist below (patterns,
// maxValues caps, allowedValues, histograms with and without buckets).
//
// Input: the first byte chooses the request, the rest is the body. With
// m = byte ^ 0x20 (so that ' ' is a plain POST, handy for seed files):
//   m & 0x01         the strict ingestor (422) instead of the lenient one
//   (m >> 1) & 3     0, 1: POST; 2: OPTIONS; 3: GET
//   (m >> 3) & 3     Origin: 0 none; 1 "https://ok.example" (allowed);
//                    2 "HTTPS://OK.EXAMPLE" (allowed, other case);
//                    3 "https://evil.example" (not allowed)
//   m & 0x60 == 0x60 the transport saw a body over the limit ('@' ^ 0x20)
// So " [...]" is a lenient POST, "![...]" a strict one, "$" an OPTIONS,
// "8[...]" a POST from a foreign origin, "@[...]" an over-large body.
//
// One Store and two Ingestors per process, reused across inputs: the state
// (de-duplication, maxValues caps) carries over, as in a real worker.
// Invariants checked after every input, on a Store::Read snapshot compared
// with the one after the previous input:
//   - the status is one docs/wire-format.md#answers lists for the request; 503
//   never happens
//     (nothing else uses the store) and aborts with the store's error;
//   - a body is empty (204) or a JSON object; 200/422 bodies have
//     "accepted" and a non-empty "rejected" with indexes strictly increasing,
//     inside the batch, reasons from RejectionReasons(); in a 200
//     accepted + rejected = events, in a 422 accepted = 0;
//   - an answer other than 200/204 leaves every allowlisted series exactly
//     as it was (nothing partial); 422 too;
//   - pum_ingest_events_accepted_total grows by exactly the events accepted
//     (0 for a duplicate 204);
//   - every stored total is finite, counters and histogram counts never
//     decrease, a histogram's buckets add up to its count, and no count
//     passes 2^53. PUM_FUZZ_ALLOW_NON_FINITE=1 in the environment turns
//     the finiteness checks off (for fuzzing a store without the
//     value_out_of_range guarantee of issue 7 item 2; see
//     docs/design.md#the-store).
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "fcgi-ingest/batch_parser.h"
#include "fcgi-ingest/ingestor.h"
#include "schema/allowlist/allowlist.h"
#include "schema/config/config.h"
#include "schema/own_metrics/own_metrics.h"
#include "schema/store/store.h"
#include "schema/testing/temp_dir.h"

#ifndef PUM_SOURCE_DIR
#define PUM_SOURCE_DIR "."
#endif

namespace {

const char kFuzzAllowlist[] = R"({"allowedMetrics": [
  {"name": "fz_counter_total", "help": "fuzz counter", "type": "counter",
   "labels": [
     {"name": "kind", "allowedValues": ["a", "b", "c", "\u00e9"]},
     {"name": "word", "pattern": "^[a-z]{1,8}$", "maxValues": 5,
      "overflowValue": "other"}]},
  {"name": "fz_plain_total", "help": "no labels", "type": "counter"},
  {"name": "fz_big_total", "help": "huge increments", "type": "counter",
   "max_inc": 9e15},
  {"name": "fz_tight_total", "help": "small increments", "type": "counter",
   "max_inc": 2},
  {"name": "fz_wide_total", "help": "three labels", "type": "counter",
   "labels": [
     {"name": "x", "pattern": "[0-9]+", "maxValues": 2},
     {"name": "y", "pattern": "^(?:GET|POST|[a-z_]{0,3})$", "maxValues": 3},
     {"name": "z", "allowedValues": ["1", "2"]}]},
  {"name": "fz_latency_seconds", "help": "fuzz histogram", "type": "histogram",
   "labels": [{"name": "route", "pattern": "^/[a-z0-9/]*$", "maxValues": 3}],
   "buckets": [-1, 0, 0.5, 1, 1000], "native": true},
  {"name": "fz_default_seconds", "help": "default buckets",
   "type": "histogram"},
  {"name": "fz_wide_seconds", "help": "any finite value", "type": "histogram",
   "range": [-1.7e308, 1.7e308], "buckets": [0],
   "native": {"schema": 8, "max_buckets": 20}},
  {"name": "fz_timing_seconds", "help": "a timing", "type": "histogram",
   "range": [0, 3600], "buckets": [1, 60]},
  {"name": "fz_enum_seconds", "help": "enumerated histogram",
   "type": "histogram", "buckets": [1e-9, 1e9],
   "labels": [{"name": "phase", "allowedValues": ["dns", "tls"]}]}
]})";

// The store's directory, removed by Fail() (a crash skips destructors).
std::string g_dir;

[[noreturn]] void Fail(const std::string& what, const std::string& input,
                       const pum::Response* response) {
  if (!g_dir.empty()) {
    std::error_code ignored;  // nothing more to do if removal fails here
    std::filesystem::remove_all(g_dir, ignored);
  }
  std::fprintf(stderr, "fuzz_ingest: invariant broken: %s\n", what.c_str());
  if (response != nullptr) {
    std::fprintf(stderr, "  status %d, body %s\n", response->status,
                 response->body.c_str());
  }
  std::fprintf(stderr, "  input (%zu bytes) begins: %.200s\n", input.size(),
               input.c_str());
  std::abort();
}

// `text` followed by 16 NULs: RapidJSON's SIMD scanning reads aligned
// 16-byte blocks past the end of what it parses.
std::string Padded(const std::string& text) {
  return text + std::string(16, '\0');
}

bool IsUserMetric(const std::string& name) {
  return name.rfind("pum_", 0) != 0;
}

std::string SeriesName(
    const std::string& metric,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string s = metric;
  for (const auto& [k, v] : labels) s += "\x01" + k + "\x02" + v;
  return s;
}

// What a snapshot says, by series.
struct State {
  std::map<std::string, double> counters;
  // sum, count, buckets
  std::map<std::string, std::pair<double, uint64_t>> histograms;
  std::map<std::string, std::vector<std::pair<double, uint64_t>>> buckets;
  double accepted_total = 0;
};

struct World {
  pum::testing::TempDir dir;
  std::unique_ptr<pum::Store> store;
  std::unique_ptr<pum::Ingestor> lenient;
  std::unique_ptr<pum::Ingestor> strict;
  State state;
  int64_t now = 1700000000;
  uint64_t inputs = 0;
};

State ReadState(World* w, const std::string& input) {
  pum::Snapshot snap;
  pum::Status s = w->store->Read(&snap);
  if (!s.ok()) Fail("Store::Read failed: " + s.ToString(), input, nullptr);
  State st;
  for (const pum::CounterSeries& c : snap.counters) {
    if (c.metric == pum::kEventsAcceptedTotal) st.accepted_total += c.value;
    st.counters[SeriesName(c.metric, c.labels)] = c.value;
  }
  for (const pum::HistogramSeries& h : snap.histograms) {
    std::string name = SeriesName(h.metric, h.labels);
    // Native metrics are native from their first observation: the native
    // part holds every observation, within its bucket cap.
    const bool native =
        h.metric == "fz_wide_seconds" || h.metric == "fz_latency_seconds";
    if (native != h.native.has_value() && h.count > 0) {
      Fail("native part present/absent wrongly: " + name, input, nullptr);
    }
    if (h.native.has_value()) {
      if (pum::NativeTotalCount(*h.native) != h.count) {
        Fail("native buckets do not add up to the count: " + name, input,
             nullptr);
      }
      const size_t kept = h.native->positive.size() + h.native->negative.size();
      const size_t cap = h.metric == "fz_wide_seconds" ? 20 : 160;
      if (kept > cap && h.native->schema > pum::kNativeMinSchema) {
        Fail("native buckets past the cap: " + name, input, nullptr);
      }
    }
    st.histograms[name] = {h.sum, h.count};
    st.buckets[name] = h.buckets;
  }
  return st;
}

World* Init() {
  auto* w = new World;
  if (w->dir.path().empty()) Fail("no temporary directory", "", nullptr);
  g_dir = w->dir.path();
  pum::StoreOptions store_options;
  store_options.busy_timeout_ms = 1000;
  pum::Status s =
      pum::Store::Open(w->dir.Path("pum.db"), store_options, &w->store);
  if (!s.ok()) Fail("Store::Open: " + s.ToString(), "", nullptr);

  const char* src = std::getenv("PUM_SOURCE_DIR");
  std::string root = src != nullptr && *src != '\0' ? src : PUM_SOURCE_DIR;
  auto allowlist = std::make_shared<pum::Allowlist>();
  s = pum::Allowlist::LoadDir(root + "/conf/metrics.d", allowlist.get());
  if (!s.ok()) Fail("loading conf/metrics.d: " + s.ToString(), "", nullptr);
  s = allowlist->AddFile(kFuzzAllowlist, "fuzz.json");
  if (!s.ok()) Fail("the fuzz allowlist: " + s.ToString(), "", nullptr);

  pum::Options options;
  options.storage_path = w->dir.Path("pum.db");
  options.cors_allowed_origins = {"https://ok.example",
                                  "http://localhost:8080"};
  options.max_events_per_batch = 40;
  options.max_observations_per_event = 30;
  options.max_label_value_bytes = 64;
  w->lenient =
      std::make_unique<pum::Ingestor>(w->store.get(), allowlist, options);
  options.strict = true;
  w->strict =
      std::make_unique<pum::Ingestor>(w->store.get(), allowlist, options);
  w->state = ReadState(w, "");
  return w;
}

// Checks a 200/422 body; returns its "accepted".
double CheckRejections(const pum::Response& r, size_t events,
                       const std::string& input) {
  rapidjson::Document d;
  d.Parse(Padded(r.body).c_str(), r.body.size());
  if (d.HasParseError() || !d.IsObject())
    Fail("body not a JSON object", input, &r);
  auto acc = d.FindMember("accepted");
  auto rej = d.FindMember("rejected");
  if (acc == d.MemberEnd() || !acc->value.IsUint64() || rej == d.MemberEnd() ||
      !rej->value.IsArray())
    Fail("no accepted/rejected", input, &r);
  const auto& reasons = pum::RejectionReasons();
  std::set<std::string> known(reasons.begin(), reasons.end());
  int64_t last = -1;
  for (const auto& e : rej->value.GetArray()) {
    if (!e.IsObject() || !e.HasMember("index") || !e["index"].IsUint64() ||
        !e.HasMember("reason") || !e["reason"].IsString())
      Fail("a rejection without index/reason", input, &r);
    int64_t i = static_cast<int64_t>(e["index"].GetUint64());
    if (i <= last || static_cast<size_t>(i) >= events)
      Fail("rejection indexes not increasing inside the batch", input, &r);
    last = i;
    if (known.count(e["reason"].GetString()) == 0)
      Fail("an unknown reason", input, &r);
  }
  uint64_t accepted = acc->value.GetUint64();
  if (rej->value.Empty()) Fail("200/422 with nothing rejected", input, &r);
  if (r.status == 200 && accepted + rej->value.Size() != events)
    Fail("200: accepted + rejected != events", input, &r);
  if (r.status == 422 && accepted != 0)
    Fail("422 with accepted > 0", input, &r);
  return static_cast<double>(accepted);
}

bool SameUserSeries(const State& a, const State& b) {
  auto user_equal = [](const auto& x, const auto& y) {
    auto i = x.begin(), j = y.begin();
    for (;;) {
      while (i != x.end() && !IsUserMetric(i->first)) ++i;
      while (j != y.end() && !IsUserMetric(j->first)) ++j;
      if (i == x.end() || j == y.end()) return i == x.end() && j == y.end();
      if (i->first != j->first || !(i->second == j->second)) return false;
      ++i, ++j;
    }
  };
  return user_equal(a.counters, b.counters) &&
         user_equal(a.histograms, b.histograms) &&
         user_equal(a.buckets, b.buckets);
}

bool CheckFinite() {
  const char* v = std::getenv("PUM_FUZZ_ALLOW_NON_FINITE");
  return v == nullptr || std::string(v) != "1";
}

void CheckTotals(const State& before, const State& after,
                 const std::string& input, const pum::Response& r) {
  constexpr double kMaxExact = 9007199254740992.0;  // 2^53
  static const bool check_finite = CheckFinite();
  for (const auto& [name, value] : after.counters) {
    if (check_finite && !std::isfinite(value))
      Fail("counter not finite: " + name, input, &r);
    auto it = before.counters.find(name);
    if (it != before.counters.end() && value < it->second)
      Fail("counter decreased: " + name, input, &r);
  }
  for (const auto& [name, sc] : after.histograms) {
    if (check_finite && !std::isfinite(sc.first))
      Fail("histogram sum not finite: " + name, input, &r);
    if (static_cast<double>(sc.second) > kMaxExact)
      Fail("histogram count past 2^53: " + name, input, &r);
    auto it = before.histograms.find(name);
    if (it != before.histograms.end() && sc.second < it->second.second)
      Fail("histogram count decreased: " + name, input, &r);
    uint64_t total = 0;
    for (const auto& b : after.buckets.at(name)) total += b.second;
    if (total != sc.second)
      Fail("histogram buckets do not add up to its count: " + name, input, &r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = Init();
  static std::unique_ptr<World> owner(w);  // removes the directory at exit
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const unsigned m = static_cast<unsigned char>(data[0]) ^ 0x20u;

  pum::Request req;
  switch ((m >> 1) & 3) {
    case 2:
      req.method = "OPTIONS";
      break;
    case 3:
      req.method = "GET";
      break;
    default:
      req.method = "POST";
      break;
  }
  static const char* const kOrigins[] = {
      "", "https://ok.example", "HTTPS://OK.EXAMPLE", "https://evil.example"};
  req.origin = kOrigins[(m >> 3) & 3];
  req.content_type = "text/plain";
  req.body = input.substr(1);
  req.body_too_large = (m & 0x60) == 0x60;
  bool strict = (m & 1) != 0;

  ++w->inputs;
  ++w->now;
  pum::Ingestor* ingestor = strict ? w->strict.get() : w->lenient.get();
  pum::Response r = ingestor->Handle(req, w->now);

  // The answer the request may get.
  const bool foreign = ((m >> 3) & 3) == 3;
  std::set<int> allowed;
  if (req.method == "GET") {
    allowed = {405};
  } else if (foreign) {
    allowed = {403};
  } else if (req.method == "OPTIONS") {
    allowed = {204};
  } else if (req.body_too_large) {
    allowed = {413};
  } else {
    allowed = {200, 204, 400, 409};
    if (strict) allowed.insert(422);
  }
  if (r.status == 503) {
    Fail("503 with nothing else on the store: " +
             ingestor->last_store_error().ToString(),
         input, &r);
  }
  if (allowed.count(r.status) == 0) Fail("unexpected status", input, &r);
  if (r.status == 204 && !r.body.empty()) Fail("204 with a body", input, &r);
  if (r.status != 204) {
    rapidjson::Document d;
    d.Parse(Padded(r.body).c_str(), r.body.size());
    if (r.status != 405 && (d.HasParseError() || !d.IsObject()))
      Fail("body not a JSON object", input, &r);
    if (!d.HasParseError() && d.IsObject() && r.status >= 400 &&
        r.status != 422 && (!d.HasMember("error") || !d["error"].IsString()))
      Fail("error answer without {\"error\": string}", input, &r);
  }

  // What the parser says about the body (for the event count).
  size_t events = 0;
  bool parsed = false;
  {
    pum::ParsedBatch batch;
    parsed = pum::ParseBatch(req.body, &batch).ok();
    if (parsed) events = batch.events().Size();
  }
  // A bad "sample" is a 400 the ingestor may judge after ParseBatch.
  if (r.status == 400 && parsed && req.method == "POST" &&
      req.body.find("\"sample\"") == std::string::npos)
    Fail("400 for a body ParseBatch accepts", input, &r);
  if (r.status == 409 && r.body.find("seq_too_old") == std::string::npos)
    Fail("409 without seq_too_old", input, &r);
  if ((r.status == 200 || r.status == 204 || r.status == 422) && !parsed &&
      req.method == "POST")
    Fail("a body ParseBatch refuses was answered as parsed", input, &r);

  double accepted = 0;
  if (r.status == 200 || r.status == 422)
    accepted = CheckRejections(r, events, input);

  State after = ReadState(w, input);
  double delta = after.accepted_total - w->state.accepted_total;
  const bool post_applied =
      req.method == "POST" && (r.status == 200 || r.status == 204);
  if (!post_applied) {
    if (!SameUserSeries(w->state, after))
      Fail("an answer that applies nothing changed a series", input, &r);
    if (delta != 0) Fail("accepted_total grew without a batch", input, &r);
  } else if (r.status == 200) {
    if (delta != accepted)
      Fail("accepted_total grew by other than accepted", input, &r);
  } else if (delta != 0 && delta != static_cast<double>(events)) {
    Fail("204: accepted_total grew by neither 0 (duplicate) nor the events",
         input, &r);
  } else if (delta == 0 && events > 0 && !SameUserSeries(w->state, after)) {
    Fail("a duplicate 204 changed a series", input, &r);
  }
  CheckTotals(w->state, after, input, r);
  w->state = std::move(after);

  // What pum-exporter's upkeep does every few seconds: checkpoint the WAL
  // (pum-ingest never does; without this the WAL grows by ~150 bytes per
  // input and slows every read) and forget idle clients.
  if (w->inputs % 1000 == 0) (void)w->store->Checkpoint();
  if (w->inputs % 20000 == 0) {
    int64_t pruned = 0;
    (void)w->store->PruneClients(w->now - 1000, &pruned);
  }
  return 0;
}
