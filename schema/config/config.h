// Options: the settings of pum-ingest and pum-exporter, from defaults, the
// PUM_CONFIG_PATH environment variable (the allowlist directory, as the seed
// read it), the --config.file (pum.json) and command-line flags, in rising
// precedence: a flag overrides the file, the file overrides the environment.
//
// pum.json is a JSON object; comments (// and /* */) are allowed. Its keys
// are the snake_case names of the fields below ("storage_path",
// "metrics_dir", "max_body_bytes", "strict", "cors_allowed_origins",
// "synchronous", "busy_timeout_ms", "web_listen_address", "web_config_file",
// "dedup_retention_seconds", "max_events_per_batch",
// "max_observations_per_event", "max_label_value_bytes",
// "upkeep_interval_seconds"). An unknown key, a value of the wrong type or
// out of range is an error naming "file:line".
//
// Flags take --name=value or --name value: --config.file, --storage.path,
// --metrics.dir, --max-body-bytes, --listen, --web.listen-address,
// --web.config.file,
// --check-config, --help. An unknown flag is an error.
#ifndef PUM_SCHEMA_CONFIG_CONFIG_H_
#define PUM_SCHEMA_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "schema/base/status.h"

namespace pum {

struct Options {
  // The SQLite database; created with its schema if absent.
  std::string storage_path = "/var/lib/pum/pum.db";
  // The allowlist directory (metrics.d/*.json).
  std::string metrics_dir = "/etc/pum/metrics.d";
  // The pum.json that was read, if any.
  std::string config_file;

  // pum-ingest: "" = accept FastCGI on fd 0; "unix:/path" or "HOST:PORT".
  std::string listen;
  // pum-exporter: where /metrics is served.
  std::string web_listen_address = "127.0.0.1:9102";
  // pum-exporter: the web configuration (TLS, basic auth) in the
  // Prometheus exporter-toolkit format; "" = plain HTTP, no auth.
  std::string web_config_file;
  // pum-exporter: validate the configuration and exit.
  bool check_config = false;
  // --help was given.
  bool help = false;

  // The largest request body pum-ingest reads; larger ones get 413.
  size_t max_body_bytes = 65536;
  // Any invalid event rejects the whole batch with 422.
  bool strict = false;
  // Origins allowed to post; "*" allows any.
  std::vector<std::string> cors_allowed_origins = {"*"};
  // PRAGMA synchronous=FULL instead of NORMAL ("synchronous": "full").
  bool synchronous_full = false;
  // How long a writer waits for the store's lock before answering 503.
  int busy_timeout_ms = 5000;
  // How long the de-duplication state of an idle client is kept.
  int64_t dedup_retention_seconds = 86400;
  // Limits on one batch; past them events are rejected.
  size_t max_events_per_batch = 1000;
  size_t max_observations_per_event = 1000;
  size_t max_label_value_bytes = 128;
  // pum-exporter: how often it checkpoints the WAL, prunes old
  // de-duplication state and checks the allowlist files for changes.
  int upkeep_interval_seconds = 10;
};

// Reads the environment, the --config.file and the flags into `out`.
Status ParseCommandLine(int argc, const char* const* argv, Options* out);

// Applies the settings in pum.json text to `out`; `filename` for messages.
Status ApplyConfigText(const std::string& text, const std::string& filename,
                       Options* out);

// The usage text for --help.
std::string Usage(const std::string& program);

}  // namespace pum

#endif  // PUM_SCHEMA_CONFIG_CONFIG_H_
