// Native histograms: Prometheus' sparse exponential histograms, with the
// buckets exactly as Prometheus defines them (client_golang's
// prometheus/histogram.go, the server's model/histogram/).
//
// At schema s (kNativeMinSchema..kNativeMaxSchema) the base is
// 2^(2^-s) and bucket i holds the magnitudes in (base^(i-1), base^i]: its
// upper bound is inclusive. Bucket 0 ends at 1; 2^k ends bucket k * 2^s at
// every schema (for s < 0 only when k is a multiple of 2^-s). Lowering the
// schema by one merges buckets 2j-1 and 2j into bucket j, so bucket i at s
// becomes bucket ceil(i / 2) at s - 1. The index of a value is computed as
// client_golang computes it: from frexp and a table of the bounds in
// [0.5, 1) for s > 0 (the table is the Prometheus one, not a call of pow),
// from the binary exponent alone for s <= 0; so NativeBucketUpperBound(i-1)
// < v <= NativeBucketUpperBound(i) holds exactly for every normal v.
// ±Inf are counted as client_golang counts them: in the bucket one above
// that of DBL_MAX (whose upper bound is DBL_MAX, as in Prometheus).
//
// Observations of magnitude <= zero_threshold are counted in the zero
// bucket; the others in the positive buckets (value > zero_threshold) or the
// negative ones (buckets of |value|). NaN is counted nowhere.
//
// Everything here is pure: no I/O, no locks, no global state.
#ifndef PUM_SCHEMA_NATIVE_NATIVE_HISTOGRAM_H_
#define PUM_SCHEMA_NATIVE_NATIVE_HISTOGRAM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pum {

inline constexpr int kNativeMinSchema = -4, kNativeMaxSchema = 8,
                     kNativeDefaultSchema = 3;
inline constexpr uint32_t kNativeDefaultMaxBuckets = 160;
// 2^-128, client_golang's DefNativeHistogramZeroThreshold: a bucket
// boundary at every schema.
inline constexpr double kNativeZeroThreshold = 2.938735877055719e-39;

// The index of the bucket that holds `abs_value` (> 0; finite, or +Inf for
// the overflow bucket) at `schema` (kNativeMinSchema..kNativeMaxSchema).
int32_t NativeBucketIndex(double abs_value, int schema);

// The upper (inclusive) bound of bucket `index` at `schema`, as Prometheus
// computes it: ldexp of the table's fraction for schema >= 0, a power of two
// for schema < 0; DBL_MAX for the bucket of DBL_MAX, +Inf above it, 0 (or
// a rounded subnormal) far below 2^-1022.
double NativeBucketUpperBound(int32_t index, int schema);

// The lowest and highest bucket index at `schema`: those of the smallest
// subnormal and of +Inf.
int32_t NativeMinBucketIndex(int schema);
int32_t NativeMaxBucketIndex(int schema);

struct NativeHistogram {
  int schema = kNativeDefaultSchema;
  double zero_threshold = kNativeZeroThreshold;
  uint64_t zero_count = 0;
  // (bucket index, count): only non-zero counts, strictly increasing index.
  std::vector<std::pair<int32_t, uint64_t>> positive;
  // The buckets of |value| for the values < -zero_threshold.
  std::vector<std::pair<int32_t, uint64_t>> negative;

  bool operator==(const NativeHistogram& other) const;
  bool operator!=(const NativeHistogram& other) const {
    return !(*this == other);
  }
};

// Adds `n` observations of `value`: |value| <= h->zero_threshold to the zero
// bucket, the others to the positive or negative bucket of |value| at
// h->schema (±Inf to the overflow bucket). NaN, or n == 0, changes nothing.
// The caller keeps the total count below 2^64.
void ObserveNative(double value, uint64_t n, NativeHistogram* h);

// Lowers the resolution of *h to `schema` (kNativeMinSchema..h->schema; a
// higher one changes nothing): bucket i at s becomes bucket ceil(i / 2) at
// s - 1, repeatedly; the counts are summed, never lost.
void ReduceNativeSchema(int schema, NativeHistogram* h);

// Widens the zero bucket of *h to `threshold` (>= h->zero_threshold) as
// Prometheus does: every bucket whose lower bound is below the threshold
// goes into the zero bucket, and if such a bucket reaches above it, the
// threshold becomes that bucket's upper bound (and again). Returns the final
// threshold, now h->zero_threshold.
double WidenNativeZeroBucket(double threshold, NativeHistogram* h);

// Adds `delta` into *h. The result has the lower of the two schemas (the
// other one is reduced first, a copy for `delta`) and the higher of the two
// zero thresholds (both widened to it, as Prometheus' Add does).
void MergeNative(const NativeHistogram& delta, NativeHistogram* h);

// While positive.size() + negative.size() > max_buckets and schema >
// kNativeMinSchema, lowers the schema by one. Returns true if it changed.
bool LimitNativeBuckets(uint32_t max_buckets, NativeHistogram* h);

// zero_count + every bucket's count (modulo 2^64).
uint64_t NativeTotalCount(const NativeHistogram& h);

// The stored form (a column of the SQLite store). Version 1:
//   byte     1 (the version)
//   varint   zig-zag schema
//   varint   0: zero_threshold is kNativeZeroThreshold;
//            1: followed by its 8 bytes (binary64, little-endian)
//   varint   zero_count
//   twice (positive, then negative buckets):
//     varint   the number of buckets
//     per bucket: varint zig-zag (index - previous index; the first one
//                 relative to 0), varint count
// Varints are LEB128 (7 bits a byte, least significant first). An empty
// histogram at the default threshold is 6 bytes. The encoding is canonical.
std::string EncodeNative(const NativeHistogram& h);

// Decodes `bytes` into *out. Returns false (leaving *out unspecified) for
// anything that EncodeNative does not produce from a valid histogram:
// truncated input, trailing bytes, another version, a schema out of range,
// a threshold that is NaN, negative, infinite or explicitly the default,
// overlong varints, indices not strictly increasing or outside
// NativeMinBucketIndex..NativeMaxBucketIndex, a first bucket whose upper
// bound is not above the zero threshold, a zero count, a total count past
// 2^64 - 1.
bool DecodeNative(std::string_view bytes, NativeHistogram* out);

}  // namespace pum

#endif  // PUM_SCHEMA_NATIVE_NATIVE_HISTOGRAM_H_
