#include "schema/base/host_port.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <utility>

#include "schema/base/text.h"

namespace pum {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) ||
         c == '-' || c == '.' || c == '_';
}

// 0..65535 in at most 5 digits, or -1.
int ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), IsDigit)) {
    return -1;
  }
  int port = 0;
  for (char c : text) port = port * 10 + (c - '0');
  return port <= 65535 ? port : -1;
}

// An IPv6 address, with an optional "%zone" after it.
bool IsIpv6Address(std::string_view text) {
  std::string address(text.substr(0, text.find('%')));
  if (address.size() + 1 == text.size()) return false;  // an empty zone
  in6_addr parsed;
  return inet_pton(AF_INET6, address.c_str(), &parsed) == 1;
}

Status Invalid(std::string_view text, const char* problem) {
  return Status::InvalidArgument(Quote(text) + " " + problem);
}

}  // namespace

std::string HostPort::HostForUrl() const {
  return ipv6 ? "[" + host + "]" : host;
}

Status ParseHostPort(std::string_view text, HostPort* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Invalid(text, "is not HOST:PORT");
  }
  int port = ParsePort(text.substr(colon + 1));
  if (port < 0) {
    return Invalid(text, "has no valid port (0..65535) after the last ':'");
  }
  std::string_view host = text.substr(0, colon);
  HostPort parsed;
  parsed.port = port;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']' ||
        !IsIpv6Address(host.substr(1, host.size() - 2))) {
      return Invalid(text, "has no valid IPv6 address in its brackets");
    }
    parsed.host = std::string(host.substr(1, host.size() - 2));
    parsed.ipv6 = true;
  } else if (host.find(':') != std::string_view::npos) {
    return Invalid(text,
                   "needs brackets around an IPv6 host, as in [::1]:9102");
  } else if (host != "*") {
    if (!std::all_of(host.begin(), host.end(), IsNameChar)) {
      return Invalid(text,
                     "has a host that is not a name, an IPv4 address or "
                     "[IPv6]");
    }
    parsed.host = std::string(host);
  }
  *out = std::move(parsed);
  return Status::Ok();
}

}  // namespace pum
