#include "schema/store/label_codec.h"

#include <algorithm>
#include <cassert>

namespace pum {
namespace {

// The most digits of a field's length: a length never needs more (a value
// is at most a request body) and the sum cannot overflow size_t.
constexpr size_t kMaxLengthDigits = 10;

void AppendField(std::string_view field, std::string* out) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field.data(), field.size());
}

// Reads one <length>:<bytes> field from the front of `in` into `out`.
bool DecodeField(std::string_view* in, std::string* out) {
  size_t size = 0;
  size_t i = 0;
  for (; i < in->size() && i < kMaxLengthDigits && (*in)[i] >= '0' &&
         (*in)[i] <= '9';
       ++i) {
    size = size * 10 + static_cast<size_t>((*in)[i] - '0');
  }
  if (i == 0 || i >= in->size() || (*in)[i] != ':') return false;
  in->remove_prefix(i + 1);
  if (size > in->size()) return false;
  out->assign(in->data(), size);
  in->remove_prefix(size);
  return true;
}

}  // namespace

std::string EncodeLabels(LabelPairs* labels) {
  std::sort(labels->begin(), labels->end());
  assert(std::adjacent_find(labels->begin(), labels->end(),
                            [](const auto& a, const auto& b) {
                              return a.first == b.first;
                            }) == labels->end());
  std::string out;
  for (const auto& [name, value] : *labels) {
    AppendField(name, &out);
    AppendField(value, &out);
  }
  return out;
}

bool DecodeLabels(std::string_view in, LabelPairs* out) {
  out->clear();
  while (!in.empty()) {
    std::pair<std::string, std::string> label;
    if (!DecodeField(&in, &label.first) || !DecodeField(&in, &label.second)) {
      return false;
    }
    out->push_back(std::move(label));
  }
  return true;
}

}  // namespace pum
