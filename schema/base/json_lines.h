// JsonNode: a small JSON tree that remembers the line of every value and
// key, for configuration errors of the form "file:line: message".
//
// RapidJSON's DOM keeps no positions, so ParseJsonWithLines drives its SAX
// Reader (iterative, UTF-8 validated, full-precision numbers) and records
// the line of each token from the stream offset. Lines count from 1.
//
// Contract:
//   - On success `*out` is the whole document; object members keep their
//     file order, and duplicate keys are kept (callers decide).
//   - On failure the Status is InvalidArgument with the message
//     "file:line: invalid JSON: <RapidJSON's message>" and `*out` is
//     unspecified. A NUL byte in the text is a failure too.
//   - No exceptions are thrown.
//   - Nesting deeper than 100 levels is refused the same way.
// Meant for configuration files (small, trusted-ish), not for request bodies.
#ifndef PUM_SCHEMA_BASE_JSON_LINES_H_
#define PUM_SCHEMA_BASE_JSON_LINES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "schema/base/status.h"

namespace pum {

struct JsonNode {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type = Type::kNull;
  int line = 0;      // the line of the value (for containers: the opening)
  std::string key;   // for a member of an object: its key
  int key_line = 0;  // for a member of an object: the line of its key

  bool boolean = false;
  double number = 0;        // every number, as a double
  bool is_integer = false;  // an integer token that fits in int64_t
  int64_t integer = 0;      // its value when is_integer
  std::string string;
  std::vector<JsonNode> children;  // array items or object members, in order

  bool IsString() const { return type == Type::kString; }
  bool IsArray() const { return type == Type::kArray; }
  bool IsObject() const { return type == Type::kObject; }
};

// "null", "a boolean", "a number", "a string", "an array", "an object".
const char* JsonTypeName(JsonNode::Type type);

// Parses `text` into `out`; `filename` is used in messages. With
// `allow_comments`, // and /* */ comments are accepted.
Status ParseJsonWithLines(const std::string& text, const std::string& filename,
                          bool allow_comments, JsonNode* out);

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_JSON_LINES_H_
