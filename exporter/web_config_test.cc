#include "exporter/web_config.h"

#include <gtest/gtest.h>

#include <string>

namespace pum {
namespace {

// A well-formed bcrypt hash (of "x", cost 4); the parser only checks form.
constexpr char kHash[] =
    "$2b$04$abcdefghijklmnopqrstuO0Ax9xzZ3QkTrsm9nfy7m6r6NbXfTDG.";

TEST(WebConfig, EmptyFileMeansPlainHttpWithoutAuth) {
  for (const char* text : {"", "# only a comment\n", "---\n", "~\n"}) {
    WebConfig config;
    ASSERT_TRUE(ParseWebConfig(text, "web.yml", &config).ok()) << text;
    EXPECT_FALSE(config.tls.enabled) << text;
    EXPECT_TRUE(config.basic_auth_users.empty()) << text;
  }
}

TEST(WebConfig, ReadsTlsAuthAndHeaders) {
  const std::string text = std::string(R"(
tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
  prefer_server_cipher_suites: true
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: ')") + kHash +
                           "'\n  bob: " + kHash + "\n";
  WebConfig config;
  Status status = ParseWebConfig(text, "/etc/pum/web.yml", &config);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(config.tls.enabled);
  EXPECT_EQ(config.tls.cert_file, "/etc/pum/server.crt");
  EXPECT_EQ(config.tls.key_file, "/abs/server.key");
  EXPECT_EQ(config.tls.client_ca_file, "/etc/pum/ca.crt");
  EXPECT_EQ(config.tls.client_auth_type,
            ClientAuthType::kRequireAndVerifyClientCert);
  EXPECT_EQ(config.tls.min_version, 13);
  EXPECT_EQ(config.tls.max_version, 13);
  ASSERT_EQ(config.basic_auth_users.size(), 2u);
  EXPECT_EQ(config.basic_auth_users["alice"], kHash);
  ASSERT_EQ(config.headers.size(), 2u);
  EXPECT_EQ(config.headers[0].first, "X-Frame-Options");
  EXPECT_EQ(config.headers[0].second, "deny");
}

TEST(WebConfig, RelativePathsWithoutAFolderStayRelative) {
  WebConfig config;
  ASSERT_TRUE(ParseWebConfig("tls_server_config: {cert_file: a.crt, "
                             "key_file: a.key}\n",
                             "web.yml", &config)
                  .ok());
  EXPECT_EQ(config.tls.cert_file, "a.crt");
  EXPECT_EQ(config.tls.min_version, 12);  // exporter-toolkit's default
}

TEST(WebConfig, InlinePem) {
  WebConfig config;
  Status status = ParseWebConfig(
      "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n"
      "    x\n  key: k\n",
      "web.yml", &config);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(config.tls.cert_pem, "-----BEGIN CERTIFICATE-----\nx\n");
  EXPECT_EQ(config.tls.key_pem, "k");
}

struct BadCase {
  std::string text;
  const char* message;  // the whole message, "web.yml:LINE: ..."
};

TEST(WebConfig, RejectsBadFilesNamingLineAndProblem) {
  const std::string hash_line = std::string("basic_auth_users:\n  a: ") + kHash;
  const BadCase cases[] = {
      {"- a\n- b\n", "web.yml:1: the web config must be a YAML mapping"},
      {"tls_server_config: [\n",
       "web.yml:2: not valid YAML: "
       "did not find expected node content while "
       "parsing a flow node"},
      {"a: 1\n---\nb: 2\n",
       "web.yml:2: a second YAML document; the web config is one mapping"},
      {"tls_config:\n  cert_file: a\n",
       "web.yml:2: unknown key \"tls_config\""},
      {"tls_server_config: yes\n",
       "web.yml:1: tls_server_config must be a mapping (cert_file, key_file, "
       "...)"},
      {"tls_server_config:\n",
       "web.yml:1: tls_server_config must be a mapping "
       "(cert_file, key_file, ...)"},
      {"tls_server_config:\n  key_file: k\n",
       "web.yml:2: tls_server_config needs cert_file (or cert)"},
      {"tls_server_config:\n  cert_file: c\n",
       "web.yml:2: tls_server_config needs key_file (or key)"},
      {"tls_server_config:\n  cert_file: c\n  cert: c\n  key_file: k\n",
       "web.yml:2: give tls_server_config.cert_file or cert, not both"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  cert_file: d\n",
       "web.yml:4: \"tls_server_config.cert_file\" is given twice"},
      {"tls_server_config:\n  cert_file: ''\n  key_file: k\n",
       "web.yml:2: tls_server_config.cert_file is empty"},
      {"tls_server_config:\n  cert_file: [a]\n  key_file: k\n",
       "web.yml:2: tls_server_config.cert_file must be a string"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  client_auth_type: Maybe\n",
       "web.yml:4: tls_server_config.client_auth_type \"Maybe\" is not one of "
       "NoClientCert, RequestClientCert, RequireAnyClientCert, "
       "VerifyClientCertIfGiven, RequireAndVerifyClientCert"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  client_ca_file: ca\n",
       "web.yml:2: tls_server_config.client_ca_file is given but "
       "client_auth_type does not verify client certificates (use "
       "RequireAndVerifyClientCert)"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  client_auth_type: RequireAndVerifyClientCert\n",
       "web.yml:2: tls_server_config.client_auth_type verifies client "
       "certificates but no client_ca_file is given"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  min_version: TLS13\n  max_version: TLS12\n",
       "web.yml:2: tls_server_config.min_version is above max_version"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  min_version: 1.2\n",
       "web.yml:4: tls_server_config.min_version must be TLS10, TLS11, TLS12 "
       "or TLS13, not \"1.2\""},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
       "web.yml:4: tls_server_config.cipher_suites is not supported by "
       "pum-exporter"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n"
       "  prefer_server_cipher_suites: maybe\n",
       "web.yml:4: tls_server_config.prefer_server_cipher_suites must be true "
       "or false"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
       "web.yml:3: http_server_config.headers.X-Frame-Options must be deny or "
       "sameorigin"},
      {"http_server_config:\n  headers:\n    Set-Cookie: a\n",
       "web.yml:3: unknown header \"Set-Cookie\" (exporter-toolkit allows "
       "Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, "
       "X-XSS-Protection, Strict-Transport-Security)"},
      {"http_server_config:\n  http3: true\n",
       "web.yml:2: unknown key \"http_server_config.http3\""},
      {"basic_auth_users:\n  alice: secret\n",
       "web.yml:2: basic_auth_users.alice is not a bcrypt hash ($2y$10$ and 53 "
       "characters, e.g. from htpasswd -nBC 10)"},
      {"basic_auth_users:\n  alice: $1$abcdefgh$abcdefghijklmnopqrstuv\n",
       "web.yml:2: basic_auth_users.alice is not a bcrypt hash ($2y$10$ and 53 "
       "characters, e.g. from htpasswd -nBC 10)"},
      {"basic_auth_users: [alice]\n",
       "web.yml:1: basic_auth_users must be a mapping of user: hash"},
      {"basic_auth_users:\n  'a:b': x\n",
       "web.yml:2: basic_auth_users: a user name must be non-empty and hold no "
       "':'"},
      {hash_line + "\n  a: " + kHash + "\n",
       "web.yml:3: \"basic_auth_users.a\" is given twice"},
      {"rate_limit:\n  interval: 1s\n",
       "web.yml:2: rate_limit is not supported by pum-exporter (rate limit in "
       "front of it, e.g. in the web server)"},
  };
  for (const BadCase& c : cases) {
    WebConfig config;
    Status status = ParseWebConfig(c.text, "web.yml", &config);
    EXPECT_FALSE(status.ok()) << c.text;
    EXPECT_EQ(status.message(), c.message) << c.text;
  }
}

struct HashCase {
  std::string hash;
  bool ok;
};

TEST(WebConfig, RecognisesBcryptHashes) {
  const std::string body = std::string(kHash).substr(7);
  const HashCase cases[] = {
      {kHash, true},
      {"$2y$10$" + body, true},
      {"$2a$31$" + body, true},
      {"$2x$10$" + body, false},  // not one crypt() verifies as bcrypt here
      {"$2y$03$" + body, false},  // cost below 4
      {"$2y$32$" + body, false},  // cost above 31
      {"$2y$1a$" + body, false},
      {"$2y$10$" + body.substr(1), false},  // too short
      {"$2y$10$" + body + "A", false},      // too long
      {"$2y$10$" + body.substr(1) + "!", false},
      {"", false},
  };
  for (const HashCase& c : cases) {
    EXPECT_EQ(IsBcryptHash(c.hash), c.ok) << c.hash;
  }
}

TEST(WebConfig, MissingFileIsNotFound) {
  WebConfig config;
  Status status = LoadWebConfig("/nonexistent/web.yml", &config);
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_EQ(status.message(),
            "/nonexistent/web.yml: cannot read the web config file: No such "
            "file or directory");
}

}  // namespace
}  // namespace pum
