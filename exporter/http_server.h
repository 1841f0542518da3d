// HttpServer: pum-exporter's HTTP side, a thin CivetWeb layer in front of
// ExporterState: it answers Prometheus' scrapes of /metrics and the health
// probes, behind a Door that owns the public socket.
//
// Contract:
//   - Listens on --web.listen-address only ("HOST:PORT" as ParseHostPort()
//     reads it; ":PORT" means every IPv4 interface; PORT 0 picks a free
//     port, which port() then tells).
//     It has no document_root, so it serves no files.
//   - The listening socket is a Door (exporter/door.h): it accepts, does
//     TLS when the web config has tls_server_config, waits for the whole
//     request head, and only then hands the request to CivetWeb, which
//     listens on an ephemeral 127.0.0.1 port and answers only connections
//     that come from the door (anything else gets 403). Idle and slow
//     connections therefore never hold a CivetWeb thread.
//   - With basic_auth_users in the web config, every path (/metrics,
//     /-/healthy, /-/ready and the 404s alike, as exporter-toolkit does)
//     needs valid credentials, else 401 with
//     `WWW-Authenticate: Basic realm="pum-exporter"`.
//   - The web config's http_server_config.headers are added to every answer.
//   - GET or HEAD /metrics: the exposition, in the format the Accept header
//     chooses (NegotiateFormat()), after client_golang's expfmt.Negotiate:
//     its media ranges are taken by q (default 1; q=0, or a q that is no
//     qvalue, is not acceptable), highest first, on a tie the more specific
//     range first (type/subtype, type/*, */*), then in the header's order;
//     the first one pum serves decides:
//       application/vnd.google.protobuf with proto=io.prometheus.client.
//         MetricFamily and encoding=delimited: the protobuf format
//         (protobuf_exposition.h), as kProtobufContentType;
//       application/openmetrics-text without a version or with version
//         1.0.0 or 0.0.1: OpenMetrics 1.0 as "application/openmetrics-text;
//         version=1.0.0; charset=utf-8";
//       text/plain without a version or with 0.0.4: the text format as
//         "text/plain; version=0.0.4; charset=utf-8".
//     text/* and */* choose the text format unless a q=0 range excluded
//     text/plain (then */* chooses OpenMetrics, else protobuf, whichever
//     no q=0 excluded). Other ranges (another encoding or version,
//     application/*) are skipped; no header, or nothing acceptable that
//     pum serves: the text format.
//     Type, subtype and parameter names are compared ignoring case,
//     parameter values exactly (quotes removed). Prometheus 2.42 with
//     --enable-feature=native-histograms asks for protobuf first.
//   - An Accept-Encoding that allows gzip gets the body, in any format,
//     gzipped with "Content-Encoding: gzip" (one gzip member, assembled by
//     ExporterState). Content-Length is always set;
//     HEAD sends the headers GET would, without the body. If the store
//     cannot be read: 503.
//   - GET or HEAD /-/healthy: 200 "OK" while the process serves.
//   - GET or HEAD /-/ready: 200 "OK" if the store can be read, else 503.
//   - GET or HEAD /: the landing page (exporter/landing_page.h) for the
//     current allowlist, as "text/html; charset=utf-8".
//   - Another method on those paths: 405 with "Allow: GET, HEAD". Any other
//     path: 404.
//   - Handlers run on CivetWeb's worker threads (num_threads of them);
//     ExporterState is thread-safe.
//   - No exception unwinds into CivetWeb's C code: one thrown by a handler
//     or by the checks before it (door, basic auth) is caught at the
//     callback, logged to stderr with the method and path, and answered
//     500 "Internal Server Error"; the server goes on serving.
#ifndef PUM_EXPORTER_HTTP_SERVER_H_
#define PUM_EXPORTER_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/gzip_stream.h"  // GzipCompress()
#include "exporter/state.h"
#include "exporter/web_config.h"
#include "schema/base/status.h"

struct mg_context;

namespace pum {

struct HttpServerOptions {
  std::string listen_address = "127.0.0.1:9102";
  // CivetWeb's threads; they only ever see complete request heads.
  int num_threads = 8;
  // TLS, basic auth and extra headers; the default is plain HTTP, no auth.
  WebConfig web;
  std::string web_config_file;  // for messages
  // The landing page's version line (build_info.h's VersionLine()).
  std::string version_line;
  // The door's bounds (door.h).
  int head_timeout_ms = 10000;
  int relay_timeout_ms = 60000;
};

class BasicAuth;
class Door;
class TlsContext;

class HttpServer {
 public:
  // Starts listening on options.listen_address (the error names it) and
  // serving; `state` must outlive the server. On failure nothing is left
  // listening and *out is unchanged.
  static Status Start(const HttpServerOptions& options, ExporterState* state,
                      std::unique_ptr<HttpServer>* out);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops accepting, finishes the requests under way (mg_stop) and joins
  // every thread. Idempotent; the destructor calls it.
  void Stop();

  // The port actually bound (the real one when 0 was asked for).
  int port() const { return port_; }
  // CivetWeb's own 127.0.0.1 port behind the door (for tests: it must
  // refuse anything that does not come through the door).
  int civetweb_port() const { return civetweb_port_; }
  // "http://HOST:PORT/metrics" (https with TLS), for the startup line.
  std::string MetricsUrl() const;

  ExporterState* state() const { return state_; }
  const std::string& version_line() const { return version_line_; }

  // For the tests of the exception boundary: GET or HEAD `path` (exactly)
  // answers 200 with the text `body()` returns, through the same boundary
  // as the real handlers, so an exception from `body` gets 500. Call after
  // Start(), before any request to `path`.
  void AddTextHandlerForTesting(const std::string& path,
                                std::function<std::string()> body);

  // For CivetWeb's callbacks (http_server.cc).
  struct Callbacks;
  struct TestHandler;

 private:
  HttpServer(ExporterState* state, std::string host, std::string version_line);

  ExporterState* const state_;
  const std::string host_;
  const std::string version_line_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<BasicAuth> auth_;
  std::unique_ptr<Door> door_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::vector<std::unique_ptr<TestHandler>> test_handlers_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  int civetweb_port_ = 0;
};

// The formats /metrics answers in.
enum class ScrapeFormat { kText, kOpenMetrics, kProtobuf };

// The format the Accept header (null: no header) chooses; see the contract.
ScrapeFormat NegotiateFormat(const char* accept);
// True if the Accept-Encoding header allows gzip (null: no header).
bool AcceptsGzip(const char* accept_encoding);

}  // namespace pum

#endif  // PUM_EXPORTER_HTTP_SERVER_H_
