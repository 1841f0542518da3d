// pum-exporter: renders the totals of the pum store on /metrics for
// Prometheus (PRODUCT.md, "Command-line contract").
//
//   pum-exporter [--config.file=FILE] [--storage.path=FILE]
//                [--metrics.dir=DIR] [--web.listen-address=HOST:PORT]
//                [--web.config.file=FILE]
//   pum-exporter --check-config ...
//
// Exit codes: 0 after SIGTERM/SIGINT or a good --check-config; 1 when the
// configuration is wrong or the store or the port cannot be opened; 2 for
// a bad command line. At startup it prints one line to stderr:
//   pum-exporter: listening on http://HOST:PORT/metrics
// (https:// when the --web.config.file turns TLS on; a bad web config file
// is an error naming the file, the line and the problem, at startup and
// under --check-config alike).
// SIGHUP reloads the allowlist.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "exporter/http_server.h"
#include "exporter/state.h"
#include "exporter/tls.h"
#include "exporter/upkeep.h"
#include "exporter/web_config.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/status.h"
#include "schema/config/config.h"
#include "schema/store/store.h"

namespace pum {
namespace {

constexpr char kProgram[] = "pum-exporter";

void PrintProblems(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
}

bool HasFlag(int argc, const char* const* argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return true;
  }
  return false;
}

// Problems with the settings that ParseCommandLine() does not check.
std::vector<std::string> CheckSettings(const Options& options) {
  std::vector<std::string> problems;
  std::string host;
  int port = 0;
  Status status = ParseListenAddress(options.web_listen_address, &host, &port);
  if (!status.ok()) problems.push_back(status.message());
  if (options.upkeep_interval_seconds <= 0) {
    problems.push_back("upkeep_interval_seconds must be positive");
  }
  if (options.dedup_retention_seconds <= 0) {
    problems.push_back("dedup_retention_seconds must be positive");
  }
  return problems;
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
  for (const std::string& problem : CheckSettings(options)) {
    const std::string& where =
        options.config_file.empty() ? "command line" : options.config_file;
    std::fprintf(stderr, "%s: %s\n", where.c_str(), problem.c_str());
    ok = false;
  }
  Allowlist allowlist;
  Status status = Allowlist::LoadDir(options.metrics_dir, &allowlist);
  if (!status.ok()) {
    PrintProblems(status.message());
    ok = false;
  }
  if (!ok) return 1;
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

// Waits for SIGTERM or SIGINT; each SIGHUP asks `upkeep` for a reload.
void WaitForStop(const sigset_t& signals, Upkeep* upkeep) {
  for (;;) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      upkeep->RequestReload();
      continue;
    }
    std::fprintf(stderr, "%s: %s, stopping\n", kProgram,
                 strsignal(signal_number));
    return;
  }
}

int Run(const Options& options) {
  std::vector<std::string> problems = CheckSettings(options);
  if (!problems.empty()) {
    for (const std::string& p : problems) {
      std::fprintf(stderr, "%s: %s\n", kProgram, p.c_str());
    }
    return 1;
  }
  WebConfig web;
  Status web_status = LoadWeb(options, &web);
  if (!web_status.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, web_status.message().c_str());
    return 1;
  }
  const sigset_t signals = BlockSignals();

  std::string fingerprint = AllowlistFingerprint(options.metrics_dir);
  auto allowlist = std::make_shared<Allowlist>();
  Status status = Allowlist::LoadDir(options.metrics_dir, allowlist.get());
  if (!status.ok()) {
    PrintProblems(status.message());
    return 1;
  }
  StoreOptions store_options;
  store_options.busy_timeout_ms = options.busy_timeout_ms;
  store_options.synchronous_full = options.synchronous_full;
  std::unique_ptr<Store> store;
  status = Store::Open(options.storage_path, store_options, &store);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: cannot open the store %s: %s\n", kProgram,
                 options.storage_path.c_str(), status.message().c_str());
    return 1;
  }
  ExporterState state(std::move(store), std::move(allowlist),
                      options.metrics_dir, UnixNow());

  HttpServerOptions server_options;
  server_options.listen_address = options.web_listen_address;
  server_options.web = std::move(web);
  server_options.web_config_file = options.web_config_file;
  std::unique_ptr<HttpServer> server;
  status = HttpServer::Start(server_options, &state, &server);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, status.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s: listening on %s\n", kProgram,
               server->MetricsUrl().c_str());
  std::fflush(stderr);

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
  pum::Options options;
  pum::Status status = pum::ParseCommandLine(argc, argv, &options);
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\nTry %s --help.\n", pum::kProgram,
                 status.message().c_str(), pum::kProgram);
    return pum::HasFlag(argc, argv, "--check-config") ? 1 : 2;
  }
  if (options.help) {
    std::fputs(pum::Usage(pum::kProgram).c_str(), stdout);
    return 0;
  }
  if (options.check_config) return pum::CheckConfig(options);
  return pum::Run(options);
}
