// HostPort: the one parser of "HOST:PORT" listening addresses, for
// pum.json's web_listen_address, the --web.listen-address and --listen
// flags, pum-exporter's HTTP server and pum-ingest's FastCGI socket.
//
// Grammar: HOST ":" PORT, split at the last ':'.
//   - HOST is empty or "*" (every interface), a name or an IPv4 address
//     (letters, digits, '-', '.', '_'), or an IPv6 address in brackets
//     ("[::1]", "[fe80::1%eth0]"); an IPv6 address without brackets is an
//     error, as its own ':' would make the port ambiguous.
//   - PORT is 1 to 5 decimal digits, 0 to 65535 (0 lets the kernel choose).
// Nothing is resolved: a name is checked for its characters only.
#ifndef PUM_SCHEMA_BASE_HOST_PORT_H_
#define PUM_SCHEMA_BASE_HOST_PORT_H_

#include <string>
#include <string_view>

#include "schema/base/status.h"

namespace pum {

struct HostPort {
  // Without brackets; "" for every interface ("" and "*" in the text).
  std::string host;
  // The host was an IPv6 address in brackets.
  bool ipv6 = false;
  int port = 0;

  // The host as a URL or getaddrinfo's caller writes it: "[::1]" for IPv6,
  // else `host`.
  std::string HostForUrl() const;
};

// Parses `text` into `*out`. On failure `*out` is unchanged and the Status
// is InvalidArgument with a message that starts with the quoted text, as in
// "\"localhost\" is not HOST:PORT".
Status ParseHostPort(std::string_view text, HostPort* out);

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_HOST_PORT_H_
