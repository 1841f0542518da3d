#include "fcgi-ingest/fcgi_server.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fcgi-ingest/test_util.h"
#include "schema/allowlist/allowlist.h"
#include "schema/store/store.h"
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

// The whole FastCGI answer (headers and body) to one request sent with
// cgi-fcgi to the unix socket `socket` (cgi-fcgi sends CONTENT_LENGTH bytes
// of its stdin; the body goes through a file in `dir`).
std::string CgiFcgi(const testing::TempDir& dir, const std::string& socket,
                    const std::string& method, const std::string& body) {
  dir.Write("body", body);
  std::string command = "env REQUEST_METHOD=" + method +
                        " CONTENT_LENGTH=" + std::to_string(body.size()) +
                        " cgi-fcgi -bind -connect " + socket + " < " +
                        dir.Path("body");
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

bool HaveCgiFcgi() {
  return std::system("command -v cgi-fcgi >/dev/null") == 0;
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
  std::string Request(const std::string& method, const std::string& body) {
    return CgiFcgi(dir_, socket_, method, body);
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
  if (binary.empty() || !HaveCgiFcgi()) {
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

// Regression test (issue 8): an exception thrown while a request was
// handled left Serve() and Run(), so the worker died without answering.
// Now that request gets 500 and the next ones are served as usual.
TEST(FcgiServer, AnExceptionAnswers500AndTheWorkerKeepsServing) {
  if (!HaveCgiFcgi()) FAIL() << "needs cgi-fcgi (make deps)";
  testing::TempDir dir;
  ASSERT_EQ(::mkdir(dir.Path("metrics.d").c_str(), 0755), 0);
  ASSERT_TRUE(dir.Write("metrics.d/app.json", testing::kTestAllowlist));
  std::unique_ptr<Store> store;
  Status s = Store::Open(dir.Path("pum.db"), StoreOptions(), &store);
  ASSERT_TRUE(s.ok()) << s.message();
  Options options;
  options.metrics_dir = dir.Path("metrics.d");
  options.listen = "unix:" + dir.Path("ingest.sock");
  Ingestor ingestor(store.get(), testing::TestAllowlist(), options);
  FcgiServer server(&ingestor, options,
                    AllowlistFingerprint(options.metrics_dir));
  std::atomic<int> handled{0};  // the server's thread counts, this one reads
  server.SetHandlerForTesting([&handled](const Request& request, int64_t) {
    ++handled;
    if (request.body == "std") throw std::runtime_error("handler failed");
    if (request.body == "other") throw 42;
    if (request.body == "alloc") throw std::bad_alloc();
    Response response;
    response.status = 204;
    return response;
  });
  s = server.Open();
  ASSERT_TRUE(s.ok()) << s.message();
  Status run = Status::IoError("Run() did not return");
  std::thread thread([&server, &run] { run = server.Run(); });

  const std::string socket = dir.Path("ingest.sock");
  const std::string error = "{\"error\":\"internal_error\"}";
  for (const char* body : {"std", "other", "alloc"}) {
    std::string answer = CgiFcgi(dir, socket, "POST", body);
    EXPECT_EQ(StatusLine(answer), "Status: 500 Internal Server Error") << body;
    EXPECT_NE(answer.find("Content-Type: application/json\r\n"),
              std::string::npos)
        << answer;
    EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), error) << body;
    EXPECT_EQ(StatusLine(CgiFcgi(dir, socket, "POST", "[]")),
              "Status: 204 No Content")
        << "after " << body;
  }
  EXPECT_EQ(handled.load(), 6);

  // SIGTERM reaches Run() in its ppoll() (it is blocked elsewhere).
  ::pthread_kill(thread.native_handle(), SIGTERM);
  thread.join();
  EXPECT_TRUE(run.ok()) << run.message();
}

}  // namespace
}  // namespace pum
