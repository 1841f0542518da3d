#include "exporter/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace pum {
namespace {

// The reasons OpenSSL queued, oldest first, then cleared.
std::string OpenSslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

int ProtocolVersion(int version) {
  switch (version) {
    case 10:
      return TLS1_VERSION;
    case 11:
      return TLS1_1_VERSION;
    case 12:
      return TLS1_2_VERSION;
  }
  return TLS1_3_VERSION;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// The next certificate of a PEM stream, or null at its end.
X509Ptr ReadCertificate(BIO* bio) {
  return X509Ptr(bio != nullptr
                     ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)
                     : nullptr);
}

Status LoadCertChain(SSL_CTX* ctx, const TlsServerConfig& c,
                     const std::string& where) {
  if (!c.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_file.c_str()) != 1) {
      return Status::InvalidArgument(where + ": cannot load cert_file " +
                                     c.cert_file + ": " + OpenSslErrors());
    }
    return Status::Ok();
  }
  BioPtr bio(
      BIO_new_mem_buf(c.cert_pem.data(), static_cast<int>(c.cert_pem.size())));
  X509Ptr leaf = ReadCertificate(bio.get());
  if (leaf == nullptr || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return Status::InvalidArgument(where +
                                   ": cannot load cert: " + OpenSslErrors());
  }
  while (X509Ptr extra = ReadCertificate(bio.get())) {
    // add0: on success the context takes the certificate.
    if (SSL_CTX_add0_chain_cert(ctx, extra.get()) != 1) {
      return Status::InvalidArgument(
          where + ": cannot load cert's chain: " + OpenSslErrors());
    }
    (void)extra.release();
  }
  ERR_clear_error();  // the loop ends on "no start line"
  return Status::Ok();
}

Status LoadKey(SSL_CTX* ctx, const TlsServerConfig& c,
               const std::string& where) {
  if (!c.key_file.empty()) {
    if (SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(),
                                    SSL_FILETYPE_PEM) != 1) {
      return Status::InvalidArgument(where + ": cannot load key_file " +
                                     c.key_file + ": " + OpenSslErrors());
    }
  } else {
    BioPtr bio(
        BIO_new_mem_buf(c.key_pem.data(), static_cast<int>(c.key_pem.size())));
    EvpPkeyPtr key(
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
            : nullptr);
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
      return Status::InvalidArgument(where +
                                     ": cannot load key: " + OpenSslErrors());
    }
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::InvalidArgument(
        where +
        ": the key does not belong to the certificate: " + OpenSslErrors());
  }
  return Status::Ok();
}

Status LoadClientCa(SSL_CTX* ctx, const TlsServerConfig& c,
                    const std::string& where) {
  if (!c.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, c.client_ca_file.c_str(), nullptr) !=
        1) {
      return Status::InvalidArgument(where + ": cannot load client_ca_file " +
                                     c.client_ca_file + ": " + OpenSslErrors());
    }
    STACK_OF(X509_NAME)* names =
        SSL_load_client_CA_file(c.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    return Status::Ok();
  }
  BioPtr bio(BIO_new_mem_buf(c.client_ca_pem.data(),
                             static_cast<int>(c.client_ca_pem.size())));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509Ptr ca = ReadCertificate(bio.get())) {
    X509_STORE_add_cert(store, ca.get());  // both take their own reference
    SSL_CTX_add_client_CA(ctx, ca.get());
    ++count;
  }
  ERR_clear_error();
  if (count == 0) {
    return Status::InvalidArgument(where + ": client_ca holds no certificate");
  }
  return Status::Ok();
}

// Asks for a certificate without judging it (RequestClientCert,
// RequireAnyClientCert).
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) {
  return 1;
}

}  // namespace

Status TlsContext::Create(const TlsServerConfig& config,
                          const std::string& filename,
                          std::unique_ptr<TlsContext>* out) {
  const std::string where = filename + ": tls_server_config";
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());  // owned by `context`
  if (raw == nullptr) {
    return Status::IoError(where + ": SSL_CTX_new: " + OpenSslErrors());
  }
  std::unique_ptr<TlsContext> context(new TlsContext(raw));
  SSL_CTX* ctx = context->ctx_;
  if (SSL_CTX_set_min_proto_version(ctx, ProtocolVersion(config.min_version)) !=
          1 ||
      SSL_CTX_set_max_proto_version(ctx, ProtocolVersion(config.max_version)) !=
          1) {
    return Status::InvalidArgument(
        where + ": min_version/max_version: " + OpenSslErrors());
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes for the door's non-blocking relay; buffers released
  // while a connection is idle, so that many idle TLS connections cost
  // little memory.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  Status status = LoadCertChain(ctx, config, where);
  if (status.ok()) status = LoadKey(ctx, config, where);
  if (!status.ok()) return status;
  switch (config.client_auth_type) {
    case ClientAuthType::kNoClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuthType::kRequestClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuthType::kRequireAnyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      status = LoadClientCa(ctx, config, where);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      status = LoadClientCa(ctx, config, where);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         nullptr);
      break;
  }
  if (!status.ok()) return status;
  *out = std::move(context);
  return Status::Ok();
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace pum
