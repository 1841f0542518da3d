// pum-exporter: renders the totals of the pum store on /metrics for
// Prometheus, with a landing page on / (schema/config has its flags); it
// logs with schema/base/log (--log.level, --log.format).
//
// --help and --version print to stdout; a bad command line is one line on
// stderr; --check-config prints its findings for a human (problems and
// warnings on stderr, "configuration OK" on stdout). Once serving, it logs
//   ... level=info msg="listening on http://HOST:PORT/metrics"
// (https:// when the --web.config.file turns TLS on; a bad web config file
// is an error naming the file, the line and the problem, at startup and
// under --check-config alike). SIGHUP reloads the allowlist.
//
// Exit codes: 0 after SIGTERM/SIGINT, --help, --version or a good
// --check-config; 1 when the configuration is wrong or the store or the
// port cannot be opened; 2 for a bad command line (1 under --check-config,
// as nginx -t).
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "exporter/http_server.h"
#include "exporter/state.h"
#include "exporter/tls.h"
#include "exporter/upkeep.h"
#include "exporter/web_config.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/build_info.h"
#include "schema/base/log.h"
#include "schema/base/status.h"
#include "schema/config/config.h"
#include "schema/config/program_main.h"
#include "schema/store/store.h"

namespace pum {
namespace {

constexpr Program kProgram = Program::kExporter;

void PrintProblems(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
}

// Reads the --web.config.file (if any) and, with TLS, loads its
// certificate and key, so that --check-config catches what a start would.
Status LoadWeb(const Options& options, WebConfig* web) {
  if (options.web_config_file.empty()) return Status::Ok();
  Status status = LoadWebConfig(options.web_config_file, web);
  if (!status.ok() || !web->tls.enabled) return status;
  std::unique_ptr<TlsContext> tls;
  return TlsContext::Create(web->tls, options.web_config_file, &tls);
}

int CheckConfig(const Options& options) {
  bool ok = true;
  WebConfig web;
  Status web_status = LoadWeb(options, &web);
  if (!web_status.ok()) {
    PrintProblems(web_status.message());
    ok = false;
  }
  Allowlist allowlist;
  Status status = Allowlist::LoadDir(options.metrics_dir, &allowlist);
  if (!status.ok()) {
    PrintProblems(status.message());
    ok = false;
  }
  if (!ok) return 1;
  if (allowlist.metrics().empty()) {
    std::fprintf(stderr, "warning: %s: %s\n", options.metrics_dir.c_str(),
                 kNoMetricsWarning);
  }
  std::printf("configuration OK: %zu metrics from %s\n",
              allowlist.metrics().size(), options.metrics_dir.c_str());
  if (!options.web_config_file.empty()) {
    std::printf("web config OK: %s (%s, %zu basic auth users)\n",
                options.web_config_file.c_str(),
                web.tls.enabled ? "TLS" : "plain HTTP",
                web.basic_auth_users.size());
  }
  return 0;
}

// Blocks the signals that main waits for in every thread started later.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

const char* SignalName(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
  }
  return "another signal";
}

// Waits for SIGTERM or SIGINT; each SIGHUP asks `upkeep` for a reload.
void WaitForStop(const sigset_t& signals, Upkeep* upkeep) {
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      upkeep->RequestReload();
      continue;
    }
    LogInfo("stopping", {{"signal", SignalName(signal_number)}});
    return;
  }
}

int Run(const Options& options) {
  // One malloc arena: scrapes run one at a time but on any of CivetWeb's
  // threads, and with an arena per thread the cached chunks and each
  // scrape's scratch spread over all of them; at 8,000 histograms the RSS
  // grew by ~1 MB a scrape past 35 MB, and stays at ~25 MB with one.
  mallopt(M_ARENA_MAX, 1);
  const BuildInfo build = ThisBuild();
  LogInfo("starting pum-exporter",
          {{"version", build.version}, {"revision", build.revision}});
  LogDebug("settings", {{"config_file", options.config_file},
                        {"storage_path", options.storage_path},
                        {"metrics_dir", options.metrics_dir},
                        {"web_listen_address", options.web_listen_address},
                        {"web_config_file", options.web_config_file}});
  WebConfig web;
  Status status = LoadWeb(options, &web);
  if (!status.ok()) {
    LogError("cannot use the web config file", {{"err", status.message()}});
    return 1;
  }
  const sigset_t signals = BlockSignals();

  std::string fingerprint = AllowlistFingerprint(options.metrics_dir);
  auto allowlist = std::make_shared<Allowlist>();
  status = Allowlist::LoadDir(options.metrics_dir, allowlist.get());
  if (!status.ok()) {
    LogError("cannot load the allowlist",
             {{"dir", options.metrics_dir}, {"err", status.message()}});
    return 1;
  }
  LogInfo("loaded the allowlist", {{"dir", options.metrics_dir},
                                   {"metrics", allowlist->metrics().size()}});
  if (allowlist->metrics().empty()) {
    LogWarn(kNoMetricsWarning, {{"dir", options.metrics_dir}});
  }
  StoreOptions store_options;
  store_options.busy_timeout_ms = options.busy_timeout_ms;
  store_options.synchronous_full = options.synchronous_full;
  std::unique_ptr<Store> store;
  status = Store::Open(options.storage_path, store_options, &store);
  if (!status.ok()) {
    LogError("cannot open the store",
             {{"path", options.storage_path}, {"err", status.message()}});
    return 1;
  }
  ExporterState state(std::move(store), std::move(allowlist),
                      options.metrics_dir, UnixNow());

  HttpServerOptions server_options;
  server_options.listen_address = options.web_listen_address;
  server_options.web = std::move(web);
  server_options.web_config_file = options.web_config_file;
  server_options.version_line = VersionLine(ProgramName(kProgram), build);
  std::unique_ptr<HttpServer> server;
  status = HttpServer::Start(server_options, &state, &server);
  if (!status.ok()) {
    LogError("cannot serve HTTP", {{"err", status.message()}});
    return 1;
  }
  LogInfo("listening on " + server->MetricsUrl());

  UpkeepOptions upkeep_options;
  upkeep_options.interval =
      std::chrono::seconds(options.upkeep_interval_seconds);
  upkeep_options.dedup_retention_seconds = options.dedup_retention_seconds;
  upkeep_options.initial_fingerprint = fingerprint;
  Upkeep upkeep(&state, upkeep_options);
  upkeep.Start();

  WaitForStop(signals, &upkeep);
  server->Stop();
  upkeep.Stop();
  return 0;
}

}  // namespace
}  // namespace pum

int main(int argc, char** argv) {
  pum::ProgramActions actions;
  actions.check_config = pum::CheckConfig;
  actions.run = pum::Run;
  actions.build = pum::ThisBuild();
  return pum::ProgramMain(pum::kProgram, argc, argv, actions);
}
