#include "schema/store/seq_window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace pum {
namespace {

using Verdict = SeqWindow::Verdict;

// Judges and, when new, records; returns the verdict.
Verdict Offer(SeqWindow* window, int64_t seq) {
  Verdict verdict = window->Judge(seq);
  if (verdict == Verdict::kNew) window->Record(seq);
  return verdict;
}

TEST(SeqWindow, JudgesASequenceOfSeqs) {
  constexpr Verdict kN = Verdict::kNew;
  constexpr Verdict kD = Verdict::kDuplicate;
  constexpr Verdict kO = Verdict::kTooOld;
  struct Step {
    int64_t seq;
    Verdict verdict;
  };
  const Step steps[] = {
      {5, kN},    {5, kD},    {3, kN},    {4, kN},    {3, kD},    {0, kN},
      {0, kD},    {6, kN},    {1000, kN}, {2, kN},    {2, kD},    {999, kN},
      {1, kN},    {2000, kN}, {976, kN},  {975, kO},  {976, kD},  {1000, kD},
      {1999, kN}, {2000, kD}, {3024, kN}, {2000, kD}, {2001, kN}, {2001, kD},
      {1999, kO}, {5000, kN}, {3976, kN}, {3975, kO}, {5000, kD}, {4999, kN},
  };
  SeqWindow window;
  for (const Step& step : steps) {
    EXPECT_EQ(Offer(&window, step.seq), step.verdict) << "seq " << step.seq;
  }
  EXPECT_EQ(window.max_seq(), 5000);
}

// Regression: with a window of 64, a client's batches arriving more than 64
// out of order were acknowledged and dropped (200 shuffled batches: 204 x
// 200, 65-77 counted). Every permutation of 1025 seqs is now applied once.
TEST(SeqWindow, ShuffledSeqsWithinTheWindowAreEachNewOnce) {
  std::mt19937 random(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<int64_t> seqs(SeqWindow::kSize + 1);
    std::iota(seqs.begin(), seqs.end(), int64_t{round * 100});
    std::shuffle(seqs.begin(), seqs.end(), random);
    SeqWindow window;
    for (int64_t seq : seqs) {
      ASSERT_EQ(Offer(&window, seq), Verdict::kNew) << seq;
    }
    for (int64_t seq : seqs) {
      ASSERT_EQ(Offer(&window, seq), Verdict::kDuplicate) << seq;
    }
  }
}

TEST(SeqWindow, ANewClientMayStartAnywhere) {
  SeqWindow window;
  EXPECT_EQ(Offer(&window, 1000), Verdict::kNew);  // regression: 0 then
  EXPECT_EQ(Offer(&window, 0), Verdict::kNew);     // was taken as old
  EXPECT_EQ(Offer(&window, 0), Verdict::kDuplicate);
}

TEST(SeqWindow, EdgesOfTheWindow) {
  SeqWindow window;
  ASSERT_EQ(Offer(&window, 2000), Verdict::kNew);
  EXPECT_EQ(window.Judge(2000 - SeqWindow::kSize), Verdict::kNew);
  EXPECT_EQ(window.Judge(2000 - SeqWindow::kSize - 1), Verdict::kTooOld);
  EXPECT_EQ(window.Judge(0), Verdict::kTooOld);
  // A jump of exactly kSize keeps the old max as the oldest tracked seq.
  ASSERT_EQ(Offer(&window, 2000 + SeqWindow::kSize), Verdict::kNew);
  EXPECT_EQ(window.Judge(2000), Verdict::kDuplicate);
  EXPECT_EQ(window.Judge(2001), Verdict::kNew);
  // A bigger jump forgets everything below.
  ASSERT_EQ(Offer(&window, 10000), Verdict::kNew);
  EXPECT_EQ(window.Judge(10000 - SeqWindow::kSize), Verdict::kNew);
  EXPECT_EQ(window.Judge(2000 + SeqWindow::kSize), Verdict::kTooOld);
}

TEST(SeqWindow, HugeSeqsDoNotOverflow) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  SeqWindow window;
  EXPECT_EQ(Offer(&window, 0), Verdict::kNew);
  EXPECT_EQ(Offer(&window, max - 1), Verdict::kNew);
  EXPECT_EQ(Offer(&window, max), Verdict::kNew);
  EXPECT_EQ(Offer(&window, max - 1), Verdict::kDuplicate);
  EXPECT_EQ(Offer(&window, 0), Verdict::kTooOld);
  EXPECT_EQ(Offer(&window, max - SeqWindow::kSize), Verdict::kNew);
}

TEST(SeqWindow, EncodingRoundTripsAndStaysShortForInOrderClients) {
  std::mt19937 random(11);
  SeqWindow window;
  ASSERT_EQ(Offer(&window, 0), Verdict::kNew);
  ASSERT_EQ(Offer(&window, 1), Verdict::kNew);
  EXPECT_EQ(window.EncodeBits(), std::string(1, '\x01'));
  for (int i = 0; i < 3000; ++i) {
    Offer(&window, static_cast<int64_t>(random() % 4000));
    SeqWindow copy;
    ASSERT_TRUE(
        SeqWindow::Decode(window.max_seq(), window.EncodeBits(), &copy));
    ASSERT_LE(window.EncodeBits().size(), size_t{SeqWindow::kSize / 8});
    for (int64_t seq = std::max<int64_t>(0, window.max_seq() - 1100);
         seq <= window.max_seq() + 2; ++seq) {
      ASSERT_EQ(copy.Judge(seq), window.Judge(seq)) << seq;
    }
  }
}

TEST(SeqWindow, DecodeRefusesWhatItNeverEncodes) {
  SeqWindow window;
  EXPECT_FALSE(SeqWindow::Decode(-1, "", &window));
  EXPECT_FALSE(SeqWindow::Decode(5, std::string(SeqWindow::kSize / 8 + 1, 'x'),
                                 &window));
  EXPECT_TRUE(window.empty());
  EXPECT_TRUE(SeqWindow::Decode(5, "", &window));
  EXPECT_FALSE(window.empty());
  EXPECT_EQ(window.Judge(5), Verdict::kDuplicate);
  EXPECT_EQ(window.Judge(4), Verdict::kNew);
}

}  // namespace
}  // namespace pum
