// Runs the pum-exporter binary next to this test binary ($BUILD/tests/../):
// the startup line, --check-config, SIGHUP and SIGTERM. Skipped when the
// binary has not been built.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

const char kOneJson[] = R"({"allowedMetrics": [
  {"name": "one_total", "help": "One.", "type": "counter"}]})";
const char kTwoJson[] = R"({"allowedMetrics": [
  {"name": "two_total", "help": "Two.", "type": "counter"}]})";
// Line 3 has the problem.
const char kBadJson[] =
    "{\"allowedMetrics\": [\n"
    "  {\"name\": \"ok_total\", \"help\": \"h\", \"type\": \"counter\"},\n"
    "  {\"name\": \"bad name\", \"help\": \"h\", \"type\": \"counter\"}\n"
    "]}\n";

std::string ExporterBinary() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "";
  std::string path(self, n);
  path = path.substr(0, path.rfind('/'));  // $BUILD/tests
  path = path.substr(0, path.rfind('/'));  // $BUILD
  path += "/pum-exporter";
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? path : "";
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout
  int err = -1;  // stderr
};

Child Spawn(const std::vector<std::string>& args) {
  int out[2], err[2];
  Child child;
  if (pipe(out) != 0 || pipe(err) != 0) return child;
  child.pid = fork();
  if (child.pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    close(out[1]);
    close(err[1]);
    std::vector<char*> argv;
    for (const std::string& arg : args)
      argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  child.out = out[0];
  child.err = err[0];
  return child;
}

// Reads `fd` until EOF or until `until` is seen or the timeout passes.
std::string ReadFrom(int fd, const std::string& until, int timeout_ms) {
  std::string text;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (until.empty() || text.find(until) == std::string::npos) {
    int left =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count());
    if (left <= 0) break;
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) break;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, n);
  }
  return text;
}

int Wait(const Child& child) {
  int status = 0;
  waitpid(child.pid, &status, 0);
  close(child.out);
  close(child.err);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
  if (write(fd, request.data(), request.size()) < 0) return "";
  std::string response;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  close(fd);
  return response;
}

class MainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = ExporterBinary();
    if (binary_.empty()) FAIL() << "pum-exporter is not built (make binaries)";
    metrics_dir_ = dir_.Path("metrics.d");
    ASSERT_EQ(mkdir(metrics_dir_.c_str(), 0755), 0);
    ASSERT_TRUE(dir_.Write("metrics.d/one.json", kOneJson));
  }

  std::string binary_;
  testing::TempDir dir_;
  std::string metrics_dir_;
};

TEST_F(MainTest, CheckConfigOk) {
  Child child = Spawn({binary_, "--check-config", "--metrics.dir", metrics_dir_,
                       "--storage.path", dir_.Path("not-created.db")});
  std::string out = ReadFrom(child.out, "", 10000);
  EXPECT_EQ(Wait(child), 0);
  EXPECT_EQ(out, "configuration OK: 1 metrics from " + metrics_dir_ + "\n");
  struct stat st;
  EXPECT_NE(stat(dir_.Path("not-created.db").c_str(), &st), 0);
}

TEST_F(MainTest, CheckConfigNamesFileAndLine) {
  ASSERT_TRUE(dir_.Write("metrics.d/bad.json", kBadJson));
  Child child =
      Spawn({binary_, "--check-config", "--metrics.dir=" + metrics_dir_});
  std::string err = ReadFrom(child.err, "", 10000);
  EXPECT_EQ(Wait(child), 1);
  EXPECT_NE(err.find("bad.json:3:"), std::string::npos) << err;
}

TEST_F(MainTest, CheckConfigBadListenAddress) {
  Child child =
      Spawn({binary_, "--check-config", "--metrics.dir=" + metrics_dir_,
             "--web.listen-address=localhost"});
  std::string err = ReadFrom(child.err, "", 10000);
  EXPECT_EQ(Wait(child), 1);
  EXPECT_NE(err.find("HOST:PORT"), std::string::npos) << err;
}

TEST_F(MainTest, BadFlagExits2) {
  Child child = Spawn({binary_, "--no-such-flag"});
  ReadFrom(child.err, "", 10000);
  EXPECT_EQ(Wait(child), 2);
}

TEST_F(MainTest, HelpPrintsUsage) {
  Child child = Spawn({binary_, "--help"});
  std::string out = ReadFrom(child.out, "", 10000);
  EXPECT_EQ(Wait(child), 0);
  EXPECT_EQ(out.rfind("Usage: ", 0), 0u) << out;
}

TEST_F(MainTest, ServesReloadsOnSighupAndStopsOnSigterm) {
  Child child =
      Spawn({binary_, "--metrics.dir", metrics_dir_, "--storage.path",
             dir_.Path("pum.db"), "--web.listen-address", "127.0.0.1:0"});
  std::string err = ReadFrom(child.err, "\n", 10000);
  const std::string prefix = "pum-exporter: listening on http://127.0.0.1:";
  const std::string suffix = "/metrics\n";
  ASSERT_EQ(err.rfind(prefix, 0), 0u) << err;
  ASSERT_GT(err.size(), prefix.size() + suffix.size()) << err;
  ASSERT_EQ(err.substr(err.size() - suffix.size()), suffix) << err;
  std::string port_text =
      err.substr(prefix.size(), err.size() - prefix.size() - suffix.size());
  ASSERT_EQ(port_text.find_first_not_of("0123456789"), std::string::npos)
      << err;
  int port = std::stoi(port_text);
  ASSERT_GT(port, 0);

  std::string response = HttpGet(port, "/metrics");
  EXPECT_NE(response.find("\none_total 0\n"), std::string::npos) << response;
  EXPECT_EQ(response.find("two_total"), std::string::npos);

  ASSERT_TRUE(dir_.Write("metrics.d/two.json", kTwoJson));
  kill(child.pid, SIGHUP);
  std::string log = ReadFrom(child.err, "reloaded the allowlist", 10000);
  EXPECT_NE(log.find("reloaded the allowlist: 2 metrics"), std::string::npos)
      << log;
  response = HttpGet(port, "/metrics");
  EXPECT_NE(response.find("\ntwo_total 0\n"), std::string::npos);

  kill(child.pid, SIGTERM);
  EXPECT_EQ(Wait(child), 0);
}

}  // namespace
}  // namespace pum
