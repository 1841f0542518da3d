// Door: pum-exporter's listening socket. It accepts every connection
// itself, in one epoll thread, does the TLS handshake when a web config
// asks for TLS, reads the request head, and only then hands the request to
// CivetWeb (HttpServer) over a loopback connection, relaying the answer
// back. CivetWeb serves each connection on one of a few threads and waits
// for a slow request to finish; in front of it, idle, slow (slowloris) or
// half-handshaken connections cost the door a few hundred bytes each and
// never hold a CivetWeb thread, so they cannot delay a scrape.
//
// Contract:
//   - Create() binds and listens on HOST:PORT (HOST "" = every IPv4
//     interface, "[v6]" for IPv6, PORT 0 = a free port, see port()); the
//     error names the address. Run() starts the thread relaying to
//     127.0.0.1:backend_port.
//   - Per connection: the TLS handshake (if any) and the request head
//     (up to "\r\n\r\n") must arrive within head_timeout_ms of the accept,
//     else the connection is closed; a head over max_head_bytes gets 431.
//     On a TLS port, a first byte that is not a TLS handshake record gets a
//     plain "400 ... an HTTP request to an HTTPS server" and is closed, as
//     Go's servers answer. After the head, the answer must be taken within
//     relay_timeout_ms. One request per connection (HttpServer answers
//     "Connection: close"). Only the head (and any bytes that came with
//     it) reaches CivetWeb, followed by the end of the stream: a body the
//     head promises and the client never sends cannot hold a CivetWeb
//     thread.
//   - At most max_connections at once (also bounded by RLIMIT_NOFILE,
//     whose soft limit Run() raises to the hard one): when full, a new
//     connection evicts the oldest one still in its handshake or head; if
//     every connection has sent its head, the new one is closed.
//   - IsOwnBackendPort() tells HttpServer whether a loopback connection to
//     CivetWeb comes from the door (by its local port), so that no other
//     local process can reach CivetWeb around TLS.
//   - An exception while one connection is advanced (no memory, say)
//     closes that connection and is logged to stderr; the door goes on.
//   - Stop() (and the destructor) closes every connection and joins.
#ifndef PUM_EXPORTER_DOOR_H_
#define PUM_EXPORTER_DOOR_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "schema/base/status.h"
#include "schema/base/unique_fd.h"

struct ssl_ctx_st;

namespace pum {

struct DoorOptions {
  std::string host;  // HostPort::host (schema/base/host_port.h)
  int port = 0;
  ssl_ctx_st* tls = nullptr;  // null: plain HTTP; must outlive the door
  int head_timeout_ms = 10000;
  int relay_timeout_ms = 60000;
  size_t max_head_bytes = 16384;
  size_t max_connections = 4096;
};

class Door {
 public:
  // Binds and listens on options.host:options.port (see above); nothing is
  // accepted before Run(). The error names the address.
  static Status Create(const DoorOptions& options, std::unique_ptr<Door>* out);
  ~Door();  // Stop()
  Door(const Door&) = delete;
  Door& operator=(const Door&) = delete;

  // Starts the thread that accepts and relays to 127.0.0.1:backend_port.
  // Call once, after Create().
  Status Run(int backend_port);
  // Closes every connection and the listening socket, joins the thread.
  // Idempotent.
  void Stop();

  // The port bound (the real one when 0 was asked for).
  int port() const { return port_; }
  // True while a connection of the door to CivetWeb uses `local_port` as
  // its local port. Thread-safe (CivetWeb's threads ask).
  bool IsOwnBackendPort(int local_port) const;

  // For the loop (door.cc).
  struct Loop;

 private:
  explicit Door(const DoorOptions& options) : options_(options) {}
  // Registers / unregisters a backend connection's local port (each once).
  void AddBackendPort(int port);
  void RemoveBackendPort(int port);

  const DoorOptions options_;
  UniqueFd listen_fd_;
  UniqueFd stop_fd_;  // an eventfd: written by Stop() to end the loop
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex ports_mutex_;
  std::unordered_set<int> backend_ports_;
};

}  // namespace pum

#endif  // PUM_EXPORTER_DOOR_H_
