// UniqueFd: the owner of one POSIX file descriptor (a socket, an eventfd,
// an epoll instance), as std::unique_ptr owns memory: the descriptor is
// closed exactly once, when its owner dies or is reset, on every path out
// of a function, early returns and exceptions included.
//
// Contract:
//   - A UniqueFd holds a descriptor >= 0 or nothing (-1). Constructing one
//     from a negative value (a failed socket(), say) holds nothing, so the
//     result of a system call can be wrapped before it is checked.
//   - Move-only. A moved-from UniqueFd holds nothing.
//   - reset() closes the descriptor held (if any) and takes the new one;
//     release() gives the descriptor up without closing it.
//   - close() is called once and its result ignored: on Linux the
//     descriptor is gone even when close() reports EINTR or EIO, so
//     retrying could close a descriptor another thread just opened.
//   - Not thread-safe: one thread at a time uses a given UniqueFd (the
//     descriptor itself may be used from any thread while it is held).
#ifndef PUM_SCHEMA_BASE_UNIQUE_FD_H_
#define PUM_SCHEMA_BASE_UNIQUE_FD_H_

namespace pum {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes `fd`; a negative `fd` means none.
  explicit UniqueFd(int fd) : fd_(fd < 0 ? -1 : fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  // The descriptor, or -1; it stays owned by this UniqueFd.
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Closes the descriptor held, if any, then holds `fd` (negative: none).
  // Resetting to the descriptor already held is a bug (asserted).
  void reset(int fd = -1);

  // Gives up the descriptor without closing it; the caller owns it now.
  // Returns -1 if none was held.
  [[nodiscard]] int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_UNIQUE_FD_H_
