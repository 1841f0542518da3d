#include "fcgi-ingest/fcgi_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fcgi-ingest/test_util.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

// ParseListenAddress() became ParseFcgiListen(), tested in
// schema/config/config_test.cc with the HOST:PORT parser's own table in
// schema/base/host_port_test.cc.

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The pum-ingest binary built beside this test (BUILD/tests/ingest_test ->
// BUILD/pum-ingest), or "" if it is not there.
std::string IngestBinary() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string path(self, static_cast<size_t>(n));
  for (int i = 0; i < 2; ++i) path = path.substr(0, path.rfind('/'));
  path += "/pum-ingest";
  return Exists(path) ? path : "";
}

// Runs the real binary on a unix socket and talks to it with cgi-fcgi.
class IngestProcess {
 public:
  explicit IngestProcess(const std::string& binary) {
    ::mkdir(dir_.Path("metrics.d").c_str(), 0755);
    dir_.Write("metrics.d/app.json", testing::kTestAllowlist);
    socket_ = dir_.Path("ingest.sock");
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string storage = "--storage.path=" + dir_.Path("pum.db");
      std::string metrics = "--metrics.dir=" + dir_.Path("metrics.d");
      std::string listen = "--listen=unix:" + socket_;
      std::freopen(dir_.Path("stderr").c_str(), "w", stderr);
      ::execl(binary.c_str(), binary.c_str(), storage.c_str(), metrics.c_str(),
              listen.c_str(), "--max-body-bytes=1000", nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 500 && !Exists(socket_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~IngestProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The whole FastCGI answer (headers and body) to one request.
  // (cgi-fcgi sends CONTENT_LENGTH bytes of its stdin.)
  std::string Request(const std::string& method, const std::string& body) {
    dir_.Write("body", body);
    std::string command = "env REQUEST_METHOD=" + method +
                          " CONTENT_LENGTH=" + std::to_string(body.size()) +
                          " cgi-fcgi -bind -connect " + socket_ + " < " +
                          dir_.Path("body");
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) {
        out.append(buffer, n);
      }
      ::pclose(p);
    }
    return out;
  }

  // Sends `signo` and returns the exit status (-1 if it did not exit).
  int Stop(int signo) {
    ::kill(pid_, signo);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const testing::TempDir& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }

 private:
  testing::TempDir dir_;
  std::string socket_;
  pid_t pid_ = -1;
};

std::string StatusLine(const std::string& answer) {
  return answer.substr(0, answer.find("\r\n"));
}

TEST(FcgiServer, RealBinaryAnswersAndStopsCleanly) {
  std::string binary = IngestBinary();
  if (binary.empty() || std::system("command -v cgi-fcgi >/dev/null") != 0) {
    FAIL() << "needs BUILD/pum-ingest and cgi-fcgi (make binaries, make deps)";
  }
  IngestProcess ingest(binary);
  ASSERT_TRUE(Exists(ingest.socket()));
  const std::string event =
      R"([{"metricName": "app_load_succeeded", "metricType": "counter",
           "inc": 1}])";
  EXPECT_EQ(StatusLine(ingest.Request("POST", event)),
            "Status: 204 No Content");
  std::string bad = ingest.Request("POST", "{");
  EXPECT_EQ(StatusLine(bad), "Status: 400 Bad Request");
  EXPECT_NE(bad.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(bad.find(R"({"error":"not JSON)"), std::string::npos);
  std::string big = "[" + std::string(2000, ' ') + "]";
  EXPECT_EQ(StatusLine(ingest.Request("POST", big)),
            "Status: 413 Payload Too Large");
  std::string get = ingest.Request("GET", "");
  EXPECT_EQ(StatusLine(get), "Status: 405 Method Not Allowed");
  EXPECT_NE(get.find("Allow: POST, OPTIONS\r\n"), std::string::npos);

  // A new allowlist file is picked up (checked at most once a second).
  const std::string other =
      R"([{"metricName": "other_total", "metricType": "counter", "inc": 1}])";
  EXPECT_EQ(StatusLine(ingest.Request("POST", other)), "Status: 200 OK");
  ingest.dir().Write("metrics.d/other.json",
                     R"({"allowedMetrics": [{"name": "other_total",
                         "help": "x", "type": "counter", "labels": []}]})");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(StatusLine(ingest.Request("POST", other)),
            "Status: 204 No Content");

  EXPECT_EQ(ingest.Stop(SIGTERM), 0);
  EXPECT_FALSE(Exists(ingest.socket()));
}

}  // namespace
}  // namespace pum
