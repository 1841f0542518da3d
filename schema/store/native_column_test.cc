#include "schema/store/native_column.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "schema/store/bucket_codec.h"
#include "schema/testing/native.h"

namespace pum {
namespace {

using testing::NativeOf;

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(NativeColumn, MergeAddsAtTheLowerSchemaWithinTheCap) {
  struct Case {
    const char* what;
    std::vector<double> stored;
    int stored_schema;
    std::vector<double> delta;
    int delta_schema;
    uint32_t cap;
  };
  const Case cases[] = {
      {"into nothing", {}, 3, {1, 2, -3}, 3, 160},
      {"same schema", {1, 5}, 3, {1, 2}, 3, 160},
      {"delta lower", {1, 5}, 3, {1, 2}, 0, 160},
      {"stored lower", {1, 5}, -2, {1, 2}, 4, 160},
      {"past the cap", {1, 10, 100}, 8, {1000, 1e4, 1e5, 1e6}, 8, 3},
  };
  for (const Case& c : cases) {
    std::string out;
    const std::string stored =
        c.stored.empty() ? ""
                         : EncodeNative(NativeOf(c.stored, c.stored_schema));
    ASSERT_TRUE(MergeNativeColumn(
        stored, EncodeNativeDelta(NativeOf(c.delta, c.delta_schema), c.cap),
        &out))
        << c.what;
    NativeHistogram got;
    ASSERT_TRUE(DecodeNative(out, &got)) << c.what;
    std::vector<double> all = c.stored;
    all.insert(all.end(), c.delta.begin(), c.delta.end());
    EXPECT_EQ(NativeTotalCount(got), all.size()) << c.what;
    EXPECT_LE(got.positive.size() + got.negative.size(), c.cap) << c.what;
    EXPECT_EQ(got, NativeOf(all, got.schema)) << c.what;
    int lower = c.delta_schema;
    if (!c.stored.empty()) lower = std::min(lower, c.stored_schema);
    EXPECT_LE(got.schema, lower) << c.what;
  }
}

TEST(NativeColumn, SeedKeepsACompleteNativePartAndRebuildsAShortOne) {
  std::vector<std::pair<double, uint64_t>> classic = {{0.5, 2}, {kInf, 1}};
  std::string encoded_classic;
  EncodeBuckets(classic, &encoded_classic);
  const std::string complete = EncodeNative(NativeOf({0.2, 0.4, 9}, 3));
  std::string out;
  ASSERT_TRUE(SeedNativeColumn(complete, encoded_classic, &out));
  EXPECT_EQ(out, complete);
  // One observation short (came while the metric was not native).
  const std::string short_one = EncodeNative(NativeOf({0.2, 0.4}, 3));
  ASSERT_TRUE(SeedNativeColumn(short_one, encoded_classic, &out));
  NativeHistogram seeded;
  ASSERT_TRUE(DecodeNative(out, &seeded));
  EXPECT_EQ(seeded, NativeFromClassic(classic));
  EXPECT_EQ(seeded.schema, kNativeMaxSchema);
  EXPECT_EQ(seeded, NativeOf({0.5, 0.5, 0.5}, kNativeMaxSchema));
}

TEST(NativeColumn, RefusesArgumentsThatDoNotDecode) {
  std::string out;
  const std::string good = EncodeNative(NativeOf({1}, 3));
  const std::string delta = EncodeNativeDelta(NativeOf({1}, 3), 160);
  EXPECT_TRUE(MergeNativeColumn(good, delta, &out));
  EXPECT_TRUE(MergeNativeColumn("", delta, &out));
  EXPECT_EQ(out, good);
  EXPECT_TRUE(MergeNativeColumn(good, "", &out));
  EXPECT_EQ(out, good);
  EXPECT_FALSE(MergeNativeColumn("junk", delta, &out));
  EXPECT_FALSE(MergeNativeColumn(good, "abc", &out));
  EXPECT_FALSE(MergeNativeColumn(good, delta.substr(0, 4) + "junk", &out));
  EXPECT_FALSE(SeedNativeColumn("junk", "", &out));
  EXPECT_FALSE(SeedNativeColumn("", "not sixteen", &out));
  out = "x";
  EXPECT_TRUE(SeedNativeColumn("", "", &out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace pum
