// TlsContext: the TLS side of pum-exporter's --web.config.file: an OpenSSL
// server context built from its tls_server_config (exporter/web_config.h),
// which the Door uses for every connection.
//
// Contract:
//   - Create() loads the certificate chain and the private key (files or
//     inline PEM), checks that they belong together, applies min_version /
//     max_version and client_auth_type (with the client CA for the verifying
//     types), and fails with a message naming the web config file, the
//     setting and OpenSSL's reason. The files are read once, by Create();
//     the context never reloads them.
//   - The context is shared by every connection (SSL_CTX is thread-safe for
//     SSL_new once built).
#ifndef PUM_EXPORTER_TLS_H_
#define PUM_EXPORTER_TLS_H_

#include <memory>
#include <string>

#include "exporter/web_config.h"
#include "schema/base/status.h"

struct ssl_ctx_st;

namespace pum {

class TlsContext {
 public:
  // Builds the context of `config`; `filename` is the web config file, for
  // messages. On failure *out is unchanged.
  static Status Create(const TlsServerConfig& config,
                       const std::string& filename,
                       std::unique_ptr<TlsContext>* out);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The context, never null; owned by this TlsContext.
  ssl_ctx_st* get() const { return ctx_; }

 private:
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

}  // namespace pum

#endif  // PUM_EXPORTER_TLS_H_
