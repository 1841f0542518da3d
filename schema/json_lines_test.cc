#include "schema/json_lines.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pum
