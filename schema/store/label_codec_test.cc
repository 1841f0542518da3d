#include "schema/store/label_codec.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace pum {
namespace {

TEST(LabelCodec, EncodesSortedLengthPrefixedFields) {
  struct Case {
    LabelPairs labels;
    std::string encoded;
  };
  const Case cases[] = {
      {{}, ""},
      {{{"a", "b"}}, "1:a1:b"},
      {{{"feature", "a:b"}, {"browser", ""}}, "7:browser0:7:feature3:a:b"},
      {{{"", ""}}, "0:0:"},
      {{{"x", std::string(12, 'v')}}, "1:x12:vvvvvvvvvvvv"},
  };
  for (const Case& c : cases) {
    LabelPairs labels = c.labels;
    EXPECT_EQ(EncodeLabels(&labels), c.encoded);
    LabelPairs decoded;
    ASSERT_TRUE(DecodeLabels(c.encoded, &decoded)) << c.encoded;
    EXPECT_EQ(decoded, labels);  // sorted by EncodeLabels()
  }
}

// What a browser may put in a label value (pattern labels take anything the
// pattern allows) and what a label name may hold must come back exactly.
TEST(LabelCodec, HostileBytesRoundTripExactly) {
  const std::vector<std::string> values = {
      "",
      ":",
      "0:",
      "1:",
      "3:abc5:de",  // looks like the encoding itself
      "12345678901:x",
      std::string("nul\0byte", 8),
      std::string(1, '\0'),
      "new\nline\r\ttab",
      "\"quoted\" \\back\\slash",
      "unit\x1fseparator\x1e",
      "\xff\xfe not utf-8 \xc3",
      "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
      std::string(1 << 20, 'x'),
  };
  for (const std::string& value : values) {
    for (const std::string& name : {std::string("a"), value}) {
      LabelPairs labels = {{name, value}};
      if (name != "zz") labels.emplace_back("zz", value);
      LabelPairs sorted = labels;
      const std::string encoded = EncodeLabels(&sorted);
      LabelPairs decoded;
      ASSERT_TRUE(DecodeLabels(encoded, &decoded)) << value.substr(0, 20);
      EXPECT_EQ(decoded, sorted) << value.substr(0, 20);
    }
  }
}

// The encoding is a key of the series table: the same set in any order is
// one encoding, different sets are different encodings, even when their
// names and values concatenate alike.
TEST(LabelCodec, SameSetSameEncodingDifferentSetsDifferentEncodings) {
  LabelPairs a = {{"x", "1"}, {"a", "2"}, {"m", ""}};
  LabelPairs b = {{"m", ""}, {"a", "2"}, {"x", "1"}};
  EXPECT_EQ(EncodeLabels(&a), EncodeLabels(&b));

  const std::vector<LabelPairs> sets = {
      {},
      {{"", ""}},
      {{"a", ""}},
      {{"", "a"}},
      {{"a", "b"}, {"c", "d"}},
      {{"a", "b1:c1:d"}},
      {{"a", "bc"}, {"", "d"}},
      {{"ab", "cd"}},
      {{"a", "b"}, {"c", ""}},
      {{"a", "b0:"}},
      {{"1", "1"}},
      {{"1:1", ""}},
  };
  std::set<std::string> encodings;
  for (LabelPairs set : sets) encodings.insert(EncodeLabels(&set));
  EXPECT_EQ(encodings.size(), sets.size());
}

TEST(LabelCodec, DecodeRefusesWhatIsNotWholeFields) {
  const std::string refused[] = {
      "x",                // no length
      "1",                // no ':'
      "1:",               // a length past the end
      "5:ab",             // a field longer than what is left
      "1:a",              // a name without a value
      "1:a1:b1:c",        // the second pair has no value
      ":a0:",             // an empty length
      "-1:a0:",           // a sign
      " 1:a0:",           // a space
      "1:a1:bx",          // trailing bytes
      "12345678901:a0:",  // 11 digits
      std::string("\0", 1),
  };
  for (const std::string& in : refused) {
    LabelPairs out = {{"stale", "pair"}};
    EXPECT_FALSE(DecodeLabels(in, &out)) << in;
  }
}

TEST(LabelCodec, DecodeClearsTheOutputAndKeepsTheEncodedOrder) {
  LabelPairs out = {{"stale", "pair"}};
  ASSERT_TRUE(DecodeLabels("", &out));
  EXPECT_TRUE(out.empty());
  // Not written by EncodeLabels() (unsorted), but whole fields: decoded as
  // they come.
  ASSERT_TRUE(DecodeLabels("1:z1:11:a1:2", &out));
  EXPECT_EQ(out, (LabelPairs{{"z", "1"}, {"a", "2"}}));
}

}  // namespace
}  // namespace pum
