#include "schema/store/native_column.h"

#include <cmath>
#include <limits>

#include "schema/store/bucket_codec.h"

namespace pum {
namespace {

// The cap as a 4-byte little-endian prefix of the delta argument.
constexpr size_t kCapBytes = 4;

uint64_t ClassicTotal(const Buckets& buckets) {
  uint64_t total = 0;
  for (const auto& bucket : buckets) total += bucket.second;
  return total;
}

// Where the observations of a classic bucket are put when seeding.
double SeedValue(const Buckets& buckets, size_t i) {
  if (std::isfinite(buckets[i].first)) return buckets[i].first;
  for (size_t j = i; j-- > 0;) {
    if (std::isfinite(buckets[j].first)) return buckets[j].first;
  }
  return 1;
}

}  // namespace

NativeHistogram NativeFromClassic(const Buckets& buckets) {
  NativeHistogram h;
  h.schema = kNativeMaxSchema;
  for (size_t i = 0; i < buckets.size(); ++i) {
    ObserveNative(SeedValue(buckets, i), buckets[i].second, &h);
  }
  return h;
}

std::string EncodeNativeDelta(const NativeHistogram& delta,
                              uint32_t max_buckets) {
  std::string out(kCapBytes, '\0');
  for (size_t i = 0; i < kCapBytes; ++i) {
    out[i] = static_cast<char>((max_buckets >> (8 * i)) & 0xff);
  }
  return out + EncodeNative(delta);
}

bool SeedNativeColumn(std::string_view native, std::string_view classic,
                      std::string* out) {
  out->clear();
  Buckets buckets;
  if (!DecodeBuckets(classic, &buckets)) return false;
  const uint64_t total = ClassicTotal(buckets);
  NativeHistogram h;
  if (!native.empty()) {
    if (!DecodeNative(native, &h)) return false;
    if (NativeTotalCount(h) == total) {
      out->assign(native);
      return true;
    }
  }
  if (total == 0) return true;  // nothing observed: no native part yet
  *out = EncodeNative(NativeFromClassic(buckets));
  return true;
}

bool MergeNativeColumn(std::string_view native, std::string_view delta,
                       std::string* out) {
  out->clear();
  if (delta.empty()) {
    out->assign(native);
    return true;
  }
  if (delta.size() < kCapBytes) return false;
  uint32_t cap = 0;
  for (size_t i = 0; i < kCapBytes; ++i) {
    cap |= static_cast<uint32_t>(static_cast<unsigned char>(delta[i]))
           << (8 * i);
  }
  NativeHistogram add;
  if (!DecodeNative(delta.substr(kCapBytes), &add)) return false;
  NativeHistogram h;
  if (native.empty()) {
    h.schema = add.schema;
  } else if (!DecodeNative(native, &h)) {
    return false;
  }
  if (NativeTotalCount(h) >
      std::numeric_limits<uint64_t>::max() - NativeTotalCount(add)) {
    return false;
  }
  MergeNative(add, &h);
  LimitNativeBuckets(cap, &h);
  *out = EncodeNative(h);
  return true;
}

}  // namespace pum
