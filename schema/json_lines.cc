#include "schema/json_lines.h"

#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <utility>

namespace pum {
namespace {

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

// A SAX handler that builds a JsonNode tree. At each callback the stream is
// just past the token, so the token's last byte is at Tell() - 1.
class TreeBuilder {
 public:
  TreeBuilder(const rapidjson::StringStream* stream, const LineIndex* lines,
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
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return false; }
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
  int Line() const {
    size_t offset = stream_->Tell();
    return lines_->LineOf(offset > 0 ? offset - 1 : 0);
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
  JsonNode* Place(JsonNode node) {
    node.line = Line();
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
    JsonNode node;
    node.type = type;
    stack_.push_back(Place(std::move(node)));
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  const rapidjson::StringStream* stream_;
  const LineIndex* lines_;
  JsonNode* root_;
  std::vector<JsonNode*> stack_;
  std::string pending_key_;
  int pending_key_line_ = 0;
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
  rapidjson::StringStream stream(text.c_str());
  TreeBuilder builder(&stream, &lines, out);
  rapidjson::Reader reader;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (result) return Status::Ok();
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
                             rapidjson::kParseFullPrecisionFlag;
  *out = JsonNode();
  if (allow_comments) {
    return Parse<kBase | rapidjson::kParseCommentsFlag>(text, filename, out);
  }
  return Parse<kBase>(text, filename, out);
}

}  // namespace pum
