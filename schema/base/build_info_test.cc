#include "schema/base/build_info.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sstream>
#include <string>
#include <vector>

namespace pum {
namespace {

TEST(BuildInfo, VersionLineIsPrometheusShaped) {
  EXPECT_EQ(VersionLine("pum-exporter", {"0.1.0", "1a2b3c4"}),
            "pum-exporter, version 0.1.0 (revision 1a2b3c4)");
  EXPECT_EQ(VersionLine("pum-ingest", {"2.0.0-rc.1", "unknown"}),
            "pum-ingest, version 2.0.0-rc.1 (revision unknown)");
}

TEST(BuildInfo, VersionTextNamesCompilerPlatformAndSqlite) {
  std::istringstream text(VersionText("pum-ingest", {"0.1.0", "abc"}));
  std::vector<std::string> lines;
  for (std::string line; std::getline(text, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "pum-ingest, version 0.1.0 (revision abc)");
  EXPECT_EQ(lines[1].rfind("  compiler:         ", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find("(C++17)"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2].rfind("  platform:         linux/", 0), 0u) << lines[2];
  EXPECT_NE(lines[2], "  platform:         linux/unknown");
  EXPECT_EQ(lines[3],
            std::string("  sqlite:           ") + sqlite3_libversion());
}

}  // namespace
}  // namespace pum
