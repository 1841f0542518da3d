#include "schema/native/native_histogram.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace pum {
namespace {

using Buckets = std::vector<std::pair<int32_t, uint64_t>>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kDenormMin = std::numeric_limits<double>::denorm_min();

double Up(double v) { return std::nextafter(v, kInf); }
double Down(double v) { return std::nextafter(v, 0.0); }

// ceil(k / 2^shift) by hand, independently of the code under test.
int64_t CeilDiv(int64_t k, int64_t d) {
  return k >= 0 ? (k + d - 1) / d : -((-k) / d);
}

NativeHistogram Observed(int schema, const std::vector<double>& values,
                         double zero_threshold = kNativeZeroThreshold) {
  NativeHistogram h;
  h.schema = schema;
  h.zero_threshold = zero_threshold;
  for (double v : values) ObserveNative(v, 1, &h);
  return h;
}

// Magnitudes 10^u, u uniform in [lo_exp10, hi_exp10], with random signs.
std::vector<double> RandomValues(std::mt19937_64* rng, size_t n,
                                 double lo_exp10, double hi_exp10) {
  std::uniform_real_distribution<double> exp10(lo_exp10, hi_exp10);
  std::bernoulli_distribution negative(0.3);
  std::vector<double> values;
  for (size_t i = 0; i < n; ++i) {
    const double v = std::pow(10.0, exp10(*rng));
    values.push_back(negative(*rng) ? -v : v);
  }
  return values;
}

// ---------------------------------------------------------------- indices

TEST(NativeHistogram, PowersOfTwoEndTheirBucketAtEverySchema) {
  for (int s = kNativeMinSchema; s <= kNativeMaxSchema; ++s) {
    for (int k = -1074; k <= 1023; ++k) {
      const double v = std::ldexp(1.0, k);
      // At s >= 0, 2^k is the upper bound of bucket k * 2^s; at s < 0 it
      // lies in bucket ceil(k / 2^-s), and ends it when 2^-s divides k.
      const int64_t want = s >= 0 ? int64_t{k} * (1 << s) : CeilDiv(k, 1 << -s);
      ASSERT_EQ(NativeBucketIndex(v, s), want) << "2^" << k << " s=" << s;
      const bool is_bound = s >= 0 || k % (1 << -s) == 0;
      if (is_bound) {
        EXPECT_EQ(NativeBucketUpperBound(want, s), v) << k << " s=" << s;
      }
      if (k < -1021) continue;  // subnormal neighbours: coarser spacing
      EXPECT_EQ(NativeBucketIndex(Up(v), s), want + (is_bound ? 1 : 0))
          << "just above 2^" << k << " s=" << s;
      EXPECT_EQ(NativeBucketIndex(Down(v), s), want)
          << "just below 2^" << k << " s=" << s;
    }
  }
}

TEST(NativeHistogram, OneIsTheUpperBoundOfBucketZero) {
  for (int s = kNativeMinSchema; s <= kNativeMaxSchema; ++s) {
    EXPECT_EQ(NativeBucketIndex(1.0, s), 0) << s;
    EXPECT_EQ(NativeBucketUpperBound(0, s), 1.0) << s;
    EXPECT_EQ(NativeBucketIndex(Up(1.0), s), 1) << s;
    EXPECT_EQ(NativeBucketIndex(Down(1.0), s), 0) << s;
  }
}

// Prometheus' tables for schemas 2 and 3 (client_golang
// prometheus/histogram.go nativeHistogramBounds, the same as
// prometheus/prometheus model/histogram/generic.go exponentialBounds),
// typed in here to check the one the code keeps (schema 8's, subsampled).
TEST(NativeHistogram, BoundsTableMatchesPrometheus) {
  const std::vector<double> schema2 = {0.5, 0.5946035575013605,
                                       0.7071067811865475, 0.8408964152537144};
  const std::vector<double> schema3 = {0.5,
                                       0.5452538663326288,
                                       0.5946035575013605,
                                       0.6484197773255048,
                                       0.7071067811865475,
                                       0.7711054127039704,
                                       0.8408964152537144,
                                       0.9170040432046711};
  const std::pair<int, const std::vector<double>*> tables[] = {{2, &schema2},
                                                               {3, &schema3}};
  for (const auto& [s, table] : tables) {
    for (size_t k = 0; k < table->size(); ++k) {
      // Bucket k - 2^s has its bound at frac * 2^0.
      const int32_t index = static_cast<int32_t>(k) - (1 << s);
      EXPECT_EQ(NativeBucketUpperBound(index, s), (*table)[k]) << s << " " << k;
    }
  }
  // Every bound of every schema is 2^(i / 2^s) to within an ulp or two
  // (the table-vs-pow rounding that Prometheus itself has).
  for (int s = 1; s <= kNativeMaxSchema; ++s) {
    for (int32_t i = -(1 << s); i <= (1 << s); ++i) {
      const double bound = NativeBucketUpperBound(i, s);
      const double pow = std::exp2(static_cast<double>(i) / (1 << s));
      EXPECT_NEAR(bound, pow, 4 * DBL_EPSILON * pow) << s << " " << i;
    }
  }
}

TEST(NativeHistogram, TableBoundsEndTheirBucket) {
  for (int s = 1; s <= kNativeMaxSchema; ++s) {
    for (int e : {-1021, -128, -1, 0, 1, 10, 1023}) {
      for (int32_t k = 0; k < (1 << s); ++k) {
        // Bucket i, whose bound is table[k] * 2^e.
        const int32_t i = k + (e - 1) * (1 << s);
        const double bound = NativeBucketUpperBound(i, s);
        ASSERT_EQ(NativeBucketIndex(bound, s), i) << s << " " << e << " " << k;
        EXPECT_EQ(NativeBucketIndex(Up(bound), s), i + 1) << s << " " << i;
        EXPECT_EQ(NativeBucketIndex(Down(bound), s), i) << s << " " << i;
      }
    }
  }
}

// Hand-computed (ceil(log2(v) * 2^s), far from any bound) and read from
// Prometheus' own tests: client_golang prometheus/histogram_test.go
// TestNativeHistogram ("factor 1.1 results in schema 3": 1, 2, 3 in buckets
// 0, 8, 13; "factor 1.2 results in schema 2"; "factor 4 results in schema
// -1"; "factor 17 results in schema -2"; "+Inf observation": 4097 at schema
// 2).
TEST(NativeHistogram, IndexMatchesPrometheusAndHandComputedValues) {
  struct Case {
    double value;
    int schema;
    int32_t index;
  };
  const Case cases[] = {
      {1, 3, 0},
      {2, 3, 8},
      {3, 3, 13},
      {1.2, 2, 2},
      {1.4, 2, 2},
      {1.8, 2, 4},
      {2, 2, 4},
      {kInf, 2, 4097},
      {0.0156251, -1, -2},
      {0.0625, -1, -2},
      {0.1, -1, -1},
      {0.25, -1, -1},
      {0.5, -1, 0},
      {1.5, -1, 1},
      {3.5, -1, 1},
      {5, -1, 2},
      {7, -1, 2},
      {33.33, -1, 3},
      {0.0156251, -2, -1},
      {0.0625, -2, -1},
      {0.1, -2, 0},
      {1.5, -2, 1},
      {7, -2, 1},
      {33.33, -2, 2},
      // Hand-computed.
      {1e300, -4, 63},
      {1e300, -1, 499},
      {1e300, 0, 997},
      {1e300, 3, 7973},
      {1e300, 8, 255125},
      {1e-300, -4, -62},
      {1e-300, -1, -498},
      {1e-300, 0, -996},
      {1e-300, 3, -7972},
      {1e-300, 8, -255124},
      {0.1, -4, 0},
      {0.1, 0, -3},
      {0.1, 3, -26},
      {0.1, 8, -850},
      {1e6, -4, 2},
      {1e6, 0, 20},
      {1e6, 3, 160},
      {1e6, 8, 5103},
      {123.456, -1, 4},
      {123.456, 8, 1779},
      // DBL_MAX, +Inf just above it, the smallest subnormal.
      {DBL_MAX, -4, 64},
      {DBL_MAX, 0, 1024},
      {DBL_MAX, 8, 1024 * 256},
      {kInf, -4, 65},
      {kInf, 8, 1024 * 256 + 1},
      {kDenormMin, -4, -67},
      {kDenormMin, 0, -1074},
      {kDenormMin, 8, -1074 * 256},
      {Up(kDenormMin), 0, -1073},
      {DBL_MIN, 0, -1022},
      {Down(DBL_MIN), 0, -1022},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NativeBucketIndex(c.value, c.schema), c.index)
        << c.value << " at schema " << c.schema;
  }
}

// prometheus/prometheus model/histogram/generic_test.go
// TestGetBoundExponential.
TEST(NativeHistogram, UpperBoundMatchesPrometheus) {
  struct Case {
    int32_t index;
    int schema;
    double bound;
  };
  const Case cases[] = {
      {-1, -1, 0.25},
      {0, -1, 1},
      {1, -1, 4},
      {512, -1, DBL_MAX},
      {513, -1, kInf},
      {-1, 0, 0.5},
      {0, 0, 1},
      {1, 0, 2},
      {1024, 0, DBL_MAX},
      {1025, 0, kInf},
      {-1, 2, 0.8408964152537144},
      {0, 2, 1},
      {1, 2, 1.189207115002721},
      {4096, 2, DBL_MAX},
      {4097, 2, kInf},
      {64, -4, DBL_MAX},
      {65, -4, kInf},
      {1024 * 256, 8, DBL_MAX},
      {1024 * 256 + 1, 8, kInf},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NativeBucketUpperBound(c.index, c.schema), c.bound)
        << c.index << " at schema " << c.schema;
  }
  for (int s = kNativeMinSchema; s <= kNativeMaxSchema; ++s) {
    EXPECT_EQ(NativeMinBucketIndex(s), NativeBucketIndex(kDenormMin, s));
    EXPECT_EQ(NativeMaxBucketIndex(s), NativeBucketIndex(DBL_MAX, s) + 1);
  }
}

TEST(NativeHistogram, RandomValuesLieWithinTheirBucketsBounds) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> frac(0.5, 1.0);
  std::uniform_int_distribution<int> exp(-1021, 1024);
  std::uniform_int_distribution<int> sub_exp(-1073, -1022);
  for (int s = kNativeMinSchema; s <= kNativeMaxSchema; ++s) {
    for (int n = 0; n < 20000; ++n) {
      const double v = std::ldexp(frac(rng), exp(rng));
      const int32_t i = NativeBucketIndex(v, s);
      ASSERT_LT(NativeBucketUpperBound(i - 1, s), v) << v << " s=" << s;
      ASSERT_LE(v, NativeBucketUpperBound(i, s)) << v << " s=" << s;
      // Independently of the table: 2^((i-1)/2^s) < v <= 2^(i/2^s), to
      // within the rounding of exp2.
      const double lo = std::exp2(std::ldexp(i - 1.0, -s));
      const double hi = std::exp2(std::ldexp(static_cast<double>(i), -s));
      ASSERT_LT(lo, v * (1 + 1e-12)) << v << " s=" << s;
      ASSERT_LE(v, hi * (1 + 1e-12)) << v << " s=" << s;
    }
    // Subnormals: Prometheus' ldexp rounds a bound there to the subnormal
    // grid, so only lower <= v <= upper holds.
    for (int n = 0; n < 2000; ++n) {
      const double v = std::ldexp(frac(rng), sub_exp(rng));
      if (v == 0) continue;
      const int32_t i = NativeBucketIndex(v, s);
      ASSERT_LE(NativeBucketUpperBound(i - 1, s), v) << v << " s=" << s;
      ASSERT_LE(v, NativeBucketUpperBound(i, s)) << v << " s=" << s;
    }
  }
}

// ---------------------------------------------------------------- observe

TEST(NativeHistogram, ObserveSortsValuesIntoZeroPositiveAndNegativeBuckets) {
  const double t = kNativeZeroThreshold;
  EXPECT_EQ(t, std::ldexp(1.0, -128));
  struct Case {
    double value;
    uint64_t zero;
    Buckets positive, negative;
  };
  // Schema 3: 2^-128 ends bucket -1024.
  const Case cases[] = {
      {0.0, 1, {}, {}},
      {-0.0, 1, {}, {}},
      {t, 1, {}, {}},
      {-t, 1, {}, {}},
      {kDenormMin, 1, {}, {}},
      {-DBL_MIN, 1, {}, {}},
      {Up(t), 0, {{-1023, 1}}, {}},
      {-Up(t), 0, {}, {{-1023, 1}}},
      {1.0, 0, {{0, 1}}, {}},
      {-3.0, 0, {}, {{13, 1}}},
      {1e-300, 1, {}, {}},
      {DBL_MAX, 0, {{8192, 1}}, {}},
      {kInf, 0, {{8193, 1}}, {}},
      {-kInf, 0, {}, {{8193, 1}}},
      {std::nan(""), 0, {}, {}},
  };
  for (const Case& c : cases) {
    NativeHistogram h;
    ObserveNative(c.value, 1, &h);
    EXPECT_EQ(h.zero_count, c.zero) << c.value;
    EXPECT_EQ(h.positive, c.positive) << c.value;
    EXPECT_EQ(h.negative, c.negative) << c.value;
    EXPECT_EQ(h.schema, kNativeDefaultSchema);
  }
}

TEST(NativeHistogram, ObserveKeepsBucketsSortedAndAddsCounts) {
  NativeHistogram h;
  h.schema = 2;
  // client_golang's "factor 1.2 results in schema 2", with n > 1.
  for (double v : {2.0, 1.2, 0.0, 1.0, 1.8, 1.4}) ObserveNative(v, 3, &h);
  ObserveNative(5.0, 0, &h);
  EXPECT_EQ(h.zero_count, 3u);
  EXPECT_EQ(h.positive, (Buckets{{0, 3}, {2, 6}, {4, 6}}));
  EXPECT_TRUE(h.negative.empty());
  EXPECT_EQ(NativeTotalCount(h), 18u);
}

TEST(NativeHistogram, EqualityComparesEveryField) {
  const NativeHistogram base = Observed(3, {1, -2, 0});
  NativeHistogram other = base;
  EXPECT_TRUE(base == other);
  other.schema = 2;
  EXPECT_FALSE(base == other);
  other = base;
  other.zero_threshold = 0;
  EXPECT_FALSE(base == other);
  other = base;
  other.zero_count++;
  EXPECT_FALSE(base == other);
  other = base;
  other.positive[0].second++;
  EXPECT_FALSE(base == other);
  other = base;
  other.negative[0].first++;
  EXPECT_TRUE(base != other);
}

// ---------------------------------------------------------------- reduce

TEST(NativeHistogram, ReducingEqualsObservingAtTheLowerSchema) {
  std::mt19937_64 rng(7);
  const std::vector<double> values = RandomValues(&rng, 3000, -40, 40);
  for (int s = kNativeMinSchema; s <= kNativeMaxSchema; ++s) {
    const NativeHistogram at_s = Observed(s, values);
    ASSERT_EQ(NativeTotalCount(at_s), values.size());
    for (int target = kNativeMinSchema; target <= s; ++target) {
      NativeHistogram reduced = at_s;
      ReduceNativeSchema(target, &reduced);
      EXPECT_EQ(reduced, Observed(target, values)) << s << " -> " << target;
      EXPECT_EQ(NativeTotalCount(reduced), values.size());
    }
  }
}

TEST(NativeHistogram, ReduceMergesBucketsIntoTheirCeilingHalf) {
  struct Case {
    int from, to;
    Buckets before, after;
  };
  const Case cases[] = {
      // prometheus/prometheus model/histogram/generic_test.go
      // TestReduceResolutionHistogram (its deltas as absolute counts).
      {0,
       -1,
       {{0, 1}, {1, 3}, {2, 1}, {3, 2}, {7, 1}, {8, 1}},
       {{0, 1}, {1, 4}, {2, 2}, {4, 2}}},
      {3, 2, {{-3, 1}, {-2, 2}, {-1, 4}, {0, 8}}, {{-1, 3}, {0, 12}}},
      {3,
       1,
       {{-4, 1}, {-3, 2}, {1, 4}, {4, 8}, {5, 16}},
       {{-1, 1}, {0, 2}, {1, 12}, {2, 16}}},
      {8, 8, {{5, 1}}, {{5, 1}}},
      {2, 5, {{5, 1}}, {{5, 1}}},  // a higher schema changes nothing
  };
  for (const Case& c : cases) {
    NativeHistogram h;
    h.schema = c.from;
    h.positive = c.before;
    h.negative = c.before;
    ReduceNativeSchema(c.to, &h);
    EXPECT_EQ(h.schema, std::min(c.from, c.to));
    EXPECT_EQ(h.positive, c.after) << c.from << " -> " << c.to;
    EXPECT_EQ(h.negative, c.after) << c.from << " -> " << c.to;
  }
}

// ---------------------------------------------------------------- merge

TEST(NativeHistogram, MergeOfDifferentSchemasTakesTheLowerOne) {
  std::mt19937_64 rng(11);
  const std::vector<double> a = RandomValues(&rng, 500, -10, 10);
  const std::vector<double> b = RandomValues(&rng, 500, -10, 10);
  std::vector<double> both = a;
  both.insert(both.end(), b.begin(), b.end());
  for (int sa = kNativeMinSchema; sa <= kNativeMaxSchema; sa += 3) {
    for (int sb = kNativeMinSchema; sb <= kNativeMaxSchema; sb += 2) {
      const NativeHistogram want = Observed(std::min(sa, sb), both);
      NativeHistogram h = Observed(sa, a);
      const NativeHistogram delta = Observed(sb, b);
      MergeNative(delta, &h);
      EXPECT_EQ(h, want) << sa << " + " << sb;
      EXPECT_EQ(delta, Observed(sb, b)) << "delta is not changed";
      NativeHistogram g = Observed(sb, b);
      MergeNative(Observed(sa, a), &g);
      EXPECT_EQ(g, want) << sb << " + " << sa;
    }
  }
  NativeHistogram empty;
  NativeHistogram h = Observed(3, a);
  MergeNative(empty, &h);
  EXPECT_EQ(h, Observed(3, a));
  MergeNative(h, &empty);
  EXPECT_EQ(empty, Observed(3, a));
}

// The larger threshold wins and moves buckets into the zero bucket, widened
// to a bucket boundary as Prometheus' FloatHistogram.Add
// (zeroCountForLargerThreshold) does.
TEST(NativeHistogram, MergeWidensTheZeroBucketToTheLargerThreshold) {
  NativeHistogram h = Observed(2, {0.5, 1, 1.2, 1.4, 1.5, 2, -1.3});
  const NativeHistogram delta = Observed(2, {1, 2}, 1.3);
  EXPECT_EQ(delta.zero_count, 1u);
  MergeNative(delta, &h);
  // 1.3 lies in bucket 2, (2^0.25, 2^0.5], which goes into the zero bucket
  // whole: 0.5, 1, 1.2, 1.4 and -1.3 from h, 1 from delta.
  EXPECT_EQ(h.zero_threshold, NativeBucketUpperBound(2, 2));
  // Prometheus' table has 0.7071067811865475 for 2^-0.5, an ulp below
  // the double nearest to it: so the bound is an ulp below sqrt(2) too.
  EXPECT_EQ(h.zero_threshold, 1.414213562373095);
  EXPECT_EQ(std::nextafter(h.zero_threshold, kInf), std::sqrt(2.0));
  EXPECT_EQ(h.zero_count, 6u);
  EXPECT_EQ(h.positive, (Buckets{{3, 1}, {4, 2}}));
  EXPECT_TRUE(h.negative.empty());
  EXPECT_EQ(NativeTotalCount(h), 9u);

  // The same the other way round.
  NativeHistogram g = delta;
  MergeNative(Observed(2, {0.5, 1, 1.2, 1.4, 1.5, 2, -1.3}), &g);
  EXPECT_EQ(g, h);

  // A threshold on a bucket boundary moves whole buckets only.
  NativeHistogram k = Observed(2, {1, 1.1, 2});
  EXPECT_EQ(WidenNativeZeroBucket(1.0, &k), 1.0);
  EXPECT_EQ(k.zero_count, 1u);
  EXPECT_EQ(k.positive, (Buckets{{1, 1}, {4, 1}}));
}

// ---------------------------------------------------------------- limit

TEST(NativeHistogram, LimitHalvesTheResolutionLikeClientGolang) {
  // client_golang prometheus/histogram_test.go TestNativeHistogram,
  // "buckets limited by halving resolution": schema 2, at most 4 buckets.
  NativeHistogram h = Observed(2, {0, 1, 1.1, 1.2, 1.4, 1.8, 2, 3});
  EXPECT_EQ(h.positive.size(), 5u);
  EXPECT_TRUE(LimitNativeBuckets(4, &h));
  EXPECT_EQ(h.schema, 1);
  EXPECT_EQ(h.zero_count, 1u);
  EXPECT_EQ(h.positive, (Buckets{{0, 1}, {1, 3}, {2, 2}, {4, 1}}));
  EXPECT_FALSE(LimitNativeBuckets(4, &h));
  EXPECT_EQ(h.schema, 1);
}

TEST(NativeHistogram, LimitKeepsTheCountAndEndsWithinTheLimit) {
  std::mt19937_64 rng(3);
  // 12 orders of magnitude, both signs.
  const std::vector<double> values = RandomValues(&rng, 20000, -6, 6);
  struct Case {
    uint32_t max_buckets;
    int start_schema;
  };
  const Case cases[] = {{kNativeDefaultMaxBuckets, 8},
                        {kNativeDefaultMaxBuckets, 3},
                        {40, 8},
                        {1000, 8},
                        {0, 8},
                        {100000, 3}};
  for (const Case& c : cases) {
    NativeHistogram h = Observed(c.start_schema, values);
    const size_t before = h.positive.size() + h.negative.size();
    const bool changed = LimitNativeBuckets(c.max_buckets, &h);
    const size_t after = h.positive.size() + h.negative.size();
    EXPECT_EQ(NativeTotalCount(h), values.size()) << c.max_buckets;
    EXPECT_TRUE(after <= c.max_buckets || h.schema == kNativeMinSchema)
        << c.max_buckets << ": " << after;
    EXPECT_EQ(changed, before > c.max_buckets) << c.max_buckets;
    EXPECT_EQ(h, Observed(h.schema, values)) << c.max_buckets;
    if (h.schema < c.start_schema && h.schema > kNativeMinSchema) {
      // It stopped at the first schema within the limit.
      const NativeHistogram finer = Observed(h.schema + 1, values);
      EXPECT_GT(finer.positive.size() + finer.negative.size(), c.max_buckets);
    }
  }
  NativeHistogram h = Observed(8, values);
  LimitNativeBuckets(0, &h);
  EXPECT_EQ(h.schema, kNativeMinSchema);
  // (2^-32, 2^-16], (2^-16, 1], (1, 2^16], (2^16, 2^32]
  EXPECT_EQ(h.positive, Observed(kNativeMinSchema, values).positive);
  EXPECT_EQ(h.positive.size(), 4u);
}

// ---------------------------------------------------------------- codec

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

uint64_t ZigZag(int64_t v) {
  return v >= 0 ? static_cast<uint64_t>(v) * 2
                : static_cast<uint64_t>(-(v + 1)) * 2 + 1;
}

std::string Le64(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
  return out;
}

// A version 1 encoding: schema, threshold tag (and bytes), zero count,
// positive buckets, negative buckets; indices as zig-zag deltas.
std::string Encoding(
    int64_t schema, const std::string& threshold, uint64_t zero,
    const std::vector<std::pair<int64_t, uint64_t>>& pos,
    const std::vector<std::pair<int64_t, uint64_t>>& neg = {}) {
  std::string out(1, '\1');
  out += Varint(ZigZag(schema)) + threshold + Varint(zero);
  for (const auto* side : {&pos, &neg}) {
    out += Varint(side->size());
    for (const auto& [delta, count] : *side) {
      out += Varint(ZigZag(delta)) + Varint(count);
    }
  }
  return out;
}

const std::string kDefault = Varint(0);

TEST(NativeHistogram, EncodesCompactlyAsDocumented) {
  EXPECT_EQ(EncodeNative(NativeHistogram()), std::string("\1\6\0\0\0\0", 6));
  NativeHistogram h = Observed(3, {0, 0, 1, 2, 3, -1});
  EXPECT_EQ(EncodeNative(h),
            std::string("\1\6\0\2\3\0\1\x10\1\x0a\1\1\0\1", 14));
  h.zero_threshold = 0.5;
  EXPECT_EQ(EncodeNative(h), Encoding(3, Varint(1) + Le64(0.5), 2,
                                      {{0, 1}, {8, 1}, {5, 1}}, {{0, 1}}));
  for (int s = kNativeMinSchema; s <= kNativeMaxSchema; ++s) {
    NativeHistogram empty;
    empty.schema = s;
    EXPECT_EQ(EncodeNative(empty).size(), 6u) << s;
  }
}

TEST(NativeHistogram, CodecRoundTripsExactly) {
  std::vector<NativeHistogram> cases;
  cases.push_back(NativeHistogram());
  for (int s : {kNativeMinSchema, 0, kNativeMaxSchema}) {
    NativeHistogram h;
    h.schema = s;
    h.zero_threshold = 0;
    h.positive = {{NativeMinBucketIndex(s), 1}, {NativeMaxBucketIndex(s), 2}};
    h.negative = {{NativeMaxBucketIndex(s), 3}};
    cases.push_back(h);
  }
  NativeHistogram full;
  full.zero_count = UINT64_MAX - 3;
  full.positive = {{-5, 1}, {5, 1}};
  full.negative = {{0, 1}};
  cases.push_back(full);
  cases.push_back(Observed(2, {1, 2, 3, -4, 0}, 1.4));
  cases.push_back(Observed(-4, {1e-30, 1e30, -1e-10}, DBL_MAX / 2));
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> schema(kNativeMinSchema, kNativeMaxSchema);
  for (int i = 0; i < 200; ++i) {
    const double threshold = i % 3 == 0   ? kNativeZeroThreshold
                             : i % 3 == 1 ? 0.0
                                          : std::ldexp(1.0, i % 40 - 20) * 1.3;
    NativeHistogram h =
        Observed(schema(rng), RandomValues(&rng, i * 5, -30, 30), threshold);
    ObserveNative(1.0, rng() >> 1, &h);  // big counts too
    cases.push_back(h);
  }
  for (const NativeHistogram& h : cases) {
    const std::string bytes = EncodeNative(h);
    NativeHistogram decoded = Observed(5, {7, -7});
    ASSERT_TRUE(DecodeNative(bytes, &decoded)) << h.schema;
    EXPECT_EQ(decoded, h);
    EXPECT_EQ(EncodeNative(decoded), bytes);
    // Every proper prefix is refused.
    for (size_t n = 0; n < bytes.size(); ++n) {
      NativeHistogram junk;
      EXPECT_FALSE(DecodeNative(std::string_view(bytes).substr(0, n), &junk))
          << n << " of " << bytes.size();
    }
  }
}

TEST(NativeHistogram, DecoderRefusesMalformedInput) {
  const std::string nan = Varint(1) + Le64(std::nan(""));
  struct Case {
    const char* what;
    std::string bytes;
  };
  const Case cases[] = {
      {"empty", ""},
      {"version 0", std::string("\0\6\0\0\0\0", 6)},
      {"version 2", std::string("\2\6\0\0\0\0", 6)},
      {"trailing byte", Encoding(3, kDefault, 0, {}) + "x"},
      {"schema 9", Encoding(9, kDefault, 0, {})},
      {"schema -5", Encoding(-5, kDefault, 0, {})},
      {"schema 2^40", Encoding(int64_t{1} << 40, kDefault, 0, {})},
      {"threshold tag 2", Encoding(3, Varint(2) + Le64(1), 0, {})},
      {"explicit default threshold",
       Encoding(3, Varint(1) + Le64(kNativeZeroThreshold), 0, {})},
      {"NaN threshold", Encoding(3, nan, 0, {})},
      {"negative threshold", Encoding(3, Varint(1) + Le64(-1), 0, {})},
      {"-0 threshold", Encoding(3, Varint(1) + Le64(-0.0), 0, {})},
      {"infinite threshold", Encoding(3, Varint(1) + Le64(kInf), 0, {})},
      {"short threshold", std::string("\1\6\1\0\0\0\0", 7)},
      {"overlong varint", std::string("\1\6\0\x80\0\0\0", 7)},
      {"11-byte varint", std::string("\1\6\0", 3) + std::string(10, '\xff') +
                             "\1" + std::string("\0\0", 2)},
      {"varint past 64 bits", std::string("\1\6\0", 3) +
                                  std::string(9, '\xff') + "\2" +
                                  std::string("\0\0", 2)},
      {"index twice", Encoding(3, kDefault, 0, {{1, 1}, {0, 1}})},
      {"index decreasing", Encoding(3, kDefault, 0, {{1, 1}, {-1, 1}})},
      {"negative index twice", Encoding(3, kDefault, 0, {}, {{4, 1}, {0, 2}})},
      {"index above +Inf's", Encoding(3, kDefault, 0, {{8194, 1}})},
      {"index above +Inf's by delta",
       Encoding(3, kDefault, 0, {{8193, 1}, {1, 1}})},
      {"huge delta", Encoding(3, kDefault, 0, {{1, 1}, {int64_t{1} << 62, 1}})},
      {"index below the smallest subnormal's",
       Encoding(3, Varint(1) + Le64(0), 0, {{-1074 * 8 - 1, 1}})},
      {"bucket within the zero bucket", Encoding(3, kDefault, 0, {{-1024, 1}})},
      {"negative bucket within the zero bucket",
       Encoding(2, Varint(1) + Le64(1.0), 0, {}, {{0, 1}})},
      {"zero count", Encoding(3, kDefault, 0, {{0, 0}})},
      {"zero negative count", Encoding(3, kDefault, 0, {}, {{0, 1}, {1, 0}})},
      {"total past 2^64", Encoding(3, kDefault, UINT64_MAX, {{0, 1}})},
      {"total past 2^64 in buckets",
       Encoding(3, kDefault, 0, {{0, UINT64_MAX}}, {{0, 1}})},
      {"more buckets than bytes",
       std::string("\1\6\0\0", 4) + Varint(1000) + std::string("\0\1", 2)},
      {"missing negative side", std::string("\1\6\0\0\0", 5)},
  };
  for (const Case& c : cases) {
    NativeHistogram h;
    EXPECT_FALSE(DecodeNative(c.bytes, &h)) << c.what;
  }
  // The limits themselves are accepted.
  const Case good[] = {
      {"index of +Inf", Encoding(3, kDefault, 0, {{8193, 1}})},
      {"smallest subnormal's",
       Encoding(3, Varint(1) + Le64(0), 0, {{-1074 * 8, 1}})},
      {"just above the zero bucket", Encoding(3, kDefault, 0, {{-1023, 1}})},
      {"total 2^64 - 1", Encoding(3, kDefault, UINT64_MAX - 1, {{0, 1}})},
      {"10-byte varint", Encoding(3, kDefault, UINT64_MAX, {})},
  };
  for (const Case& c : good) {
    NativeHistogram h;
    EXPECT_TRUE(DecodeNative(c.bytes, &h)) << c.what;
    EXPECT_EQ(EncodeNative(h), c.bytes) << c.what;
  }
}

}  // namespace
}  // namespace pum
