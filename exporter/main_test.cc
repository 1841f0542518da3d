// Runs the pum-exporter binary next to this test binary ($BUILD/tests/../):
// the command line (--help, --version, bad flags), --check-config, the log
// lines, the landing page, SIGHUP and SIGTERM. Fails when the binary has not
// been built.
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
  {"name": "two_total", "help": "Two <script>alert(\"x\")</script> & co.",
   "type": "counter"}]})";
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

TEST_F(MainTest, CheckConfigWarnsOnAnEmptyAllowlist) {
  const std::string empty = dir_.Path("empty.d");
  ASSERT_EQ(mkdir(empty.c_str(), 0755), 0);
  ASSERT_TRUE(dir_.Write("empty.d/README.txt", "not a .json file"));
  ASSERT_TRUE(dir_.Write("empty.d/none.json", R"({"allowedMetrics": []})"));
  Child child = Spawn({binary_, "--check-config", "--metrics.dir=" + empty});
  std::string out = ReadFrom(child.out, "", 10000);
  std::string err = ReadFrom(child.err, "", 10000);
  EXPECT_EQ(Wait(child), 0);
  EXPECT_EQ(out, "configuration OK: 0 metrics from " + empty + "\n");
  EXPECT_EQ(err, "warning: " + empty +
                     ": the allowlist has no metrics (no *.json file in the "
                     "directory, or none defines one): every event will be "
                     "rejected as unknown_metric\n");
}

// Regression: pum-exporter --listen=... (pum-ingest's flag) was ignored.
TEST_F(MainTest, BadCommandLinesExit2NamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  const Case cases[] = {
      {{"--no-such-flag"}, 2, "unknown flag --no-such-flag"},
      {{"--listen=127.0.0.1:9000"},
       2,
       "unknown flag --listen (a flag of pum-ingest, not of pum-exporter)"},
      {{"--max-body-bytes", "1000"},
       2,
       "unknown flag --max-body-bytes (a flag of pum-ingest, not of "
       "pum-exporter)"},
      {{"--log.level=verbose"},
       2,
       "flag --log.level needs debug, info, warn or error, not \"verbose\""},
      {{"--log.format=text"},
       2,
       "flag --log.format needs logfmt or json, not \"text\""},
      {{"metrics.d"},
       2,
       "unexpected argument \"metrics.d\" (flags start with --)"},
      {{"--web.listen-address=[::1:9102"},
       2,
       "flag --web.listen-address \"[::1:9102\" has no valid IPv6 address in "
       "its brackets"},
      // Under --check-config every problem exits 1, as nginx -t does.
      {{"--check-config", "--listen=127.0.0.1:9000"},
       1,
       "unknown flag --listen (a flag of pum-ingest, not of pum-exporter)"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {binary_};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Child child = Spawn(args);
    std::string err = ReadFrom(child.err, "", 10000);
    std::string out = ReadFrom(child.out, "", 10000);
    EXPECT_EQ(Wait(child), c.code) << c.args[0];
    EXPECT_EQ(err,
              "pum-exporter: " + c.message + "\nTry pum-exporter --help.\n");
    EXPECT_EQ(out, "") << c.args[0];
  }
}

TEST_F(MainTest, HelpListsTheExportersOwnFlags) {
  for (const char* flag : {"--help", "-h"}) {
    Child child = Spawn({binary_, flag, "--config.file=/nonexistent.json"});
    std::string out = ReadFrom(child.out, "", 10000);
    EXPECT_EQ(Wait(child), 0);
    EXPECT_EQ(out.rfind("Usage: pum-exporter [flags]\n", 0), 0u) << out;
    for (const char* text :
         {"  --web.listen-address=HOST:PORT\n", "(default: 127.0.0.1:9102)",
          "  --web.config.file=FILE\n", "  --log.level=LEVEL\n",
          "  --log.format=FORMAT\n", "  --version\n", "  --check-config\n"}) {
      EXPECT_NE(out.find(text), std::string::npos) << text;
    }
    EXPECT_EQ(out.find("--listen="), std::string::npos);
    EXPECT_EQ(out.find("--max-body-bytes"), std::string::npos);
  }
}

TEST_F(MainTest, VersionPrintsVersionRevisionAndBuild) {
  Child child = Spawn({binary_, "--version"});
  std::string out = ReadFrom(child.out, "", 10000);
  EXPECT_EQ(Wait(child), 0);
  const std::string first = out.substr(0, out.find('\n'));
  const std::string prefix = "pum-exporter, version ";
  ASSERT_EQ(first.rfind(prefix, 0), 0u) << out;
  const size_t revision = first.find(" (revision ");
  ASSERT_NE(revision, std::string::npos) << out;
  EXPECT_GT(revision, prefix.size()) << out;  // a version
  EXPECT_EQ(first.back(), ')') << out;
  EXPECT_GT(first.size(), revision + 12) << out;  // a revision
  EXPECT_NE(out.find("\n  compiler:         "), std::string::npos) << out;
  EXPECT_NE(out.find("\n  platform:         linux/"), std::string::npos);
}

// The part of a logfmt line after "ts=... ".
std::string AfterTs(const std::string& line) {
  if (line.rfind("ts=", 0) != 0 || line.size() < 28 || line[27] != ' ') {
    return "not a log line: " + line;
  }
  return line.substr(28);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos;
       start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

TEST_F(MainTest, ServesLogsReloadsOnSighupAndStopsOnSigterm) {
  Child child =
      Spawn({binary_, "--metrics.dir", metrics_dir_, "--storage.path",
             dir_.Path("pum.db"), "--web.listen-address", "127.0.0.1:0"});
  std::string err = ReadFrom(child.err, "/metrics\"\n", 10000);
  std::vector<std::string> lines = Lines(err);
  ASSERT_EQ(lines.size(), 3u) << err;
  EXPECT_EQ(AfterTs(lines[0]).rfind(
                "level=info msg=\"starting pum-exporter\" version=", 0),
            0u)
      << lines[0];
  EXPECT_EQ(AfterTs(lines[1]), "level=info msg=\"loaded the allowlist\" dir=" +
                                   metrics_dir_ + " metrics=1");
  const std::string prefix = "level=info msg=\"listening on http://127.0.0.1:";
  const std::string suffix = "/metrics\"";
  std::string listening = AfterTs(lines[2]);
  ASSERT_EQ(listening.rfind(prefix, 0), 0u) << listening;
  ASSERT_GT(listening.size(), prefix.size() + suffix.size()) << listening;
  ASSERT_EQ(listening.substr(listening.size() - suffix.size()), suffix);
  std::string port_text = listening.substr(
      prefix.size(), listening.size() - prefix.size() - suffix.size());
  ASSERT_EQ(port_text.find_first_not_of("0123456789"), std::string::npos)
      << listening;
  int port = std::stoi(port_text);
  ASSERT_GT(port, 0);

  std::string response = HttpGet(port, "/metrics");
  EXPECT_NE(response.find("\none_total 0\n"), std::string::npos) << response;
  EXPECT_EQ(response.find("two_total"), std::string::npos);

  ASSERT_TRUE(dir_.Write("metrics.d/two.json", kTwoJson));
  kill(child.pid, SIGHUP);
  std::string log = ReadFrom(child.err, "metrics=2\n", 10000);
  for (const std::string& line : Lines(log)) {
    EXPECT_EQ(AfterTs(line), "level=info msg=\"reloaded the allowlist\" dir=" +
                                 metrics_dir_ + " metrics=2");
  }
  response = HttpGet(port, "/metrics");
  EXPECT_NE(response.find("\ntwo_total 0\n"), std::string::npos);

  // The landing page shows the reloaded allowlist, HTML-escaped.
  response = HttpGet(port, "/");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("\r\nContent-Type: text/html; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(response.find("<p>pum-exporter, version "), std::string::npos);
  EXPECT_NE(response.find("<a href=\"metrics\">/metrics</a>"),
            std::string::npos);
  EXPECT_NE(response.find("<code>one_total</code></td><td>counter</td>"),
            std::string::npos);
  EXPECT_NE(response.find("<td>Two &lt;script&gt;alert(&quot;x&quot;)&lt;/"
                          "script&gt; &amp; co.</td>"),
            std::string::npos)
      << response;
  EXPECT_EQ(response.find("<script"), std::string::npos);
  EXPECT_EQ(HttpGet(port, "/index.html").rfind("HTTP/1.1 404 ", 0), 0u);
  EXPECT_EQ(HttpGet(port, "/-/healthy").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(HttpGet(port, "/-/ready").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);

  // Regression (CI, 2026-12-01): the upkeep thread may notice the new file
  // by its fingerprint and reload once more after SIGHUP's reload, so the
  // log may hold another "reloaded" line before the last one.
  kill(child.pid, SIGTERM);
  log = ReadFrom(child.err, "", 10000);
  ASSERT_FALSE(log.empty());
  std::vector<std::string> rest = Lines(log);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(AfterTs(rest.back()), "level=info msg=stopping signal=SIGTERM");
  for (size_t i = 0; i + 1 < rest.size(); ++i) {
    EXPECT_EQ(AfterTs(rest[i]),
              "level=info msg=\"reloaded the allowlist\" dir=" + metrics_dir_ +
                  " metrics=2");
  }
  EXPECT_EQ(Wait(child), 0);
}

// --log.format=json --log.level=warn: only the warning about the empty
// allowlist is written, as one JSON object.
TEST_F(MainTest, JsonLogsAtTheChosenLevel) {
  const std::string empty = dir_.Path("empty.d");
  ASSERT_EQ(mkdir(empty.c_str(), 0755), 0);
  Child child = Spawn({binary_, "--metrics.dir=" + empty, "--storage.path",
                       dir_.Path("pum.db"), "--web.listen-address=127.0.0.1:0",
                       "--log.format=json", "--log.level=warn"});
  std::string err = ReadFrom(child.err, "\n", 10000);
  kill(child.pid, SIGTERM);
  err += ReadFrom(child.err, "", 10000);
  EXPECT_EQ(Wait(child), 0);
  std::vector<std::string> lines = Lines(err);
  ASSERT_EQ(lines.size(), 1u) << err;
  const std::string& line = lines[0];
  ASSERT_EQ(line.rfind("{\"ts\":\"", 0), 0u) << line;
  EXPECT_EQ(line.substr(7 + 24),
            "\",\"level\":\"warn\",\"msg\":\"the allowlist has no metrics (no "
            "*.json file in the directory, or none defines one): every event "
            "will be rejected as unknown_metric\",\"dir\":\"" +
                empty + "\"}");
}

}  // namespace
}  // namespace pum
