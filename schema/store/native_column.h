// The native column: how the store keeps a histogram's native (sparse
// exponential) part in histograms.native (schema version 4), and the SQL
// functions the histogram upserts merge a delta into it with.
//
// Contract:
//   - The column holds EncodeNative() of the series' native histogram, or
//     the empty blob for a series without a native part.
//   - A delta's native part is bound to the upserts as
//     EncodeNativeDelta(delta, max_buckets): the bucket cap travels with the
//     delta, so the merge needs no other state.
//   - SeedNativeColumn(native, classic) is `native` when it accounts for
//     every observation of the row (its total equals the classic buckets'
//     total); otherwise (a series observed before its metric turned native,
//     or while it was not) a native histogram at the highest schema built
//     from the classic buckets: each bucket's observations go to the native
//     bucket of its upper bound (those of the +Inf bucket to the highest
//     finite bound among the row's buckets, or to 1 when there is none). Counts
//     stay exact; where the observations lie within a classic bucket is then
//     approximate.
//   - MergeNativeColumn(native, delta) adds the delta to `native` (empty:
//     nothing yet) at the lower of the two schemas, then reduces the
//     resolution while more buckets than the delta's cap are kept. An empty
//     delta leaves `native` unchanged.
//   - Every function refuses (false) what does not decode, and a total that
//     would overflow.
#ifndef PUM_SCHEMA_STORE_NATIVE_COLUMN_H_
#define PUM_SCHEMA_STORE_NATIVE_COLUMN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/native/native_histogram.h"

namespace pum {

// The SQL functions' names.
inline constexpr char kSeedNativeFunction[] = "pum_seed_native";
inline constexpr char kMergeNativeFunction[] = "pum_merge_native";

// A native histogram at the highest schema holding the observations of
// classic `buckets` (not cumulative, as the store keeps them), each at its
// bucket's upper bound (see SeedNativeColumn()).
NativeHistogram NativeFromClassic(
    const std::vector<std::pair<double, uint64_t>>& buckets);

// The upserts' native argument for `delta` with the series' bucket cap.
std::string EncodeNativeDelta(const NativeHistogram& delta,
                              uint32_t max_buckets);

// pum_seed_native(native, buckets), see the contract.
bool SeedNativeColumn(std::string_view native, std::string_view classic,
                      std::string* out);

// pum_merge_native(native, delta), see the contract.
bool MergeNativeColumn(std::string_view native, std::string_view delta,
                       std::string* out);

}  // namespace pum

#endif  // PUM_SCHEMA_STORE_NATIVE_COLUMN_H_
