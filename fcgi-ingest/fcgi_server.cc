#include "fcgi-ingest/fcgi_server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <thread>
#include <utility>

#include "schema/allowlist/allowlist.h"
#include "schema/base/http_status.h"
#include "schema/base/log.h"

namespace pum {
namespace {

// Set by the signal handler, read by every serving thread (lock-free
// atomics are async-signal-safe).
std::atomic<int> g_stop{0};
std::atomic<int> g_reload{0};
// The eventfd that wakes every thread from ppoll() at a stop (-1: none).
std::atomic<int> g_wake_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "signal-safe atomics");

void Wake() {
  int fd = g_wake_fd.load();
  if (fd < 0) return;
  uint64_t one = 1;
  // Nothing to do if it fails: the eventfd is then already readable.
  ssize_t unused = ::write(fd, &one, sizeof one);
  (void)unused;
}

extern "C" void OnSignal(int signo) {
  if (signo == SIGHUP) {
    g_reload = 1;
  } else {
    const int saved = errno;
    g_stop = 1;
    Wake();
    errno = saved;
  }
}

constexpr int kBacklog = 1024;
// How much of an over-long body is read and thrown away before the
// connection is closed.
constexpr size_t kMaxDrainBytes = size_t{4} << 20;

std::string Errno(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::string Param(const char* name, FCGX_ParamArray envp) {
  const char* value = FCGX_GetParam(name, envp);
  return value == nullptr ? "" : value;
}

// CONTENT_LENGTH as a number; -1 if absent or not a number.
long long ContentLength(FCGX_ParamArray envp) {
  std::string text = Param("CONTENT_LENGTH", envp);
  if (text.empty() || text.size() > 18) return -1;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
  }
  return std::atoll(text.c_str());
}

// Reads up to `max` bytes of the body into `body`, growing it as the bytes
// arrive (`expected` is CONTENT_LENGTH, or -1).
void ReadUpTo(FCGX_Stream* in, size_t max, long long expected,
              std::string* body) {
  if (expected > 0) body->reserve(std::min<size_t>(expected, max));
  char buffer[16384];
  while (body->size() < max) {
    size_t want = std::min(sizeof buffer, max - body->size());
    int n = FCGX_GetStr(buffer, static_cast<int>(want), in);
    if (n <= 0) break;
    body->append(buffer, static_cast<size_t>(n));
  }
}

void Drain(FCGX_Stream* in) {
  char buffer[16384];
  size_t total = 0;
  int n = 0;
  while (total < kMaxDrainBytes &&
         (n = FCGX_GetStr(buffer, sizeof buffer, in)) > 0) {
    total += static_cast<size_t>(n);
  }
}

Request ReadRequest(FCGX_Request* fcgi, size_t max_body_bytes) {
  Request request;
  request.method = Param("REQUEST_METHOD", fcgi->envp);
  request.origin = Param("HTTP_ORIGIN", fcgi->envp);
  request.content_type = Param("CONTENT_TYPE", fcgi->envp);
  if (request.method != "POST") return request;
  long long length = ContentLength(fcgi->envp);
  if (length > static_cast<long long>(max_body_bytes)) {
    request.body_too_large = true;
    Drain(fcgi->in);
    return request;
  }
  ReadUpTo(fcgi->in, max_body_bytes + 1, length, &request.body);
  if (request.body.size() > max_body_bytes) {
    request.body_too_large = true;
    request.body.clear();
    Drain(fcgi->in);
  }
  return request;
}

// Builds the whole answer before writing any of it (see Serve()).
void WriteResponse(const Response& response, FCGX_Stream* out) {
  assert(response.status >= 100 && response.status <= 599);
  std::string head = "Status: " + std::to_string(response.status) + " " +
                     HttpReasonPhrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) {
    head += name + ": " + value + "\r\n";
  }
  head += "\r\n";
  FCGX_PutStr(head.data(), static_cast<int>(head.size()), out);
  if (!response.body.empty()) {
    FCGX_PutStr(response.body.data(), static_cast<int>(response.body.size()),
                out);
  }
}

Status InstallSignalHandlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = OnSignal;
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) {
    if (sigaction(signo, &sa, nullptr) != 0) {
      return Status::IoError(Errno("sigaction"));
    }
  }
  sa.sa_handler = SIG_IGN;
  if (sigaction(SIGPIPE, &sa, nullptr) != 0) {
    return Status::IoError(Errno("sigaction"));
  }
  return Status::Ok();
}

// accept() errors after which the loop goes on.
bool TransientAcceptError(int rc) {
  int e = -rc;
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR || e == ECONNABORTED ||
         e == EPROTO || e == ENOBUFS || e == ENOMEM || e == EMFILE ||
         e == ENFILE || e == ECONNRESET || e == ETIMEDOUT;
}

// Owns one FCGX_Request: FCGX_InitRequest on the listening socket at
// construction; FCGX_Free at destruction, which frees what an unfinished
// request holds and closes a connection the web server kept open. Neither
// copied nor moved: libfcgi's streams point into the FCGX_Request.
class FcgiRequest {
 public:
  explicit FcgiRequest(int listen_fd) {
    assert(listen_fd >= 0);
    FCGX_InitRequest(&request_, listen_fd, 0);
  }
  ~FcgiRequest() { FCGX_Free(&request_, request_.ipcFd >= 0 ? 1 : 0); }
  FcgiRequest(const FcgiRequest&) = delete;
  FcgiRequest& operator=(const FcgiRequest&) = delete;

  FCGX_Request* get() { return &request_; }

 private:
  FCGX_Request request_;
};

// The answer to a request whose handling threw: logged, then 500. The
// answer itself allocates nothing, so that it is sent even after a
// std::bad_alloc, when the log line may not be.
void AnswerInternalError(FCGX_Request* fcgi, const char* what) {
  LogErrorNoThrow("internal error while handling a request; answered 500",
                  what);
  static const char kAnswer[] =
      "Status: 500 Internal Server Error\r\n"
      "Content-Type: application/json\r\n\r\n"
      "{\"error\":\"internal_error\"}";
  if (fcgi->out != nullptr) {
    FCGX_PutStr(kAnswer, static_cast<int>(sizeof kAnswer - 1), fcgi->out);
  }
}

}  // namespace

FcgiServer::FcgiServer(Ingestor* ingestor, Options options,
                       std::string fingerprint)
    : FcgiServer(std::vector<Ingestor*>{ingestor}, std::move(options),
                 std::move(fingerprint)) {}

FcgiServer::FcgiServer(std::vector<Ingestor*> ingestors, Options options,
                       std::string fingerprint)
    : ingestors_(std::move(ingestors)),
      options_(std::move(options)),
      fingerprint_(std::move(fingerprint)),
      last_check_(std::chrono::steady_clock::now()) {
  assert(!ingestors_.empty());
  allowlist_ = ingestors_[0]->allowlist();
}

FcgiServer::~FcgiServer() {
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

Status FcgiServer::Open() {
  assert(!listen_fd_.valid());  // Open() is called once
  if (FCGX_Init() != 0) return Status::IoError("FCGX_Init failed");
  if (options_.listen.empty()) {
    int accepting = 0;
    socklen_t len = sizeof accepting;
    if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 ||
        !accepting) {
      return Status::InvalidArgument(
          "file descriptor 0 is not a listening socket: run pum-ingest under "
          "spawn-fcgi, a web server's FastCGI spawner or systemd socket "
          "activation, or give --listen=unix:/path or --listen=HOST:PORT");
    }
    listen_fd_.reset(0);
  } else {
    FcgiListen listen;
    Status s = ParseFcgiListen(options_.listen, &listen);
    if (!s.ok()) return s;
    const std::string path = listen.BindPath();
    listen_fd_.reset(FCGX_OpenSocket(path.c_str(), kBacklog));
    if (!listen_fd_.valid()) {
      return Status::IoError(Errno("cannot listen on " + options_.listen));
    }
    if (!listen.unix_path.empty()) {
      unix_path_ = path;
      if (::chmod(path.c_str(), 0666) != 0) {
        return Status::IoError(Errno("chmod " + path));
      }
    }
  }
  int flags = fcntl(listen_fd_.get(), F_GETFL);
  if (flags < 0 || fcntl(listen_fd_.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return Status::IoError(Errno("fcntl O_NONBLOCK on the listening socket"));
  }
  return Status::Ok();
}

void FcgiServer::MaybeReload(bool force) {
  // One thread checks at a time; the others go on serving meanwhile (a
  // forced reload, after SIGHUP, waits its turn).
  std::unique_lock<std::mutex> lock(reload_mu_, std::defer_lock);
  if (force) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_check_ < std::chrono::seconds(1)) return;
  last_check_ = now;
  std::string fingerprint = AllowlistFingerprint(options_.metrics_dir);
  if (fingerprint == fingerprint_ && !force) return;
  if (fingerprint == bad_fingerprint_ && !force) return;
  auto allowlist = std::make_shared<Allowlist>();
  Status s = Allowlist::LoadDir(options_.metrics_dir, allowlist.get());
  if (!s.ok()) {
    bad_fingerprint_ = fingerprint;
    LogError("the allowlist is invalid, keeping the previous one",
             {{"dir", options_.metrics_dir}, {"err", s.message()}});
    return;
  }
  fingerprint_ = fingerprint;
  bad_fingerprint_.clear();
  const size_t metrics = allowlist->metrics().size();
  allowlist_ = std::move(allowlist);
  ++allowlist_version_;
  LogInfo("reloaded the allowlist",
          {{"dir", options_.metrics_dir}, {"metrics", metrics}});
  if (metrics == 0) LogWarn(kNoMetricsWarning, {{"dir", options_.metrics_dir}});
}

void FcgiServer::SyncAllowlist(Worker* worker) {
  const uint64_t version = allowlist_version_.load();
  if (version == worker->allowlist_version) return;
  std::lock_guard<std::mutex> lock(reload_mu_);
  worker->ingestor->SetAllowlist(allowlist_);
  worker->allowlist_version = allowlist_version_.load();
}

void FcgiServer::LogStoreFailures(Worker* worker, int64_t now, bool force) {
  const uint64_t failures = worker->ingestor->store_failures();
  std::lock_guard<std::mutex> lock(log_mu_);
  if (failures != worker->logged_failures) {
    unlogged_failures_ += failures - worker->logged_failures;
    worker->logged_failures = failures;
    last_store_error_ = worker->ingestor->last_store_error();
  }
  if (unlogged_failures_ == 0) return;
  if (!force && now - last_failure_log_ < 10) return;
  LogError("store transactions failed", {{"failed", unlogged_failures_},
                                         {"err", last_store_error_.message()}});
  unlogged_failures_ = 0;
  last_failure_log_ = now;
}

bool FcgiServer::AcquireAccept(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(accept_mu_);
  // system_clock: pthread_cond_timedwait, which ThreadSanitizer intercepts.
  const auto deadline = std::chrono::system_clock::now() + timeout;
  if (!accept_cv_.wait_until(lock, deadline, [this] { return !accepting_; })) {
    return false;
  }
  accepting_ = true;
  return true;
}

void FcgiServer::ReleaseAccept() {
  {
    std::lock_guard<std::mutex> lock(accept_mu_);
    accepting_ = false;
  }
  accept_cv_.notify_one();
}

bool FcgiServer::Stopping() const { return g_stop.load() != 0 || failed_; }

Status FcgiServer::Run() {
  assert(listen_fd_.valid());  // Open() succeeded
  // A previous Run() in this process (tests) may have left them set.
  g_stop = 0;
  g_reload = 0;
  failed_ = false;
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return Status::IoError(Errno("eventfd"));
  g_wake_fd = wake.get();
  struct ClearWakeFd {
    ~ClearWakeFd() { g_wake_fd = -1; }
  } clear_wake_fd;
  Status s = InstallSignalHandlers();
  if (!s.ok()) return s;
  sigset_t blocked;
  sigset_t previous;
  sigemptyset(&blocked);
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&blocked, signo);
  // Threads started from here inherit the mask.
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);

  // The turn holder's wait: the listening socket with EPOLLEXCLUSIVE (where
  // the kernel refuses it, the threads poll() instead) and the wake fd.
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (epoll_fd_.valid()) {
    struct epoll_event listen_event = {};
    listen_event.events = EPOLLIN | EPOLLEXCLUSIVE;
    listen_event.data.fd = listen_fd_.get();
    struct epoll_event wake_event = {};
    wake_event.events = EPOLLIN;
    wake_event.data.fd = wake.get();
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, listen_fd_.get(),
                    &listen_event) != 0 ||
        ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake.get(), &wake_event) !=
            0) {
      epoll_fd_.reset();
    }
  }
  std::vector<Worker> workers(ingestors_.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    workers[i].ingestor = ingestors_[i];
    workers[i].allowlist_version = allowlist_version_.load();
  }
  std::vector<Status> results(workers.size());
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (size_t i = 1; i < workers.size(); ++i) {
    threads.emplace_back([this, &workers, &results, &wake, i] {
      results[i] = Loop(&workers[i], wake.get());
    });
  }
  results[0] = Loop(&workers[0], wake.get());
  for (std::thread& thread : threads) thread.join();
  for (Worker& worker : workers) {
    LogStoreFailures(&worker, ::time(nullptr), true);
  }
  for (const Status& result : results) {
    if (!result.ok()) return result;
  }
  return Status::Ok();
}

Status FcgiServer::Loop(Worker* worker, int wake_fd) {
  sigset_t waiting;
  pthread_sigmask(SIG_BLOCK, nullptr, &waiting);
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) sigdelset(&waiting, signo);
  Ingestor* ingestor = worker->ingestor;
  FcgiRequest owner(listen_fd_.get());
  FCGX_Request* request = owner.get();
  Status s;
  int lock_timeouts = 0;
  // Without a kept connection, only the thread whose turn it is waits for
  // a new connection, so that one wakes one thread of the process, not all
  // of them (each woken thread costs a failed accept and more system
  // calls); it keeps the turn until it has accepted one. It waits with
  // epoll and EPOLLEXCLUSIVE, so that a connection wakes one process of
  // those sharing the socket, not all of them, where the kernel has it.
  class Turn {
   public:
    explicit Turn(FcgiServer* server) : server_(server) {}
    ~Turn() { Release(); }
    bool held() const { return held_; }
    bool Acquire() {
      held_ = server_->AcquireAccept(std::chrono::milliseconds(200));
      return held_;
    }
    void Release() {
      if (held_) server_->ReleaseAccept();
      held_ = false;
    }

   private:
    FcgiServer* server_;
    bool held_ = false;
  } turn(this);
  while (s.ok() && !Stopping()) {
    bool idle_flush = ingestor->pending_series() > 0;
    if (request->ipcFd < 0 && !turn.held() && !turn.Acquire()) {
      // Signals are blocked while waiting for the turn: take those sent to
      // this thread now (a zero timeout), and flush idle counters about
      // once a second as the wait's timeout does below.
      struct timespec zero = {0, 0};
      ppoll(nullptr, 0, &zero, &waiting);
      if (idle_flush && ++lock_timeouts % 5 == 0) {
        ingestor->Flush(::time(nullptr)).IgnoreError();
      }
      continue;
    }
    bool listen_ready = false;
    bool listen_failed = false;
    bool kept_ready = false;
    int n = 0;
    if (request->ipcFd < 0 && epoll_fd_.valid()) {
      struct epoll_event events[2];
      n = epoll_pwait(epoll_fd_.get(), events, 2, idle_flush ? 1000 : -1,
                      &waiting);
      for (int e = 0; e < n; ++e) {
        if (events[e].data.fd != listen_fd_.get()) continue;
        listen_ready = true;
        listen_failed = (events[e].events & EPOLLERR) != 0;
      }
    } else {
      // A connection the web server keeps open (FCGI_KEEP_CONN) may bring
      // the next request; libfcgi keeps it in ipcFd.
      struct pollfd fds[3] = {{listen_fd_.get(), POLLIN, 0},
                              {wake_fd, POLLIN, 0},
                              {request->ipcFd, POLLIN, 0}};
      int nfds = request->ipcFd >= 0 ? 3 : 2;
      struct timespec second = {1, 0};
      n = ppoll(fds, nfds, idle_flush ? &second : nullptr, &waiting);
      listen_ready = n > 0 && fds[0].revents != 0;
      listen_failed = n > 0 && (fds[0].revents & (POLLERR | POLLNVAL)) != 0;
      kept_ready = n > 0 && nfds == 3 && fds[2].revents != 0;
    }
    if (Stopping()) break;
    if (n < 0) {
      if (errno != EINTR) s = Status::IoError(Errno("waiting for connections"));
      continue;
    }
    if (n == 0) {
      // A failed flush keeps the counters pending for the next one, and
      // LogStoreFailures() reports the store's failures.
      ingestor->Flush(::time(nullptr)).IgnoreError();
      continue;
    }
    if (listen_failed) {
      s = Status::IoError("the listening socket failed");
      break;
    }
    if (request->ipcFd >= 0 && !kept_ready) {
      if (!listen_ready) continue;
      // Only a new connection: drop the idle kept one, or libfcgi would
      // block reading it.
      FCGX_Free(request, 1);
    } else if (request->ipcFd < 0 && !listen_ready) {
      continue;
    }
    int rc = FCGX_Accept_r(request);
    if (rc < 0) {
      // Another process took the connection: keep the turn and wait again.
      if (!TransientAcceptError(rc)) {
        s = Status::IoError(std::string("accept: ") + std::strerror(-rc));
      }
      continue;
    }
    turn.Release();
    Serve(worker, request);
    FCGX_Finish_r(request);
    LogStoreFailures(worker, ::time(nullptr), false);
  }
  turn.Release();
  if (!s.ok()) {
    failed_ = true;  // the other threads stop too
    Wake();
  }
  // At shutdown: Run() reports a failed last flush.
  ingestor->Flush(::time(nullptr)).IgnoreError();
  return s;
}

void FcgiServer::Serve(Worker* worker, FCGX_Request* fcgi) {
  assert(fcgi->in != nullptr && fcgi->out != nullptr);  // accepted
  // ServeUnguarded() writes nothing before the whole answer is built, and
  // nothing after it is written, so after an exception nothing of it has
  // been sent yet.
  try {
    ServeUnguarded(worker, fcgi);
  } catch (const std::exception& e) {
    AnswerInternalError(fcgi, e.what());
  } catch (...) {
    AnswerInternalError(fcgi, "an exception not derived from std::exception");
  }
}

void FcgiServer::ServeUnguarded(Worker* worker, FCGX_Request* fcgi) {
  MaybeReload(g_reload.exchange(0) != 0);
  SyncAllowlist(worker);
  Request request = ReadRequest(fcgi, options_.max_body_bytes);
  int64_t now = ::time(nullptr);
  Response response = handler_ ? handler_(request, now)
                               : worker->ingestor->Handle(request, now);
  WriteResponse(response, fcgi->out);
}

}  // namespace pum
