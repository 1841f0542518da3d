// ProgramMain: the start both binaries' main() share, so that pum-ingest and
// pum-exporter treat their command lines alike.
//
// It parses the command line (ParseCommandLine) and then, in this order:
//   - a bad command line: "NAME: problem" and "Try NAME --help." on stderr,
//     exit 2 (1 when --check-config is among the arguments, as nginx -t);
//   - --help: the program's Usage() on stdout, exit 0;
//   - --version: VersionText() of ProgramActions::build on stdout, exit 0;
//   - --check-config: returns what ProgramActions::check_config returns;
//   - else: sets the log options (--log.level, --log.format) and returns
//     what ProgramActions::run returns.
#ifndef PUM_SCHEMA_CONFIG_PROGRAM_MAIN_H_
#define PUM_SCHEMA_CONFIG_PROGRAM_MAIN_H_

#include "schema/base/build_info.h"
#include "schema/config/config.h"

namespace pum {

// What a binary does once its command line is understood. Both must be set.
struct ProgramActions {
  // Validates the settings and the allowlist; the exit code.
  int (*check_config)(const Options& options) = nullptr;
  // Serves until stopped; the exit code.
  int (*run)(const Options& options) = nullptr;
  // What --version prints: ThisBuild() in the binaries.
  BuildInfo build;
};

// See above. `argv` holds `argc` arguments, argv[0] the program's path.
int ProgramMain(Program program, int argc, char** argv,
                const ProgramActions& actions);

}  // namespace pum

#endif  // PUM_SCHEMA_CONFIG_PROGRAM_MAIN_H_
