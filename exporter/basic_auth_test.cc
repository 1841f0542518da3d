#include "exporter/basic_auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <string>

namespace pum {
namespace {

// bcrypt of `password` with a fresh salt, by libxcrypt (cost 4: fast).
std::string Hash(const std::string& password, const char* prefix = "$2b$") {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, 4, nullptr, 0, salt, sizeof(salt)),
            nullptr);
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  EXPECT_NE(hash, nullptr);
  return hash;
}

// "Basic " + base64(text), written by hand so the test does not share the
// decoder it checks.
std::string Basic(const std::string& text) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(text[i]) << 16) |
                 (static_cast<unsigned char>(text[i + 1]) << 8) |
                 static_cast<unsigned char>(text[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (text.size() - i == 1) {
    unsigned v = static_cast<unsigned char>(text[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (text.size() - i == 2) {
    unsigned v = (static_cast<unsigned char>(text[i]) << 16) |
                 (static_cast<unsigned char>(text[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return "Basic " + out;
}

struct ParseCase {
  std::string header;
  bool ok;
  std::string user;
  std::string password;
};

TEST(BasicAuth, ParsesTheAuthorizationHeader) {
  const ParseCase cases[] = {
      {Basic("alice:secret"), true, "alice", "secret"},
      {Basic("alice:"), true, "alice", ""},
      {Basic(":pw"), true, "", "pw"},
      {Basic("a:b:c"), true, "a", "b:c"},  // the password may hold ':'
      {Basic("al"), false, "", ""},        // no ':'
      {"basic " + Basic("u:p").substr(6), true, "u", "p"},
      {"BASIC  " + Basic("u:p").substr(6) + " ", true, "u", "p"},
      {"  Basic " + Basic("u:p").substr(6), true, "u", "p"},
      {"Basic dTpw", true, "u", "p"},  // no padding
      {"Basic", false, "", ""},
      {"Basic ", false, "", ""},
      {"Basicx dTpw", false, "", ""},
      {"Bearer dTpw", false, "", ""},
      {"Basic dT!w", false, "", ""},
      {"Basic dTpw===", false, "", ""},
      {"Basic d", false, "", ""},
      {"", false, "", ""},
  };
  for (const ParseCase& c : cases) {
    std::string user = "unset";
    std::string password = "unset";
    EXPECT_EQ(ParseBasicAuthorization(c.header.c_str(), &user, &password), c.ok)
        << c.header;
    if (c.ok) {
      EXPECT_EQ(user, c.user) << c.header;
      EXPECT_EQ(password, c.password) << c.header;
    }
  }
  std::string user;
  std::string password;
  EXPECT_FALSE(ParseBasicAuthorization(nullptr, &user, &password));
}

TEST(BasicAuth, BcryptMatchesEveryPrefix) {
  for (const char* prefix : {"$2b$", "$2y$", "$2a$"}) {
    std::string hash = Hash("pass word", prefix);
    ASSERT_EQ(hash.substr(0, 4), prefix);
    EXPECT_TRUE(BcryptMatches("pass word", hash)) << prefix;
    EXPECT_FALSE(BcryptMatches("pass wore", hash)) << prefix;
    EXPECT_FALSE(BcryptMatches("", hash)) << prefix;
    EXPECT_FALSE(BcryptMatches(std::string("pass word\0x", 11), hash))
        << "a NUL must not cut the password short";
  }
  EXPECT_FALSE(BcryptMatches("x", "not a hash"));
  EXPECT_FALSE(BcryptMatches("x", ""));
}

struct CheckCase {
  std::string header;
  bool ok;
};

TEST(BasicAuth, ChecksUsersAndPasswords) {
  BasicAuth auth({{"alice", Hash("secret")}, {"bob", Hash("hunter2", "$2y$")}});
  ASSERT_TRUE(auth.enabled());
  const CheckCase cases[] = {
      {Basic("alice:secret"), true},
      {Basic("bob:hunter2"), true},
      {Basic("alice:hunter2"), false},
      {Basic("bob:secret"), false},
      {Basic("carol:secret"), false},
      {Basic("alice:"), false},
      {Basic("alice:secret "), false},
      {Basic("Alice:secret"), false},
      {Basic(":secret"), false},
      {"Bearer x", false},
      {"", false},
  };
  for (int round = 0; round < 2; ++round) {  // the second from the cache
    for (const CheckCase& c : cases) {
      EXPECT_EQ(auth.Check(c.header.c_str()), c.ok)
          << c.header << " round " << round;
    }
  }
  EXPECT_FALSE(auth.Check(nullptr));
  EXPECT_EQ(auth.cached(), 2u) << "only the two successful checks";
}

TEST(BasicAuth, NoUsersMeansNoAuthentication) {
  BasicAuth auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_TRUE(auth.Check(nullptr));
}

TEST(BasicAuth, CacheIsBounded) {
  BasicAuth auth({{"u", Hash("p")}});
  ASSERT_TRUE(auth.Check(Basic("u:p").c_str()));
  EXPECT_EQ(auth.cached(), 1u);
  // The same credentials again do not grow it.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(auth.Check(Basic("u:p").c_str()));
  EXPECT_EQ(auth.cached(), 1u);
  EXPECT_LE(auth.cached(), BasicAuth::kMaxCached);
}

}  // namespace
}  // namespace pum
