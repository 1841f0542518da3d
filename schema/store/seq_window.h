// SeqWindow: which batches of one client were applied, for de-duplication
// of retried and replayed batches.
//
// A client numbers its batches 0, 1, 2, ... (its seq). The window remembers
// the highest seq applied and, exactly, which of the kSize seqs below it were
// applied, whatever the order they arrived in. Its state is bounded (at most
// kSize / 8 bytes of bits), so the store's de-duplication state grows with
// the number of clients, never with their traffic.
//
// Contract of Judge():
//   - kNew: seq was never applied; Record() it once it is.
//   - kDuplicate: seq was applied before (the batch is acknowledged again
//     and not applied).
//   - kTooOld: seq is more than kSize below the highest seq applied: the
//     window cannot tell, so the batch must be refused (409), never
//     acknowledged.
// A window that has recorded nothing judges every seq >= 0 kNew.
#ifndef PUM_SCHEMA_STORE_SEQ_WINDOW_H_
#define PUM_SCHEMA_STORE_SEQ_WINDOW_H_

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

namespace pum {

class SeqWindow {
 public:
  // How many seqs below the highest are tracked exactly.
  static constexpr int64_t kSize = 1024;

  enum class Verdict { kNew, kDuplicate, kTooOld };

  // An empty window (nothing applied yet).
  SeqWindow() = default;

  // Restores a window stored as (max_seq, EncodeBits()). False if the
  // encoding is invalid (negative seq, more than kSize / 8 bytes).
  static bool Decode(int64_t max_seq, std::string_view bits, SeqWindow* out);

  // The bits below max_seq(), byte j bit k = seq max_seq() - 1 - (8j + k),
  // without trailing zero bytes (a client that sends in order stores a
  // short blob).
  std::string EncodeBits() const;

  bool empty() const { return empty_; }
  // The highest seq recorded; -1 when empty().
  int64_t max_seq() const { return max_seq_; }

  // Judges `seq` (>= 0) without changing the window.
  Verdict Judge(int64_t seq) const;

  // Records `seq`, which Judge() found kNew.
  void Record(int64_t seq);

 private:
  bool empty_ = true;
  int64_t max_seq_ = -1;
  std::bitset<kSize> below_;  // bit i: seq max_seq_ - 1 - i was applied
};

}  // namespace pum

#endif  // PUM_SCHEMA_STORE_SEQ_WINDOW_H_
