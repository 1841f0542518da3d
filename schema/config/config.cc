#include "schema/config/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "schema/base/json_lines.h"
#include "schema/base/text.h"

namespace pum {
namespace {

constexpr int64_t kMaxBodyBytesLimit = int64_t{64} << 20;  // 64 MiB
constexpr int64_t kTenYearsSeconds = int64_t{10} * 366 * 86400;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// Checks a HOST:PORT; returns the problem (naming the value) or "".
std::string CheckHostPort(std::string_view address) {
  HostPort parsed;
  Status status = ParseHostPort(address, &parsed);
  return status.ok() ? "" : status.message();
}

// Checks one CORS origin: "*", "null" or scheme://host[:port] with no path.
std::string CheckOrigin(std::string_view origin) {
  if (origin == "*" || origin == "null") return "";
  size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0 ||
      scheme_end + 3 == origin.size()) {
    return "is not an origin (scheme://host[:port], or \"*\")";
  }
  if (origin.find('/', scheme_end + 3) != std::string_view::npos) {
    return "is not an origin: an origin has no path, not even \"/\"";
  }
  return "";
}

// --- pum.json -------------------------------------------------------------

// Sets one field from a pum.json value; returns the problem or "".
using Setter = std::string (*)(const JsonNode& value, Options* out);

std::string TypeProblem(const JsonNode& value, JsonNode::Type type) {
  return std::string("must be ") + JsonTypeName(type) + ", not " +
         JsonTypeName(value.type);
}

// Reads an integer in [min, max] into *field.
template <typename T>
std::string SetInteger(const JsonNode& value, int64_t min, int64_t max,
                       T* field) {
  if (!value.is_integer || value.integer < min || value.integer > max) {
    return "must be an integer from " + std::to_string(min) + " to " +
           std::to_string(max);
  }
  *field = static_cast<T>(value.integer);
  return "";
}

std::string SetPath(const JsonNode& value, std::string* field) {
  if (!value.IsString()) return TypeProblem(value, JsonNode::Type::kString);
  if (value.string.empty()) return "must not be empty";
  *field = value.string;
  return "";
}

std::string SetBool(const JsonNode& value, bool* field) {
  if (value.type != JsonNode::Type::kBool) {
    return TypeProblem(value, JsonNode::Type::kBool);
  }
  *field = value.boolean;
  return "";
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<int>(c)));
  return s;
}

std::string SetSynchronous(const JsonNode& value, Options* out) {
  if (!value.IsString()) return TypeProblem(value, JsonNode::Type::kString);
  std::string mode = Lower(value.string);
  if (mode != "normal" && mode != "full") {
    return "must be \"normal\" or \"full\", not " + Quote(value.string);
  }
  out->synchronous_full = mode == "full";
  return "";
}

std::string SetListenAddress(const JsonNode& value, Options* out) {
  if (!value.IsString()) return TypeProblem(value, JsonNode::Type::kString);
  std::string problem = CheckHostPort(value.string);
  if (!problem.empty()) return problem;
  out->web_listen_address = value.string;
  return "";
}

std::string SetOrigins(const JsonNode& value, Options* out) {
  if (!value.IsArray()) return TypeProblem(value, JsonNode::Type::kArray);
  std::vector<std::string> origins;
  for (const JsonNode& item : value.children) {
    if (!item.IsString()) {
      return "must be an array of strings, but holds " +
             std::string(JsonTypeName(item.type));
    }
    std::string problem = CheckOrigin(item.string);
    if (!problem.empty()) return Quote(item.string) + " " + problem;
    origins.push_back(item.string);
  }
  out->cors_allowed_origins = std::move(origins);
  return "";
}

struct Key {
  const char* name;
  Setter set;
};

const Key kKeys[] = {
    {"storage_path", [](const JsonNode& v,
                        Options* o) { return SetPath(v, &o->storage_path); }},
    {"metrics_dir",
     [](const JsonNode& v, Options* o) { return SetPath(v, &o->metrics_dir); }},
    {"max_body_bytes",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 1, kMaxBodyBytesLimit, &o->max_body_bytes);
     }},
    {"strict",
     [](const JsonNode& v, Options* o) { return SetBool(v, &o->strict); }},
    {"cors_allowed_origins", SetOrigins},
    {"synchronous", SetSynchronous},
    {"busy_timeout_ms",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 0, 600000, &o->busy_timeout_ms);
     }},
    {"ingest_threads",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 1, 64, &o->ingest_threads);
     }},
    {"web_listen_address", SetListenAddress},
    {"web_config_file",
     [](const JsonNode& v, Options* o) {
       return SetPath(v, &o->web_config_file);
     }},
    {"dedup_retention_seconds",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 60, kTenYearsSeconds, &o->dedup_retention_seconds);
     }},
    {"max_events_per_batch",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 1, 100000, &o->max_events_per_batch);
     }},
    {"max_observations_per_event",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 1, 100000, &o->max_observations_per_event);
     }},
    {"max_label_value_bytes",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 1, 65536, &o->max_label_value_bytes);
     }},
    {"upkeep_interval_seconds",
     [](const JsonNode& v, Options* o) {
       return SetInteger(v, 1, 3600, &o->upkeep_interval_seconds);
     }},
};

const Key* FindKey(const std::string& name) {
  for (const Key& key : kKeys) {
    if (name == key.name) return &key;
  }
  return nullptr;
}

// --- flags ----------------------------------------------------------------

// Applies one flag's value; returns the problem or "".
using FlagSetter = std::string (*)(const std::string& value, Options* out);

std::string FlagPath(const std::string& value, std::string* field) {
  if (value.empty()) return "needs a non-empty value";
  *field = value;
  return "";
}

std::string FlagMaxBodyBytes(const std::string& value, Options* out) {
  if (!AllDigits(value) || value.size() > 9 || std::stoll(value) < 1 ||
      std::stoll(value) > kMaxBodyBytesLimit) {
    return "needs an integer from 1 to " + std::to_string(kMaxBodyBytesLimit) +
           ", not " + Quote(value);
  }
  out->max_body_bytes = static_cast<size_t>(std::stoll(value));
  return "";
}

std::string FlagListen(const std::string& value, Options* out) {
  if (!value.empty()) {
    FcgiListen parsed;
    Status status = ParseFcgiListen(value, &parsed);
    if (!status.ok()) return status.message();
  }
  out->listen = value;
  return "";
}

std::string FlagWebListenAddress(const std::string& value, Options* out) {
  std::string problem = CheckHostPort(value);
  if (problem.empty()) out->web_listen_address = value;
  return problem;
}

std::string FlagLogLevel(const std::string& value, Options* out) {
  if (ParseLogLevel(value, &out->log_level)) return "";
  return "needs debug, info, warn or error, not " + Quote(value);
}

std::string FlagLogFormat(const std::string& value, Options* out) {
  if (ParseLogFormat(value, &out->log_format)) return "";
  return "needs logfmt or json, not " + Quote(value);
}

// Which binaries take a flag.
constexpr unsigned kIngest = 1;
constexpr unsigned kExporter = 2;
constexpr unsigned kBoth = kIngest | kExporter;

unsigned ProgramBit(Program program) {
  return program == Program::kIngest ? kIngest : kExporter;
}

struct Flag {
  const char* name;
  unsigned programs;       // kIngest, kExporter or kBoth
  const char* value_name;  // null for a flag that takes no value
  const char* help;        // one line
  FlagSetter set;
  std::string (*default_text)(const Options& defaults);  // null: none shown
};

// In the order --help lists them.
const Flag kFlags[] = {
    {"config.file", kBoth, "FILE",
     "the settings file (pum.json); flags override it",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->config_file);
     },
     [](const Options&) { return std::string("none"); }},
    {"storage.path", kBoth, "FILE", "the SQLite database, created if absent",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->storage_path);
     },
     [](const Options& d) { return d.storage_path; }},
    {"metrics.dir", kBoth, "DIR", "the allowlist directory of *.json files",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->metrics_dir);
     },
     [](const Options& d) { return d.metrics_dir; }},
    {"listen", kIngest, "ADDR", "unix:/path or HOST:PORT to listen on",
     FlagListen,
     [](const Options&) { return std::string("file descriptor 0"); }},
    {"max-body-bytes", kIngest, "N",
     "the largest request body read; a larger one gets 413", FlagMaxBodyBytes,
     [](const Options& d) { return std::to_string(d.max_body_bytes); }},
    {"web.listen-address", kExporter, "HOST:PORT",
     "where /metrics and the landing page are served", FlagWebListenAddress,
     [](const Options& d) { return d.web_listen_address; }},
    {"web.config.file", kExporter, "FILE",
     "TLS and basic auth (Prometheus exporter-toolkit format)",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->web_config_file);
     },
     [](const Options&) { return std::string("none"); }},
    {"check-config", kBoth, nullptr,
     "check the settings and the allowlist, print what is wrong, and exit",
     [](const std::string&, Options* o) {
       o->check_config = true;
       return std::string();
     },
     nullptr},
    {"log.level", kBoth, "LEVEL",
     "the lowest level logged: debug, info, warn or error", FlagLogLevel,
     [](const Options& d) { return std::string(LogLevelName(d.log_level)); }},
    {"log.format", kBoth, "FORMAT", "the log lines' format: logfmt or json",
     FlagLogFormat,
     [](const Options& d) { return std::string(LogFormatName(d.log_format)); }},
    {"version", kBoth, nullptr, "print the version and exit",
     [](const std::string&, Options* o) {
       o->version = true;
       return std::string();
     },
     nullptr},
    {"help", kBoth, nullptr, "print this text and exit",
     [](const std::string&, Options* o) {
       o->help = true;
       return std::string();
     },
     nullptr},
};

const Flag* FindFlag(std::string_view name) {
  for (const Flag& flag : kFlags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

// The error for --`name`, which `program` does not take.
Status UnknownFlag(Program program, const std::string& name) {
  std::string message = "unknown flag --" + name;
  const Flag* flag = FindFlag(name);
  if (flag != nullptr) {
    Program other =
        program == Program::kIngest ? Program::kExporter : Program::kIngest;
    message += std::string(" (a flag of ") + ProgramName(other) + ", not of " +
               ProgramName(program) + ")";
  }
  return Status::InvalidArgument(message);
}

struct FlagValue {
  const Flag* flag;
  std::string value;
};

// Splits argv into `program`'s flags and their values.
Status ScanFlags(Program program, int argc, const char* const* argv,
                 std::vector<FlagValue>* out) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.size() <= 2 || arg.compare(0, 2, "--") != 0) {
      return Status::InvalidArgument("unexpected argument " + Quote(arg) +
                                     " (flags start with --)");
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    const Flag* flag = FindFlag(name);
    if (flag == nullptr || (flag->programs & ProgramBit(program)) == 0) {
      return UnknownFlag(program, name);
    }
    FlagValue fv{flag, ""};
    if (flag->value_name == nullptr) {
      if (eq != std::string::npos) {
        return Status::InvalidArgument("flag --" + name + " takes no value");
      }
    } else if (eq != std::string::npos) {
      fv.value = arg.substr(eq + 1);
    } else if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
      fv.value = argv[++i];
    } else {
      return Status::InvalidArgument("flag --" + name + " needs a value");
    }
    out->push_back(std::move(fv));
  }
  return Status::Ok();
}

Status ReadConfigFile(const std::string& path, Options* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string message =
        path + ": cannot read the config file: " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(message) : Status::IoError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::IoError(path + ": cannot read the config file");
  }
  return ApplyConfigText(text.str(), path, out);
}

}  // namespace

Status ApplyConfigText(const std::string& text, const std::string& filename,
                       Options* out) {
  JsonNode root;
  Status parsed = ParseJsonWithLines(text, filename, true, &root);
  if (!parsed.ok()) return parsed;
  auto where = [&filename](int line) {
    return filename + ":" + std::to_string(line) + ": ";
  };
  if (!root.IsObject()) {
    return Status::InvalidArgument(where(root.line) +
                                   "the settings must be an object, not " +
                                   JsonTypeName(root.type));
  }
  Options options = *out;
  std::vector<std::string> errors;
  std::set<std::string> seen;
  for (const JsonNode& member : root.children) {
    const Key* key = FindKey(member.key);
    if (key == nullptr) {
      errors.push_back(where(member.key_line) + "unknown key " +
                       Quote(member.key));
    } else if (!seen.insert(member.key).second) {
      errors.push_back(where(member.key_line) + "duplicate key " +
                       Quote(member.key));
    } else if (std::string problem = key->set(member, &options);
               !problem.empty()) {
      errors.push_back(where(member.line) + Quote(member.key) + " " + problem);
    }
  }
  if (!errors.empty()) return Status::InvalidArgument(JoinLines(errors));
  *out = std::move(options);
  return Status::Ok();
}

Status ParseCommandLine(Program program, int argc, const char* const* argv,
                        Options* out) {
  Options options = *out;
  const char* env = std::getenv("PUM_CONFIG_PATH");
  if (env != nullptr && *env != '\0') options.metrics_dir = env;
  std::vector<FlagValue> flags;
  Status status = ScanFlags(program, argc, argv, &flags);
  if (!status.ok()) return status;
  const FlagValue* config = nullptr;
  bool help_or_version = false;
  for (const FlagValue& fv : flags) {
    if (fv.flag == FindFlag("config.file")) config = &fv;
    if (fv.flag == FindFlag("help") || fv.flag == FindFlag("version")) {
      help_or_version = true;
    }
  }
  if (config != nullptr && !help_or_version) {
    if (config->value.empty()) {
      return Status::InvalidArgument("flag --config.file needs a value");
    }
    status = ReadConfigFile(config->value, &options);
    if (!status.ok()) return status;
  }
  for (const FlagValue& fv : flags) {
    std::string problem = fv.flag->set(fv.value, &options);
    if (!problem.empty()) {
      return Status::InvalidArgument("flag --" + std::string(fv.flag->name) +
                                     " " + problem);
    }
  }
  *out = std::move(options);
  return Status::Ok();
}

const char kNoMetricsWarning[] =
    "the allowlist has no metrics (no *.json file in the directory, or none "
    "defines one): every event will be rejected as unknown_metric";

const char* ProgramName(Program program) {
  return program == Program::kIngest ? "pum-ingest" : "pum-exporter";
}

std::string Usage(Program program) {
  const Options defaults;
  const std::string name = ProgramName(program);
  std::string out = "Usage: " + name + " [flags]\n\n";
  out += program == Program::kIngest
             ? "The FastCGI worker of pum: it checks the batches that browsers "
               "post against\nthe allowlist and adds them to the store.\n\n"
             : "The exporter of pum: it serves the totals of the store on "
               "/metrics for\nPrometheus.\n\n";
  out +=
      "Flags take --name=value or --name value; a flag overrides the setting "
      "of the\nsame name in --config.file.\n\n";
  for (const Flag& flag : kFlags) {
    if ((flag.programs & ProgramBit(program)) == 0) continue;
    out += std::string("  --") + flag.name;
    if (flag.value_name != nullptr) out += std::string("=") + flag.value_name;
    out += std::string("\n        ") + flag.help;
    if (flag.default_text != nullptr) {
      out += " (default: " + flag.default_text(defaults) + ")";
    }
    out += "\n";
  }
  out +=
      "\nEnvironment:\n  PUM_CONFIG_PATH\n        the allowlist directory, "
      "unless --metrics.dir or metrics_dir in\n        --config.file says "
      "otherwise\n";
  return out;
}

std::string FcgiListen::BindPath() const {
  if (!unix_path.empty()) return unix_path;
  return tcp.host + ":" + std::to_string(tcp.port);
}

Status ParseFcgiListen(std::string_view listen, FcgiListen* out) {
  FcgiListen parsed;
  if (listen.compare(0, 5, "unix:") == 0) {
    parsed.unix_path = std::string(listen.substr(5));
    if (parsed.unix_path.empty()) {
      return Status::InvalidArgument(Quote(listen) +
                                     " needs a path after \"unix:\"");
    }
    if (parsed.unix_path.find(':') != std::string::npos) {
      return Status::InvalidArgument(
          Quote(listen) +
          " has a ':' in its path, which libfcgi would read as HOST:PORT");
    }
  } else {
    Status status = ParseHostPort(listen, &parsed.tcp);
    if (!status.ok()) return status;
    if (parsed.tcp.ipv6) {
      return Status::InvalidArgument(
          Quote(listen) +
          " is IPv6, which libfcgi cannot listen on (use an IPv4 address, "
          "a name or unix:/path)");
    }
    if (parsed.tcp.port == 0) {
      return Status::InvalidArgument(
          Quote(listen) +
          " needs a port from 1 to 65535 (libfcgi reads port 0 as a path)");
    }
  }
  *out = std::move(parsed);
  return Status::Ok();
}

}  // namespace pum
