#include "schema/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Sets (or unsets, with null) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

Status Parse(Program program, std::vector<std::string> args, Options* out) {
  args.insert(args.begin(), ProgramName(program));
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return ParseCommandLine(program, static_cast<int>(args.size()), argv.data(),
                          out);
}

// The flags both binaries take.
Status Parse(std::vector<std::string> args, Options* out) {
  Options ingest = *out;
  Status status = Parse(Program::kIngest, args, &ingest);
  Status exporter = Parse(Program::kExporter, args, out);
  EXPECT_EQ(status.message(), exporter.message());
  return exporter;
}

TEST(Config, DefaultsWithoutFlags) {
  ScopedEnv env("PUM_CONFIG_PATH", nullptr);
  Options options;
  Status status = Parse({}, &options);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(options.storage_path, "/var/lib/pum/pum.db");
  EXPECT_EQ(options.metrics_dir, "/etc/pum/metrics.d");
  EXPECT_EQ(options.config_file, "");
  EXPECT_EQ(options.listen, "");
  EXPECT_EQ(options.web_listen_address, "127.0.0.1:9102");
  EXPECT_FALSE(options.check_config);
  EXPECT_FALSE(options.help);
  EXPECT_FALSE(options.version);
  EXPECT_EQ(options.log_level, LogLevel::kInfo);
  EXPECT_EQ(options.log_format, LogFormat::kLogfmt);
  EXPECT_EQ(options.max_body_bytes, 65536u);
  EXPECT_FALSE(options.strict);
  EXPECT_THAT(options.cors_allowed_origins, ElementsAre("*"));
  EXPECT_FALSE(options.synchronous_full);
  EXPECT_EQ(options.busy_timeout_ms, 5000);
  EXPECT_EQ(options.ingest_threads, 4);
}

TEST(Config, FlagsTakeEitherSyntax) {
  ScopedEnv env("PUM_CONFIG_PATH", nullptr);
  const std::vector<std::vector<std::string>> ingest = {
      {"--storage.path=/s.db", "--metrics.dir=/m", "--max-body-bytes=1024",
       "--listen=unix:/run/pum.sock", "--check-config", "--log.level=debug",
       "--log.format=json"},
      {"--storage.path", "/s.db", "--metrics.dir", "/m", "--max-body-bytes",
       "1024", "--listen", "unix:/run/pum.sock", "--check-config",
       "--log.level", "debug", "--log.format", "json"},
  };
  for (const auto& args : ingest) {
    Options options;
    Status status = Parse(Program::kIngest, args, &options);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(options.storage_path, "/s.db");
    EXPECT_EQ(options.metrics_dir, "/m");
    EXPECT_EQ(options.max_body_bytes, 1024u);
    EXPECT_EQ(options.listen, "unix:/run/pum.sock");
    EXPECT_TRUE(options.check_config);
    EXPECT_EQ(options.log_level, LogLevel::kDebug);
    EXPECT_EQ(options.log_format, LogFormat::kJson);
  }
  const std::vector<std::vector<std::string>> exporter = {
      {"--storage.path=/s.db", "--web.listen-address=:9999",
       "--web.config.file=/w.yml", "--log.level=error"},
      {"--storage.path", "/s.db", "--web.listen-address", ":9999",
       "--web.config.file", "/w.yml", "--log.level", "error"},
  };
  for (const auto& args : exporter) {
    Options options;
    Status status = Parse(Program::kExporter, args, &options);
    ASSERT_TRUE(status.ok()) << status.message();
    EXPECT_EQ(options.storage_path, "/s.db");
    EXPECT_EQ(options.web_listen_address, ":9999");
    EXPECT_EQ(options.web_config_file, "/w.yml");
    EXPECT_EQ(options.log_level, LogLevel::kError);
    EXPECT_FALSE(options.check_config);
  }
}

TEST(Config, TheLastFlagWins) {
  Options options;
  ASSERT_TRUE(Parse(Program::kIngest,
                    {"--listen=127.0.0.1:1", "--listen", "unix:/run/2.sock"},
                    &options)
                  .ok());
  EXPECT_EQ(options.listen, "unix:/run/2.sock");
}

TEST(Config, HelpAndVersionFlags) {
  for (const char* flag : {"--help", "-h"}) {
    Options options;
    ASSERT_TRUE(Parse({flag}, &options).ok()) << flag;
    EXPECT_TRUE(options.help) << flag;
    EXPECT_FALSE(options.version) << flag;
  }
  Options options;
  ASSERT_TRUE(Parse({"--version"}, &options).ok());
  EXPECT_TRUE(options.version);
  EXPECT_FALSE(options.help);
}

TEST(Config, HelpAndVersionDoNotReadTheConfigFile) {
  for (const char* flag : {"--help", "--version"}) {
    Options options;
    EXPECT_TRUE(
        Parse({"--config.file=/nonexistent/pum.json", flag}, &options).ok())
        << flag;
  }
}

TEST(Config, FlagErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  // Both binaries answer these the same.
  const Case cases[] = {
      {{"--bogus"}, "unknown flag --bogus"},
      {{"--bogus=1"}, "unknown flag --bogus"},
      {{"--storage_path=/x"}, "unknown flag --storage_path"},
      {{"--Help"}, "unknown flag --Help"},
      {{"storage.path"},
       "unexpected argument \"storage.path\" (flags start with --)"},
      {{"-x"}, "unexpected argument \"-x\" (flags start with --)"},
      {{"-v"}, "unexpected argument \"-v\" (flags start with --)"},
      {{"--"}, "unexpected argument \"--\" (flags start with --)"},
      {{"--storage.path"}, "flag --storage.path needs a value"},
      {{"--storage.path", "--check-config"},
       "flag --storage.path needs a value"},
      {{"--storage.path="}, "flag --storage.path needs a non-empty value"},
      {{"--metrics.dir="}, "flag --metrics.dir needs a non-empty value"},
      {{"--config.file="}, "flag --config.file needs a value"},
      {{"--check-config=true"}, "flag --check-config takes no value"},
      {{"--help=1"}, "flag --help takes no value"},
      {{"--version=1"}, "flag --version takes no value"},
      {{"--log.level=verbose"},
       "flag --log.level needs debug, info, warn or error, not \"verbose\""},
      {{"--log.level=INFO"},
       "flag --log.level needs debug, info, warn or error, not \"INFO\""},
      {{"--log.level="},
       "flag --log.level needs debug, info, warn or error, not \"\""},
      {{"--log.level"}, "flag --log.level needs a value"},
      {{"--log.format=text"},
       "flag --log.format needs logfmt or json, not \"text\""},
      // The first problem is the one reported.
      {{"--log.format=text", "--bogus"}, "unknown flag --bogus"},
      {{"--log.format=text", "--log.level=x"},
       "flag --log.format needs logfmt or json, not \"text\""},
  };
  for (const Case& c : cases) {
    for (Program program : {Program::kIngest, Program::kExporter}) {
      Options options;
      options.storage_path = "unchanged";
      Status status = Parse(program, c.args, &options);
      EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.args[0];
      EXPECT_EQ(status.message(), c.message) << c.args[0];
      EXPECT_EQ(options.storage_path, "unchanged");
      EXPECT_EQ(options.log_format, LogFormat::kLogfmt);
    }
  }
}

TEST(Config, IngestFlagErrors) {
  struct Case {
    std::string arg;
    std::string message;
  };
  const Case cases[] = {
      {"--max-body-bytes=0",
       "flag --max-body-bytes needs an integer from 1 to 67108864, not \"0\""},
      {"--max-body-bytes=67108865",
       "flag --max-body-bytes needs an integer from 1 to 67108864, not "
       "\"67108865\""},
      {"--max-body-bytes=-1",
       "flag --max-body-bytes needs an integer from 1 to 67108864, not "
       "\"-1\""},
      {"--max-body-bytes=1k",
       "flag --max-body-bytes needs an integer from 1 to 67108864, not "
       "\"1k\""},
      {"--max-body-bytes=99999999999999999999",
       "flag --max-body-bytes needs an integer from 1 to 67108864, not "
       "\"99999999999999999999\""},
      {"--listen=9000", "flag --listen \"9000\" is not HOST:PORT"},
      {"--listen=unix:",
       "flag --listen \"unix:\" needs a path after \"unix:\""},
      {"--listen=unix:/tmp/a:b",
       "flag --listen \"unix:/tmp/a:b\" has a ':' in its path, which libfcgi "
       "would read as HOST:PORT"},
      {"--listen=host:99999",
       "flag --listen \"host:99999\" has no valid port (0..65535) after the "
       "last ':'"},
      {"--listen=127.0.0.1:0",
       "flag --listen \"127.0.0.1:0\" needs a port from 1 to 65535 (libfcgi "
       "reads port 0 as a path)"},
      {"--listen=[::1]:9000",
       "flag --listen \"[::1]:9000\" is IPv6, which libfcgi cannot listen on "
       "(use an IPv4 address, a name or unix:/path)"},
      {"--listen=::1:9000",
       "flag --listen \"::1:9000\" needs brackets around an IPv6 host, as in "
       "[::1]:9102"},
      {"--listen=/tmp/x.sock",
       "flag --listen \"/tmp/x.sock\" is not HOST:PORT"},
      // pum-exporter's flags.
      {"--web.listen-address=127.0.0.1:9102",
       "unknown flag --web.listen-address (a flag of pum-exporter, not of "
       "pum-ingest)"},
      {"--web.config.file=/w.yml",
       "unknown flag --web.config.file (a flag of pum-exporter, not of "
       "pum-ingest)"},
  };
  for (const Case& c : cases) {
    Options options;
    Status status = Parse(Program::kIngest, {c.arg}, &options);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.arg;
    EXPECT_EQ(status.message(), c.message) << c.arg;
  }
}

TEST(Config, ExporterFlagErrors) {
  struct Case {
    std::string arg;
    std::string message;
  };
  const Case cases[] = {
      {"--web.listen-address=::1:9102",
       "flag --web.listen-address \"::1:9102\" needs brackets around an "
       "IPv6 host, as in [::1]:9102"},
      {"--web.listen-address=localhost",
       "flag --web.listen-address \"localhost\" is not HOST:PORT"},
      {"--web.listen-address=localhost:",
       "flag --web.listen-address \"localhost:\" has no valid port "
       "(0..65535) after the last ':'"},
      {"--web.listen-address=[::1:9102",
       "flag --web.listen-address \"[::1:9102\" has no valid IPv6 address in "
       "its brackets"},
      {"--web.listen-address=",
       "flag --web.listen-address \"\" is not "
       "HOST:PORT"},
      {"--web.config.file=", "flag --web.config.file needs a non-empty value"},
      // pum-ingest's flags: today's bug was that these were ignored.
      {"--listen=127.0.0.1:9000",
       "unknown flag --listen (a flag of pum-ingest, not of pum-exporter)"},
      {"--listen",
       "unknown flag --listen (a flag of pum-ingest, not of "
       "pum-exporter)"},
      {"--max-body-bytes=1000",
       "unknown flag --max-body-bytes (a flag of pum-ingest, not of "
       "pum-exporter)"},
  };
  for (const Case& c : cases) {
    Options options;
    Status status = Parse(Program::kExporter, {c.arg}, &options);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.arg;
    EXPECT_EQ(status.message(), c.message) << c.arg;
  }
}

TEST(Config, ListenAcceptsItsForms) {
  for (const char* listen :
       {"", "unix:/run/pum.sock", "unix:relative.sock", "127.0.0.1:9000",
        ":9000", "*:65535", "localhost:1"}) {
    Options options;
    Status status =
        Parse(Program::kIngest, {std::string("--listen=") + listen}, &options);
    EXPECT_TRUE(status.ok()) << listen << ": " << status.message();
    EXPECT_EQ(options.listen, listen);
  }
}

TEST(Config, FcgiListenBindPath) {
  struct Case {
    const char* listen;
    const char* bind_path;
  };
  const Case cases[] = {
      {"unix:/run/pum/ingest.sock", "/run/pum/ingest.sock"},
      {"unix:relative.sock", "relative.sock"},
      {"127.0.0.1:9000", "127.0.0.1:9000"},
      {"localhost:9000", "localhost:9000"},
      {":9000", ":9000"},
      {"*:65535", ":65535"},
      {"host:009", "host:9"},
  };
  for (const Case& c : cases) {
    FcgiListen listen;
    Status status = ParseFcgiListen(c.listen, &listen);
    ASSERT_TRUE(status.ok()) << c.listen << ": " << status.message();
    EXPECT_EQ(listen.BindPath(), c.bind_path) << c.listen;
  }
  FcgiListen listen;
  EXPECT_FALSE(ParseFcgiListen("", &listen).ok());
}

TEST(Config, EnvironmentSetsTheMetricsDir) {
  ScopedEnv env("PUM_CONFIG_PATH", "/from/env");
  Options options;
  ASSERT_TRUE(Parse({}, &options).ok());
  EXPECT_EQ(options.metrics_dir, "/from/env");
}

TEST(Config, AnEmptyEnvironmentVariableIsIgnored) {
  ScopedEnv env("PUM_CONFIG_PATH", "");
  Options options;
  ASSERT_TRUE(Parse({}, &options).ok());
  EXPECT_EQ(options.metrics_dir, "/etc/pum/metrics.d");
}

TEST(Config, FlagOverridesFileOverridesEnvironment) {
  ScopedEnv env("PUM_CONFIG_PATH", "/from/env");
  testing::TempDir dir;
  ASSERT_TRUE(dir.Write("pum.json",
                        R"({"metrics_dir": "/from/file",
                            "storage_path": "/file.db",
                            "max_body_bytes": 100, "strict": true})"));
  const std::string config = "--config.file=" + dir.Path("pum.json");

  Options file_only;
  ASSERT_TRUE(Parse({config}, &file_only).ok());
  EXPECT_EQ(file_only.metrics_dir, "/from/file");
  EXPECT_EQ(file_only.storage_path, "/file.db");
  EXPECT_EQ(file_only.max_body_bytes, 100u);
  EXPECT_TRUE(file_only.strict);
  EXPECT_EQ(file_only.config_file, dir.Path("pum.json"));

  // A flag wins even when it comes before --config.file.
  Options flags;
  ASSERT_TRUE(
      Parse(Program::kIngest,
            {"--metrics.dir=/from/flag", config, "--max-body-bytes", "200"},
            &flags)
          .ok());
  EXPECT_EQ(flags.metrics_dir, "/from/flag");
  EXPECT_EQ(flags.storage_path, "/file.db");
  EXPECT_EQ(flags.max_body_bytes, 200u);
}

TEST(Config, AFileWithoutMetricsDirKeepsTheEnvironment) {
  ScopedEnv env("PUM_CONFIG_PATH", "/from/env");
  testing::TempDir dir;
  ASSERT_TRUE(dir.Write("pum.json", "{\"strict\": true}"));
  Options options;
  ASSERT_TRUE(Parse({"--config.file", dir.Path("pum.json")}, &options).ok());
  EXPECT_EQ(options.metrics_dir, "/from/env");
}

TEST(Config, AMissingConfigFileIsNotFound) {
  testing::TempDir dir;
  Options options;
  Status status = Parse({"--config.file=" + dir.Path("nope.json")}, &options);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(),
            dir.Path("nope.json") +
                ": cannot read the config file: No such file or directory");
}

TEST(Config, ErrorsInTheConfigFileNameItsPathAndLine) {
  testing::TempDir dir;
  ASSERT_TRUE(dir.Write("pum.json", "{\n  \"strict\": \"yes\"\n}\n"));
  Options options;
  Status status = Parse({"--config.file=" + dir.Path("pum.json")}, &options);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.message(), dir.Path("pum.json") +
                                  ":2: \"strict\" must be a boolean, not a "
                                  "string");
}

TEST(Config, ApplyConfigTextSetsEveryKey) {
  const char* text = R"(// every key, none at its default
{
  "storage_path": "/s.db",
  "metrics_dir": "/m",   // trailing comment
  /* block
     comment */
  "max_body_bytes": 1048576,
  "strict": true,
  "cors_allowed_origins": ["https://a.example", "http://b.example:8080"],
  "synchronous": "FULL",
  "busy_timeout_ms": 0,
  "web_listen_address": "0.0.0.0:9200",
  "web_config_file": "/etc/pum/web.yml",
  "dedup_retention_seconds": 3600,
  "max_events_per_batch": 10,
  "max_observations_per_event": 20,
  "max_label_value_bytes": 30,
  "upkeep_interval_seconds": 60,
  "ingest_threads": 8
})";
  Options options;
  Status status = ApplyConfigText(text, "pum.json", &options);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(options.storage_path, "/s.db");
  EXPECT_EQ(options.metrics_dir, "/m");
  EXPECT_EQ(options.max_body_bytes, 1048576u);
  EXPECT_TRUE(options.strict);
  EXPECT_THAT(options.cors_allowed_origins,
              ElementsAre("https://a.example", "http://b.example:8080"));
  EXPECT_TRUE(options.synchronous_full);
  EXPECT_EQ(options.busy_timeout_ms, 0);
  EXPECT_EQ(options.ingest_threads, 8);
  EXPECT_EQ(options.web_listen_address, "0.0.0.0:9200");
  EXPECT_EQ(options.web_config_file, "/etc/pum/web.yml");
  EXPECT_EQ(options.dedup_retention_seconds, 3600);
  EXPECT_EQ(options.max_events_per_batch, 10u);
  EXPECT_EQ(options.max_observations_per_event, 20u);
  EXPECT_EQ(options.max_label_value_bytes, 30u);
  EXPECT_EQ(options.upkeep_interval_seconds, 60);
  EXPECT_EQ(options.config_file, "");  // ParseCommandLine sets it
}

TEST(Config, SynchronousNormalAndEmptyOrigins) {
  Options options;
  options.synchronous_full = true;
  ASSERT_TRUE(ApplyConfigText(
                  R"({"synchronous": "normal", "cors_allowed_origins": []})",
                  "p", &options)
                  .ok());
  EXPECT_FALSE(options.synchronous_full);
  EXPECT_TRUE(options.cors_allowed_origins.empty());
}

TEST(Config, AnEmptyObjectChangesNothing) {
  Options options;
  options.storage_path = "kept";
  ASSERT_TRUE(ApplyConfigText("{}", "p", &options).ok());
  EXPECT_EQ(options.storage_path, "kept");
}

TEST(Config, ApplyConfigTextErrors) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "p.json:1: invalid JSON: The document is empty."},
      {"{\n\"strict\": true,,\n}",
       "p.json:2: invalid JSON: Missing a name for object member."},
      {"[]", "p.json:1: the settings must be an object, not an array"},
      {"{\n\"stirct\": true}", "p.json:2: unknown key \"stirct\""},
      {"{\"config_file\": \"x\"}", "p.json:1: unknown key \"config_file\""},
      {"{\"strict\": true,\n \"strict\": false}",
       "p.json:2: duplicate key \"strict\""},
      {"{\"strict\":\n 1}",
       "p.json:2: \"strict\" must be a boolean, not a "
       "number"},
      {"{\"storage_path\": \"\"}",
       "p.json:1: \"storage_path\" must not be "
       "empty"},
      {"{\"metrics_dir\": [\"a\"]}",
       "p.json:1: \"metrics_dir\" must be a string, not an array"},
      {"{\"max_body_bytes\": 0}",
       "p.json:1: \"max_body_bytes\" must be an integer from 1 to 67108864"},
      {"{\"max_body_bytes\": 67108865}",
       "p.json:1: \"max_body_bytes\" must be an integer from 1 to 67108864"},
      {"{\"max_body_bytes\": 1.5}",
       "p.json:1: \"max_body_bytes\" must be an integer from 1 to 67108864"},
      {"{\"max_body_bytes\": \"64k\"}",
       "p.json:1: \"max_body_bytes\" must be an integer from 1 to 67108864"},
      {"{\"ingest_threads\": 0}",
       "p.json:1: \"ingest_threads\" must be an integer from 1 to 64"},
      {"{\"ingest_threads\": 65}",
       "p.json:1: \"ingest_threads\" must be an integer from 1 to 64"},
      {"{\"busy_timeout_ms\": -1}",
       "p.json:1: \"busy_timeout_ms\" must be an integer from 0 to 600000"},
      {"{\"busy_timeout_ms\": 600001}",
       "p.json:1: \"busy_timeout_ms\" must be an integer from 0 to 600000"},
      {"{\"dedup_retention_seconds\": 59}",
       "p.json:1: \"dedup_retention_seconds\" must be an integer from 60 to "
       "316224000"},
      {"{\"max_events_per_batch\": 0}",
       "p.json:1: \"max_events_per_batch\" must be an integer from 1 to "
       "100000"},
      {"{\"max_observations_per_event\": 100001}",
       "p.json:1: \"max_observations_per_event\" must be an integer from 1 "
       "to 100000"},
      {"{\"max_label_value_bytes\": 0}",
       "p.json:1: \"max_label_value_bytes\" must be an integer from 1 to "
       "65536"},
      {"{\"upkeep_interval_seconds\": 0}",
       "p.json:1: \"upkeep_interval_seconds\" must be an integer from 1 to "
       "3600"},
      {"{\"synchronous\": \"off\"}",
       "p.json:1: \"synchronous\" must be \"normal\" or \"full\", not "
       "\"off\""},
      {"{\"synchronous\": true}",
       "p.json:1: \"synchronous\" must be a string, not a boolean"},
      {"{\"web_listen_address\": \"9102\"}",
       "p.json:1: \"web_listen_address\" \"9102\" is not HOST:PORT"},
      {"{\"cors_allowed_origins\": \"*\"}",
       "p.json:1: \"cors_allowed_origins\" must be an array, not a string"},
      {"{\"cors_allowed_origins\": [1]}",
       "p.json:1: \"cors_allowed_origins\" must be an array of strings, but "
       "holds a number"},
      {"{\"cors_allowed_origins\": [\"https://a.example/\"]}",
       "p.json:1: \"cors_allowed_origins\" \"https://a.example/\" is not an "
       "origin: an origin has no path, not even \"/\""},
      {"{\"cors_allowed_origins\": [\"a.example\"]}",
       "p.json:1: \"cors_allowed_origins\" \"a.example\" is not an origin "
       "(scheme://host[:port], or \"*\")"},
  };
  for (const Case& c : cases) {
    Options options;
    options.storage_path = "unchanged";
    Status status = ApplyConfigText(c.text, "p.json", &options);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_EQ(status.message(), c.message) << c.text;
    EXPECT_EQ(options.storage_path, "unchanged") << c.text;
  }
}

TEST(Config, EveryErrorInTheFileIsReported) {
  Options options;
  Status status = ApplyConfigText(
      "{\n"
      "  \"strict\": 1,\n"
      "  \"storage_path\": \"/ok.db\",\n"
      "  \"bukets\": [],\n"
      "  \"synchronous\": \"fast\"\n"
      "}",
      "p.json", &options);
  EXPECT_EQ(status.message(),
            "p.json:2: \"strict\" must be a boolean, not a number\n"
            "p.json:4: unknown key \"bukets\"\n"
            "p.json:5: \"synchronous\" must be \"normal\" or \"full\", not "
            "\"fast\"");
  EXPECT_EQ(options.storage_path, "/var/lib/pum/pum.db");  // unchanged
}

TEST(Config, ShippedConfigFileLoads) {
  ScopedEnv env("PUM_CONFIG_PATH", nullptr);
  Options options;
  Status status = Parse({"--config.file=conf/pum.json"}, &options);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(options.config_file, "conf/pum.json");
  EXPECT_EQ(options.metrics_dir, "conf/metrics.d");
  EXPECT_EQ(options.storage_path, "var/pum.db");
  // Every other key shows its default.
  Options defaults;
  EXPECT_EQ(options.max_body_bytes, defaults.max_body_bytes);
  EXPECT_EQ(options.strict, defaults.strict);
  EXPECT_EQ(options.cors_allowed_origins, defaults.cors_allowed_origins);
  EXPECT_EQ(options.synchronous_full, defaults.synchronous_full);
  EXPECT_EQ(options.busy_timeout_ms, defaults.busy_timeout_ms);
  EXPECT_EQ(options.web_listen_address, defaults.web_listen_address);
  EXPECT_EQ(options.dedup_retention_seconds, defaults.dedup_retention_seconds);
  EXPECT_EQ(options.max_events_per_batch, defaults.max_events_per_batch);
  EXPECT_EQ(options.max_observations_per_event,
            defaults.max_observations_per_event);
  EXPECT_EQ(options.max_label_value_bytes, defaults.max_label_value_bytes);
  EXPECT_EQ(options.upkeep_interval_seconds, defaults.upkeep_interval_seconds);
}

TEST(Config, ShippedConfigFileShowsEveryKey) {
  std::ifstream in("conf/pum.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  for (const char* key :
       {"storage_path", "metrics_dir", "max_body_bytes", "strict",
        "cors_allowed_origins", "synchronous", "busy_timeout_ms",
        "web_listen_address", "dedup_retention_seconds", "max_events_per_batch",
        "max_observations_per_event", "max_label_value_bytes",
        "upkeep_interval_seconds"}) {
    EXPECT_THAT(text.str(), HasSubstr(std::string("\"") + key + "\":")) << key;
  }
}

TEST(Config, UsageListsEachBinarysOwnFlagsWithTheirDefaults) {
  const std::vector<const char*> common = {
      "--config.file=FILE",
      "--storage.path=FILE",
      "(default: /var/lib/pum/pum.db)",
      "--metrics.dir=DIR",
      "(default: /etc/pum/metrics.d)",
      "PUM_CONFIG_PATH",
      "--check-config\n",
      "--log.level=LEVEL\n",
      "debug, info, warn or error (default: info)\n",
      "--log.format=FORMAT\n",
      "logfmt or json (default: logfmt)\n",
      "--version\n",
      "--help\n"};
  const std::vector<const char*> ingest = {
      "--max-body-bytes=N\n", "(default: 65536)\n", "--listen=ADDR\n",
      "(default: file descriptor 0)\n"};
  const std::vector<const char*> exporter = {"--web.listen-address=HOST:PORT\n",
                                             "(default: 127.0.0.1:9102)\n",
                                             "--web.config.file=FILE\n"};
  struct Case {
    Program program;
    const std::vector<const char*>& own;
    const std::vector<const char*>& other;
  };
  for (const Case& c : {Case{Program::kIngest, ingest, exporter},
                        Case{Program::kExporter, exporter, ingest}}) {
    std::string usage = Usage(c.program);
    const std::string name = ProgramName(c.program);
    EXPECT_THAT(usage, StartsWith("Usage: " + name + " [flags]\n"));
    for (const char* text : common) EXPECT_THAT(usage, HasSubstr(text));
    for (const char* text : c.own) EXPECT_THAT(usage, HasSubstr(text)) << name;
    for (const char* text : c.other) {
      EXPECT_THAT(usage, Not(HasSubstr(text))) << name;
    }
    // Every flag is listed on its own line with one line of help after it.
    std::istringstream lines(usage);
    int flags = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  --", 0) != 0) continue;
      ++flags;
      std::string help;
      ASSERT_TRUE(std::getline(lines, help)) << line;
      EXPECT_THAT(help, StartsWith("        ")) << line;
      EXPECT_LE(help.size(), 80u) << help;
    }
    EXPECT_EQ(flags, 10) << name;
  }
}

}  // namespace
}  // namespace pum
