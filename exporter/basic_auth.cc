#include "exporter/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <utility>

namespace pum {
namespace {

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding (RFC 4648 section 4); padding may be absent.
bool DecodeBase64(const std::string& in, std::string* out) {
  std::string text = in;
  size_t pad = 0;
  while (!text.empty() && text.back() == '=' && pad < 2) {
    text.pop_back();
    ++pad;
  }
  if (text.size() % 4 == 1) return false;
  if (pad > 0 && (text.size() + pad) % 4 != 0) return false;
  out->clear();
  unsigned bits = 0;
  int nbits = 0;
  for (unsigned char c : text) {
    int v = Base64Value(c);
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<unsigned>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out->push_back(static_cast<char>((bits >> nbits) & 0xff));
    }
  }
  return true;
}

std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(digest), size);
}

}  // namespace

bool ParseBasicAuthorization(const char* header, std::string* user,
                             std::string* password) {
  if (header == nullptr) return false;
  std::string value(header);
  size_t start = value.find_first_not_of(" \t");
  if (start == std::string::npos) return false;
  value = value.substr(start);
  if (value.size() < 6 || strncasecmp(value.c_str(), "basic", 5) != 0 ||
      (value[5] != ' ' && value[5] != '\t')) {
    return false;
  }
  size_t begin = value.find_first_not_of(" \t", 5);
  size_t end = value.find_last_not_of(" \t");
  if (begin == std::string::npos) return false;
  std::string decoded;
  if (!DecodeBase64(value.substr(begin, end + 1 - begin), &decoded)) {
    return false;
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  *user = decoded.substr(0, colon);
  *password = decoded.substr(colon + 1);
  return true;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  // crypt_data is ~32 KiB: on the heap, one per call (thread-safe).
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  // A NUL inside the password would cut it short: refuse it.
  if (password.find('\0') != std::string::npos) return false;
  const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
  if (computed == nullptr || computed[0] == '*') return false;
  size_t n = std::strlen(computed);
  if (n != hash.size()) return false;
  return CRYPTO_memcmp(computed, hash.data(), n) == 0;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  if (!users_.empty()) dummy_hash_ = users_.begin()->second;
}

bool BasicAuth::Check(const char* authorization) {
  if (users_.empty()) return true;
  std::string user;
  std::string password;
  if (!ParseBasicAuthorization(authorization, &user, &password)) return false;
  auto it = users_.find(user);
  const std::string& hash = it == users_.end() ? dummy_hash_ : it->second;
  std::string key = user;
  key.push_back('\0');
  key += password;
  key.push_back('\0');
  key += hash;
  std::string digest = Sha256(key);
  if (!digest.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cache_.count(digest) != 0) return it != users_.end();
  }
  if (bcrypt_in_flight_.fetch_add(1) >= kMaxConcurrentBcrypt) {
    bcrypt_in_flight_.fetch_sub(1);
    return false;
  }
  bool ok = BcryptMatches(password, hash) && it != users_.end();
  bcrypt_in_flight_.fetch_sub(1);
  if (ok && !digest.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_.insert(digest);
  }
  return ok;
}

size_t BasicAuth::cached() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_.size();
}

}  // namespace pum
