#include "schema/store/seq_window.h"

#include <cassert>

namespace pum {

bool SeqWindow::Decode(int64_t max_seq, std::string_view bits, SeqWindow* out) {
  if (max_seq < 0 || bits.size() > static_cast<size_t>(kSize / 8)) {
    return false;
  }
  SeqWindow window;
  window.empty_ = false;
  window.max_seq_ = max_seq;
  for (size_t byte = 0; byte < bits.size(); ++byte) {
    const auto value = static_cast<unsigned char>(bits[byte]);
    for (size_t bit = 0; bit < 8; ++bit) {
      if (value & (1u << bit)) window.below_.set(byte * 8 + bit);
    }
  }
  *out = window;
  return true;
}

std::string SeqWindow::EncodeBits() const {
  std::string bits(kSize / 8, '\0');
  size_t used = 0;
  for (size_t i = 0; i < below_.size(); ++i) {
    if (!below_.test(i)) continue;
    bits[i / 8] = static_cast<char>(bits[i / 8] | (1 << (i % 8)));
    used = i / 8 + 1;
  }
  bits.resize(used);
  return bits;
}

SeqWindow::Verdict SeqWindow::Judge(int64_t seq) const {
  assert(seq >= 0);
  if (empty_ || seq > max_seq_) return Verdict::kNew;
  const int64_t distance = max_seq_ - seq;  // >= 0, no overflow: both >= 0
  if (distance == 0) return Verdict::kDuplicate;
  if (distance > kSize) return Verdict::kTooOld;
  return below_.test(static_cast<size_t>(distance - 1)) ? Verdict::kDuplicate
                                                        : Verdict::kNew;
}

void SeqWindow::Record(int64_t seq) {
  assert(Judge(seq) == Verdict::kNew);
  if (empty_) {
    empty_ = false;
    max_seq_ = seq;
    return;
  }
  if (seq < max_seq_) {
    below_.set(static_cast<size_t>(max_seq_ - seq - 1));
    return;
  }
  const int64_t shift = seq - max_seq_;  // > 0
  if (shift > kSize) {
    below_.reset();
  } else {
    below_ <<= static_cast<size_t>(shift);
    below_.set(static_cast<size_t>(shift - 1));  // the old max_seq_
  }
  max_seq_ = seq;
}

}  // namespace pum
