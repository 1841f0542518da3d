// libFuzzer target: ApplyConfigText (schema/config/config.h) on the fuzzer's
// bytes as the text of a pum.json. Invariants checked on every input: a failure
// is InvalidArgument whose message starts with "pum.json:" (file:line); a
// success leaves every setting inside the range conf/pum.json documents;
// the text applied twice gives the same result.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "schema/config/config.h"

namespace {

void Fail(const char* what, const pum::Status& s) {
  std::fprintf(stderr, "fuzz_config: invariant broken: %s (%s)\n", what,
               s.ToString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  pum::Options options;
  pum::Status s = pum::ApplyConfigText(text, "pum.json", &options);
  if (!s.ok()) {
    if (s.code() != pum::Status::Code::kInvalidArgument)
      Fail("a failure other than InvalidArgument", s);
    if (s.message().rfind("pum.json:", 0) != 0)
      Fail("an error message not naming pum.json:line", s);
    return 0;
  }
  if (options.max_body_bytes < 1 || options.max_body_bytes > (size_t{64} << 20))
    Fail("max_body_bytes out of range", s);
  if (options.busy_timeout_ms < 0 || options.busy_timeout_ms > 600000)
    Fail("busy_timeout_ms out of range", s);
  if (options.dedup_retention_seconds < 60)
    Fail("dedup_retention_seconds below 60", s);
  if (options.max_events_per_batch < 1 ||
      options.max_observations_per_event < 1 ||
      options.max_label_value_bytes < 1 ||
      options.max_label_value_bytes > 65536)
    Fail("a batch limit out of range", s);
  if (options.upkeep_interval_seconds < 1 ||
      options.upkeep_interval_seconds > 3600)
    Fail("upkeep_interval_seconds out of range", s);
  pum::Options again;
  pum::Status s2 = pum::ApplyConfigText(text, "pum.json", &again);
  if (!s2.ok() || again.storage_path != options.storage_path ||
      again.max_body_bytes != options.max_body_bytes ||
      again.cors_allowed_origins != options.cors_allowed_origins)
    Fail("the same text applied twice differs", s2);
  return 0;
}
