// FcgiServer: pum-ingest's transport. It takes the FastCGI requests the
// web server (nginx, Apache, lighttpd) forwards, in one thread per Ingestor
// (each accepting on the shared listening socket with libfcgi's re-entrant
// FCGX_*_r API, FCGX_Init once), turns each into a Request for its Ingestor,
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
//     a signal wakes every thread (an eventfd), each finishes its request,
//     flushes its ingestor's pending counters, and Run() returns OK (exit
//     0) once all have. SIGHUP makes the next request re-read the
//     allowlist. SIGPIPE is ignored.
//   - For each request it reads REQUEST_METHOD, CONTENT_LENGTH,
//     CONTENT_TYPE and HTTP_ORIGIN. It reads at most max_body_bytes + 1
//     bytes of body; a CONTENT_LENGTH over the limit is answered 413
//     without reading the body into memory (what the web server still
//     sends is drained, up to a bound, and discarded).
//   - Before a request, at most once a second (and after SIGHUP), the
//     allowlist directory's fingerprint is compared (by one thread at a
//     time); on a change the allowlist is reloaded and every thread's
//     Ingestor gets it before its next request. An invalid new allowlist
//     is logged once and the old one kept.
//   - An exception thrown while one request is handled (reading it, the
//     reload check, the Ingestor, writing the answer) does not leave the
//     request loop: it is logged to stderr and that request is answered
//     500 {"error":"internal_error"}; the worker goes on serving.
//   - One thread of the process at a time waits for a new connection (the
//     others wait for their turn), so a connection wakes one thread. A
//     thread serves one connection at a time. If the web server keeps
//     connections open (FCGI_KEEP_CONN, nginx's fastcgi_keep_conn), an
//     idle kept connection is closed as soon as another connection waits,
//     which can race with a request the web server sends on it just then.
//   - It logs (schema/base/log.h) one line per problem (store failures, of
//     all threads, at most once every 10 seconds with a count), never one
//     per request.
#ifndef PUM_FCGI_INGEST_FCGI_SERVER_H_
#define PUM_FCGI_INGEST_FCGI_SERVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

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
  // One thread per Ingestor (at least one; each used by its thread only,
  // all with the same allowlist).
  FcgiServer(std::vector<Ingestor*> ingestors, Options options,
             std::string fingerprint);
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
  // in the calling thread and the threads it starts (the calling thread
  // serves the first Ingestor): one Run() at a time per process.
  Status Run();

  // For the tests of the exception boundary: requests are answered by
  // `handler` (called from every thread) instead of Ingestor::Handle (the
  // ingestors still flush).
  using Handler = std::function<Response(const Request&, int64_t now)>;
  void SetHandlerForTesting(Handler handler) { handler_ = std::move(handler); }

 private:
  // One serving thread's own state.
  struct Worker {
    Ingestor* ingestor = nullptr;
    uint64_t allowlist_version = 0;  // of the allowlist it has
    uint64_t logged_failures = 0;    // its store failures counted in logs
  };

  // One thread's request loop.
  Status Loop(Worker* worker, int wake_fd);
  bool Stopping() const;
  // Reads, handles and answers one accepted request; never throws (an
  // exception from ServeUnguarded() is answered 500).
  void Serve(Worker* worker, FCGX_Request* request);
  // Writes nothing until the whole answer is built; may throw.
  void ServeUnguarded(Worker* worker, FCGX_Request* request);
  void MaybeReload(bool force);
  // Gives the worker's ingestor the current allowlist if it has an older
  // one.
  void SyncAllowlist(Worker* worker);
  void LogStoreFailures(Worker* worker, int64_t now, bool force);

  std::vector<Ingestor*> ingestors_;
  Options options_;
  UniqueFd listen_fd_;
  std::string unix_path_;            // the socket file we created, if any
  Handler handler_;                  // tests only; empty: the ingestor
  std::atomic<bool> failed_{false};  // a thread's loop failed: all stop
  // The turn to wait on the listening socket: AcquireAccept() and
  // ReleaseAccept(). (A condition variable rather than a timed mutex,
  // whose pthread_mutex_clocklock ThreadSanitizer does not see.)
  bool AcquireAccept(std::chrono::milliseconds timeout);
  void ReleaseAccept();
  UniqueFd epoll_fd_;  // Run()'s; the turn holder waits on it
  std::mutex accept_mu_;
  std::condition_variable accept_cv_;
  bool accepting_ = false;  // guarded by accept_mu_

  std::mutex reload_mu_;  // guards what follows, to allowlist_
  std::string fingerprint_;
  std::string bad_fingerprint_;  // a broken allowlist already logged
  std::chrono::steady_clock::time_point last_check_;
  std::shared_ptr<const Allowlist> allowlist_;  // the latest loaded
  std::atomic<uint64_t> allowlist_version_{0};

  std::mutex log_mu_;  // guards what follows
  uint64_t unlogged_failures_ = 0;
  Status last_store_error_;
  int64_t last_failure_log_ = 0;
};

}  // namespace pum

#endif  // PUM_FCGI_INGEST_FCGI_SERVER_H_
