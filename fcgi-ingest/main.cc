// pum-ingest: the FastCGI worker. Reads its settings (schema/config), loads
// the allowlist, opens the store and serves batches until SIGTERM or
// SIGINT; it logs with schema/base/log (--log.level, --log.format).
//
// --help and --version print to stdout; a bad command line is one line on
// stderr; --check-config prints its findings for a human (problems and
// warnings on stderr, "configuration OK" on stdout).
//
// Exit codes: 0 after a clean stop (or --help, --version, or a
// --check-config that found nothing wrong), 1 when the allowlist, the store
// or the socket cannot be used, 2 for a bad command line (1 under
// --check-config, as nginx -t).
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fcgi-ingest/fcgi_server.h"
#include "fcgi-ingest/group_committer.h"
#include "fcgi-ingest/ingestor.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/build_info.h"
#include "schema/base/log.h"
#include "schema/config/config.h"
#include "schema/config/program_main.h"
#include "schema/store/store.h"

namespace pum {
namespace {

constexpr Program kProgram = Program::kIngest;

int CheckConfig(const Options& options) {
  Allowlist allowlist;
  Status s = Allowlist::LoadDir(options.metrics_dir, &allowlist);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  if (allowlist.metrics().empty()) {
    std::fprintf(stderr, "warning: %s: %s\n", options.metrics_dir.c_str(),
                 kNoMetricsWarning);
  }
  std::printf("pum-ingest: configuration OK (%zu metrics)\n",
              allowlist.metrics().size());
  return 0;
}

int Run(const Options& options) {
  LogDebug("settings", {{"config_file", options.config_file},
                        {"storage_path", options.storage_path},
                        {"metrics_dir", options.metrics_dir},
                        {"listen", options.listen},
                        {"max_body_bytes", options.max_body_bytes},
                        {"strict", options.strict ? "true" : "false"},
                        {"ingest_threads", options.ingest_threads}});
  std::string fingerprint = AllowlistFingerprint(options.metrics_dir);
  auto allowlist = std::make_shared<Allowlist>();
  Status s = Allowlist::LoadDir(options.metrics_dir, allowlist.get());
  if (!s.ok()) {
    LogError("cannot load the allowlist",
             {{"dir", options.metrics_dir}, {"err", s.message()}});
    return 1;
  }
  const size_t metrics = allowlist->metrics().size();
  if (metrics == 0) LogWarn(kNoMetricsWarning, {{"dir", options.metrics_dir}});

  // One malloc arena for every thread (as pum-exporter): a request's
  // allocations are few and short-lived, and an arena per thread is the
  // largest part of a worker's RSS above the parse arenas.
  mallopt(M_ARENA_MAX, 1);
  StoreOptions store_options;
  store_options.busy_timeout_ms = options.busy_timeout_ms;
  store_options.synchronous_full = options.synchronous_full;
  std::unique_ptr<Store> store;
  s = Store::Open(options.storage_path, store_options, &store);
  if (!s.ok()) {
    LogError("cannot open the store",
             {{"path", options.storage_path}, {"err", s.message()}});
    return 1;
  }

  // One Ingestor per thread, their batches committed together.
  GroupCommitter committer(store.get());
  std::vector<std::unique_ptr<Ingestor>> ingestors;
  std::vector<Ingestor*> threads;
  for (int i = 0; i < options.ingest_threads; ++i) {
    ingestors.push_back(
        std::make_unique<Ingestor>(&committer, allowlist, options));
    threads.push_back(ingestors.back().get());
  }
  FcgiServer server(std::move(threads), options, std::move(fingerprint));
  s = server.Open();
  if (!s.ok()) {
    LogError("cannot listen", {{"err", s.message()}});
    return 1;
  }
  const BuildInfo build = ThisBuild();
  LogInfo("serving FastCGI requests",
          {{"version", build.version},
           {"revision", build.revision},
           {"listen",
            options.listen.empty() ? "file descriptor 0" : options.listen},
           {"metrics", metrics}});
  s = server.Run();
  LogDebug("group commits", {{"transactions", committer.groups()},
                             {"batches", committer.batches()}});
  if (!s.ok()) {
    LogError("stopped serving", {{"err", s.message()}});
    return 1;
  }
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
