// BatchParser: the body of a POST -> the batch's optional (client, seq) and
// its events, still as JSON values for the validator to judge one by one.
//
// Contract:
//   - Two wire shapes are accepted (the user documentation's wire format):
//       1. the seed's: a JSON array of events;
//       2. pum's: {"client": "<id>", "seq": <n>, "events": [...]}, where
//          client is 1-64 characters of [A-Za-z0-9_-] and seq an integer
//          0 <= seq <= 2^53-1 written without fraction or exponent. client
//          and seq go together: both present (the batch is de-duplicated)
//          or both absent (it is not). "events" is required. An optional
//          "sample" (an integer 1-kMaxSample written without fraction or
//          exponent; default 1) says how many sessions the batch stands
//          for; it is only read here (sample()); the validator multiplies
//          the batch's deltas by it. Other keys of the top-level object are
//          ignored, so that a newer client can add fields without its
//          batches being refused by an older server.
//   - A key given twice in any object of the body (the top level, an
//     event, its labels) is an error: JSON parsers disagree on which value
//     wins, so such a body is ambiguous and none of it is applied.
//   - A body that starts with a UTF-8 byte order mark is an error (RFC
//     8259 forbids sending one; pum.js never does).
//   - The body is parsed with RapidJSON's iterative (non-recursive) parser.
//     A body that is not well-formed UTF-8 is an error (the message is that
//     of RapidJSON's own UTF-8 validation, which names the first bad string
//     byte, or the syntax error an invalid byte outside a string makes).
//     Strings are also checked after unescaping, so that "\udc00" (an
//     unpaired surrogate) cannot smuggle invalid UTF-8 in. A NUL byte
//     anywhere in the body is an error (JSON text never holds one). Nesting
//     deeper than kMaxDepth arrays/objects is refused while parsing, before
//     anything deeper is built, so a body of 100000 '[' costs nothing and no
//     recursive destructor ever sees a deep tree.
//   - Cost: the body is copied once into a buffer that the parse rewrites in
//     place (RapidJSON's in-situ mode: the tree's strings point into it, no
//     string is copied again) and the tree is built in a memory pool. The
//     buffer, the pool and the parser's scratch space belong to an arena
//     that a ParsedBatch takes from a per-thread cache when it is made and
//     gives back, emptied, when it dies, so a thread that parses one body
//     after another allocates nothing for the typical batch. A thread
//     keeps at most one spare arena (the buffer of a body larger than
//     kMaxKeptBodyBytes is not kept); ParsedBatches alive at the same time
//     each have their own, on any thread, and one may die on another
//     thread than the one that made it. Nothing of one body survives into
//     the next.
//   - Every failure is Status::InvalidArgument whose message says what is
//     wrong ("not JSON: ...", "not valid UTF-8 ...", "too deep ...",
//     "duplicate key ...", "bad client ...", "bad seq ...", "bad sample
//     ...", "wrong shape ..."); the ingestor
//     answers it with 400 {"error": message}.
//   - Numbers are parsed exactly: each is the double nearest to its text
//     (correctly rounded, as strtod), so an observation written in its
//     shortest round-trip form (JSON.stringify's) is the browser's double,
//     to the last bit: on a bucket bound it lands in that bucket.
//   - An empty events array is valid (a heartbeat).
//   - Events are not judged here: any JSON value may be an element of the
//     events array (the validator rejects the bad ones one by one).
#ifndef PUM_FCGI_INGEST_BATCH_PARSER_H_
#define PUM_FCGI_INGEST_BATCH_PARSER_H_

#include <rapidjson/document.h>

#include <memory>
#include <optional>
#include <string_view>

#include "schema/base/status.h"
#include "schema/store/store.h"

namespace pum {

// Arrays and objects nested deeper than this are refused. The deepest a
// valid batch needs is 4: {"events": [{"labels": {...}}]}.
inline constexpr int kMaxDepth = 8;

// The largest seq accepted: Number.MAX_SAFE_INTEGER, the most a browser can
// count exactly.
inline constexpr int64_t kMaxSeq = (int64_t{1} << 53) - 1;

// The largest "sample" accepted: a page sampled in 1 of 10000.
inline constexpr int kMaxSample = 10000;

class ParsedBatch {
 public:
  ParsedBatch();
  ~ParsedBatch();
  ParsedBatch(const ParsedBatch&) = delete;
  ParsedBatch& operator=(const ParsedBatch&) = delete;

  // Set for pum's object shape with client and seq.
  const std::optional<BatchId>& id() const { return id_; }
  // "sample" of pum's object shape: how many sessions the batch stands for
  // (1 when absent, and for the seed's array).
  int sample() const { return sample_; }
  // The events array (possibly empty). Valid until the ParsedBatch dies.
  const rapidjson::Value& events() const { return *events_; }

  // The buffer, tree and scratch space of one parse (batch_parser.cc).
  struct Arena;

 private:
  friend Status ParseBatch(std::string_view body, ParsedBatch* out);

  std::unique_ptr<Arena> arena_;
  std::optional<BatchId> id_;
  int sample_ = 1;
  const rapidjson::Value* events_ = nullptr;
};

// The largest body whose in-situ buffer a thread's spare arena keeps for
// the next parse (pum-ingest's default --max-body-bytes).
inline constexpr size_t kMaxKeptBodyBytes = 65536;

// Parses `body` into `out` (which must be freshly constructed).
Status ParseBatch(std::string_view body, ParsedBatch* out);

// True if `client` is 1-64 characters of [A-Za-z0-9_-].
bool IsValidClientId(std::string_view client);

// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates, no
// code point above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace pum

#endif  // PUM_FCGI_INGEST_BATCH_PARSER_H_
