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
// "upkeep_interval_seconds", "ingest_threads"). An unknown key, a value of the
// wrong type or out of range is an error naming "file:line".
//
// Flags take --name=value or --name value. Each binary has its own set
// (Usage() lists them): both take --config.file, --storage.path,
// --metrics.dir, --check-config, --log.level, --log.format, --version and
// --help (or -h); pum-ingest also --listen and --max-body-bytes;
// pum-exporter also --web.listen-address and --web.config.file. An unknown
// flag, or one of the other binary's, is an error naming it.
#ifndef PUM_SCHEMA_CONFIG_CONFIG_H_
#define PUM_SCHEMA_CONFIG_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schema/base/host_port.h"
#include "schema/base/log.h"
#include "schema/base/status.h"

namespace pum {

// Whose command line is parsed.
enum class Program { kIngest, kExporter };

// "pum-ingest" or "pum-exporter".
const char* ProgramName(Program program);

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
  // Validate the configuration and exit.
  bool check_config = false;
  // --help or --version was given (the config file is then not read).
  bool help = false;
  bool version = false;
  // --log.level and --log.format.
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;

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
  // pum-ingest: the threads that accept, read, parse and validate requests
  // in parallel, their batches committed together (group commit).
  int ingest_threads = 4;
};

// The warning both binaries log (and --check-config prints) when the
// allowlist directory loads with no metrics: not an error, but every event
// is then rejected as unknown_metric.
extern const char kNoMetricsWarning[];

// Reads the environment, the --config.file and `program`'s flags into
// `out`. On failure `out` is unchanged and the message names the flag, or
// the file and line of pum.json, that is wrong. With --help or --version
// the --config.file is not read.
Status ParseCommandLine(Program program, int argc, const char* const* argv,
                        Options* out);

// Applies the settings in pum.json text to `out`; `filename` for messages.
Status ApplyConfigText(const std::string& text, const std::string& filename,
                       Options* out);

// `program`'s --help text: what it is, then each of its flags with a line
// of help and its default.
std::string Usage(Program program);

// pum-ingest's --listen (not empty): "unix:/path" or HOST:PORT
// (host_port.h) with an IPv4 address or a name and a port from 1 to 65535.
// libfcgi cannot listen on IPv6 and reads a port of 0, or a ':' in a path,
// as a socket path, so those are errors.
struct FcgiListen {
  std::string unix_path;  // set for "unix:/path"
  HostPort tcp;           // else

  // FCGX_OpenSocket()'s argument: the path, or "HOST:PORT" (an empty host
  // is every interface).
  std::string BindPath() const;
};

// Parses a --listen value. Errors start with the quoted value.
Status ParseFcgiListen(std::string_view listen, FcgiListen* out);

}  // namespace pum

#endif  // PUM_SCHEMA_CONFIG_CONFIG_H_
