// libFuzzer target: ParseBatch (fcgi-ingest/batch_parser.h) on the fuzzer's
// bytes as a POST body. Invariants checked on every input: a failure is
// InvalidArgument with a message; a success has an events array, and a
// (client, seq) only with a valid client id and 0 <= seq <= kMaxSeq; an
// accepted body is valid UTF-8 without a NUL byte; every string and key in
// the parsed tree is valid UTF-8 (after unescaping); no number is NaN; the
// nesting (the top-level value is level 1) is at most kMaxDepth.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fcgi-ingest/batch_parser.h"

namespace {

void Fail(const char* what) {
  std::fprintf(stderr, "fuzz_batch_parser: invariant broken: %s\n", what);
  std::abort();
}

// Walks `v`, checking depth and strings; `depth` is the number of arrays and
// objects that enclose `v`.
void Check(const rapidjson::Value& v, int depth) {
  if (v.IsArray() || v.IsObject()) {
    if (depth + 1 > pum::kMaxDepth) Fail("nesting deeper than kMaxDepth");
  }
  if (v.IsString()) {
    if (!pum::IsValidUtf8(std::string_view(v.GetString(), v.GetStringLength())))
      Fail("a string value is not valid UTF-8");
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) Check(e, depth + 1);
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (!pum::IsValidUtf8(
              std::string_view(m.name.GetString(), m.name.GetStringLength())))
        Fail("an object key is not valid UTF-8");
      Check(m.value, depth + 1);
    }
  } else if (v.IsDouble()) {
    // RapidJSON refuses NaN/Infinity literals by default; 1e400 is an error.
    double d = v.GetDouble();
    if (d != d) Fail("a NaN number was parsed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  pum::ParsedBatch batch;
  pum::Status s = pum::ParseBatch(body, &batch);
  if (!s.ok()) {
    if (s.code() != pum::Status::Code::kInvalidArgument)
      Fail("a failure other than InvalidArgument");
    if (s.message().empty()) Fail("a failure without a message");
    return 0;
  }
  if (body.find('\0') != std::string_view::npos) Fail("a NUL byte accepted");
  if (!pum::IsValidUtf8(body)) Fail("a body that is not UTF-8 accepted");
  if (!batch.events().IsArray()) Fail("events is not an array");
  if (batch.id().has_value()) {
    if (!pum::IsValidClientId(batch.id()->client)) Fail("bad client accepted");
    if (batch.id()->seq < 0 || batch.id()->seq > pum::kMaxSeq)
      Fail("seq out of range accepted");
  }
  // The events array is the top-level value (array shape) or inside it.
  size_t first = body.find_first_not_of(" \t\r\n");
  bool object_shape = first != std::string_view::npos && body[first] == '{';
  if (batch.id().has_value() && !object_shape) Fail("an id without an object");
  Check(batch.events(), object_shape ? 1 : 0);
  return 0;
}
