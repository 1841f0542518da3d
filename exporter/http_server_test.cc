#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "exporter/metrics.pb.h"
#include "exporter/protobuf_exposition.h"
#include "exporter/protobuf_test_util.h"
#include "exporter/state.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/unique_fd.h"
#include "schema/store/store.h"
#include "schema/testing/gunzip.h"
#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

// The shipped allowlist (pum.js's own metrics and the examples); tests run
// from the repo root.
constexpr char kShippedBrowserJson[] = "conf/metrics.d/browser.json";
constexpr char kShippedExampleJson[] = "conf/metrics.d/example.json";

// A metric whose label takes any value, to carry hostile values.
const char kTestJson[] = R"({"allowedMetrics": [
  {"name": "test_hostile_total", "help": "Hostile label values.",
   "type": "counter",
   "labels": [{"name": "value", "pattern": "(.|\\n)*"}]}
]})";

const char kHostileValue[] = "a\"b\\c\nd \xE2\x9C\x93 }{,=";
const char kHostileEscaped[] = "a\\\"b\\\\c\\nd \xE2\x9C\x93 }{,=";

// Prometheus v2.42.0's Accept headers (scrape/scrape.go,
// scrapeAcceptHeader and scrapeAcceptHeaderWithProtobuf, the latter sent
// with --enable-feature=native-histograms).
constexpr char kPrometheusAccept[] =
    "application/openmetrics-text;version=1.0.0,application/"
    "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/"
    "*;q=0.1";
constexpr char kPrometheusProtobufAccept[] =
    "application/vnd.google.protobuf;proto=io.prometheus.client."
    "MetricFamily;encoding=delimited,application/openmetrics-text;version=1."
    "0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/"
    "plain;version=0.0.4;q=0.5,*/*;q=0.1";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// A minimal HTTP/1.1 client: one request, Connection: close, read to EOF.
bool HttpRequest(int port, const std::string& method, const std::string& path,
                 const std::vector<std::string>& extra_headers,
                 HttpResponse* response) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM, 0));
  if (!fd.valid()) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return false;
  }
  std::string request = method + " " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const std::string& header : extra_headers) request += header + "\r\n";
  if (method == "POST")
    request += "Content-Length: 2\r\n\r\n{}";
  else
    request += "\r\n";
  if (write(fd.get(), request.data(), request.size()) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  std::string raw;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof(buf))) > 0) raw.append(buf, n);
  fd.reset();

  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::istringstream head(raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (std::sscanf(line.c_str(), "HTTP/1.%*d %d", &response->status) != 1) {
    return false;
  }
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    size_t start = line.find_first_not_of(' ', colon + 1);
    response->headers[name] =
        start == std::string::npos ? "" : line.substr(start);
  }
  response->body = raw.substr(end + 4);
  return true;
}

using ::pum::testing::Gunzip;

// The exposition without the exporter's own lines, which change between
// scrapes (the scrape duration).
std::string WithoutOwnMetrics(const std::string& body) {
  std::istringstream in(body);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("pum_exporter_") == std::string::npos) out += line + "\n";
  }
  return out;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Runs promtool check metrics on `body`; returns its exit code and output.
int Promtool(const std::string& dir, const std::string& body,
             std::string* output) {
  const std::string path = dir + "/exposition.txt";
  std::ofstream(path, std::ios::binary) << body;
  FILE* pipe =
      popen(("promtool check metrics < '" + path + "' 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One server for every test of the suite: mg_stop() takes about two
// seconds once a request has been served.
class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_FALSE(dir_->path().empty());
    const std::string metrics_dir = dir_->Path("metrics.d");
    ASSERT_EQ(mkdir(metrics_dir.c_str(), 0755), 0);
    // The shipped allowlist, so that promtool checks what users get.
    for (const char* shipped : {kShippedBrowserJson, kShippedExampleJson}) {
      std::string text = ReadFile(shipped);
      ASSERT_FALSE(text.empty())
          << shipped << " (tests run from the repo root)";
      ASSERT_TRUE(dir_->Write(
          std::string("metrics.d/") + (std::strrchr(shipped, '/') + 1), text));
    }
    ASSERT_TRUE(dir_->Write("metrics.d/test.json", kTestJson));

    auto allowlist = std::make_shared<Allowlist>();
    Status status = Allowlist::LoadDir(metrics_dir, allowlist.get());
    ASSERT_TRUE(status.ok()) << status.ToString();

    std::unique_ptr<Store> store;
    status = Store::Open(dir_->Path("pum.db"), StoreOptions(), &store);
    ASSERT_TRUE(status.ok()) << status.ToString();
    ApplyTestData(store.get());

    state_ = new ExporterState(std::move(store), std::move(allowlist),
                               metrics_dir, 0);
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    std::unique_ptr<HttpServer> server;
    status = HttpServer::Start(options, state_, &server);
    ASSERT_TRUE(status.ok()) << status.ToString();
    server_ = server.release();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete state_;
    state_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(server_->port(), 0);
  }

  static void ApplyTestData(Store* store) {
    for (int i = 0; i < 2; ++i) {
      Batch batch;
      CounterDelta views;
      views.key.metric = "browser_page_views_total";
      views.inc = 3.5;
      batch.counters.push_back(views);
      CounterDelta hostile;
      hostile.key.metric = "test_hostile_total";
      hostile.key.labels.push_back({"value", kHostileValue, 0, ""});
      hostile.inc = 1;
      batch.counters.push_back(hostile);
      if (i == 0) {
        HistogramDelta load;
        load.key.metric = "browser_page_load_seconds";
        load.sum = 0.1 + 0.3 + 0.05;
        load.count = 3;
        load.buckets = {{0.25, 3}};
        batch.histograms.push_back(load);
      }
      ApplyResult result;
      Status status = store->Apply(batch, 1000, &result);
      ASSERT_TRUE(status.ok()) << status.ToString();
    }
  }

  HttpResponse Get(const std::string& path,
                   const std::vector<std::string>& headers = {}) {
    HttpResponse response;
    EXPECT_TRUE(HttpRequest(server_->port(), "GET", path, headers, &response))
        << path;
    return response;
  }

  static testing::TempDir* dir_;
  static ExporterState* state_;
  static HttpServer* server_;
};

testing::TempDir* HttpServerTest::dir_ = nullptr;
ExporterState* HttpServerTest::state_ = nullptr;
HttpServer* HttpServerTest::server_ = nullptr;

TEST_F(HttpServerTest, MetricsInTextFormat) {
  HttpResponse response = Get("/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"],
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(response.headers["content-length"],
            std::to_string(response.body.size()));
  EXPECT_EQ(response.headers.count("content-encoding"), 0u);
  const std::string& body = response.body;
  EXPECT_NE(body.find("\nbrowser_page_views_total 7\n"), std::string::npos);
  EXPECT_NE(body.find("\nbrowser_page_load_seconds_sum 0.45\n"),
            std::string::npos);
  EXPECT_NE(body.find("\nbrowser_page_load_seconds_count 3\n"),
            std::string::npos);
  EXPECT_NE(body.find("\nbrowser_page_load_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(body.find(std::string("\ntest_hostile_total{value=\"") +
                      kHostileEscaped + "\"} 2\n"),
            std::string::npos);
  EXPECT_NE(body.find("\n# TYPE pum_reports_total counter\n"),
            std::string::npos);
  EXPECT_NE(body.find("\n# TYPE pum_exporter_scrape_duration_seconds gauge\n"),
            std::string::npos);
  EXPECT_NE(body.find("\npum_exporter_allowlist_last_reload_successful 1\n"),
            std::string::npos);
  // HELP and TYPE once per family.
  for (const MetricDef& def : state_->allowlist()->metrics()) {
    EXPECT_EQ(CountOf(body, "# TYPE " + def.name + " "), 1u) << def.name;
    EXPECT_EQ(CountOf(body, "# HELP " + def.name + " "), 1u) << def.name;
  }
}

TEST_F(HttpServerTest, ExpositionPassesPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL() << "promtool is not installed (make deps installs it)";
  }
  std::string output;
  EXPECT_EQ(Promtool(dir_->path(), Get("/metrics").body, &output), 0) << output;
}

TEST_F(HttpServerTest, GzipWhenAsked) {
  HttpResponse plain = Get("/metrics");
  HttpResponse gzipped =
      Get("/metrics", {"Accept-Encoding: deflate, gzip;q=0.9"});
  EXPECT_EQ(gzipped.status, 200);
  EXPECT_EQ(gzipped.headers["content-encoding"], "gzip");
  EXPECT_EQ(gzipped.headers["content-type"],
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(gzipped.headers["content-length"],
            std::to_string(gzipped.body.size()));
  EXPECT_LT(gzipped.body.size(), plain.body.size());
  EXPECT_EQ(WithoutOwnMetrics(Gunzip(gzipped.body)),
            WithoutOwnMetrics(plain.body));

  HttpResponse refused = Get("/metrics", {"Accept-Encoding: gzip;q=0"});
  EXPECT_EQ(refused.headers.count("content-encoding"), 0u);
}

TEST_F(HttpServerTest, OpenMetricsWhenAsked) {
  // What Prometheus 2.42 sends.
  HttpResponse response = Get(
      "/metrics",
      {"Accept: application/openmetrics-text;version=1.0.0,application/"
       "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
       "*/*;q=0.1",
       "Accept-Encoding: gzip"});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(response.headers["content-encoding"], "gzip");
  std::string body = Gunzip(response.body);
  ASSERT_GE(body.size(), 6u);
  EXPECT_EQ(body.substr(body.size() - 6), "# EOF\n");
  EXPECT_NE(body.find("\n# TYPE browser_page_views counter\n"),
            std::string::npos);
  EXPECT_NE(body.find("\nbrowser_page_views_total 7\n"), std::string::npos);
  EXPECT_NE(body.find("\nbrowser_page_load_seconds_bucket{le=\"+Inf\"} 3\n"),
            std::string::npos);
}

namespace pb = ::io::prometheus::client;

std::vector<pb::MetricFamily> ParseProtobuf(const std::string& body) {
  return testing::ParseProtobufBody(body);
}

// The protobuf families as plain data (classic buckets, no exporter's own
// families), to print them in the text format.
std::vector<MetricFamily> PlainFamilies(
    const std::vector<pb::MetricFamily>& in) {
  std::vector<MetricFamily> out;
  for (const pb::MetricFamily& f : in) {
    if (f.name().find("pum_exporter_") != std::string::npos) continue;
    MetricFamily family;
    family.name = f.name();
    family.help = f.help();
    switch (f.type()) {
      case pb::COUNTER:
        family.kind = MetricKind::kCounter;
        break;
      case pb::GAUGE:
        family.kind = MetricKind::kGauge;
        break;
      case pb::HISTOGRAM:
        family.kind = MetricKind::kHistogram;
        break;
      default:
        family.kind = MetricKind::kUntyped;
    }
    for (const pb::Metric& m : f.metric()) {
      LabelPairs labels;
      for (const pb::LabelPair& l : m.label()) {
        labels.emplace_back(l.name(), l.value());
      }
      if (family.kind == MetricKind::kHistogram) {
        EXPECT_TRUE(m.has_histogram()) << f.name();
        HistogramSample series;
        series.labels = labels;
        series.count = m.histogram().sample_count();
        series.sum = m.histogram().sample_sum();
        for (const pb::Bucket& b : m.histogram().bucket()) {
          series.buckets.emplace_back(b.upper_bound(), b.cumulative_count());
        }
        family.histograms.push_back(series);
      } else {
        EXPECT_EQ(m.has_counter(), family.kind == MetricKind::kCounter);
        Sample sample;
        sample.labels = labels;
        sample.value = m.has_counter() ? m.counter().value()
                       : m.has_gauge() ? m.gauge().value()
                                       : m.untyped().value();
        family.samples.push_back(sample);
      }
    }
    out.push_back(std::move(family));
  }
  return out;
}

// A family by name, or null.
const pb::MetricFamily* Find(const std::vector<pb::MetricFamily>& families,
                             const std::string& name) {
  for (const pb::MetricFamily& f : families) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

TEST_F(HttpServerTest, ProtobufWhenPrometheusAsks) {
  HttpResponse text = Get("/metrics");
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "plain");
    std::vector<std::string> headers = {std::string("Accept: ") +
                                        kPrometheusProtobufAccept};
    if (gzip) headers.push_back("Accept-Encoding: gzip");
    HttpResponse response = Get("/metrics", headers);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.headers["content-type"],
              "application/vnd.google.protobuf; "
              "proto=io.prometheus.client.MetricFamily; encoding=delimited");
    EXPECT_EQ(response.headers["content-length"],
              std::to_string(response.body.size()));
    EXPECT_EQ(response.headers.count("content-encoding"), gzip ? 1u : 0u);
    std::vector<pb::MetricFamily> families =
        ParseProtobuf(gzip ? Gunzip(response.body) : response.body);
    // Every family of the text format, with the same series and values.
    EXPECT_EQ(SerializeText(PlainFamilies(families)),
              WithoutOwnMetrics(text.body));
    for (const MetricDef& def : state_->allowlist()->metrics()) {
      EXPECT_NE(Find(families, def.name), nullptr) << def.name;
    }
    const pb::MetricFamily* views = Find(families, "browser_page_views_total");
    ASSERT_NE(views, nullptr);
    EXPECT_EQ(views->type(), pb::COUNTER);
    ASSERT_EQ(views->metric_size(), 1);
    EXPECT_EQ(views->metric(0).counter().value(), 7);
    const pb::MetricFamily* load = Find(families, "browser_page_load_seconds");
    ASSERT_NE(load, nullptr);
    EXPECT_EQ(load->type(), pb::HISTOGRAM);
    ASSERT_EQ(load->metric_size(), 1);
    const pb::Histogram& h = load->metric(0).histogram();
    EXPECT_EQ(h.sample_count(), 3u);
    EXPECT_EQ(h.sample_sum(), 0.1 + 0.3 + 0.05);
    ASSERT_GT(h.bucket_size(), 0);
    for (const pb::Bucket& b : h.bucket()) {
      EXPECT_FALSE(std::isinf(b.upper_bound()));
      EXPECT_EQ(b.cumulative_count(), b.upper_bound() >= 0.25 ? 3u : 0u)
          << b.upper_bound();
    }
    EXPECT_FALSE(h.has_schema());  // classic only
    const pb::MetricFamily* hostile = Find(families, "test_hostile_total");
    ASSERT_NE(hostile, nullptr);
    ASSERT_EQ(hostile->metric_size(), 1);
    EXPECT_EQ(hostile->metric(0).label(0).value(), kHostileValue);
    EXPECT_EQ(hostile->metric(0).counter().value(), 2);
    const pb::MetricFamily* own =
        Find(families, "pum_exporter_allowlist_last_reload_successful");
    ASSERT_NE(own, nullptr);
    EXPECT_EQ(own->type(), pb::GAUGE);
    EXPECT_EQ(own->metric(0).gauge().value(), 1);
  }
}

TEST_F(HttpServerTest, ProtobufHeadSendsHeadersOnly) {
  HttpResponse get =
      Get("/metrics", {std::string("Accept: ") + kPrometheusProtobufAccept});
  HttpResponse head;
  ASSERT_TRUE(HttpRequest(server_->port(), "HEAD", "/metrics",
                          {std::string("Accept: ") + kPrometheusProtobufAccept},
                          &head));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-type"], get.headers["content-type"]);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(HttpServerTest, HeadSendsHeadersOnly) {
  HttpResponse response;
  ASSERT_TRUE(HttpRequest(server_->port(), "HEAD", "/metrics", {}, &response));
  EXPECT_EQ(response.status, 200);
  EXPECT_GT(std::stoul(response.headers["content-length"]), 1000u);
  EXPECT_EQ(response.body, "");
}

TEST_F(HttpServerTest, Healthy) {
  HttpResponse response = Get("/-/healthy");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "OK\n");
}

struct StatusCase {
  const char* method;
  const char* path;
  int status;
};

TEST_F(HttpServerTest, OtherPathsAndMethods) {
  const StatusCase cases[] = {
      {"GET", "/", 200},           {"GET", "/nope", 404},
      {"GET", "/metrics/x", 404},  {"GET", "/metricsx", 404},
      {"GET", "/-/ready", 200},    {"GET", "/../etc/passwd", 404},
      {"POST", "/metrics", 405},   {"PUT", "/metrics", 405},
      {"DELETE", "/metrics", 405}, {"POST", "/-/healthy", 405},
      {"POST", "/nope", 404},      {"GET", "/metrics?x=1", 200},
      {"POST", "/", 405},          {"GET", "/index.html", 404},
  };
  for (const StatusCase& c : cases) {
    HttpResponse response;
    ASSERT_TRUE(HttpRequest(server_->port(), c.method, c.path, {}, &response))
        << c.method << " " << c.path;
    EXPECT_EQ(response.status, c.status) << c.method << " " << c.path;
    if (c.status == 405) {
      EXPECT_EQ(response.headers["allow"], "GET, HEAD");
    }
  }
}

// A loopback connection straight to CivetWeb's port (around the door, and
// so around TLS) is refused.
TEST_F(HttpServerTest, CivetWebRefusesConnectionsThatBypassTheDoor) {
  ASSERT_GT(server_->civetweb_port(), 0);
  ASSERT_NE(server_->civetweb_port(), server_->port());
  for (const char* path : {"/metrics", "/-/healthy", "/nope"}) {
    HttpResponse response;
    ASSERT_TRUE(
        HttpRequest(server_->civetweb_port(), "GET", path, {}, &response));
    EXPECT_EQ(response.status, 403) << path;
    EXPECT_EQ(response.body.find("browser_page_views"), std::string::npos);
  }
}

TEST_F(HttpServerTest, RequestHeadOverTheCapIs431) {
  HttpResponse response;
  ASSERT_TRUE(HttpRequest(server_->port(), "GET", "/metrics",
                          {"X-Big: " + std::string(20000, 'a')}, &response));
  EXPECT_EQ(response.status, 431);
  // The door still serves.
  EXPECT_EQ(Get("/metrics").status, 200);
}

// bcrypt of `password`, cost 4.
std::string TestHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof(salt)),
            nullptr);
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

struct AuthCase {
  const char* path;
  const char* authorization;  // null: none
  int status;
};

// Basic auth (exporter-toolkit's rule: every path), the web config's extra
// headers, and the door's head deadline, on a second server.
TEST_F(HttpServerTest, BasicAuthHeadersAndHeadDeadline) {
  HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.web.basic_auth_users["u"] = TestHash("p");
  options.web.headers.emplace_back("X-Frame-Options", "deny");
  options.head_timeout_ms = 300;
  std::unique_ptr<HttpServer> server;
  Status status = HttpServer::Start(options, state_, &server);
  ASSERT_TRUE(status.ok()) << status.ToString();
  const char kGood[] = "Authorization: Basic dTpw";  // u:p
  const AuthCase cases[] = {
      {"/metrics", nullptr, 401},
      {"/metrics", "Authorization: Basic dTpx", 401},  // u:q
      {"/metrics", "Authorization: Basic djpw", 401},  // v:p
      {"/-/healthy", nullptr, 401},
      {"/-/ready", nullptr, 401},
      {"/nope", nullptr, 401},
      {"/metrics", kGood, 200},
      {"/-/healthy", kGood, 200},
      {"/-/ready", kGood, 200},
      {"/nope", kGood, 404},
  };
  for (const AuthCase& c : cases) {
    std::vector<std::string> headers;
    if (c.authorization != nullptr) headers.push_back(c.authorization);
    HttpResponse response;
    ASSERT_TRUE(HttpRequest(server->port(), "GET", c.path, headers, &response));
    const std::string what =
        std::string(c.path) + " " + (c.authorization ? c.authorization : "-");
    EXPECT_EQ(response.status, c.status) << what;
    EXPECT_EQ(response.headers["x-frame-options"], "deny") << what;
    if (c.status == 401) {
      EXPECT_EQ(response.headers["www-authenticate"],
                "Basic realm=\"pum-exporter\", charset=\"UTF-8\"")
          << what;
      EXPECT_EQ(response.body.find("browser_page_views"), std::string::npos);
    }
  }

  // An unfinished head is closed at the deadline, without an answer.
  UniqueFd fd(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_TRUE(fd.valid());
  timeval five{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &five, sizeof(five));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  const std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(write(fd.get(), partial.data(), partial.size()),
            static_cast<ssize_t>(partial.size()));
  auto start = std::chrono::steady_clock::now();
  char buf[256];
  ssize_t n = read(fd.get(), buf, sizeof(buf));
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count();
  fd.reset();
  EXPECT_EQ(n, 0) << "closed without an answer";
  EXPECT_GE(waited, 200);
  EXPECT_LT(waited, 3000);
}

TEST_F(HttpServerTest, ConcurrentScrapes) {
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this, t, &ok] {
      for (int i = 0; i < 5; ++i) {
        HttpResponse response;
        if (HttpRequest(server_->port(), "GET", "/metrics", {}, &response) &&
            response.status == 200 &&
            response.body.find("\nbrowser_page_views_total 7\n") !=
                std::string::npos) {
          ++ok[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 5) << t;
}

// Regression test (issue 8): an exception thrown by a handler unwound into
// CivetWeb's C frames (undefined behaviour: in practice std::terminate,
// and the exporter gone). Now it is answered 500 and the server serves on.
TEST_F(HttpServerTest, AHandlerThatThrowsAnswers500AndTheServerKeepsServing) {
  server_->AddTextHandlerForTesting("/-/test/std", []() -> std::string {
    throw std::runtime_error("handler failed");
  });
  server_->AddTextHandlerForTesting(
      "/-/test/alloc", []() -> std::string { throw std::bad_alloc(); });
  server_->AddTextHandlerForTesting("/-/test/other",
                                    []() -> std::string { throw 42; });
  server_->AddTextHandlerForTesting("/-/test/fine",
                                    [] { return std::string("fine\n"); });
  for (int round = 0; round < 3; ++round) {
    for (const char* path : {"/-/test/std", "/-/test/alloc", "/-/test/other"}) {
      HttpResponse response = Get(path);
      EXPECT_EQ(response.status, 500) << path;
      EXPECT_EQ(response.body, "Internal Server Error\n") << path;
      EXPECT_EQ(response.headers["content-length"], "22") << path;
      EXPECT_EQ(response.headers["connection"], "close") << path;
      HttpResponse fine = Get("/-/test/fine");
      EXPECT_EQ(fine.status, 200) << "after " << path;
      EXPECT_EQ(fine.body, "fine\n");
    }
    EXPECT_EQ(Get("/metrics").status, 200);
  }
}

TEST_F(HttpServerTest, MetricsUrl) {
  EXPECT_EQ(server_->MetricsUrl(),
            "http://127.0.0.1:" + std::to_string(server_->port()) + "/metrics");
}

TEST(HttpServer, PortInUseFails) {
  testing::TempDir dir;
  std::unique_ptr<Store> store;
  ASSERT_TRUE(Store::Open(dir.Path("pum.db"), StoreOptions(), &store).ok());
  ExporterState state(std::move(store), std::make_shared<Allowlist>(),
                      dir.path(), 0);
  HttpServerOptions options;
  options.listen_address = "127.0.0.1:0";
  std::unique_ptr<HttpServer> first;
  ASSERT_TRUE(HttpServer::Start(options, &state, &first).ok());
  options.listen_address = "127.0.0.1:" + std::to_string(first->port());
  std::unique_ptr<HttpServer> second;
  Status status = HttpServer::Start(options, &state, &second);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot listen on"), std::string::npos)
      << status.message();
}

// ParseListenAddress() became ParseHostPort(), tested with its table in
// schema/base/host_port_test.cc.

struct HeaderCase {
  const char* header;
  bool accepted;
};

TEST(HttpServer, NegotiateFormat) {
  constexpr ScrapeFormat kText = ScrapeFormat::kText;
  constexpr ScrapeFormat kOm = ScrapeFormat::kOpenMetrics;
  constexpr ScrapeFormat kPb = ScrapeFormat::kProtobuf;
  struct Case {
    const char* header;
    ScrapeFormat format;
  };
  const Case cases[] = {
      {nullptr, kText},
      {"", kText},
      {"text/plain", kText},
      {"*/*", kText},
      {"text/*", kText},
      {"garbage", kText},
      {kPrometheusAccept, kOm},
      {kPrometheusProtobufAccept, kPb},
      // OpenMetrics, as AcceptsOpenMetrics() had it.
      {"application/openmetrics-text", kOm},
      {"application/openmetrics-text; version=1.0.0; charset=utf-8", kOm},
      {"text/plain;q=0.5, application/openmetrics-text;version=0.0.1", kOm},
      {"Application/OpenMetrics-Text", kOm},
      {"application/openmetrics-text;q=0", kText},
      {"application/openmetrics-text; q=0.000", kText},
      {"application/openmetrics-text;q=0.001", kOm},
      {"application/openmetrics-textual", kText},
      {"application/openmetrics-text;version=2.0.0", kText},
      {"application/openmetrics-text; version=\"1.0.0\"", kOm},
      // Protobuf: only MetricFamily, delimited.
      {"application/vnd.google.protobuf;proto=io.prometheus.client."
       "MetricFamily;encoding=delimited",
       kPb},
      {"application/vnd.google.protobuf; proto=io.prometheus.client."
       "MetricFamily; encoding=delimited; q=0.3",
       kPb},
      {"Application/Vnd.Google.Protobuf;Proto=io.prometheus.client."
       "MetricFamily;Encoding=delimited",
       kPb},
      {"application/vnd.google.protobuf", kText},
      {"application/vnd.google.protobuf;proto=io.prometheus.client."
       "MetricFamily",
       kText},
      {"application/vnd.google.protobuf;proto=io.prometheus.client."
       "MetricFamily;encoding=text",
       kText},
      {"application/vnd.google.protobuf;proto=io.prometheus.client."
       "MetricFamily;encoding=compact-text,application/openmetrics-text;q=0.2",
       kOm},
      {"application/vnd.google.protobuf;proto=other.Message;encoding="
       "delimited",
       kText},
      {"application/vnd.google.protobuf;proto=io.prometheus.client."
       "MetricFamily;encoding=delimited;q=0",
       kText},
      // q-values: the highest wins, whatever the order.
      {"text/plain;q=0.5,application/vnd.google.protobuf;proto=io.prometheus."
       "client.MetricFamily;encoding=delimited;q=0.9",
       kPb},
      {"application/vnd.google.protobuf;proto=io.prometheus.client."
       "MetricFamily;encoding=delimited;q=0.4,application/openmetrics-text;q="
       "0.5",
       kOm},
      {"application/openmetrics-text;q=0.3,text/plain;version=0.0.4;q=0.4",
       kText},
      {"application/openmetrics-text;q=1.0,text/plain;q=0.999", kOm},
      // Ties: the header's order among specific ranges...
      {"text/plain;q=0.5,application/openmetrics-text;q=0.5", kText},
      {"application/openmetrics-text;q=0.5,text/plain;q=0.5", kOm},
      {"application/openmetrics-text,application/vnd.google.protobuf;proto="
       "io.prometheus.client.MetricFamily;encoding=delimited",
       kOm},
      // ...and a specific range before a wildcard.
      {"*/*,application/openmetrics-text", kOm},
      {"*/*;q=0.9,application/openmetrics-text;q=0.5", kText},
      {"text/*,application/openmetrics-text", kOm},
      // Ranges pum does not serve are skipped.
      {"text/html,application/openmetrics-text;q=0.1", kOm},
      {"text/plain;version=0.0.5,application/openmetrics-text;q=0.1", kOm},
      {"application/json", kText},
      {"application/*", kText},
      {"application/*,application/openmetrics-text;q=0.5", kOm},
      // q=0 excludes; wildcards then choose what is left.
      {"text/plain;q=0,*/*", kOm},
      {"text/plain;q=0,application/openmetrics-text;q=0,*/*", kPb},
      {"text/plain;q=0,text/*,application/openmetrics-text;q=0.5", kOm},
      {"text/plain;q=0", kText},  // nothing acceptable: text anyway
      // A q that is no qvalue makes its range unacceptable.
      {"application/openmetrics-text;q=2", kText},
      {"application/openmetrics-text;q=abc", kText},
      {"application/openmetrics-text;q=0.5555", kText},
      {"application/openmetrics-text;q=1.5", kText},
      {"application/openmetrics-text;q=1.000", kOm},
      {" application/openmetrics-text ; q = 0.5 , text/plain ; q=0.4", kOm},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NegotiateFormat(c.header), c.format)
        << (c.header ? c.header : "(null)");
  }
}

TEST(HttpServer, AcceptsGzip) {
  const HeaderCase cases[] = {
      {nullptr, false},        {"", false},
      {"gzip", true},          {"GZIP", true},
      {"deflate, gzip", true}, {"gzip;q=0", false},
      {"gzip; q=0.5", true},   {"identity", false},
      {"x-gzip", false},       {"br,gzip;q=1.0", true},
  };
  for (const HeaderCase& c : cases) {
    EXPECT_EQ(AcceptsGzip(c.header), c.accepted)
        << (c.header ? c.header : "(null)");
  }
}

TEST(HttpServer, GzipRoundTrip) {
  for (const std::string& text :
       {std::string(), std::string("x"), std::string(100000, 'a'),
        std::string("# HELP a b\n# TYPE a counter\na 1\n")}) {
    std::string compressed;
    ASSERT_TRUE(GzipCompress(text, &compressed).ok());
    ASSERT_GE(compressed.size(), 2u);
    EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
    EXPECT_EQ(Gunzip(compressed), text);
  }
}

}  // namespace
}  // namespace pum
