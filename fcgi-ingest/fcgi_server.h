// FcgiServer: the FastCGI responder loop of pum-ingest, on libfcgi's
// re-entrant FCGX_*_r API, one request at a time.
//
// Contract:
//   - Open() takes the listening socket: file descriptor 0 when
//     Options::listen is empty (as spawn-fcgi, lighttpd, Apache mod_fcgid
//     and systemd's StandardInput=socket hand it over; it must be a
//     listening socket), else "unix:/path" (the path may not contain ':';
//     a stale socket file is replaced; the socket is made mode 0666 so that
//     a web server running as another user can connect, so restrict access
//     with the folder's permissions) or "HOST:PORT" (IPv4 or a name with
//     one IPv4 address; an empty host or "*" listens on every interface;
//     IPv6 is not supported by libfcgi), as ParseFcgiListen() (config.h)
//     reads it. The listening socket is set non-blocking, so that several
//     workers can share it.
//   - Run() serves requests until SIGTERM or SIGINT. Those signals (and
//     SIGHUP) are blocked except while waiting for a connection in
//     ppoll(), so a request in progress is always finished and answered;
//     then Run() flushes the ingestor's pending counters and returns OK
//     (exit 0). SIGHUP makes the next request re-read the allowlist.
//     SIGPIPE is ignored.
//   - For each request it reads REQUEST_METHOD, CONTENT_LENGTH,
//     CONTENT_TYPE and HTTP_ORIGIN. It reads at most max_body_bytes + 1
//     bytes of body; a CONTENT_LENGTH over the limit is answered 413
//     without reading the body into memory (what the web server still
//     sends is drained, up to a bound, and discarded).
//   - Before a request, at most once a second (and after SIGHUP), the
//     allowlist directory's fingerprint is compared; on a change the
//     allowlist is reloaded. An invalid new allowlist is logged once and
//     the old one kept.
//   - A worker serves one connection at a time. If the web server keeps
//     connections open (nginx "fastcgi_keep_conn on"), an idle kept
//     connection is closed as soon as another connection waits, which can
//     race with a request the web server sends on it just then: do not
//     enable keep-alive to pum-ingest.
//   - It logs (schema/base/log.h) one line per problem (store failures at
//     most once every 10 seconds with a count), never one per request.
#ifndef PUM_FCGI_INGEST_FCGI_SERVER_H_
#define PUM_FCGI_INGEST_FCGI_SERVER_H_

#include <chrono>
#include <string>

#include "fcgi-ingest/ingestor.h"
#include "schema/base/status.h"
#include "schema/config/config.h"

struct FCGX_Request;

namespace pum {

class FcgiServer {
 public:
  // `fingerprint` is AllowlistFingerprint() of the directory the ingestor's
  // allowlist was loaded from, taken before it was loaded.
  FcgiServer(Ingestor* ingestor, Options options, std::string fingerprint);
  ~FcgiServer();

  FcgiServer(const FcgiServer&) = delete;
  FcgiServer& operator=(const FcgiServer&) = delete;

  Status Open();
  Status Run();

 private:
  void Serve(FCGX_Request* request);
  void MaybeReload(bool force);
  void LogStoreFailures(int64_t now, bool force);

  Ingestor* ingestor_;
  Options options_;
  std::string fingerprint_;
  std::string bad_fingerprint_;  // a broken allowlist already logged
  int listen_fd_ = -1;
  std::string unix_path_;  // the socket file we created, if any
  std::chrono::steady_clock::time_point last_check_;
  uint64_t logged_failures_ = 0;
  int64_t last_failure_log_ = 0;
};

}  // namespace pum

#endif  // PUM_FCGI_INGEST_FCGI_SERVER_H_
