#include "schema/base/unique_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <utility>
#include <vector>

namespace pum {
namespace {

// True if `fd` is an open descriptor of this process.
bool IsOpen(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }

// A fresh descriptor (the read end of a pipe; the write end is closed).
int OpenFd() {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  ::close(fds[1]);
  return fds[0];
}

TEST(UniqueFd, ClosesWhatItHoldsWhenItDies) {
  int fd = OpenFd();
  ASSERT_TRUE(IsOpen(fd));
  {
    UniqueFd owner(fd);
    EXPECT_TRUE(owner.valid());
    EXPECT_EQ(owner.get(), fd);
    EXPECT_TRUE(IsOpen(fd));
  }
  EXPECT_FALSE(IsOpen(fd));
}

TEST(UniqueFd, NegativeValuesHoldNothing) {
  for (int fd : {-1, -2, -1000}) {
    UniqueFd owner(fd);
    EXPECT_FALSE(owner.valid()) << fd;
    EXPECT_EQ(owner.get(), -1) << fd;
  }
  UniqueFd none;
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(none.release(), -1);
}

TEST(UniqueFd, MoveTransfersOwnershipOnce) {
  int fd = OpenFd();
  UniqueFd first(fd);
  UniqueFd second(std::move(first));
  EXPECT_FALSE(first.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(second.get(), fd);

  int other = OpenFd();
  UniqueFd third(other);
  third = std::move(second);  // closes `other`, takes `fd`
  EXPECT_FALSE(IsOpen(other));
  EXPECT_TRUE(IsOpen(fd));
  EXPECT_EQ(third.get(), fd);

  UniqueFd& self = third;
  third = std::move(self);  // self-move keeps it
  EXPECT_TRUE(IsOpen(fd));
  EXPECT_EQ(third.get(), fd);

  // Owners kept in a growing vector are moved, never closed twice.
  std::vector<UniqueFd> many;
  std::vector<int> raw;
  for (int i = 0; i < 20; ++i) {
    raw.push_back(OpenFd());
    many.emplace_back(raw.back());
  }
  for (int r : raw) EXPECT_TRUE(IsOpen(r));
  many.clear();
  for (int r : raw) EXPECT_FALSE(IsOpen(r));
}

TEST(UniqueFd, ResetClosesTheOldAndReleaseKeepsItOpen) {
  int a = OpenFd();
  int b = OpenFd();
  UniqueFd owner(a);
  owner.reset(b);
  EXPECT_FALSE(IsOpen(a));
  EXPECT_EQ(owner.get(), b);
  owner.reset();
  EXPECT_FALSE(IsOpen(b));
  EXPECT_FALSE(owner.valid());

  int c = OpenFd();
  owner.reset(c);
  EXPECT_EQ(owner.release(), c);
  EXPECT_FALSE(owner.valid());
  owner.reset();  // holds nothing: closes nothing
  EXPECT_TRUE(IsOpen(c));
  ::close(c);
}

}  // namespace
}  // namespace pum
