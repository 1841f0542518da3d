#include "schema/config/program_main.h"

#include <cassert>
#include <cstdio>
#include <cstring>

#include "schema/base/log.h"

namespace pum {
namespace {

bool HasFlag(int argc, const char* const* argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return true;
  }
  return false;
}

int BadCommandLine(const char* name, const Status& status, int argc,
                   const char* const* argv) {
  std::fprintf(stderr, "%s: %s\nTry %s --help.\n", name,
               status.message().c_str(), name);
  return HasFlag(argc, argv, "--check-config") ? 1 : 2;
}

void SetLogOptionsFrom(const Options& options) {
  LogOptions log;
  log.level = options.log_level;
  log.format = options.log_format;
  SetLogOptions(log);
}

}  // namespace

int ProgramMain(Program program, int argc, char** argv,
                const ProgramActions& actions) {
  assert(actions.check_config != nullptr && actions.run != nullptr);
  Options options;
  Status status = ParseCommandLine(program, argc, argv, &options);
  const char* name = ProgramName(program);
  if (!status.ok()) return BadCommandLine(name, status, argc, argv);
  if (options.help) {
    std::fputs(Usage(program).c_str(), stdout);
    return 0;
  }
  if (options.version) {
    std::fputs(VersionText(name, actions.build).c_str(), stdout);
    return 0;
  }
  if (options.check_config) return actions.check_config(options);
  SetLogOptionsFrom(options);
  return actions.run(options);
}

}  // namespace pum
