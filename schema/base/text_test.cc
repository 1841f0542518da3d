#include "schema/base/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pum {
namespace {

// Regression: a name with a "\n" escape made a fake error line (found by
// fuzzing the allowlist); every control character is escaped.
TEST(Text, QuoteKeepsAMessageOnOneLine) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"plain", "\"plain\""},
      {"", "\"\""},
      {"a\nb", "\"a\\nb\""},
      {"q\"\\", "\"q\\\"\\\\\""},
      {std::string("\x01\x1b[31m\x7f", 7), "\"\\u0001\\u001b[31m\\u007f\""},
      {std::string("nul\0", 4), "\"nul\\u0000\""},
      {"tab\there\r", "\"tab\\there\\r\""},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Quote(c.in), c.out);
    EXPECT_EQ(Quote(c.in).find('\n'), std::string::npos);
  }
}

TEST(Text, JoinLinesPutsOneItemPerLine) {
  struct Case {
    std::vector<std::string> lines;
    std::string out;
  };
  const Case cases[] = {
      {{}, ""},
      {{"a"}, "a"},
      {{"a", "b", "c"}, "a\nb\nc"},
      {{"x.json:1: bad", "y.json:2: worse"}, "x.json:1: bad\ny.json:2: worse"},
  };
  for (const Case& c : cases) EXPECT_EQ(JoinLines(c.lines), c.out);
}

}  // namespace
}  // namespace pum
