// FcgiServer: pum-ingest's transport. It takes the FastCGI requests the
// web server (nginx, Apache, lighttpd) forwards, one at a time on libfcgi's
// re-entrant FCGX_*_r API, turns each into a Request for the Ingestor,
// writes the Ingestor's Response back as the FastCGI answer, reloads the
// allowlist when its files change, and stops cleanly on SIGTERM.
//
// Contract:
//   - Open() takes the listening socket: file descriptor 0 when
//     Options::listen is empty (it must be a listening socket, as
//     spawn-fcgi, web servers' FastCGI spawners and systemd's
//     StandardInput=socket hand it over), else "unix:/path" (the path may
//     not contain ':'; a stale socket file is replaced; the socket is made
//     mode 0666) or "HOST:PORT" (IPv4 or a name with one IPv4 address; an
//     empty host or "*" listens on every interface; libfcgi has no IPv6), as
//     ParseFcgiListen() (config.h) reads it. The listening socket is set
//     non-blocking, so that several workers can share it. The server owns it
//     from then on: the destructor closes it and removes a unix socket file it
//     created.
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
//   - An exception thrown while one request is handled (reading it, the
//     reload check, the Ingestor, writing the answer) does not leave the
//     request loop: it is logged to stderr and that request is answered
//     500 {"error":"internal_error"}; the worker goes on serving.
//   - A worker serves one connection at a time. If the web server keeps
//     connections open (FCGI_KEEP_CONN, nginx's fastcgi_keep_conn), an
//     idle kept connection is closed as soon as another connection waits,
//     which can race with a request the web server sends on it just then.
//   - It logs (schema/base/log.h) one line per problem (store failures at most
//   once
//     every 10 seconds with a count), never one per request.
#ifndef PUM_FCGI_INGEST_FCGI_SERVER_H_
#define PUM_FCGI_INGEST_FCGI_SERVER_H_

#include <chrono>
#include <functional>
#include <string>
#include <utility>

#include "fcgi-ingest/ingestor.h"
#include "schema/base/status.h"
#include "schema/base/unique_fd.h"
#include "schema/config/config.h"

struct FCGX_Request;

namespace pum {

class FcgiServer {
 public:
  // `ingestor` must outlive the server. `fingerprint` is
  // AllowlistFingerprint() of the directory the ingestor's allowlist was
  // loaded from, taken before it was loaded.
  FcgiServer(Ingestor* ingestor, Options options, std::string fingerprint);
  // Closes the listening socket; removes the unix socket file Open()
  // created.
  ~FcgiServer();

  FcgiServer(const FcgiServer&) = delete;
  FcgiServer& operator=(const FcgiServer&) = delete;

  // Takes or opens the listening socket of Options::listen (see above).
  // Call once, before Run(). Errors name the address or say why fd 0
  // cannot be used.
  Status Open();

  // Serves until SIGTERM or SIGINT (OK), or until the listening socket
  // fails (IoError). Requires a successful Open(). It installs
  // process-wide handlers for SIGTERM, SIGINT and SIGHUP and blocks them
  // in the calling thread: one Run() at a time per process.
  Status Run();

  // For the tests of the exception boundary: requests are answered by
  // `handler` instead of Ingestor::Handle (the ingestor still flushes).
  using Handler = std::function<Response(const Request&, int64_t now)>;
  void SetHandlerForTesting(Handler handler) { handler_ = std::move(handler); }

 private:
  // Reads, handles and answers one accepted request; never throws (an
  // exception from ServeUnguarded() is answered 500).
  void Serve(FCGX_Request* request);
  // Writes nothing until the whole answer is built; may throw.
  void ServeUnguarded(FCGX_Request* request);
  void MaybeReload(bool force);
  void LogStoreFailures(int64_t now, bool force);

  Ingestor* ingestor_;
  Options options_;
  std::string fingerprint_;
  std::string bad_fingerprint_;  // a broken allowlist already logged
  UniqueFd listen_fd_;
  std::string unix_path_;  // the socket file we created, if any
  Handler handler_;        // tests only; empty: the ingestor
  std::chrono::steady_clock::time_point last_check_;
  uint64_t logged_failures_ = 0;
  int64_t last_failure_log_ = 0;
};

}  // namespace pum

#endif  // PUM_FCGI_INGEST_FCGI_SERVER_H_
