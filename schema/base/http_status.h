// HttpReasonPhrase: the reason phrase of an HTTP status code, for the status
// lines both binaries write (pum-ingest's "Status: 204 No Content" FastCGI
// header, pum-exporter's "HTTP/1.1 200 OK" and its door's own answers).
//
// Contract:
//   - Every status either binary answers has its RFC 9110 / RFC 6585
//     phrase, spelled as the wire has used it for years ("Payload Too
//     Large", "Unprocessable Entity", as nginx and Go still print them).
//   - Any other code gives "" (RFC 9112 allows an empty reason phrase:
//     "HTTP/1.1 299 " is a valid status line). Never null.
//   - A pure function: thread-safe, no allocation.
#ifndef PUM_SCHEMA_BASE_HTTP_STATUS_H_
#define PUM_SCHEMA_BASE_HTTP_STATUS_H_

namespace pum {

// The reason phrase of `status`, or "" if it is not one pum knows.
const char* HttpReasonPhrase(int status);

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_HTTP_STATUS_H_
