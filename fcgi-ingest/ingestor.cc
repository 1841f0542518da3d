#include "fcgi-ingest/ingestor.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <strings.h>

#include <algorithm>
#include <cassert>

#include "fcgi-ingest/batch_parser.h"
#include "fcgi-ingest/validator.h"
#include "schema/own_metrics/own_metrics.h"

namespace pum {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

const char kAllowedMethods[] = "POST, OPTIONS";

// The most rejections a 200 or 422 answer lists.
constexpr size_t kMaxListedRejections = 100;

void AddJsonBody(const rapidjson::StringBuffer& buffer, Response* response) {
  response->body.assign(buffer.GetString(), buffer.GetSize());
  response->headers.emplace_back("Content-Type", "application/json");
}

Response ErrorResponse(int status, const std::string& message) {
  Response response;
  response.status = status;
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("error");
  writer.String(message.data(),
                static_cast<rapidjson::SizeType>(message.size()));
  writer.EndObject();
  AddJsonBody(buffer, &response);
  return response;
}

// 200 {"accepted": n, "rejected": [...]}, or 422 with an "error" first.
Response RejectedResponse(int status, const ValidationResult& result) {
  Response response;
  response.status = status;
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  if (status == 422) {
    writer.Key("error");
    writer.String(
        "strict mode: the batch has invalid events; nothing was applied");
  }
  writer.Key("accepted");
  writer.Uint64(status == 422 ? 0 : result.accepted);
  // The list is capped so that a body of junk events cannot make an answer
  // many times larger than the request; "rejected_total" then says how
  // many there were.
  if (result.rejected.size() > kMaxListedRejections) {
    writer.Key("rejected_total");
    writer.Uint64(result.rejected.size());
  }
  writer.Key("rejected");
  writer.StartArray();
  size_t listed = 0;
  for (const Rejection& r : result.rejected) {
    if (listed++ == kMaxListedRejections) break;
    writer.StartObject();
    writer.Key("index");
    writer.Uint64(r.index);
    writer.Key("reason");
    writer.String(r.reason);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  AddJsonBody(buffer, &response);
  return response;
}

}  // namespace

std::string Response::Header(const std::string& name) const {
  for (const auto& h : headers) {
    if (h.first == name) return h.second;
  }
  return "";
}

Ingestor::Ingestor(Store* store, std::shared_ptr<const Allowlist> allowlist,
                   Options options)
    : own_committer_(std::make_unique<GroupCommitter>(store)),
      committer_(own_committer_.get()),
      allowlist_(std::move(allowlist)),
      options_(std::move(options)) {
  assert(allowlist_ != nullptr);
}

Ingestor::Ingestor(GroupCommitter* committer,
                   std::shared_ptr<const Allowlist> allowlist, Options options)
    : committer_(committer),
      allowlist_(std::move(allowlist)),
      options_(std::move(options)) {
  assert(committer_ != nullptr && allowlist_ != nullptr);
}

void Ingestor::SetAllowlist(std::shared_ptr<const Allowlist> allowlist) {
  assert(allowlist != nullptr);
  allowlist_ = std::move(allowlist);
}

Response Ingestor::Handle(const Request& request, int64_t now) {
  Response response;
  if (request.method != "POST" && request.method != "OPTIONS") {
    response = ErrorResponse(405, "method not allowed: use POST");
    response.headers.emplace_back("Allow", kAllowedMethods);
  } else if (!request.origin.empty() && !OriginAllowed(request.origin)) {
    return Finish(ErrorResponse(403, "origin not allowed"), {}, now);
  } else if (request.method == "OPTIONS") {
    response.status = 204;
    response.headers.emplace_back("Allow", kAllowedMethods);
    if (!request.origin.empty()) {
      response.headers.emplace_back("Access-Control-Allow-Methods",
                                    kAllowedMethods);
      response.headers.emplace_back("Access-Control-Allow-Headers",
                                    "Content-Type");
      response.headers.emplace_back("Access-Control-Max-Age", "86400");
    }
  } else {
    response = HandlePost(request, now);
    AddCorsHeaders(request, &response);
    return response;
  }
  AddCorsHeaders(request, &response);
  return Finish(std::move(response), {}, now);
}

Response Ingestor::HandlePost(const Request& request, int64_t now) {
  if (request.body_too_large) {
    return Finish(
        ErrorResponse(413, "body larger than " +
                               std::to_string(options_.max_body_bytes) +
                               " bytes"),
        {}, now);
  }
  ParsedBatch parsed;
  Status s = ParseBatch(request.body, &parsed);
  if (!s.ok()) return Finish(ErrorResponse(400, s.message()), {}, now);

  std::shared_ptr<const Allowlist> allowlist = allowlist_;
  ValidationResult result;
  ValidateEvents(parsed.events(), *allowlist, options_, &result,
                 parsed.sample());
  Counters counters;
  for (const Rejection& r : result.rejected) {
    counters[{kEventsRejectedTotal, {"reason", r.reason}}] += 1;
  }
  if (options_.strict && !result.rejected.empty()) {
    return Finish(RejectedResponse(422, result), std::move(counters), now);
  }

  result.batch.id = parsed.id();
  ApplyResult applied = ApplyResult::kApplied;
  s = ApplyValid(&result, now, &applied);
  if (!s.ok()) {
    Merge({{{kRequestsTotal, {"code", "503"}}, 1}});
    return ErrorResponse(503, s.code() == Status::Code::kBusy
                                  ? "store busy; nothing was applied, retry"
                                  : "store failed; nothing was applied, retry");
  }
  switch (applied) {
    case ApplyResult::kDuplicate: {
      Response response;
      response.status = 204;
      return Finish(std::move(response), {{{kDuplicateBatchesTotal, {}}, 1}},
                    now);
    }
    case ApplyResult::kTooOld:
      return Finish(ErrorResponse(409, "seq_too_old"), {}, now);
    case ApplyResult::kOutOfRange:  // strict mode
      return Finish(RejectedResponse(422, result), RejectionCounters(result),
                    now);
    case ApplyResult::kApplied:
      break;
  }
  if (result.rejected.empty()) return Response();
  return RejectedResponse(200, result);
}

Ingestor::Counters Ingestor::RejectionCounters(const ValidationResult& result) {
  Counters counters;
  for (const Rejection& r : result.rejected) {
    counters[{kEventsRejectedTotal, {"reason", r.reason}}] += 1;
  }
  return counters;
}

// Applies the valid events with the batch's own counters in one transaction.
// When the store finds deltas that would leave the exact range, their
// events become value_out_of_range and the rest is applied again (in
// strict mode the batch is refused instead: kOutOfRange).
Status Ingestor::ApplyValid(ValidationResult* result, int64_t now,
                            ApplyResult* applied) {
  for (;;) {
    const int status = result->rejected.empty() ? 204 : 200;
    Counters counters = RejectionCounters(*result);
    counters[{kReportsTotal, {}}] += 1;  // a batch, whatever its sample
    if (result->sample > 1) counters[{kSampledBatchesTotal, {}}] += 1;
    counters[{kEventsAcceptedTotal, {}}] +=
        static_cast<double>(result->accepted);
    counters[{kRequestsTotal, {"code", std::to_string(status)}}] += 1;
    OutOfRange refused;
    Status s =
        ApplyWithPending(&result->batch, counters, now, applied, &refused);
    if (!s.ok() || *applied != ApplyResult::kOutOfRange) return s;
    // Only the events' deltas can be refused: pum's own counters are small.
    // (The store lists refused deltas in ascending order.)
    assert(std::is_sorted(refused.counters.begin(), refused.counters.end()));
    while (!refused.counters.empty() &&
           refused.counters.back() >= result->batch.counters.size()) {
      refused.counters.pop_back();
    }
    if (refused.counters.empty() && refused.histograms.empty()) {
      return Status::InvalidArgument("store refused pum's own counters");
    }
    result->RejectDeltas(refused.counters, refused.histograms,
                         reason::kValueOutOfRange);
    if (options_.strict) return s;
  }
}

Response Ingestor::Finish(Response response, Counters counters, int64_t now) {
  counters[{kRequestsTotal, {"code", std::to_string(response.status)}}] += 1;
  Merge(counters);
  // A failed flush keeps the counters pending (and is recorded in
  // last_failure_); the answer to this request does not depend on it.
  if (last_failure_ < 0 || now - last_failure_ >= 1) Flush(now).IgnoreError();
  return response;
}

void Ingestor::Merge(const Counters& counters) {
  for (const auto& [key, value] : counters) pending_[key] += value;
}

void Ingestor::AppendCounters(const Counters& counters, Batch* batch) {
  for (const auto& [key, value] : counters) {
    CounterDelta delta;
    delta.key.metric = key.first;
    if (!key.second.first.empty()) {
      delta.key.labels.push_back(
          Label{key.second.first, key.second.second, 0, ""});
    }
    delta.inc = value;
    batch->counters.push_back(std::move(delta));
  }
}

Status Ingestor::ApplyWithPending(Batch* batch, const Counters& counters,
                                  int64_t now, ApplyResult* result,
                                  OutOfRange* refused) {
  const size_t own = batch->counters.size();
  AppendCounters(counters, batch);
  AppendCounters(pending_, batch);
  Status s = committer_->Apply(*batch, now, result, refused);
  assert(batch->counters.size() >= own);
  batch->counters.resize(own);
  if (!s.ok()) {
    last_failure_ = now;
    last_store_error_ = s;
    ++store_failures_;
    return s;
  }
  if (*result == ApplyResult::kApplied) pending_.clear();
  return s;
}

Status Ingestor::Flush(int64_t now) {
  if (pending_.empty()) return Status::Ok();
  ApplyResult result = ApplyResult::kApplied;
  Batch batch;
  return ApplyWithPending(&batch, {}, now, &result, nullptr);
}

bool Ingestor::OriginAllowed(const std::string& origin) const {
  for (const std::string& allowed : options_.cors_allowed_origins) {
    if (allowed == "*") return true;
    if (allowed.size() == origin.size() &&
        strncasecmp(allowed.data(), origin.data(), origin.size()) == 0) {
      return true;
    }
  }
  return false;
}

void Ingestor::AddCorsHeaders(const Request& request,
                              Response* response) const {
  if (request.origin.empty() || !OriginAllowed(request.origin)) return;
  response->headers.emplace_back("Access-Control-Allow-Origin", request.origin);
  response->headers.emplace_back("Vary", "Origin");
}

}  // namespace pum
