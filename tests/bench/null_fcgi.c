/* null-fcgi: the benchmark's null FastCGI responder (tests/bench/bench.mjs).
 *
 * Accepts FastCGI requests on file descriptor 0 (as spawn-fcgi hands it
 * over), reads each request's whole body and discards it, and answers
 * "Status: 204" with no body. It does what pum-ingest's transport does and
 * nothing of its work (no parsing, no store), so pum-ingest's throughput
 * divided by this one's is the share of the FastCGI path that pum keeps.
 * SIGTERM ends it (the default action). */
#include <fcgiapp.h>
#include <signal.h>

int main(void) {
  FCGX_Request req;
  static char buf[65536];
  if (FCGX_Init() != 0) return 1;
  if (FCGX_InitRequest(&req, 0, 0) != 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  while (FCGX_Accept_r(&req) >= 0) {
    while (FCGX_GetStr(buf, sizeof buf, req.in) > 0) {
    }
    FCGX_PutS("Status: 204\r\n\r\n", req.out);
    FCGX_Finish_r(&req);
  }
  return 0;
}
