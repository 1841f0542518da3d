// Ingestor: one HTTP request to pum-ingest -> its answer, with the batch
// applied to the store. Transport-free (FastCGI lives in fcgi_server), so
// that every answer of the wire format's status table (the user
// documentation) can be tested directly.
//
// Contract:
//   - Methods: POST carries a batch; OPTIONS answers a CORS preflight with
//     204; any other method gets 405 with "Allow: POST, OPTIONS".
//   - CORS (Options::cors_allowed_origins; "*" allows any origin; origins
//     compare ASCII-case-insensitively): a request without an Origin gets no
//     CORS headers and is served. A request whose Origin is allowed gets
//     "Access-Control-Allow-Origin: <its origin>" and "Vary: Origin" on
//     every answer, the preflight also Access-Control-Allow-Methods,
//     -Allow-Headers (Content-Type) and -Max-Age (86400). A POST or OPTIONS
//     from an Origin not allowed gets 403 and nothing is applied.
//   - The Content-Type is not checked: application/json, text/plain (what
//     navigator.sendBeacon sends), none or any other are all parsed as JSON.
//   - POST answers, checked in this order: 403 (origin), 413 (the transport
//     saw a body over Options::max_body_bytes), 400 (BatchParser's error),
//     422 (strict mode and some event invalid: nothing applied), then the
//     valid events and the internal counters are applied as ONE batch
//     (through the GroupCommitter: in one transaction, maybe with other
//     threads' batches, answered after its commit): 204 when every event
//     was valid, 200 with
//     {"accepted": n, "rejected": [{"index": i, "reason": "..."}, ...]}
//     otherwise; 204 for a duplicate (client, seq); 409
//     {"error": "seq_too_old"} for a seq older than the client's
//     de-duplication window (nothing applied); 503 when the store fails
//     (busy past its timeout, disk full): nothing applied.
//   - Sampling: the deltas of a batch with "sample": N (ParsedBatch::
//     sample()) are N times what its events carry (see the validator);
//     max_inc and range judge the values as sent, the exact range of the
//     stored totals the scaled ones.
//   - An event whose delta the store refuses (a total would leave the exact
//     range) is rejected as value_out_of_range and the rest of the batch is
//     applied; in strict mode the batch gets 422 and nothing is applied.
//   - Error answers carry {"error": "..."}; a 422 also carries "accepted"
//     (0) and "rejected" as in a 200. Every body is application/json.
//     "rejected" lists at most the first 100 rejections (by index); when
//     there are more, "rejected_total" gives their number, so an answer
//     stays smaller than the request that caused it.
//   - Internal counters: an applied batch adds pum_reports_total 1 (not
//     N: it counts batches), pum_ingest_events_accepted_total n,
//     pum_ingest_events_rejected_total{reason},
//     pum_ingest_requests_total{code} and, when its sample N > 1,
//     pum_ingest_sampled_batches_total 1, in the batch's own transaction. An
//     answer that applies no batch (duplicate, 400, 403, 405, 413, 422,
//     OPTIONS) writes its counters (requests_total{code},
//     rejected_total{reason} for 422, duplicate_batches_total) in a small
//     transaction of its own. Counters that could not be written (503, or
//     the store failing for that small transaction, or it having failed in
//     the last second) are kept in memory and added to the next
//     transaction; Flush() tries to write them (at shutdown).
//   - The allowlist can be swapped at any time between requests.
//   - One Ingestor is used by one thread at a time. Several Ingestors (one
//     per thread) may share a GroupCommitter: their batches are then
//     committed together, each answered after the commit that holds it.
#ifndef PUM_FCGI_INGEST_INGESTOR_H_
#define PUM_FCGI_INGEST_INGESTOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fcgi-ingest/group_committer.h"
#include "fcgi-ingest/validator.h"
#include "schema/allowlist/allowlist.h"
#include "schema/base/status.h"
#include "schema/config/config.h"
#include "schema/store/store.h"

namespace pum {

struct Request {
  std::string method;        // "POST", "OPTIONS", ...
  std::string origin;        // the Origin header; empty if none
  std::string content_type;  // informational; not checked
  std::string body;
  // The transport refused to read a body over Options::max_body_bytes.
  bool body_too_large = false;
};

struct Response {
  int status = 204;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON, or empty

  // The value of header `name` (exact case), or "" if absent.
  std::string Header(const std::string& name) const;
};

class Ingestor {
 public:
  // `store` must outlive the Ingestor; neither it nor `allowlist` may be
  // null.
  Ingestor(Store* store, std::shared_ptr<const Allowlist> allowlist,
           Options options);
  // Applies through `committer` (which must outlive the Ingestor), shared
  // with the Ingestors of other threads.
  Ingestor(GroupCommitter* committer,
           std::shared_ptr<const Allowlist> allowlist, Options options);

  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Answers `request`; `now` is unix seconds.
  Response Handle(const Request& request, int64_t now);

  // Replaces the allowlist (not null) for the following requests.
  void SetAllowlist(std::shared_ptr<const Allowlist> allowlist);
  std::shared_ptr<const Allowlist> allowlist() const { return allowlist_; }

  // Tries to write the internal counters kept in memory (OK at once when
  // there are none); on failure they stay in memory and the store's error
  // is returned.
  Status Flush(int64_t now);

  // How many internal counter series wait in memory (for tests).
  size_t pending_series() const { return pending_.size(); }

  // How many times the store failed, and its last error (for the
  // transport's rate-limited log).
  uint64_t store_failures() const { return store_failures_; }
  const Status& last_store_error() const { return last_store_error_; }

 private:
  // Internal counter deltas by (metric, label name, label value).
  using Counters =
      std::map<std::pair<std::string, std::pair<std::string, std::string>>,
               double>;

  Response HandlePost(const Request& request, int64_t now);
  Response Finish(Response response, Counters counters, int64_t now);
  void Merge(const Counters& counters);
  static void AppendCounters(const Counters& counters, Batch* batch);
  static Counters RejectionCounters(const ValidationResult& result);
  Status ApplyValid(ValidationResult* result, int64_t now,
                    ApplyResult* applied);
  // Applies `batch` with `counters` and the pending counters appended;
  // `batch` is unchanged afterwards.
  Status ApplyWithPending(Batch* batch, const Counters& counters, int64_t now,
                          ApplyResult* result, OutOfRange* refused);
  bool OriginAllowed(const std::string& origin) const;
  void AddCorsHeaders(const Request& request, Response* response) const;

  std::unique_ptr<GroupCommitter> own_committer_;  // with the Store* ctor
  GroupCommitter* committer_;
  std::shared_ptr<const Allowlist> allowlist_;
  Options options_;
  Counters pending_;
  int64_t last_failure_ = -1;  // when the store last failed (unix seconds)
  uint64_t store_failures_ = 0;
  Status last_store_error_;
};

}  // namespace pum

#endif  // PUM_FCGI_INGEST_INGESTOR_H_
