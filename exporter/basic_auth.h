// BasicAuth: HTTP basic authentication (RFC 7617) against the bcrypt hashes
// of a web config's basic_auth_users, as exporter-toolkit checks them.
//
// Contract:
//   - Check() is true only for "Basic <base64 of user:password>" whose user
//     is listed and whose password matches that user's bcrypt hash
//     ($2a$/$2b$/$2y$, through libxcrypt's crypt_r). The hash crypt_r
//     computes is compared with the stored one in constant time; an unknown
//     user costs a bcrypt too, so timing does not tell which users exist.
//   - A successful check is remembered under the SHA-256 of user, password
//     and hash (never the password itself), so a scraper that sends the
//     same credentials every scrape pays bcrypt's cost once. Failures are
//     not remembered. At most kMaxCached entries; the cache is cleared when
//     full.
//   - At most kMaxConcurrentBcrypt checks run bcrypt at once; a check that
//     would need one more fails at once (401) instead of queueing. A flood
//     of wrong passwords therefore holds at most that many of CivetWeb's
//     threads, and a scraper whose credentials are cached is never stuck
//     behind it; a new client retried later gets through once the flood
//     ebbs.
//   - Thread-safe; bcrypt runs outside the lock.
#ifndef PUM_EXPORTER_BASIC_AUTH_H_
#define PUM_EXPORTER_BASIC_AUTH_H_

#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

namespace pum {

class BasicAuth {
 public:
  static constexpr size_t kMaxCached = 1024;
  static constexpr int kMaxConcurrentBcrypt = 2;

  // user -> bcrypt hash; an empty map disables authentication.
  explicit BasicAuth(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }

  // True if the Authorization header value (null: none) is accepted.
  bool Check(const char* authorization);

  // Successful checks remembered (for tests).
  size_t cached() const;

 private:
  const std::map<std::string, std::string> users_;
  std::string dummy_hash_;  // bcrypt'd for an unknown user
  mutable std::mutex mutex_;
  std::unordered_set<std::string> cache_;
  std::atomic<int> bcrypt_in_flight_{0};
};

// Splits "Basic <base64>" into user and password (at the first ':').
// False if the scheme is not Basic (case-insensitive) or the base64 is bad.
bool ParseBasicAuthorization(const char* header, std::string* user,
                             std::string* password);

// True if `password` matches the bcrypt `hash` (constant-time compare).
bool BcryptMatches(const std::string& password, const std::string& hash);

}  // namespace pum

#endif  // PUM_EXPORTER_BASIC_AUTH_H_
