#include "schema/base/json_lines.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace pum {
namespace {

TEST(JsonLines, RecordsTheLineOfEveryValueAndKey) {
  const std::string text =
      "{\n"
      "  \"a\": 1,\n"
      "  \"b\":\n"
      "    [true,\n"
      "     null, \"s\",\n"
      "     {\"c\": -2.5}],\n"
      "  \"d\": 18446744073709551615\n"
      "}\n";
  JsonNode root;
  Status status = ParseJsonWithLines(text, "t.json", false, &root);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_TRUE(root.IsObject());
  EXPECT_EQ(root.line, 1);
  ASSERT_EQ(root.children.size(), 3u);

  const JsonNode& a = root.children[0];
  EXPECT_EQ(a.key, "a");
  EXPECT_EQ(a.key_line, 2);
  EXPECT_EQ(a.line, 2);
  EXPECT_TRUE(a.is_integer);
  EXPECT_EQ(a.integer, 1);

  const JsonNode& b = root.children[1];
  EXPECT_EQ(b.key_line, 3);
  EXPECT_EQ(b.line, 4);
  ASSERT_TRUE(b.IsArray());
  ASSERT_EQ(b.children.size(), 4u);
  EXPECT_EQ(b.children[0].type, JsonNode::Type::kBool);
  EXPECT_TRUE(b.children[0].boolean);
  EXPECT_EQ(b.children[0].line, 4);
  EXPECT_EQ(b.children[1].type, JsonNode::Type::kNull);
  EXPECT_EQ(b.children[1].line, 5);
  EXPECT_EQ(b.children[2].string, "s");
  EXPECT_EQ(b.children[2].line, 5);
  EXPECT_EQ(b.children[2].key, "");
  const JsonNode& c = b.children[3].children[0];
  EXPECT_EQ(b.children[3].line, 6);
  EXPECT_EQ(c.key, "c");
  EXPECT_EQ(c.line, 6);
  EXPECT_FALSE(c.is_integer);
  EXPECT_EQ(c.number, -2.5);

  const JsonNode& d = root.children[2];
  EXPECT_EQ(d.line, 7);
  EXPECT_FALSE(d.is_integer);  // does not fit in int64_t
  EXPECT_EQ(d.number, 18446744073709551615.0);
}

TEST(JsonLines, TokensAtTheStartOfALine) {
  const std::string text =
      "{\n\"k\":\n\"v\",\n\"n\":\n12,\n\"t\":\ntrue,\n\"a\":\n[\n{}]}";
  JsonNode root;
  ASSERT_TRUE(ParseJsonWithLines(text, "t", false, &root).ok());
  ASSERT_EQ(root.children.size(), 4u);
  int line = 2;
  for (const JsonNode& member : root.children) {
    EXPECT_EQ(member.key_line, line) << member.key;
    EXPECT_EQ(member.line, line + 1) << member.key;
    line += 2;
  }
  EXPECT_EQ(root.children[3].children[0].line, 10);
}

TEST(JsonLines, KeepsDuplicateKeysAndEmbeddedNulsInStrings) {
  JsonNode root;
  ASSERT_TRUE(
      ParseJsonWithLines(R"({"k": "a\u0000b", "k": 2})", "t", false, &root)
          .ok());
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0].string, std::string("a\0b", 3));
  EXPECT_EQ(root.children[1].key, "k");
}

TEST(JsonLines, CommentsOnlyWhenAllowed) {
  const std::string text = "// settings\n{\n  /* a */ \"a\": 1 // one\n}\n";
  JsonNode root;
  Status status = ParseJsonWithLines(text, "p.json", true, &root);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(root.line, 2);
  EXPECT_EQ(root.children[0].line, 3);
  EXPECT_EQ(ParseJsonWithLines(text, "p.json", false, &root).message(),
            "p.json:1: invalid JSON: Invalid value.");
}

TEST(JsonLines, ErrorsNameFileAndLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "f:1: invalid JSON: The document is empty."},
      {"{\n\"a\": 1,\n}",
       "f:3: invalid JSON: Missing a name for object "
       "member."},
      {"[1,\n2\n",
       "f:2: invalid JSON: Missing a comma or ']' after an array "
       "element."},
      {"{} {}",
       "f:1: invalid JSON: The document root must not be followed by "
       "other values."},
      {"\n\n[\"\xc3\"]", "f:3: invalid JSON: Invalid encoding in string."},
      {"[NaN]", "f:1: invalid JSON: Invalid value."},
      {std::string("[1]\0", 4), "f:1: invalid JSON: a NUL byte in the text"},
  };
  for (const Case& c : cases) {
    JsonNode root;
    Status status = ParseJsonWithLines(c.text, "f", false, &root);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(status.message(), c.message) << c.text;
  }
}

TEST(JsonLines, DeepNestingIsRefused) {
  std::string text(100000, '[');
  text += std::string(100000, ']');
  JsonNode root;
  EXPECT_EQ(ParseJsonWithLines(text, "f", false, &root).message(),
            "f:1: invalid JSON: nested deeper than 100 levels");
  std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(ParseJsonWithLines(ok, "f", false, &root).ok());
}

TEST(JsonLines, TypeNames) {
  EXPECT_STREQ(JsonTypeName(JsonNode::Type::kNull), "null");
  EXPECT_STREQ(JsonTypeName(JsonNode::Type::kBool), "a boolean");
  EXPECT_STREQ(JsonTypeName(JsonNode::Type::kNumber), "a number");
  EXPECT_STREQ(JsonTypeName(JsonNode::Type::kString), "a string");
  EXPECT_STREQ(JsonTypeName(JsonNode::Type::kArray), "an array");
  EXPECT_STREQ(JsonTypeName(JsonNode::Type::kObject), "an object");
}

// Regression (found by fuzzing): RapidJSON 1.1.0's full-precision strtod
// read 0e40 and 0.(24 zeros) as garbage (-2.4e229), crashed on 0.(400
// zeros)8 and failed an assert on 112 threes then e230. Numbers are
// converted by std::from_chars now: correctly rounded, or an error.
TEST(JsonLines, NumbersAreCorrectlyRoundedOrRefused) {
  struct Case {
    std::string number;
    bool ok;
    double value;
  };
  const Case cases[] = {
      {"0e40", true, 0},
      {"0." + std::string(24, '0'), true, 0},
      {"-0", true, 0},
      {"0.1", true, 0.1},
      {"2.5e-3", true, 0.0025},
      {"1e308", true, 1e308},
      {"9007199254740993", true, 9007199254740993.0},
      {"18446744073709551616", true, 18446744073709551616.0},
      {"4.9e-324", true, 4.9e-324},
      {"0." + std::string(400, '0') + "8", false, 0},
      {std::string(112, '3') + "e230", false, 0},
      {std::string(136, '3') + "e232", false, 0},
      {"1e400", false, 0},
  };
  for (const Case& c : cases) {
    JsonNode root;
    Status status =
        ParseJsonWithLines("{\n\"n\": " + c.number + "}", "t", false, &root);
    ASSERT_EQ(status.ok(), c.ok) << c.number << ": " << status.message();
    if (!c.ok) {
      // pum's own message, or RapidJSON's for an exponent past 308.
      EXPECT_EQ(status.message().rfind("t:2: invalid JSON: ", 0), 0u)
          << status.message();
      EXPECT_TRUE(status.message().find("out of the range of a double") !=
                      std::string::npos ||
                  status.message().find("Number too big") != std::string::npos)
          << status.message();
      continue;
    }
    ASSERT_EQ(root.children.size(), 1u);
    EXPECT_EQ(root.children[0].number, c.value) << c.number;
  }
  JsonNode root;
  ASSERT_TRUE(
      ParseJsonWithLines("[9223372036854775807, -3, 1.0]", "t", false, &root)
          .ok());
  EXPECT_TRUE(root.children[0].is_integer);
  EXPECT_EQ(root.children[0].integer, INT64_MAX);
  EXPECT_EQ(root.children[1].integer, -3);
  EXPECT_FALSE(root.children[2].is_integer);
}

// Regression (found by fuzzing, ASan): a text ending inside a string with a
// truncated UTF-8 sequence was read past its end.
TEST(JsonLines, ATruncatedUtf8SequenceAtTheEndIsAnError) {
  for (const char* tail :
       {"\xf0", "\xf0\x9f", "\xf0\x9f\x98", "\xe2\x82", "\xc3"}) {
    std::string text = std::string("{\"x\": \"0123456789abcdef") + tail;
    text.shrink_to_fit();
    JsonNode root;
    Status status = ParseJsonWithLines(text, "t", false, &root);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.message().find("invalid JSON"), std::string::npos);
  }
}

}  // namespace
}  // namespace pum
