// parse-profile: pum-ingest's parse and validation path (ParseBatch,
// ValidateEvents), or a whole Ingestor::Handle on a temporary store, run
// in a loop on the page-load batch of tests/bench/bench.mjs (20 events,
// 2.4 KB, the seed's array shape) against the shipped allowlist
// (conf/metrics.d), for callgrind:
//
//   valgrind --tool=callgrind --instr-atstart=no
//       build/bench/parse-profile [parse|handle] [requests]
//
// Instrumentation is switched on (CALLGRIND_START_INSTRUMENTATION) only
// around the measured loop, after WARMUP requests, so that start-up and
// the first request's one-time work are not counted; the loop's
// instructions divided by `requests` is the cost of one request. Each
// request copies the body into a fresh std::string first, as the FastCGI
// transport hands it over. Outside valgrind the macros do nothing and the
// program only checks that every request was accepted whole.
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "fcgi-ingest/batch_parser.h"
#include "fcgi-ingest/ingestor.h"
#include "fcgi-ingest/validator.h"
#include "schema/allowlist/allowlist.h"
#include "schema/store/store.h"

namespace {

// JSON.stringify(events()) of tests/bench/bench.mjs.
const char kBody[] =
    R"([{"metricName":"browser_page_views_total","metricType":"counter","inc":1},)"
    R"({"metricName":"browser_page_load_seconds","metricType":"histogram","observations":[1.225]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"redirect"},"observations":[0]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"cache"},"observations":[0.002]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"dns"},"observations":[0.013]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"connect"},"observations":[0.041]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"request"},"observations":[0.087]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"response"},"observations":[0.034]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"dom_processing"},"observations":[0.412]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"dom_content_loaded"},"observations":[0.009]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"subresources"},"observations":[0.623]},)"
    R"({"metricName":"browser_navigation_phase_seconds","metricType":"histogram","labels":{"phase":"load_event"},"observations":[0.004]},)"
    R"({"metricName":"browser_web_vitals_lcp_seconds","metricType":"histogram","observations":[1.84]},)"
    R"({"metricName":"browser_web_vitals_fcp_seconds","metricType":"histogram","observations":[0.912]},)"
    R"({"metricName":"browser_web_vitals_ttfb_seconds","metricType":"histogram","observations":[0.183]},)"
    R"({"metricName":"browser_web_vitals_cls","metricType":"histogram","observations":[0.042]},)"
    R"({"metricName":"browser_web_vitals_inp_seconds","metricType":"histogram","observations":[0.088,0.152]},)"
    R"({"metricName":"browser_errors_total","metricType":"counter","labels":{"kind":"error"},"inc":1},)"
    R"({"metricName":"browser_api_request_duration_seconds","metricType":"histogram","labels":{"host":"api.example.com","method":"GET","status_class":"2xx"},"observations":[0.093,0.121,0.078,0.264]},)"
    R"({"metricName":"browser_api_request_duration_seconds","metricType":"histogram","labels":{"host":"api.example.com","method":"POST","status_class":"5xx"},"observations":[0.187]}])";

constexpr int kWarmup = 20;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "parse-profile: %s\n", what.c_str());
  std::exit(1);
}

void ParseAndValidate(const pum::Allowlist& allowlist,
                      const pum::Options& options) {
  std::string body(kBody);
  pum::ParsedBatch parsed;
  pum::Status s = pum::ParseBatch(body, &parsed);
  if (!s.ok()) Die("ParseBatch: " + s.message());
  pum::ValidationResult result;
  pum::ValidateEvents(parsed.events(), allowlist, options, &result);
  if (result.accepted != 20 || !result.rejected.empty()) {
    Die("the batch was not accepted whole");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "parse";
  const int requests = argc > 2 ? std::atoi(argv[2]) : 400;
  if ((mode != "parse" && mode != "handle") || requests <= 0) {
    Die("usage: parse-profile [parse|handle] [requests]");
  }
  auto allowlist = std::make_shared<pum::Allowlist>();
  pum::Status s = pum::Allowlist::LoadDir(PUM_SOURCE_DIR "/conf/metrics.d",
                                          allowlist.get());
  if (!s.ok()) Die("allowlist: " + s.message());
  pum::Options options;

  if (mode == "parse") {
    for (int i = 0; i < kWarmup; ++i) ParseAndValidate(*allowlist, options);
    CALLGRIND_START_INSTRUMENTATION;
    for (int i = 0; i < requests; ++i) ParseAndValidate(*allowlist, options);
    CALLGRIND_STOP_INSTRUMENTATION;
    std::printf("parse: %d requests\n", requests);
    return 0;
  }

  char dir_template[] = "/tmp/pum-parse-profile-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) Die("mkdtemp failed");
  const std::string dir = dir_template;
  int code = 0;
  {
    std::unique_ptr<pum::Store> store;
    s = pum::Store::Open(dir + "/pum.db", pum::StoreOptions(), &store);
    if (!s.ok()) Die("store: " + s.message());
    pum::Ingestor ingestor(store.get(), allowlist, options);
    auto one = [&](int64_t now) {
      pum::Request request;
      request.method = "POST";
      request.content_type = "text/plain";
      request.body = kBody;
      pum::Response response = ingestor.Handle(request, now);
      if (response.status != 204) {
        std::fprintf(stderr, "parse-profile: status %d %s\n", response.status,
                     response.body.c_str());
        code = 1;
      }
    };
    for (int i = 0; i < kWarmup; ++i) one(1700000000);
    CALLGRIND_START_INSTRUMENTATION;
    for (int i = 0; i < requests; ++i) one(1700000000);
    CALLGRIND_STOP_INSTRUMENTATION;
  }
  std::filesystem::remove_all(dir);
  std::printf("handle: %d requests\n", requests);
  return code;
}
