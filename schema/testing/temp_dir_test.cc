#include "schema/testing/temp_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace pum {
namespace testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

TEST(TempDir, MakesAFreshDirectoryEachTime) {
  TempDir a;
  TempDir b;
  ASSERT_FALSE(a.path().empty());
  ASSERT_FALSE(b.path().empty());
  EXPECT_NE(a.path(), b.path());
  EXPECT_TRUE(std::filesystem::is_directory(a.path()));
  EXPECT_TRUE(std::filesystem::is_empty(a.path()));
  EXPECT_EQ(a.Path("x"), a.path() + "/x");
}

// Everything inside goes, nested directories included; a link is removed,
// not followed, so what it points to outside stays.
TEST(TempDir, RemovesEverythingInsideButNothingOutside) {
  TempDir outside;
  ASSERT_TRUE(outside.Write("keep", "kept"));
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    ASSERT_TRUE(dir.Write("file", "text"));
    ASSERT_EQ(mkdir(dir.Path("sub").c_str(), 0700), 0);
    ASSERT_TRUE(dir.Write("sub/nested", "text"));
    ASSERT_EQ(mkdir(dir.Path("sub/empty").c_str(), 0700), 0);
    ASSERT_EQ(symlink(outside.path().c_str(), dir.Path("link").c_str()), 0);
    ASSERT_EQ(symlink("nowhere", dir.Path("dangling").c_str()), 0);
  }
  EXPECT_FALSE(Exists(path));
  EXPECT_TRUE(Exists(outside.Path("keep")));
}

TEST(TempDir, WriteReplacesAFileAndFailsOutsideTheTree) {
  TempDir dir;
  ASSERT_TRUE(dir.Write("a", "long text"));
  ASSERT_TRUE(dir.Write("a", "short"));
  EXPECT_EQ(std::filesystem::file_size(dir.Path("a")), 5u);
  EXPECT_FALSE(dir.Write("missing/a", "x"));
}

}  // namespace
}  // namespace testing
}  // namespace pum
