#include "schema/base/host_port.h"

#include <gtest/gtest.h>

#include <string>

namespace pum {
namespace {

TEST(HostPort, ParsesEveryForm) {
  struct Case {
    const char* text;
    const char* host;
    bool ipv6;
    int port;
    const char* host_for_url;
  };
  const Case cases[] = {
      {"127.0.0.1:9102", "127.0.0.1", false, 9102, "127.0.0.1"},
      {"0.0.0.0:0", "0.0.0.0", false, 0, "0.0.0.0"},
      {":9102", "", false, 9102, ""},
      {"*:65535", "", false, 65535, ""},
      {"localhost:1", "localhost", false, 1, "localhost"},
      {"pum-exporter.monitoring.svc_1:80", "pum-exporter.monitoring.svc_1",
       false, 80, "pum-exporter.monitoring.svc_1"},
      {"[::1]:9102", "::1", true, 9102, "[::1]"},
      {"[::]:0", "::", true, 0, "[::]"},
      {"[2001:db8::7]:443", "2001:db8::7", true, 443, "[2001:db8::7]"},
      {"[fe80::1%eth0]:9102", "fe80::1%eth0", true, 9102, "[fe80::1%eth0]"},
      {"[::ffff:127.0.0.1]:9", "::ffff:127.0.0.1", true, 9,
       "[::ffff:127.0.0.1]"},
      {"host:00080", "host", false, 80, "host"},
  };
  for (const Case& c : cases) {
    HostPort hp;
    Status status = ParseHostPort(c.text, &hp);
    ASSERT_TRUE(status.ok()) << c.text << ": " << status.message();
    EXPECT_EQ(hp.host, c.host) << c.text;
    EXPECT_EQ(hp.ipv6, c.ipv6) << c.text;
    EXPECT_EQ(hp.port, c.port) << c.text;
    EXPECT_EQ(hp.HostForUrl(), c.host_for_url) << c.text;
  }
}

TEST(HostPort, RejectsWithAMessageNamingTheText) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::string kNotHostPort = " is not HOST:PORT";
  const std::string kBadPort =
      " has no valid port (0..65535) after the last ':'";
  const std::string kBrackets =
      " needs brackets around an IPv6 host, as in [::1]:9102";
  const std::string kBadIpv6 = " has no valid IPv6 address in its brackets";
  const std::string kBadHost =
      " has a host that is not a name, an IPv4 address or [IPv6]";
  const Case cases[] = {
      {"", "\"\"" + kNotHostPort},
      {"localhost", "\"localhost\"" + kNotHostPort},
      {"9102", "\"9102\"" + kNotHostPort},
      {":", "\":\"" + kBadPort},
      {"localhost:", "\"localhost:\"" + kBadPort},
      {"127.0.0.1:65536", "\"127.0.0.1:65536\"" + kBadPort},
      {"127.0.0.1:99999", "\"127.0.0.1:99999\"" + kBadPort},
      {"127.0.0.1:123456", "\"127.0.0.1:123456\"" + kBadPort},
      {"127.0.0.1:-1", "\"127.0.0.1:-1\"" + kBadPort},
      {"127.0.0.1:+80", "\"127.0.0.1:+80\"" + kBadPort},
      {"127.0.0.1:91o2", "\"127.0.0.1:91o2\"" + kBadPort},
      {"127.0.0.1: 80", "\"127.0.0.1: 80\"" + kBadPort},
      {"[::1]", "\"[::1]\"" + kBadPort},
      {"::1:9102", "\"::1:9102\"" + kBrackets},
      {"::1", "\"::1\"" + kBrackets},
      {"[::1:9102", "\"[::1:9102\"" + kBadIpv6},
      {"[]:9102", "\"[]:9102\"" + kBadIpv6},
      {"[localhost]:9102", "\"[localhost]:9102\"" + kBadIpv6},
      {"[127.0.0.1]:9102", "\"[127.0.0.1]:9102\"" + kBadIpv6},
      {"[fe80::1%]:9102", "\"[fe80::1%]:9102\"" + kBadIpv6},
      {"[::1]x:9102", "\"[::1]x:9102\"" + kBadIpv6},
      {"local host:9102", "\"local host:9102\"" + kBadHost},
      {"http://localhost:9102", "\"http://localhost:9102\"" + kBrackets},
      {"host/path:9102", "\"host/path:9102\"" + kBadHost},
      {"**:9102", "\"**:9102\"" + kBadHost},
      // Control characters stay escaped, so the message is one line.
      {"a\nb:1", "\"a\\nb:1\"" + kBadHost},
  };
  for (const Case& c : cases) {
    HostPort hp;
    hp.host = "unchanged";
    Status status = ParseHostPort(c.text, &hp);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument) << c.text;
    EXPECT_EQ(status.message(), c.message) << c.text;
    EXPECT_EQ(hp.host, "unchanged") << c.text;
  }
}

}  // namespace
}  // namespace pum
