#include "exporter/door.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "schema/base/http_status.h"
#include "schema/base/log.h"
#include "schema/base/unique_fd.h"

namespace pum {
namespace {

constexpr size_t kMaxAnswerBytes = 256u << 20;  // what CivetWeb may send back
constexpr int kSweepMs = 100;                   // deadline resolution
constexpr int kLingerMs = 2000;                 // after the answer

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string PlainAnswer(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + HttpReasonPhrase(status) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Where the request head ends (just past the empty line), or npos.
size_t HeadEnd(const std::string& in) {
  size_t crlf = in.find("\r\n\r\n");
  size_t lf = in.find("\n\n");
  if (crlf == std::string::npos && lf == std::string::npos) {
    return std::string::npos;
  }
  if (crlf == std::string::npos) return lf + 2;
  if (lf == std::string::npos) return crlf + 4;
  return std::min(crlf + 4, lf + 2);
}

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

struct AddrinfoFree {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddrinfoPtr = std::unique_ptr<addrinfo, AddrinfoFree>;

}  // namespace

struct Door::Loop {
  enum class Phase {
    kSniff,
    kHandshake,
    kHead,
    kConnecting,
    kRelay,
    kFlush,
    kLinger
  };

  struct Conn;
  // epoll's data.ptr: which fd of which connection.
  struct Tag {
    Conn* conn;
    bool backend;
  };
  struct Conn {
    UniqueFd client;
    SslPtr ssl;        // on a TLS port, from the first handshake byte on
    UniqueFd backend;  // the loopback connection to CivetWeb
    int backend_port = 0;
    Phase phase = Phase::kSniff;
    int64_t accepted_ms = 0;
    int64_t deadline_ms = 0;
    std::string in;      // the request head (and what followed it)
    size_t in_sent = 0;  // of `in`, written to the backend
    std::string out;     // to the client
    size_t out_sent = 0;
    bool backend_eof = false;
    bool ssl_wants_write = false;  // the last SSL call asked for POLLOUT
    uint32_t client_events = 0;
    uint32_t backend_events = 0;
    bool dead = false;
    Tag client_tag{this, false};
    Tag backend_tag{this, true};
    std::list<Conn>::iterator self;
  };

  Door* door;
  UniqueFd epoll_fd;
  int backend_port = 0;
  size_t max_connections = 0;
  std::list<Conn> conns;
  size_t live = 0;  // connections not closed
  int64_t accept_paused_until = 0;
  bool listening = true;
  Tag listen_tag{nullptr, false};
  Tag stop_tag{nullptr, true};

  void SetEvents(int fd, Tag* tag, uint32_t* current, uint32_t wanted) {
    if (fd < 0 || *current == wanted) return;
    epoll_event ev{};
    ev.events = wanted;
    ev.data.ptr = tag;
    if (*current == 0) {
      epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, fd, &ev);
    } else if (wanted == 0) {
      epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, fd, nullptr);
    } else {
      epoll_ctl(epoll_fd.get(), EPOLL_CTL_MOD, fd, &ev);
    }
    *current = wanted;
  }

  void CloseBackend(Conn* c) {
    if (!c->backend.valid()) return;
    SetEvents(c->backend.get(), &c->backend_tag, &c->backend_events, 0);
    c->backend.reset();
    door->RemoveBackendPort(c->backend_port);
  }

  // The answer is out: shut our side and read what the client still sends
  // until it closes (or a short deadline), so that closing with unread
  // data does not reset the connection before the client read the answer.
  void Linger(Conn* c) {
    CloseBackend(c);
    if (c->ssl != nullptr) {
      SSL_shutdown(c->ssl.get());  // best effort close_notify
      c->ssl.reset();
      ERR_clear_error();
    }
    shutdown(c->client.get(), SHUT_WR);
    c->phase = Phase::kLinger;
    c->deadline_ms = std::min(c->deadline_ms, NowMs() + kLingerMs);
  }

  void Close(Conn* c) {
    if (c->dead) return;
    assert(live > 0);
    c->dead = true;
    --live;
    CloseBackend(c);
    SetEvents(c->client.get(), &c->client_tag, &c->client_events, 0);
    c->ssl.reset();
    c->client.reset();
    ERR_clear_error();
  }

  // The boundary of the loop: an exception while advancing one connection
  // (std::bad_alloc, say) closes that connection, is logged, and the door
  // goes on with the others.
  void CloseAfterException(Conn* c, const char* what) {
    LogErrorNoThrow("door: internal error on a connection; closed it", what);
    Close(c);
  }

  // Reads from the client: >0 bytes, 0 end of stream, -1 try later, -2
  // error.
  ssize_t ReadClient(Conn* c, char* buf, size_t size) {
    if (c->ssl == nullptr) {
      ssize_t n = recv(c->client.get(), buf, size, 0);
      if (n >= 0) return n;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1
                                                                       : -2;
    }
    int n = SSL_read(c->ssl.get(), buf, static_cast<int>(size));
    if (n > 0) return n;
    return SslResult(c, n, true);
  }

  ssize_t WriteClient(Conn* c, const char* buf, size_t size) {
    if (c->ssl == nullptr) {
      ssize_t n = send(c->client.get(), buf, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1
                                                                       : -2;
    }
    int n = SSL_write(c->ssl.get(), buf, static_cast<int>(size));
    if (n > 0) return n;
    return SslResult(c, n, false);
  }

  ssize_t SslResult(Conn* c, int n, bool reading) {
    int error = SSL_get_error(c->ssl.get(), n);
    c->ssl_wants_write = error == SSL_ERROR_WANT_WRITE;
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      return -1;
    }
    ERR_clear_error();
    if (reading && error == SSL_ERROR_ZERO_RETURN) return 0;
    return -2;
  }

  // Queues `answer` for the client and closes after it is written.
  void Answer(Conn* c, const std::string& answer) {
    c->out = answer;
    c->out_sent = 0;
    c->backend_eof = true;
    c->phase = Phase::kFlush;
    c->deadline_ms = NowMs() + door->options_.relay_timeout_ms;
  }

  void Accept() {
    for (;;) {
      UniqueFd fd(accept4(door->listen_fd_.get(), nullptr, nullptr,
                          SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!fd.valid()) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
          // No descriptor: make room by evicting, else pause accepting.
          if (!EvictOne()) accept_paused_until = NowMs() + kSweepMs;
        }
        return;
      }
      if (live >= max_connections && !EvictOne()) continue;  // closes fd
      int one = 1;
      setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      conns.emplace_back();
      ++live;
      Conn* c = &conns.back();
      c->self = std::prev(conns.end());
      c->client = std::move(fd);
      c->accepted_ms = NowMs();
      c->deadline_ms = c->accepted_ms + door->options_.head_timeout_ms;
      c->phase = door->options_.tls != nullptr ? Phase::kSniff : Phase::kHead;
      GuardedStep(c);
    }
  }

  void GuardedStep(Conn* c) {
    try {
      Step(c);
    } catch (const std::exception& e) {
      CloseAfterException(c, e.what());
    } catch (...) {
      CloseAfterException(c, "an exception not derived from std::exception");
    }
  }

  // Closes the oldest connection still in its handshake or head.
  bool EvictOne() {
    for (Conn& c : conns) {
      if (!c.dead &&
          (c.phase == Phase::kSniff || c.phase == Phase::kHandshake ||
           c.phase == Phase::kHead)) {
        Close(&c);  // erased after the current batch of events
        return true;
      }
    }
    return false;
  }

  void StartBackend(Conn* c) {
    assert(!c->backend.valid());
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      Answer(c, PlainAnswer(503, "no descriptor\n"));
      return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(backend_port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Bind first so the local port is known (and registered) before
    // CivetWeb can see the connection.
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(local);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) !=
            0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) {
      Answer(c, PlainAnswer(503, "no local port\n"));
      return;
    }
    // Registered before CloseBackend() can see it (which unregisters it).
    door->AddBackendPort(ntohs(local.sin_port));
    c->backend = std::move(fd);
    c->backend_port = ntohs(local.sin_port);
    int one = 1;
    setsockopt(c->backend.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->backend.get(), reinterpret_cast<sockaddr*>(&addr),
                sizeof(addr)) != 0 &&
        errno != EINPROGRESS) {
      CloseBackend(c);
      Answer(c, PlainAnswer(503, "backend down\n"));
      return;
    }
    c->phase = Phase::kConnecting;
    c->deadline_ms = NowMs() + door->options_.relay_timeout_ms;
  }

  // Advances a connection as far as it can go without blocking, then sets
  // the events it waits for.
  void Step(Conn* c) {
    char buf[16384];
    for (;;) {
      if (c->dead) return;
      switch (c->phase) {
        case Phase::kSniff: {
          unsigned char first = 0;
          ssize_t n = recv(c->client.get(), &first, 1, MSG_PEEK);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                         errno != EINTR)) {
            Close(c);
            return;
          }
          if (n < 0) break;
          if (first != 0x16) {  // not a TLS handshake record
            Answer(c,
                   "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; "
                   "charset=utf-8\r\nConnection: close\r\n\r\nClient sent "
                   "an HTTP request to an HTTPS server.\n");
            continue;
          }
          c->ssl.reset(SSL_new(door->options_.tls));
          if (c->ssl == nullptr ||
              SSL_set_fd(c->ssl.get(), c->client.get()) != 1) {
            Close(c);
            return;
          }
          c->phase = Phase::kHandshake;
          continue;
        }
        case Phase::kHandshake: {
          int r = SSL_accept(c->ssl.get());
          if (r == 1) {
            c->phase = Phase::kHead;
            continue;
          }
          if (SslResult(c, r, false) == -1) break;
          Close(c);  // a failed handshake (alert already sent)
          return;
        }
        case Phase::kHead: {
          ssize_t n = ReadClient(c, buf, sizeof(buf));
          if (n == 0 || n == -2) {
            Close(c);
            return;
          }
          if (n == -1) break;
          c->in.append(buf, static_cast<size_t>(n));
          size_t end = HeadEnd(c->in);
          if (end == std::string::npos &&
              c->in.size() > door->options_.max_head_bytes) {
            Answer(c, PlainAnswer(431, "request head too large\n"));
            continue;
          }
          if (end == std::string::npos) continue;
          if (end > door->options_.max_head_bytes) {
            Answer(c, PlainAnswer(431, "request head too large\n"));
            continue;
          }
          StartBackend(c);
          continue;
        }
        case Phase::kConnecting: {
          // Writable means connected (or failed: SO_ERROR).
          int error = 0;
          socklen_t len = sizeof(error);
          getsockopt(c->backend.get(), SOL_SOCKET, SO_ERROR, &error, &len);
          if (error != 0) {
            CloseBackend(c);
            Answer(c, PlainAnswer(503, "backend down\n"));
            continue;
          }
          ssize_t n = send(c->backend.get(), c->in.data() + c->in_sent,
                           c->in.size() - c->in_sent, MSG_NOSIGNAL);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                        errno == EINTR || errno == ENOTCONN)) {
            break;
          }
          if (n < 0) {
            CloseBackend(c);
            Answer(c, PlainAnswer(503, "backend down\n"));
            continue;
          }
          c->in_sent += static_cast<size_t>(n);
          if (c->in_sent == c->in.size()) {
            c->phase = Phase::kRelay;
            std::string().swap(c->in);
            // The door forwards nothing after the head (no endpoint takes
            // a body): the backend reads the end of the request at once
            // instead of waiting for a body the head promised (regression,
            // found by review: a head with Content-Length, chunked or
            // Expect held a CivetWeb thread for its 10 s timeout after the
            // answer; ten of them every few seconds starved the scrapes).
            shutdown(c->backend.get(), SHUT_WR);
          }
          continue;
        }
        case Phase::kRelay:
        case Phase::kFlush: {
          bool progress = false;
          if (c->backend.valid() && !c->backend_eof) {
            ssize_t n = recv(c->backend.get(), buf, sizeof(buf), 0);
            if (n > 0) {
              c->out.append(buf, static_cast<size_t>(n));
              progress = true;
              if (c->out.size() > kMaxAnswerBytes) {
                Close(c);
                return;
              }
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
                                  errno != EINTR)) {
              c->backend_eof = true;
              CloseBackend(c);
              progress = true;
            }
          }
          if (c->out_sent < c->out.size()) {
            ssize_t n = WriteClient(c, c->out.data() + c->out_sent,
                                    c->out.size() - c->out_sent);
            if (n == -2) {
              Close(c);
              return;
            }
            if (n > 0) {
              c->out_sent += static_cast<size_t>(n);
              progress = true;
              if (c->out_sent == c->out.size()) {
                c->out.clear();
                c->out_sent = 0;
              }
            }
          }
          if (c->backend_eof && c->out_sent >= c->out.size()) {
            Linger(c);
            continue;
          }
          if (progress) continue;
          break;
        }
        case Phase::kLinger: {
          ssize_t n = recv(c->client.get(), buf, sizeof(buf), 0);
          if (n > 0) continue;
          if (n < 0 &&
              (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            break;
          }
          Close(c);
          return;
        }
      }
      break;  // waiting
    }
    WatchFor(c);
  }

  void WatchFor(Conn* c) {
    uint32_t client = 0;
    uint32_t backend = 0;
    switch (c->phase) {
      case Phase::kSniff:
        client = EPOLLIN;
        break;
      case Phase::kHandshake:
      case Phase::kHead:
        client = c->ssl_wants_write ? EPOLLOUT : EPOLLIN;
        break;
      case Phase::kConnecting:
        backend = EPOLLOUT;
        break;
      case Phase::kRelay:
      case Phase::kFlush:
        if (c->out_sent < c->out.size()) {
          client = c->ssl != nullptr && !c->ssl_wants_write &&
                           SSL_want_read(c->ssl.get())
                       ? EPOLLIN
                       : EPOLLOUT;
        }
        if (c->backend.valid() && !c->backend_eof) backend = EPOLLIN;
        break;
      case Phase::kLinger:
        client = EPOLLIN;
        break;
    }
    SetEvents(c->client.get(), &c->client_tag, &c->client_events, client);
    SetEvents(c->backend.get(), &c->backend_tag, &c->backend_events, backend);
  }

  void Sweep() {
    int64_t now = NowMs();
    for (auto it = conns.begin(); it != conns.end();) {
      Conn& c = *it++;
      if (!c.dead && now >= c.deadline_ms) Close(&c);
      if (c.dead) conns.erase(c.self);
    }
  }

  void Run() {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listen_tag;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, door->listen_fd_.get(), &ev);
    ev.data.ptr = &stop_tag;
    epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, door->stop_fd_.get(), &ev);
    int64_t next_sweep = NowMs() + kSweepMs;
    epoll_event events[256];
    for (;;) {
      int64_t now = NowMs();
      if (!listening && now >= accept_paused_until) {
        ev.events = EPOLLIN;
        ev.data.ptr = &listen_tag;
        epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, door->listen_fd_.get(), &ev);
        listening = true;
      }
      int timeout = static_cast<int>(std::max<int64_t>(0, next_sweep - now));
      int n = epoll_wait(epoll_fd.get(), events, 256, timeout);
      for (int i = 0; i < n; ++i) {
        Tag* tag = static_cast<Tag*>(events[i].data.ptr);
        if (tag == &stop_tag) return;
        if (tag == &listen_tag) {
          GuardedAccept();
          if (accept_paused_until > NowMs() && listening) {
            epoll_ctl(epoll_fd.get(), EPOLL_CTL_DEL, door->listen_fd_.get(),
                      nullptr);
            listening = false;
          }
          continue;
        }
        Conn* c = tag->conn;
        if (c->dead) continue;
        if (!tag->backend && (events[i].events & EPOLLERR)) {
          Close(c);
          continue;
        }
        GuardedStep(c);
      }
      // Connections closed in Step() are erased here, not while `events`
      // may still point at them.
      for (auto it = conns.begin(); it != conns.end();) {
        Conn& c = *it++;
        if (c.dead) conns.erase(c.self);
      }
      if (NowMs() >= next_sweep) {
        Sweep();
        next_sweep = NowMs() + kSweepMs;
      }
    }
  }

  // Accept() with the loop's boundary: an exception (no memory for one
  // more connection) is logged; the connection it was accepting is closed
  // by its UniqueFd.
  void GuardedAccept() {
    try {
      Accept();
    } catch (const std::exception& e) {
      LogErrorNoThrow("door: cannot accept", e.what());
    } catch (...) {
      LogErrorNoThrow("door: cannot accept",
                      "an exception not derived from std::exception");
    }
  }

  ~Loop() {
    for (Conn& c : conns) Close(&c);
    assert(live == 0);
  }
};

Status Door::Create(const DoorOptions& options, std::unique_ptr<Door>* out) {
  std::unique_ptr<Door> door(new Door(options));
  std::string host = options.host;
  if (!host.empty() && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  const std::string shown = options.host + ":" + std::to_string(options.port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_family = host.empty() ? AF_INET : AF_UNSPEC;
  addrinfo* list = nullptr;
  const std::string port_text = std::to_string(options.port);
  int gai = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                        port_text.c_str(), &hints, &list);
  if (gai != 0) {
    return Status::IoError("cannot listen on " + shown + ": " +
                           gai_strerror(gai));
  }
  AddrinfoPtr found(list);
  std::string problem = "no address";
  for (addrinfo* a = found.get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family,
                       a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       a->ai_protocol));
    if (!fd.valid()) {
      problem = std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->ai_family == AF_INET6) {
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 ||
        listen(fd.get(), 1024) != 0) {
      problem = std::strerror(errno);
      continue;  // closes fd
    }
    door->listen_fd_ = std::move(fd);
    break;
  }
  if (!door->listen_fd_.valid()) {
    return Status::IoError("cannot listen on " + shown + ": " + problem);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(door->listen_fd_.get(), reinterpret_cast<sockaddr*>(&bound),
              &len);
  door->port_ = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  door->stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!door->stop_fd_.valid()) {
    return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
  }
  *out = std::move(door);
  return Status::Ok();
}

Status Door::Run(int backend_port) {
  assert(listen_fd_.valid() && stop_fd_.valid());  // made by Create()
  assert(!thread_.joinable());                     // Run() is called once
  // Each connection takes two descriptors while relaying.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  size_t by_fds = limit.rlim_cur > 128 ? (limit.rlim_cur - 64) / 2 : 32;
  auto loop = std::make_shared<Loop>();
  loop->door = this;
  loop->backend_port = backend_port;
  loop->max_connections = std::min(options_.max_connections, by_fds);
  loop->epoll_fd.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!loop->epoll_fd.valid()) {
    return Status::IoError(std::string("epoll_create1: ") +
                           std::strerror(errno));
  }
  thread_ = std::thread([loop] { loop->Run(); });
  return Status::Ok();
}

void Door::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(stop_fd_.get(), &one, sizeof(one)) < 0) {
      // eventfd writes only fail on overflow; the thread is woken anyway.
    }
    thread_.join();
  }
  listen_fd_.reset();
  stop_fd_.reset();
}

Door::~Door() { Stop(); }

bool Door::IsOwnBackendPort(int local_port) const {
  std::lock_guard<std::mutex> lock(ports_mutex_);
  return backend_ports_.count(local_port) != 0;
}

void Door::AddBackendPort(int port) {
  std::lock_guard<std::mutex> lock(ports_mutex_);
  // A bound local port belongs to one socket at a time.
  bool added = backend_ports_.insert(port).second;
  assert(added);
  (void)added;
}

void Door::RemoveBackendPort(int port) {
  std::lock_guard<std::mutex> lock(ports_mutex_);
  size_t removed = backend_ports_.erase(port);
  assert(removed == 1);
  (void)removed;
}

}  // namespace pum
