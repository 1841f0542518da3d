// pum-ingest: the FastCGI worker. Reads the settings (PRODUCT.md,
// "Command-line contract"), loads the allowlist, opens the store and serves
// batches until SIGTERM or SIGINT.
//
// Exit codes: 0 after a clean stop (or --help, or --check-config that found
// nothing wrong), 1 when the allowlist, the store or the socket cannot be
// used, 2 for a bad command line.
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <utility>

#include "fcgi-ingest/fcgi_server.h"
#include "fcgi-ingest/ingestor.h"
#include "schema/allowlist/allowlist.h"
#include "schema/config/config.h"
#include "schema/store/store.h"

namespace {

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "pum-ingest: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string program = "pum-ingest";
  pum::Options options;
  pum::Status s = pum::ParseCommandLine(argc, argv, &options);
  if (!s.ok()) {
    std::fprintf(stderr, "pum-ingest: %s\n\n%s", s.message().c_str(),
                 pum::Usage(program).c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(pum::Usage(program).c_str(), stdout);
    return 0;
  }

  std::string fingerprint = pum::AllowlistFingerprint(options.metrics_dir);
  auto allowlist = std::make_shared<pum::Allowlist>();
  s = pum::Allowlist::LoadDir(options.metrics_dir, allowlist.get());
  if (!s.ok()) return Fail(s.message(), 1);
  if (options.check_config) {
    std::printf("pum-ingest: configuration OK (%zu metrics)\n",
                allowlist->metrics().size());
    return 0;
  }

  pum::StoreOptions store_options;
  store_options.busy_timeout_ms = options.busy_timeout_ms;
  store_options.synchronous_full = options.synchronous_full;
  std::unique_ptr<pum::Store> store;
  s = pum::Store::Open(options.storage_path, store_options, &store);
  if (!s.ok()) return Fail(s.message(), 1);

  pum::Ingestor ingestor(store.get(), std::move(allowlist), options);
  pum::FcgiServer server(&ingestor, options, std::move(fingerprint));
  s = server.Open();
  if (!s.ok()) return Fail(s.message(), 1);
  s = server.Run();
  if (!s.ok()) return Fail(s.message(), 1);
  return 0;
}
