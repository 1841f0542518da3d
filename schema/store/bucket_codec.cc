#include "schema/store/bucket_codec.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

namespace pum {
namespace {

static_assert(sizeof(double) == 8, "binary64 doubles");

uint64_t LoadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

void StoreLe64(uint64_t v, char* p) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

double BitsToDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

uint64_t DoubleToBits(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

void Append(double le, uint64_t count, std::string* out) {
  char bytes[kEncodedBucketBytes];
  StoreLe64(DoubleToBits(le), bytes);
  StoreLe64(count, bytes + 8);
  out->append(bytes, sizeof bytes);
}

// Reads bucket `i` of a blob whose size was checked.
void At(std::string_view in, size_t i, double* le, uint64_t* count) {
  const char* p = in.data() + i * kEncodedBucketBytes;
  *le = BitsToDouble(LoadLe64(p));
  *count = LoadLe64(p + 8);
}

// A canonical blob: whole buckets, bounds strictly ascending and not NaN,
// counts non-zero.
bool Canonical(std::string_view in) {
  if (in.size() % kEncodedBucketBytes != 0) return false;
  const size_t n = in.size() / kEncodedBucketBytes;
  double previous = 0;
  for (size_t i = 0; i < n; ++i) {
    double le = 0;
    uint64_t count = 0;
    At(in, i, &le, &count);
    if (std::isnan(le) || count == 0 || (i > 0 && !(previous < le))) {
      return false;
    }
    previous = le;
  }
  return true;
}

}  // namespace

void EncodeBuckets(const Buckets& buckets, std::string* out) {
  out->clear();
  // Already canonical (what the validator gives: by bound, observed ones
  // only): encoded as is, with no copy.
  bool canonical = true;
  for (size_t i = 0; i < buckets.size() && canonical; ++i) {
    canonical = buckets[i].second != 0 &&
                (i == 0 || buckets[i - 1].first < buckets[i].first);
  }
  if (canonical) {
    out->reserve(buckets.size() * kEncodedBucketBytes);
    for (const auto& [le, count] : buckets) Append(le, count, out);
    return;
  }
  Buckets sorted;
  sorted.reserve(buckets.size());
  for (const auto& bucket : buckets) {
    assert(!std::isnan(bucket.first));
    if (bucket.second != 0) sorted.push_back(bucket);
  }
  std::sort(sorted.begin(), sorted.end());
  out->reserve(sorted.size() * kEncodedBucketBytes);
  for (size_t i = 0; i < sorted.size();) {
    const double le = sorted[i].first;
    uint64_t count = 0;
    for (; i < sorted.size() && sorted[i].first == le; ++i) {
      count += sorted[i].second;
    }
    Append(le, count, out);
  }
}

bool DecodeBuckets(std::string_view in, Buckets* out) {
  out->clear();
  if (!Canonical(in)) return false;
  const size_t n = in.size() / kEncodedBucketBytes;
  out->resize(n);
  for (size_t i = 0; i < n; ++i) At(in, i, &(*out)[i].first, &(*out)[i].second);
  return true;
}

bool MergeEncodedBuckets(std::string_view a, std::string_view b,
                         std::string* out) {
  out->clear();
  if (!Canonical(a) || !Canonical(b)) return false;
  const size_t na = a.size() / kEncodedBucketBytes;
  const size_t nb = b.size() / kEncodedBucketBytes;
  out->reserve(a.size() + b.size());
  size_t i = 0;
  size_t j = 0;
  while (i < na || j < nb) {
    double la = 0, lb = 0;
    uint64_t ca = 0, cb = 0;
    if (i < na) At(a, i, &la, &ca);
    if (j < nb) At(b, j, &lb, &cb);
    if (j == nb || (i < na && la < lb)) {
      Append(la, ca, out);
      ++i;
    } else if (i == na || lb < la) {
      Append(lb, cb, out);
      ++j;
    } else {
      if (ca > UINT64_MAX - cb) return false;
      Append(la, ca + cb, out);
      ++i;
      ++j;
    }
  }
  return true;
}

}  // namespace pum
