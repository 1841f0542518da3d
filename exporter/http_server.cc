#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporter/basic_auth.h"
#include "exporter/door.h"
#include "exporter/landing_page.h"
#include "exporter/protobuf_exposition.h"
#include "exporter/tls.h"
#include "schema/base/host_port.h"
#include "schema/base/http_status.h"
#include "schema/base/log.h"
#include "schema/base/unique_fd.h"

namespace pum {

struct HttpServer::Callbacks {
  static HttpServer* Of(const mg_connection* conn) {
    return static_cast<HttpServer*>(
        mg_get_user_data(mg_get_context(const_cast<mg_connection*>(conn))));
  }
  static const std::vector<std::pair<std::string, std::string>>& Headers(
      const mg_connection* conn) {
    return Of(conn)->headers_;
  }
  static int BeginRequest(mg_connection* conn);
  static int BeginRequestUnguarded(mg_connection* conn);
};

// A handler registered by AddTextHandlerForTesting().
struct HttpServer::TestHandler {
  std::string path;
  std::function<std::string()> body;
};

namespace {

constexpr char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kOpenMetricsContentType[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
constexpr char kPlainContentType[] = "text/plain; charset=utf-8";
constexpr char kHtmlContentType[] = "text/html; charset=utf-8";

struct Response {
  int status = 200;
  const char* content_type = kPlainContentType;
  std::string body;
  ScrapeBody pieces;  // sent after `body`
  bool gzipped = false;
  bool allow_get_head = false;  // add "Allow: GET, HEAD"
  bool authenticate = false;    // add "WWW-Authenticate: Basic ..."
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// True if "q=0", "q=0.0", ... is among the parameters after the first ';'.
bool HasZeroQuality(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? "" : params.substr(semi + 1);
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') ||
        param[1] != '=') {
      continue;
    }
    std::string_view value = Trim(param.substr(2));
    if (value.empty() || value[0] != '0') return false;
    for (char c : value.substr(1)) {
      if (c != '.' && c != '0') return false;
    }
    return true;
  }
  return false;
}

// An RFC 9110 qvalue ("0", "0.5", "1.000", ...) in thousandths; false if
// it is not one.
bool ParseQuality(std::string_view value, int* thousandths) {
  if (value.empty() || (value[0] != '0' && value[0] != '1')) return false;
  int q = (value[0] - '0') * 1000;
  if (value.size() > 1) {
    if (value[1] != '.' || value.size() > 5) return false;
    int scale = 100;
    for (char c : value.substr(2)) {
      if (c < '0' || c > '9') return false;
      q += (c - '0') * scale;
      scale /= 10;
    }
  }
  if (q > 1000) return false;
  *thousandths = q;
  return true;
}

// Takes the next item of the comma-separated header list `*rest`: its name
// (before the first ';', trimmed) and its parameters (after it). False when
// nothing is left.
bool NextHeaderItem(std::string_view* rest, std::string_view* name,
                    std::string_view* params) {
  if (rest->empty()) return false;
  const size_t comma = rest->find(',');
  const std::string_view item = rest->substr(0, comma);
  *rest = comma == std::string_view::npos ? "" : rest->substr(comma + 1);
  const size_t semi = item.find(';');
  *name = Trim(item.substr(0, semi));
  *params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
  return true;
}

// True if the comma-separated header lists `token` with a q above 0.
bool HeaderListsToken(const char* header, std::string_view token) {
  if (header == nullptr) return false;
  std::string_view rest(header), name, params;
  while (NextHeaderItem(&rest, &name, &params)) {
    if (EqualsIgnoreCase(name, token) && !HasZeroQuality(params)) return true;
  }
  return false;
}

std::string DecimalString(size_t n) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%zu", n);
  return buf;
}

// An RFC 7231 date, built by hand: gmtime() is not thread-safe (CivetWeb's
// own header functions use it) and strftime() follows LC_TIME.
std::string HttpDate(time_t now) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed",
                                      "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                        "May", "Jun", "Jul", "Aug",
                                        "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

int Send(mg_connection* conn, const Response& response) {
  const mg_request_info* request = mg_get_request_info(conn);
  bool head = std::strcmp(request->request_method, "HEAD") == 0;
  std::string header = "HTTP/1.1 " + std::to_string(response.status) + " " +
                       HttpReasonPhrase(response.status) + "\r\n";
  header += std::string("Content-Type: ") + response.content_type + "\r\n";
  header += "Content-Length: " +
            DecimalString(response.body.size() + response.pieces.size()) +
            "\r\n";
  if (response.gzipped) header += "Content-Encoding: gzip\r\n";
  if (response.allow_get_head) header += "Allow: GET, HEAD\r\n";
  if (response.authenticate) {
    header +=
        "WWW-Authenticate: Basic realm=\"pum-exporter\", charset=\"UTF-8\"\r\n";
  }
  for (const auto& extra : HttpServer::Callbacks::Headers(conn)) {
    header += extra.first + ": " + extra.second + "\r\n";
  }
  header += "Cache-Control: no-store\r\n";
  header += "Date: " + HttpDate(time(nullptr)) + "\r\n";
  header += "Connection: close\r\n\r\n";
  mg_write(conn, header.data(), header.size());
  if (!head && !response.body.empty()) {
    mg_write(conn, response.body.data(), response.body.size());
  }
  if (!head) {
    for (const auto& piece : response.pieces.pieces) {
      if (!piece->empty()) mg_write(conn, piece->data(), piece->size());
    }
  }
  return response.status;
}

int SendText(mg_connection* conn, int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.allow_get_head = status == 405;
  return Send(conn, response);
}

// 404 unless the path is exactly `path`, 405 unless GET or HEAD; 0 if the
// request may go on.
int CheckRequest(mg_connection* conn, const char* path) {
  const mg_request_info* request = mg_get_request_info(conn);
  if (request->local_uri == nullptr ||
      std::strcmp(request->local_uri, path) != 0) {
    return SendText(conn, 404, "Not Found\n");
  }
  if (std::strcmp(request->request_method, "GET") != 0 &&
      std::strcmp(request->request_method, "HEAD") != 0) {
    return SendText(conn, 405, "Method Not Allowed\n");
  }
  return 0;
}

int HandleMetrics(mg_connection* conn, void* data) {
  if (int sent = CheckRequest(conn, "/metrics")) return sent;
  auto* state = static_cast<HttpServer*>(data)->state();
  ScrapeFormat format = NegotiateFormat(mg_get_header(conn, "Accept"));
  bool gzip = AcceptsGzip(mg_get_header(conn, "Accept-Encoding"));
  Response response;
  Status status;
  switch (format) {
    case ScrapeFormat::kProtobuf:
      status = state->ScrapeProtobuf(gzip, &response.pieces);
      response.content_type = kProtobufContentType;
      break;
    case ScrapeFormat::kOpenMetrics:
      status =
          state->Scrape(ExpositionFormat::kOpenMetrics, gzip, &response.pieces);
      response.content_type = kOpenMetricsContentType;
      break;
    case ScrapeFormat::kText:
      status = state->Scrape(ExpositionFormat::kText, gzip, &response.pieces);
      response.content_type = kTextContentType;
      break;
  }
  if (!status.ok()) {
    return SendText(conn, 503, "store unreadable: " + status.message() + "\n");
  }
  response.gzipped = response.pieces.gzipped;
  return Send(conn, response);
}

int HandleHealthy(mg_connection* conn, void* /*data*/) {
  if (int sent = CheckRequest(conn, "/-/healthy")) return sent;
  return SendText(conn, 200, "OK\n");
}

int HandleReady(mg_connection* conn, void* data) {
  if (int sent = CheckRequest(conn, "/-/ready")) return sent;
  Status status = static_cast<HttpServer*>(data)->state()->Ping();
  if (!status.ok()) {
    return SendText(conn, 503, "store unreadable: " + status.message() + "\n");
  }
  return SendText(conn, 200, "OK\n");
}

// "/" is the landing page; any other path CivetWeb hands here is a 404.
int HandleOther(mg_connection* conn, void* data) {
  if (int sent = CheckRequest(conn, "/")) return sent;
  auto* server = static_cast<HttpServer*>(data);
  Response response;
  response.content_type = kHtmlContentType;
  response.body =
      RenderLandingPage(server->version_line(), *server->state()->allowlist());
  return Send(conn, response);
}

int HandleForTesting(mg_connection* conn, void* data) {
  auto* handler = static_cast<const HttpServer::TestHandler*>(data);
  if (int sent = CheckRequest(conn, handler->path.c_str())) return sent;
  return SendText(conn, 200, handler->body());
}

int LogMessage(const mg_connection* /*conn*/, const char* message) noexcept {
  LogErrorNoThrow("civetweb", message);
  return 1;
}

// The answer to a request whose handler threw: logged, then 500 with the
// usual headers; should building those throw too, a fixed answer that
// needs no memory. Nothing of the failed answer was sent: Send() builds
// the whole head before its first write.
int AnswerInternalError(mg_connection* conn, const char* what) noexcept {
  const mg_request_info* request = mg_get_request_info(conn);
  try {
    LogError(
        "internal error; answered 500",
        {{"method",
          request->request_method != nullptr ? request->request_method : "-"},
         {"path", request->local_uri != nullptr ? request->local_uri : "-"},
         {"err", what}});
  } catch (...) {  // out of memory for the line: the answer still goes out
  }
  try {
    return SendText(conn, 500, "Internal Server Error\n");
  } catch (...) {
    static const char kAnswer[] =
        "HTTP/1.1 500 Internal Server Error\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 22\r\nCache-Control: no-store\r\n"
        "Connection: close\r\n\r\nInternal Server Error\n";
    mg_write(conn, kAnswer, sizeof kAnswer - 1);
    return 500;
  }
}

// The boundary between CivetWeb's C code and ours: no exception may
// unwind through CivetWeb's frames, so `run`'s are caught here and the
// request answered 500.
template <typename Run>
int Guarded(mg_connection* conn, const Run& run) noexcept {
  try {
    return run();
  } catch (const std::exception& e) {
    return AnswerInternalError(conn, e.what());
  } catch (...) {
    return AnswerInternalError(conn,
                               "an exception not derived from std::exception");
  }
}

// `Handler` as a CivetWeb request handler, behind the boundary.
template <int (*Handler)(mg_connection*, void*)>
int GuardedHandler(mg_connection* conn, void* data) noexcept {
  return Guarded(conn, [conn, data] { return Handler(conn, data); });
}

}  // namespace

int HttpServer::Callbacks::BeginRequest(mg_connection* conn) {
  return Guarded(conn, [conn] { return BeginRequestUnguarded(conn); });
}

// Before any handler: the connection must come through the door, and carry
// the credentials when basic auth is on.
int HttpServer::Callbacks::BeginRequestUnguarded(mg_connection* conn) {
  HttpServer* server = Of(conn);
  const mg_request_info* request = mg_get_request_info(conn);
  if (server->door_ == nullptr ||
      std::strcmp(request->remote_addr, "127.0.0.1") != 0 ||
      !server->door_->IsOwnBackendPort(request->remote_port)) {
    return SendText(conn, 403,
                    "Forbidden: connect to pum-exporter's listening address\n");
  }
  if (server->auth_ != nullptr &&
      !server->auth_->Check(mg_get_header(conn, "Authorization"))) {
    Response response;
    response.status = 401;
    response.body = "Unauthorized\n";
    response.authenticate = true;
    return Send(conn, response);
  }
  return 0;
}

HttpServer::HttpServer(ExporterState* state, std::string host,
                       std::string version_line)
    : state_(state),
      host_(std::move(host)),
      version_line_(std::move(version_line)) {}

ScrapeFormat NegotiateFormat(const char* accept) {
  if (accept == nullptr) return ScrapeFormat::kText;
  constexpr int kAll = 0, kTextAll = 1, kOne = 2;  // */*, text/*, one type
  struct Clause {
    int q = 1000;  // thousandths
    int specificity = kOne;
    ScrapeFormat format = ScrapeFormat::kText;  // for kOne
  };
  std::vector<Clause> clauses;
  bool excluded[3] = {false, false, false};  // by a q=0, [format]
  std::string_view rest(accept), range, params;
  while (NextHeaderItem(&rest, &range, &params)) {
    size_t slash = range.find('/');
    if (slash == std::string_view::npos) continue;  // not a media range
    std::string_view type = Trim(range.substr(0, slash));
    std::string_view subtype = Trim(range.substr(slash + 1));
    Clause clause;
    std::string_view version, proto, encoding;
    bool valid = true;
    while (!params.empty()) {
      size_t next = params.find(';');
      std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? "" : params.substr(next + 1);
      size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view name = Trim(param.substr(0, eq));
      std::string_view value = Trim(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (EqualsIgnoreCase(name, "q")) {
        valid = valid && ParseQuality(value, &clause.q);
      } else if (EqualsIgnoreCase(name, "version")) {
        version = value;
      } else if (EqualsIgnoreCase(name, "proto")) {
        proto = value;
      } else if (EqualsIgnoreCase(name, "encoding")) {
        encoding = value;
      }
    }
    if (!valid) continue;
    if (type == "*" && subtype == "*") {
      clause.specificity = kAll;
    } else if (EqualsIgnoreCase(type, "text") && subtype == "*") {
      clause.specificity = kTextAll;
    } else if (EqualsIgnoreCase(type, "application") &&
               EqualsIgnoreCase(subtype, "vnd.google.protobuf") &&
               proto == "io.prometheus.client.MetricFamily" &&
               encoding == "delimited") {
      clause.format = ScrapeFormat::kProtobuf;
    } else if (EqualsIgnoreCase(type, "application") &&
               EqualsIgnoreCase(subtype, "openmetrics-text") &&
               (version.empty() || version == "1.0.0" || version == "0.0.1")) {
      clause.format = ScrapeFormat::kOpenMetrics;
    } else if (EqualsIgnoreCase(type, "text") &&
               EqualsIgnoreCase(subtype, "plain") &&
               (version.empty() || version == "0.0.4")) {
      clause.format = ScrapeFormat::kText;
    } else {
      continue;  // nothing pum serves
    }
    if (clause.q == 0) {  // not acceptable
      if (clause.specificity == kOne) {
        excluded[static_cast<int>(clause.format)] = true;
      }
      continue;
    }
    clauses.push_back(clause);
  }
  // The highest q first; on a tie the more specific range, then the
  // header's order (goautoneg's sort, which client_golang's Negotiate()
  // walks in order).
  std::stable_sort(clauses.begin(), clauses.end(),
                   [](const Clause& a, const Clause& b) {
                     if (a.q != b.q) return a.q > b.q;
                     return a.specificity > b.specificity;
                   });
  auto allowed = [&excluded](ScrapeFormat f) {
    return !excluded[static_cast<int>(f)];
  };
  for (const Clause& clause : clauses) {
    if (clause.specificity == kOne) return clause.format;
    // A wildcard: the text format, unless a q=0 excluded it; */* then
    // takes the others in the order pum prefers them.
    if (allowed(ScrapeFormat::kText)) return ScrapeFormat::kText;
    if (clause.specificity == kTextAll) continue;
    if (allowed(ScrapeFormat::kOpenMetrics)) return ScrapeFormat::kOpenMetrics;
    if (allowed(ScrapeFormat::kProtobuf)) return ScrapeFormat::kProtobuf;
  }
  return ScrapeFormat::kText;
}

bool AcceptsGzip(const char* accept_encoding) {
  return HeaderListsToken(accept_encoding, "gzip");
}

Status HttpServer::Start(const HttpServerOptions& options, ExporterState* state,
                         std::unique_ptr<HttpServer>* out) {
  HostPort address;
  Status status = ParseHostPort(options.listen_address, &address);
  if (!status.ok()) return status;
  const std::string host = address.HostForUrl();
  std::unique_ptr<HttpServer> server(
      new HttpServer(state, host, options.version_line));
  if (options.web.tls.enabled) {
    status = TlsContext::Create(options.web.tls, options.web_config_file,
                                &server->tls_);
    if (!status.ok()) return status;
  }
  if (!options.web.basic_auth_users.empty()) {
    server->auth_ = std::make_unique<BasicAuth>(options.web.basic_auth_users);
  }
  server->headers_ = options.web.headers;

  // The public socket first, so that a taken port is the error reported.
  DoorOptions door_options;
  door_options.host = host;
  door_options.port = address.port;
  door_options.tls = server->tls_ ? server->tls_->get() : nullptr;
  door_options.head_timeout_ms = options.head_timeout_ms;
  door_options.relay_timeout_ms = options.relay_timeout_ms;
  std::unique_ptr<Door> door;
  status = Door::Create(door_options, &door);
  if (!status.ok()) return status;
  // Before CivetWeb starts: its callback reads door_ (and, until Run(),
  // refuses every connection).
  server->door_ = std::move(door);

  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  const std::string threads = std::to_string(options.num_threads);
  // CivetWeb sees only the door's connections, each with its request head
  // complete; its timeout only bounds a door that stalls.
  const char* config[] = {"listening_ports",
                          "127.0.0.1:0",
                          "num_threads",
                          threads.c_str(),
                          "request_timeout_ms",
                          "10000",
                          "enable_keep_alive",
                          "no",
                          nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = LogMessage;
  callbacks.begin_request = Callbacks::BeginRequest;
  mg_init_data init = {&callbacks, server.get(), config};
  char error_text[256] = "";
  unsigned error_code = 0;
  mg_error_data error = {&error_code, error_text, sizeof(error_text)};
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return Status::IoError("cannot start CivetWeb on 127.0.0.1: " +
                           std::string(error_text));
  }
  mg_set_request_handler(server->context_, "/metrics",
                         GuardedHandler<HandleMetrics>, server.get());
  mg_set_request_handler(server->context_, "/-/healthy",
                         GuardedHandler<HandleHealthy>, server.get());
  mg_set_request_handler(server->context_, "/-/ready",
                         GuardedHandler<HandleReady>, server.get());
  mg_set_request_handler(server->context_, "/", GuardedHandler<HandleOther>,
                         server.get());
  mg_server_port bound[4];
  int count = mg_get_server_ports(server->context_, 4, bound);
  if (count < 1) return Status::IoError("cannot learn CivetWeb's port");
  server->civetweb_port_ = bound[0].port;
  status = server->door_->Run(bound[0].port);
  if (!status.ok()) return status;
  server->port_ = server->door_->port();
  *out = std::move(server);
  return Status::Ok();
}

HttpServer::~HttpServer() { Stop(); }

namespace {

// Connects to 127.0.0.1:`port` and closes at once, until `done`: CivetWeb's
// master thread polls its listening socket with a 2 s quantum, so mg_stop()
// took 2 s; a connection wakes it to see the stop flag.
void WakeListener(int port, const std::atomic<bool>* done) {
  while (!done->load()) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

void HttpServer::Stop() {
  if (door_ != nullptr) door_->Stop();
  if (context_ != nullptr) {
    std::atomic<bool> stopped{false};
    std::thread waker(WakeListener, civetweb_port_, &stopped);
    mg_stop(context_);
    stopped = true;
    waker.join();
    context_ = nullptr;
  }
}

void HttpServer::AddTextHandlerForTesting(const std::string& path,
                                          std::function<std::string()> body) {
  assert(context_ != nullptr);  // after Start()
  test_handlers_.push_back(
      std::make_unique<TestHandler>(TestHandler{path, std::move(body)}));
  mg_set_request_handler(context_, path.c_str(),
                         GuardedHandler<HandleForTesting>,
                         test_handlers_.back().get());
}

std::string HttpServer::MetricsUrl() const {
  return std::string(tls_ ? "https" : "http") + "://" +
         (host_.empty() ? std::string("0.0.0.0") : host_) + ":" +
         std::to_string(port_) + "/metrics";
}

}  // namespace pum
