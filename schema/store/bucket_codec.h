// The bucket codec: how the store writes a histogram's buckets into one
// column (histograms.buckets, schema version 3) and reads them back.
//
// The encoding: 16 bytes per bucket, (upper bound, observations), the bound
// an IEEE-754 binary64 and the observations an unsigned 64-bit integer, both
// little-endian; buckets sorted by ascending bound (+Inf last), each bound
// once, no bucket with zero observations, no NaN bound. No buckets encode as
// the empty blob. It is canonical: one set of buckets has one encoding.
//
// This is the stored format of pum's database: changing it needs a
// migration (store.cc).
#ifndef PUM_SCHEMA_STORE_BUCKET_CODEC_H_
#define PUM_SCHEMA_STORE_BUCKET_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pum {

// (upper bound, observations), not cumulative.
using Buckets = std::vector<std::pair<double, uint64_t>>;

// The size of one encoded bucket.
inline constexpr size_t kEncodedBucketBytes = 16;

// Encodes `buckets` (any order; a bound may appear several times: its
// counts are added; buckets with zero observations are left out; no NaN
// bound) into `*out`, replacing its contents.
void EncodeBuckets(const Buckets& buckets, std::string* out);

// Decodes `in` into `*out` (cleared first). Returns false for input that is
// not canonical: a length that is not a multiple of 16, bounds not strictly
// ascending, a NaN bound, a zero count. `*out` is unspecified after a
// failure.
bool DecodeBuckets(std::string_view in, Buckets* out);

// Merges two encodings into `*out` (replacing its contents): the buckets of
// both, the counts of a bound in both added. Returns false if either is not
// canonical, or a sum of counts overflows 64 bits. `*out` must not alias an
// input.
bool MergeEncodedBuckets(std::string_view a, std::string_view b,
                         std::string* out);

}  // namespace pum

#endif  // PUM_SCHEMA_STORE_BUCKET_CODEC_H_
