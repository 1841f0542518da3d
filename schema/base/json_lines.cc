#include "schema/base/json_lines.h"

#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

namespace pum {
namespace {

// Deeper documents are refused, so that the recursive destructor of a
// JsonNode tree cannot exhaust the stack.
constexpr size_t kMaxDepth = 100;

// Maps byte offsets to 1-based line numbers.
class LineIndex {
 public:
  explicit LineIndex(const std::string& text) {
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') newlines_.push_back(i);
    }
  }
  // The line holding the byte at `offset`.
  int LineOf(size_t offset) const {
    auto it = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    return static_cast<int>(it - newlines_.begin()) + 1;
  }

 private:
  std::vector<size_t> newlines_;
};

// A bounded input stream without RapidJSON's local-copy optimization: the
// Reader parses strings and numbers on a copy of a StringStream and writes
// it back only after calling the handler, so Tell() would lag. For this type
// it works on the stream itself, and Tell() is current in every callback.
// Past the end it reads '\0' and stays there (regression: RapidJSON takes a
// multi-byte UTF-8 sequence's continuation bytes without looking for the
// end, and a StringStream then read past the text; found by fuzzing).
class TrackedStream {
 public:
  using Ch = char;
  explicit TrackedStream(std::string_view text) : text_(text) {}
  Ch Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  Ch Take() { return pos_ < text_.size() ? text_[pos_++] : '\0'; }
  size_t Tell() const { return pos_; }
  // Write functions, never used by a Reader (no kParseInsituFlag).
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  size_t PutEnd(Ch*) { return 0; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Converts a JSON number's text (already checked by the Reader): an integer
// that fits int64 exactly, else the correctly rounded double. False if it is
// out of a double's range (too big, or a non-zero too small to tell from 0).
bool ConvertNumber(std::string_view text, JsonNode* node) {
  const char* first = text.data();
  const char* last = first + text.size();
  node->type = JsonNode::Type::kNumber;
  if (text.find_first_of(".eE") == std::string_view::npos) {
    int64_t i = 0;
    auto [end, ec] = std::from_chars(first, last, i);
    if (ec == std::errc() && end == last) {
      node->is_integer = true;
      node->integer = i;
      node->number = static_cast<double>(i);
      return true;
    }
  }
  double d = 0;
  auto [end, ec] = std::from_chars(first, last, d);
  if (ec != std::errc() || end != last) return false;
  node->number = d;
  return true;
}

// A SAX handler that builds a JsonNode tree. The iterative Reader calls
// StartObject/StartArray with the stream at the '{' or '[', and the other
// callbacks with the stream just past their token (whose last byte is at
// Tell() - 1); a JSON token never spans lines.
class TreeBuilder {
 public:
  TreeBuilder(const TrackedStream* stream, const LineIndex* lines,
              JsonNode* root)
      : stream_(stream), lines_(lines), root_(root) {}

  bool Null() { return Add(JsonNode()); }
  bool Bool(bool b) {
    JsonNode node;
    node.type = JsonNode::Type::kBool;
    node.boolean = b;
    return Add(std::move(node));
  }
  bool Int(int i) { return Integer(i); }
  bool Uint(unsigned u) { return Integer(u); }
  bool Int64(int64_t i) { return Integer(i); }
  bool Uint64(uint64_t u) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Double(static_cast<double>(u));
    }
    return Integer(static_cast<int64_t>(u));
  }
  bool Double(double d) {
    JsonNode node;
    node.type = JsonNode::Type::kNumber;
    node.number = d;
    return Add(std::move(node));
  }
  // The line where the document got too deep, or 0.
  int too_deep_line() const { return too_deep_line_; }

  // Numbers arrive as text (kParseNumbersAsStringsFlag) and are converted
  // here: RapidJSON 1.1.0's full-precision strtod turned numbers such as
  // 0e40 or 0.(400 zeros)8 into garbage, failed an assert or crashed
  // (Tencent/rapidjson#1249, #1441; found by fuzzing).
  bool RawNumber(const char* str, rapidjson::SizeType len, bool) {
    JsonNode node;
    if (!ConvertNumber(std::string_view(str, len), &node)) {
      bad_number_line_ = Line();
      bad_number_.assign(str, std::min<size_t>(len, 40));
      if (len > 40) bad_number_ += "...";
      return false;
    }
    return Add(std::move(node));
  }
  // The line of a number out of a double's range, or 0; and its text.
  int bad_number_line() const { return bad_number_line_; }
  const std::string& bad_number() const { return bad_number_; }
  bool String(const char* str, rapidjson::SizeType len, bool) {
    JsonNode node;
    node.type = JsonNode::Type::kString;
    node.string.assign(str, len);
    return Add(std::move(node));
  }
  bool Key(const char* str, rapidjson::SizeType len, bool) {
    pending_key_.assign(str, len);
    pending_key_line_ = Line();
    return true;
  }
  bool StartObject() { return Open(JsonNode::Type::kObject); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(JsonNode::Type::kArray); }
  bool EndArray(rapidjson::SizeType) { return Close(); }

 private:
  int Line(bool at_token = false) const {
    size_t offset = stream_->Tell();
    if (!at_token && offset > 0) --offset;
    return lines_->LineOf(offset);
  }

  bool Integer(int64_t i) {
    JsonNode node;
    node.type = JsonNode::Type::kNumber;
    node.number = static_cast<double>(i);
    node.is_integer = true;
    node.integer = i;
    return Add(std::move(node));
  }

  // Places `node` in the open container (or at the root); returns where.
  JsonNode* Place(JsonNode node, bool at_token = false) {
    node.line = Line(at_token);
    if (stack_.empty()) {
      *root_ = std::move(node);
      return root_;
    }
    JsonNode* parent = stack_.back();
    if (parent->IsObject()) {
      node.key = std::move(pending_key_);
      node.key_line = pending_key_line_;
      pending_key_.clear();
    }
    parent->children.push_back(std::move(node));
    return &parent->children.back();
  }

  bool Add(JsonNode node) {
    Place(std::move(node));
    return true;
  }

  // Only the innermost open container grows, so the pointers to the outer
  // ones on the stack stay valid.
  bool Open(JsonNode::Type type) {
    if (stack_.size() >= kMaxDepth) {
      too_deep_line_ = Line(/*at_token=*/true);
      return false;
    }
    JsonNode node;
    node.type = type;
    stack_.push_back(Place(std::move(node), /*at_token=*/true));
    return true;
  }

  bool Close() {
    assert(!stack_.empty());  // the Reader balances Start and End calls
    stack_.pop_back();
    return true;
  }

  const TrackedStream* stream_;
  const LineIndex* lines_;
  JsonNode* root_;
  std::vector<JsonNode*> stack_;
  std::string pending_key_;
  int pending_key_line_ = 0;
  int too_deep_line_ = 0;
  int bad_number_line_ = 0;
  std::string bad_number_;
};

template <unsigned kFlags>
Status Parse(const std::string& text, const std::string& filename,
             JsonNode* out) {
  LineIndex lines(text);
  size_t nul = text.find('\0');
  if (nul != std::string::npos) {
    return Status::InvalidArgument(filename + ":" +
                                   std::to_string(lines.LineOf(nul)) +
                                   ": invalid JSON: a NUL byte in the text");
  }
  TrackedStream stream(text);
  TreeBuilder builder(&stream, &lines, out);
  rapidjson::Reader reader;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (result) return Status::Ok();
  if (builder.too_deep_line() > 0) {
    return Status::InvalidArgument(filename + ":" +
                                   std::to_string(builder.too_deep_line()) +
                                   ": invalid JSON: nested deeper than " +
                                   std::to_string(kMaxDepth) + " levels");
  }
  if (builder.bad_number_line() > 0) {
    return Status::InvalidArgument(
        filename + ":" + std::to_string(builder.bad_number_line()) +
        ": invalid JSON: the number " + builder.bad_number() +
        " is out of the range of a double");
  }
  size_t offset = result.Offset();
  if (offset >= text.size() && !text.empty()) offset = text.size() - 1;
  return Status::InvalidArgument(
      filename + ":" + std::to_string(lines.LineOf(offset)) +
      ": invalid JSON: " + rapidjson::GetParseError_En(result.Code()));
}

}  // namespace

const char* JsonTypeName(JsonNode::Type type) {
  switch (type) {
    case JsonNode::Type::kNull:
      return "null";
    case JsonNode::Type::kBool:
      return "a boolean";
    case JsonNode::Type::kNumber:
      return "a number";
    case JsonNode::Type::kString:
      return "a string";
    case JsonNode::Type::kArray:
      return "an array";
    case JsonNode::Type::kObject:
      return "an object";
  }
  return "?";
}

Status ParseJsonWithLines(const std::string& text, const std::string& filename,
                          bool allow_comments, JsonNode* out) {
  constexpr unsigned kBase = rapidjson::kParseIterativeFlag |
                             rapidjson::kParseValidateEncodingFlag |
                             rapidjson::kParseNumbersAsStringsFlag;
  *out = JsonNode();
  if (allow_comments) {
    return Parse<kBase | rapidjson::kParseCommentsFlag>(text, filename, out);
  }
  return Parse<kBase>(text, filename, out);
}

}  // namespace pum
