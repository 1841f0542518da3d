#include "schema/base/unique_fd.h"

#include <unistd.h>

#include <cassert>

namespace pum {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  assert(fd < 0 || fd != fd_);
  if (fd_ >= 0) ::close(fd_);  // see the header: never retried
  fd_ = fd < 0 ? -1 : fd;
}

}  // namespace pum
