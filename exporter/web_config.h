// WebConfig: pum-exporter's --web.config.file, in the Prometheus
// exporter-toolkit format (docs/web-configuration.md of
// prometheus/exporter-toolkit), parsed with libyaml.
//
// Contract:
//   - The file is a YAML mapping; an empty file (or one holding only
//     comments) means plain HTTP without authentication, as in
//     exporter-toolkit. Its keys:
//       tls_server_config:
//         cert_file / cert (inline PEM), key_file / key (inline PEM),
//         client_auth_type (NoClientCert, RequestClientCert,
//           RequireAnyClientCert, VerifyClientCertIfGiven,
//           RequireAndVerifyClientCert; default NoClientCert),
//         client_ca_file / client_ca (inline PEM),
//         min_version, max_version (TLS10, TLS11, TLS12, TLS13; defaults
//           TLS12 and TLS13), prefer_server_cipher_suites (accepted).
//       http_server_config:
//         http2 (accepted; pum speaks HTTP/1.1 only),
//         headers: Content-Security-Policy, X-Frame-Options (deny or
//           sameorigin), X-Content-Type-Options (nosniff),
//           X-XSS-Protection, Strict-Transport-Security — added to every
//           answer.
//       basic_auth_users: user: bcrypt hash ($2a$, $2b$ or $2y$).
//   - Keys that exporter-toolkit has and pum does not implement
//     (cipher_suites, curve_preferences, client_allowed_sans, rate_limit)
//     and unknown keys are errors, never silently ignored: a setting that
//     looks like it protects something must protect it.
//   - The same key twice, the wrong YAML type, a cert without a key (or a
//     key without a cert), both cert and cert_file, a client CA without a
//     verifying client_auth_type (and the reverse), min_version above
//     max_version and a malformed bcrypt hash are errors.
//   - Relative file names are resolved against the web config file's
//     folder, as exporter-toolkit does. Files are not read here (see
//     tls.h, which loads them).
//   - Every error message starts with "FILE:LINE: " (FILE as given).
#ifndef PUM_EXPORTER_WEB_CONFIG_H_
#define PUM_EXPORTER_WEB_CONFIG_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "schema/base/status.h"

namespace pum {

enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

// TLS protocol versions as in exporter-toolkit: 10 = TLS 1.0 ... 13 = 1.3.
struct TlsServerConfig {
  bool enabled = false;  // tls_server_config was given
  std::string cert_file;
  std::string cert_pem;  // inline "cert"
  std::string key_file;
  std::string key_pem;  // inline "key"
  ClientAuthType client_auth_type = ClientAuthType::kNoClientCert;
  std::string client_ca_file;
  std::string client_ca_pem;  // inline "client_ca"
  int min_version = 12;
  int max_version = 13;
};

struct WebConfig {
  TlsServerConfig tls;
  // user -> bcrypt hash; empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  // Extra answer headers (http_server_config.headers), name and value.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Parses `text`; `filename` names it in messages and anchors relative paths.
Status ParseWebConfig(const std::string& text, const std::string& filename,
                      WebConfig* out);

// Reads and parses the file.
Status LoadWebConfig(const std::string& filename, WebConfig* out);

// True if `hash` is a well-formed bcrypt hash ($2a$/$2b$/$2y$, cost 04-31,
// 53 characters of salt and hash in bcrypt's base64 alphabet).
bool IsBcryptHash(const std::string& hash);

}  // namespace pum

#endif  // PUM_EXPORTER_WEB_CONFIG_H_
