// The label codec: how the store writes a series' label set into one
// column (series.labels) and reads it back.
//
// The encoding is canonical: the pairs sorted by name, each name and value
// written as <decimal length>:<bytes>, e.g.
//   {feature="a:b", browser=""} -> "7:browser0:7:feature3:a:b".
// Any bytes round trip (NUL, separators, digits, invalid UTF-8 included),
// the same set gives the same encoding whatever the order of its pairs, and
// two different label sets never share an encoding, so the column can be
// part of the series' UNIQUE key. The empty set encodes as "".
//
// This is the stored format of pum's database (schema versions 1 to 3):
// changing it needs a migration (store.cc).
#ifndef PUM_SCHEMA_STORE_LABEL_CODEC_H_
#define PUM_SCHEMA_STORE_LABEL_CODEC_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pum {

// (name, value) pairs of one series.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// Sorts `labels` by name and returns their encoding. The names must be
// distinct (the store checks every key before it encodes one).
std::string EncodeLabels(LabelPairs* labels);

// Decodes `in` into `out`, in the order encoded (sorted by name for what
// EncodeLabels() wrote). Returns false for input that is not a sequence of
// whole (name, value) fields: a missing or over-long length (more than 10
// digits), a missing ':', a field longer than what is left, a name without
// a value. It does not check the order of the names. `out` is cleared
// first, and unspecified after a failure.
bool DecodeLabels(std::string_view in, LabelPairs* out);

}  // namespace pum

#endif  // PUM_SCHEMA_STORE_LABEL_CODEC_H_
