#include "schema/config/program_main.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pum {
namespace {

// What the actions saw; reset by RunMain().
struct Calls {
  int check_config = 0;
  int run = 0;
  Options options;
};
Calls calls;

int FakeCheckConfig(const Options& options) {
  ++calls.check_config;
  calls.options = options;
  return 7;
}

int FakeRun(const Options& options) {
  ++calls.run;
  calls.options = options;
  return 9;
}

struct Outcome {
  int code = 0;
  std::string out;
  std::string err;
};

Outcome RunMain(Program program, std::vector<std::string> args) {
  calls = Calls();
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ProgramActions actions;
  actions.check_config = FakeCheckConfig;
  actions.run = FakeRun;
  actions.build = BuildInfo{"1.2.3", "abc1234"};
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  Outcome o;
  o.code =
      ProgramMain(program, static_cast<int>(argv.size()), argv.data(), actions);
  o.out = testing::internal::GetCapturedStdout();
  o.err = testing::internal::GetCapturedStderr();
  return o;
}

TEST(ProgramMain, AnswersEachKindOfCommandLine) {
  struct Case {
    Program program;
    std::vector<std::string> args;
    int code;
    int check_config_calls;
    int run_calls;
    std::string out_has;
    std::string err_has;
  } cases[] = {
      {Program::kIngest, {"pum-ingest"}, 9, 0, 1, "", ""},
      {Program::kExporter, {"pum-exporter"}, 9, 0, 1, "", ""},
      {Program::kIngest, {"pum-ingest", "--help"}, 0, 0, 0, "--listen", ""},
      {Program::kExporter,
       {"pum-exporter", "--help"},
       0,
       0,
       0,
       "--web.listen-address",
       ""},
      {Program::kExporter,
       {"pum-exporter", "--version"},
       0,
       0,
       0,
       "pum-exporter, version 1.2.3 (revision abc1234)",
       ""},
      {Program::kIngest, {"pum-ingest", "--check-config"}, 7, 1, 0, "", ""},
      {Program::kIngest,
       {"pum-ingest", "--no-such-flag"},
       2,
       0,
       0,
       "",
       "Try pum-ingest --help."},
      {Program::kExporter,
       {"pum-exporter", "--listen=127.0.0.1:9000"},
       2,
       0,
       0,
       "",
       "pum-exporter: "},
      {Program::kExporter,
       {"pum-exporter", "--check-config", "--bogus"},
       1,
       0,
       0,
       "",
       "--bogus"},
  };
  for (const Case& c : cases) {
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    Outcome o = RunMain(c.program, c.args);
    EXPECT_EQ(o.code, c.code) << line;
    EXPECT_EQ(calls.check_config, c.check_config_calls) << line;
    EXPECT_EQ(calls.run, c.run_calls) << line;
    EXPECT_NE(o.out.find(c.out_has), std::string::npos) << line << o.out;
    EXPECT_NE(o.err.find(c.err_has), std::string::npos) << line << o.err;
  }
}

TEST(ProgramMain, HelpListsOnlyTheProgramsOwnFlags) {
  Outcome ingest = RunMain(Program::kIngest, {"pum-ingest", "--help"});
  Outcome exporter = RunMain(Program::kExporter, {"pum-exporter", "--help"});
  EXPECT_EQ(ingest.out.find("--web.listen-address"), std::string::npos);
  EXPECT_EQ(exporter.out.find("--listen="), std::string::npos);
}

TEST(ProgramMain, RunGetsTheParsedOptions) {
  RunMain(Program::kIngest,
          {"pum-ingest", "--log.level=debug", "--max-body-bytes=1234"});
  ASSERT_EQ(calls.run, 1);
  EXPECT_EQ(calls.options.max_body_bytes, 1234);
  EXPECT_EQ(calls.options.log_level, LogLevel::kDebug);
}

}  // namespace
}  // namespace pum
