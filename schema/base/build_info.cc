#include "schema/base/build_info.h"

#include <sqlite3.h>

#include <string>

namespace pum {
namespace {

#define PUM_STRINGIFY2(x) #x
#define PUM_STRINGIFY(x) PUM_STRINGIFY2(x)

std::string Compiler() {
#if defined(__clang__)
  std::string name =
      "clang++ " PUM_STRINGIFY(__clang_major__) "." PUM_STRINGIFY(
          __clang_minor__) "." PUM_STRINGIFY(__clang_patchlevel__);
#elif defined(__GNUC__)
  std::string name = "g++ " PUM_STRINGIFY(__GNUC__) "." PUM_STRINGIFY(
      __GNUC_MINOR__) "." PUM_STRINGIFY(__GNUC_PATCHLEVEL__);
#else
  std::string name = "unknown";
#endif
  return name + " (C++" + std::to_string(__cplusplus / 100 % 100) + ")";
}

const char* Platform() {
#if defined(__linux__) && defined(__x86_64__)
  return "linux/amd64";
#elif defined(__linux__) && defined(__aarch64__)
  return "linux/arm64";
#elif defined(__linux__) && defined(__i386__)
  return "linux/386";
#elif defined(__linux__) && defined(__arm__)
  return "linux/arm";
#elif defined(__linux__)
  return "linux/unknown";
#else
  return "unknown";
#endif
}

}  // namespace

std::string VersionLine(std::string_view program, const BuildInfo& build) {
  return std::string(program) + ", version " + build.version + " (revision " +
         build.revision + ")";
}

std::string VersionText(std::string_view program, const BuildInfo& build) {
  std::string out = VersionLine(program, build) + "\n";
  out += "  compiler:         " + Compiler() + "\n";
  out += std::string("  platform:         ") + Platform() + "\n";
  out += std::string("  sqlite:           ") + sqlite3_libversion() + "\n";
  return out;
}

}  // namespace pum
