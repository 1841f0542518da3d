#include "schema/store/bucket_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace pum {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The 16 bytes of one bucket, written out by hand (little-endian).
std::string Bytes(uint64_t le_bits, uint64_t count) {
  std::string out;
  for (uint64_t v : {le_bits, count}) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  return out;
}

constexpr uint64_t kOneBits = 0x3ff0000000000000;    // 1.0
constexpr uint64_t kTwoBits = 0x4000000000000000;    // 2.0
constexpr uint64_t kInfBits = 0x7ff0000000000000;    // +Inf
constexpr uint64_t kNanBits = 0x7ff8000000000000;    // NaN
constexpr uint64_t kMinusBits = 0xbff0000000000000;  // -1.0

TEST(BucketCodec, EncodesSortedMergedNonZeroBucketsLittleEndian) {
  struct Case {
    Buckets buckets;
    std::string encoded;
  };
  const Case cases[] = {
      {{}, ""},
      {{{1, 0}}, ""},
      {{{1, 3}}, Bytes(kOneBits, 3)},
      {{{kInf, 1}, {1, 2}}, Bytes(kOneBits, 2) + Bytes(kInfBits, 1)},
      {{{2, 1}, {1, 1}, {2, 4}, {-1, 7}},
       Bytes(kMinusBits, 7) + Bytes(kOneBits, 1) + Bytes(kTwoBits, 5)},
  };
  for (const Case& c : cases) {
    std::string encoded = "junk";
    EncodeBuckets(c.buckets, &encoded);
    EXPECT_EQ(encoded, c.encoded);
  }
}

TEST(BucketCodec, RoundTripsExactly) {
  const Buckets cases[] = {
      {},
      {{0.005, 1}},
      {{-kInf, 1}, {-0.5, 2}, {0.1, 9007199254740992ull}, {kInf, 1}},
      {{std::numeric_limits<double>::denorm_min(), UINT64_MAX}},
  };
  for (const Buckets& buckets : cases) {
    std::string encoded;
    EncodeBuckets(buckets, &encoded);
    Buckets decoded = {{5, 5}};
    ASSERT_TRUE(DecodeBuckets(encoded, &decoded));
    EXPECT_EQ(decoded, buckets);
  }
}

TEST(BucketCodec, RefusesNonCanonicalBlobs) {
  const std::string cases[] = {
      std::string(15, '\0'),                    // not whole buckets
      Bytes(kOneBits, 1) + "x",                 // trailing byte
      Bytes(kTwoBits, 1) + Bytes(kOneBits, 1),  // descending
      Bytes(kOneBits, 1) + Bytes(kOneBits, 1),  // a bound twice
      Bytes(kNanBits, 1),                       // NaN
      Bytes(kOneBits, 0),                       // zero count
  };
  for (const std::string& blob : cases) {
    Buckets decoded;
    EXPECT_FALSE(DecodeBuckets(blob, &decoded)) << blob.size();
    std::string merged;
    EXPECT_FALSE(MergeEncodedBuckets(blob, "", &merged));
    EXPECT_FALSE(MergeEncodedBuckets("", blob, &merged));
  }
}

TEST(BucketCodec, MergeAddsCountsOfSharedBoundsAndKeepsTheOthers) {
  struct Case {
    Buckets a, b, merged;
  };
  const Case cases[] = {
      {{}, {}, {}},
      {{{1, 1}}, {}, {{1, 1}}},
      {{}, {{1, 1}}, {{1, 1}}},
      {{{1, 1}, {kInf, 2}}, {{1, 3}}, {{1, 4}, {kInf, 2}}},
      {{{0.1, 1}, {2, 1}},
       {{0.5, 1}, {kInf, 1}},
       {{0.1, 1}, {0.5, 1}, {2, 1}, {kInf, 1}}},
      {{{-1, 2}, {1, 2}}, {{-1, 3}, {0, 1}, {1, 5}}, {{-1, 5}, {0, 1}, {1, 7}}},
  };
  for (const Case& c : cases) {
    std::string a, b, merged, expected;
    EncodeBuckets(c.a, &a);
    EncodeBuckets(c.b, &b);
    EncodeBuckets(c.merged, &expected);
    ASSERT_TRUE(MergeEncodedBuckets(a, b, &merged));
    EXPECT_EQ(merged, expected);
  }
}

TEST(BucketCodec, MergeRefusesACountOverflow) {
  std::string a, b, merged;
  EncodeBuckets({{1, UINT64_MAX}}, &a);
  EncodeBuckets({{1, 1}}, &b);
  EXPECT_FALSE(MergeEncodedBuckets(a, b, &merged));
  EncodeBuckets({{2, 1}}, &b);
  EXPECT_TRUE(MergeEncodedBuckets(a, b, &merged));
}

}  // namespace
}  // namespace pum
