// BuildInfo: what --version prints, as Prometheus and its exporters do:
//
//   pum-exporter, version 0.1.0 (revision 1a2b3c4)
//     compiler:         g++ 12.2.0 (C++17)
//     platform:         linux/amd64
//     sqlite:           3.40.1
//
// The version and the revision are baked in by the Makefile (PUM_VERSION,
// and `git rev-parse --short HEAD`, or "unknown" outside a git checkout)
// into build_stamp.cc, which only the two binaries link: a new commit
// recompiles that one file and relinks the binaries, nothing else.
#ifndef PUM_SCHEMA_BASE_BUILD_INFO_H_
#define PUM_SCHEMA_BASE_BUILD_INFO_H_

#include <string>
#include <string_view>

namespace pum {

struct BuildInfo {
  std::string version;   // "0.1.0"
  std::string revision;  // "1a2b3c4", or "unknown"
};

// This binary's build (defined in build_stamp.cc).
BuildInfo ThisBuild();

// "pum-exporter, version 0.1.0 (revision 1a2b3c4)", without a newline.
std::string VersionLine(std::string_view program, const BuildInfo& build);

// The whole --version text: the version line, then the compiler, the
// platform and the SQLite library in use, one per line, ending in '\n'.
std::string VersionText(std::string_view program, const BuildInfo& build);

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_BUILD_INFO_H_
