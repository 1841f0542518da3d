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

// Checks "HOST:PORT" (HOST may be empty, a name, IPv4 or [IPv6]; PORT
// 0..65535). Returns the problem, or "" if fine.
std::string CheckHostPort(std::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return "is not HOST:PORT";
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (!AllDigits(port) || port.size() > 5 ||
      std::stol(std::string(port)) > 65535) {
    return "has no valid port (0..65535) after the last ':'";
  }
  bool bracketed =
      host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (!bracketed && host.find(':') != std::string_view::npos) {
    return "needs brackets around an IPv6 host, as in [::1]:9102";
  }
  return "";
}

// Checks a --listen value: "", "unix:/path" or HOST:PORT.
std::string CheckListen(std::string_view listen) {
  if (listen.empty()) return "";
  if (listen.compare(0, 5, "unix:") == 0) {
    return listen.size() > 5 ? "" : "needs a path after \"unix:\"";
  }
  return CheckHostPort(listen);
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
  if (!problem.empty()) return Quote(value.string) + " " + problem;
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

struct Flag {
  const char* name;
  const char* value_name;  // null for a flag that takes no value
  const char* help;
  FlagSetter set;
  std::string (*default_text)(const Options& defaults);
};

const Flag kFlags[] = {
    {"config.file", "FILE", "the settings file (pum.json)",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->config_file);
     },
     [](const Options&) { return std::string("none"); }},
    {"storage.path", "FILE", "the SQLite database, created if absent",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->storage_path);
     },
     [](const Options& d) { return d.storage_path; }},
    {"metrics.dir", "DIR", "the allowlist directory of *.json files",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->metrics_dir);
     },
     [](const Options& d) { return d.metrics_dir; }},
    {"max-body-bytes", "N", "pum-ingest: the largest request body it reads",
     FlagMaxBodyBytes,
     [](const Options& d) { return std::to_string(d.max_body_bytes); }},
    {"listen", "ADDR", "pum-ingest: unix:/path or HOST:PORT to accept on",
     [](const std::string& v, Options* o) {
       std::string problem = CheckListen(v);
       if (problem.empty()) o->listen = v;
       return problem.empty() ? problem : Quote(v) + " " + problem;
     },
     [](const Options&) { return std::string("FastCGI on fd 0"); }},
    {"web.listen-address", "HOST:PORT",
     "pum-exporter: where /metrics is served",
     [](const std::string& v, Options* o) {
       std::string problem = CheckHostPort(v);
       if (problem.empty()) o->web_listen_address = v;
       return problem.empty() ? problem : Quote(v) + " " + problem;
     },
     [](const Options& d) { return d.web_listen_address; }},
    {"web.config.file", "FILE",
     "pum-exporter: TLS and basic auth (exporter-toolkit format)",
     [](const std::string& v, Options* o) {
       return FlagPath(v, &o->web_config_file);
     },
     [](const Options&) { return std::string("none"); }},
    {"check-config", nullptr,
     "pum-exporter: check the settings and the allowlist, then exit",
     [](const std::string&, Options* o) {
       o->check_config = true;
       return std::string();
     },
     nullptr},
    {"help", nullptr, "show this text",
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

struct FlagValue {
  const Flag* flag;
  std::string value;
};

// Splits argv into known flags and their values.
Status ScanFlags(int argc, const char* const* argv,
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
    if (flag == nullptr) {
      return Status::InvalidArgument("unknown flag --" + name);
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

Status ParseCommandLine(int argc, const char* const* argv, Options* out) {
  Options options = *out;
  const char* env = std::getenv("PUM_CONFIG_PATH");
  if (env != nullptr && *env != '\0') options.metrics_dir = env;
  std::vector<FlagValue> flags;
  Status status = ScanFlags(argc, argv, &flags);
  if (!status.ok()) return status;
  const FlagValue* config = nullptr;
  bool help = false;
  for (const FlagValue& fv : flags) {
    if (fv.flag == FindFlag("config.file")) config = &fv;
    if (fv.flag == FindFlag("help")) help = true;
  }
  if (config != nullptr && !help) {
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

std::string Usage(const std::string& program) {
  const Options defaults;
  std::string out = "Usage: " + program +
                    " [flags]\n\nFlags take --name=value or --name value; a "
                    "flag overrides the\nsetting of the same name in "
                    "--config.file.\n\n";
  for (const Flag& flag : kFlags) {
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

}  // namespace pum
