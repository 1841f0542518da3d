// Status: the result of an operation that can fail, returned across module
// boundaries instead of an exception (after leveldb's Status).
//
// A default-constructed Status is OK. A failed Status carries a code and a
// human-readable message; for configuration errors the message starts with
// "file:line: " so that a user can find the problem.
//
// Status is [[nodiscard]]: a caller handles every Status it gets back. One
// that may be dropped on purpose says so with IgnoreError() and a comment on
// why, so that each such place can be found with grep.
#ifndef PUM_SCHEMA_BASE_STATUS_H_
#define PUM_SCHEMA_BASE_STATUS_H_

#include <string>
#include <utility>

namespace pum {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,  // bad input or configuration
    kNotFound,         // a file or directory is missing
    kBusy,             // the store stayed locked past its busy timeout
    kIoError,          // the disk failed or is full
    kCorruption,       // the database is not one pum can use
    kNotSupported,     // e.g. a database from a newer pum
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(Code::kNotFound, std::move(msg));
  }
  static Status Busy(std::string msg) {
    return Status(Code::kBusy, std::move(msg));
  }
  static Status IoError(std::string msg) {
    return Status(Code::kIoError, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(Code::kCorruption, std::move(msg));
  }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or the message, for logs.
  std::string ToString() const { return ok() ? "OK" : message_; }

  // Drops this Status deliberately (it is [[nodiscard]]); the caller says
  // at the call site why nothing needs to be done about a failure.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_STATUS_H_
