#include "fcgi-ingest/batch_parser.h"

#include <locale.h>
#include <rapidjson/allocators.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pum {
namespace {

// The body is parsed in place (strings are unescaped inside the buffer and
// the tree points into it). A body known to be valid UTF-8 is parsed
// without RapidJSON's per-character UTF-8 validation, which also turns off
// its fast scanning of plain string bytes; one that is not is parsed with
// it, so that the error says what and where exactly as RapidJSON says it.
// Numbers reach the handler as text (RawNumber), converted there exactly:
// RapidJSON's own conversion is an ulp off for about one 17-digit number in
// six (3.6680161728186844, a native bucket bound at schema 3, became
// 3.6680161728186849 and went to the next bucket), and its full-precision
// mode crashes on numbers of tens of thousands of digits. RapidJSON still
// checks the number's syntax and range as before.
constexpr unsigned kFastFlags = rapidjson::kParseIterativeFlag |
                                rapidjson::kParseInsituFlag |
                                rapidjson::kParseNumbersAsStringsFlag;
constexpr unsigned kValidatingFlags =
    kFastFlags | rapidjson::kParseValidateEncodingFlag;

using Pool = rapidjson::MemoryPoolAllocator<>;
// A tree whose values and building stack both live in the arena's pool.
using Document = rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool>;
using Reader =
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, Pool>;

// The pool's first chunk, inside the arena: the page-load batch (2.4 KB,
// 20 events) needs about 10 KB for its tree and the two stacks. Larger
// bodies get 64 KB chunks from malloc, freed when the arena is emptied.
constexpr size_t kFirstChunkBytes = 32 * 1024;
constexpr size_t kReaderStackBytes = 256;
constexpr size_t kDocumentStackBytes = 1024;

// The keys of one open object, to find a key given twice. The keys point
// into the in-situ buffer, which outlives the parse. Small objects (every
// event) are scanned; large ones get a hash set.
class KeySet {
 public:
  void Clear() {
    small_.clear();
    if (!large_.empty()) large_.clear();
  }
  // Clear(), and gives back the memory of a large object's set.
  void Release() {
    small_.clear();
    if (large_.bucket_count() > kSmall) {
      std::unordered_set<std::string_view>().swap(large_);
    }
    large_.clear();
  }
  // False if `key` was inserted before.
  bool Insert(std::string_view key) {
    if (large_.empty() && small_.size() < kSmall) {
      for (std::string_view k : small_) {
        if (k == key) return false;
      }
      small_.push_back(key);
      return true;
    }
    if (large_.empty()) {
      large_.insert(small_.begin(), small_.end());
      small_.clear();
    }
    return large_.insert(key).second;
  }

 private:
  static constexpr size_t kSmall = 16;
  std::vector<std::string_view> small_;
  std::unordered_set<std::string_view> large_;
};

}  // namespace

// NULs after the body: see ParseBatch().
constexpr size_t kSimdPaddingBytes = 16;

struct ParsedBatch::Arena {
  Arena()
      : pool(first_chunk, sizeof first_chunk),
        doc(&pool, kDocumentStackBytes, &pool),
        keys(kMaxDepth + 1) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Forgets the last parse: the tree, the pool's chunks beyond the first,
  // the text (its memory too when it held a large body), the key sets.
  void Reset() {
    doc.SetNull();
    pool.Clear();
    if (text.capacity() > kMaxKeptBodyBytes) {
      std::string().swap(text);
    } else {
      text.clear();
    }
    for (KeySet& k : keys) k.Release();
  }

  alignas(8) char first_chunk[kFirstChunkBytes];
  Pool pool;
  Document doc;
  std::string text;          // the body, rewritten in place by the parse
  std::vector<KeySet> keys;  // by depth; only objects' levels are used
};

namespace {

// The spare arena of this thread (see the contract in batch_parser.h).
thread_local std::unique_ptr<ParsedBatch::Arena> t_spare_arena;

// A SAX handler that forwards to a Document while refusing nesting deeper
// than kMaxDepth, strings that are not valid UTF-8 after unescaping and a
// key given twice in one object.
class CheckingHandler {
 public:
  // `check_strings`: whether a string can be invalid UTF-8 once unescaped
  // (see ParseBatch).
  CheckingHandler(Document* doc, std::vector<KeySet>* keys, bool check_strings)
      : doc_(doc), keys_(*keys), check_strings_(check_strings) {}

  bool Null() { return doc_->Null(); }
  bool Bool(bool b) { return doc_->Bool(b); }
  bool Int(int i) { return doc_->Int(i); }
  bool Uint(unsigned i) { return doc_->Uint(i); }
  bool Int64(int64_t i) { return doc_->Int64(i); }
  bool Uint64(uint64_t i) { return doc_->Uint64(i); }
  bool Double(double d) { return doc_->Double(d); }
  // A number's text, as RapidJSON's own conversion would type it (an
  // integer that fits in 64 bits as one, anything else as a double), its
  // value correctly rounded.
  bool RawNumber(const char* s, rapidjson::SizeType len, bool /*copy*/) {
    const char* end = s + len;
    if (std::find_if(s, end, [](char c) {
          return c == '.' || c == 'e' || c == 'E';
        }) == end) {
      if (*s == '-') {
        int64_t i = 0;
        auto r = std::from_chars(s, end, i);
        if (r.ec == std::errc() && r.ptr == end) return doc_->Int64(i);
      } else {
        uint64_t u = 0;
        auto r = std::from_chars(s, end, u);
        if (r.ec == std::errc() && r.ptr == end) return doc_->Uint64(u);
      }
    }
    double d = 0;
    auto r = std::from_chars(s, end, d);
    if (r.ec == std::errc::result_out_of_range) {
      // Below the smallest subnormal or above DBL_MAX: what strtod
      // gives (0 or infinity, signed), in the C locale.
      static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
      return doc_->Double(
          strtod_l(std::string(s, len).c_str(), nullptr, c_locale));
    }
    if (r.ec != std::errc() || r.ptr != end) return false;
    return doc_->Double(d);
  }
  bool String(const char* s, rapidjson::SizeType len, bool copy) {
    return CheckString(s, len) && doc_->String(s, len, copy);
  }
  bool Key(const char* s, rapidjson::SizeType len, bool copy) {
    return CheckString(s, len) && CheckUnique(s, len) &&
           doc_->Key(s, len, copy);
  }
  bool StartObject() {
    if (!Enter()) return false;
    keys_[depth_].Clear();
    return doc_->StartObject();
  }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return doc_->EndObject(n);
  }
  bool StartArray() { return Enter() && doc_->StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return doc_->EndArray(n);
  }

  bool too_deep() const { return too_deep_; }
  bool bad_string() const { return bad_string_; }
  // The key given twice, when that stopped the parse.
  const std::optional<std::string>& duplicate_key() const {
    return duplicate_key_;
  }

 private:
  bool Enter() {
    if (++depth_ > kMaxDepth) {
      too_deep_ = true;
      return false;
    }
    return true;
  }
  bool CheckString(const char* s, rapidjson::SizeType len) {
    if (!check_strings_ || IsValidUtf8(std::string_view(s, len))) return true;
    bad_string_ = true;
    return false;
  }
  bool CheckUnique(const char* s, rapidjson::SizeType len) {
    std::string_view key(s, len);
    if (keys_[depth_].Insert(key)) return true;
    duplicate_key_ = std::string(key);
    return false;
  }

  Document* doc_;
  std::vector<KeySet>& keys_;
  const bool check_strings_;
  int depth_ = 0;
  bool too_deep_ = false;
  bool bad_string_ = false;
  std::optional<std::string> duplicate_key_;
};

// `key` quoted for an error message if it is short printable ASCII, else
// a description (the message must stay valid UTF-8 and short).
std::string QuoteKey(const std::string& key) {
  bool printable = key.size() <= 64;
  for (char c : key) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') printable = false;
  }
  if (printable) return "\"" + key + "\"";
  return "a key of " + std::to_string(key.size()) + " bytes";
}

// Runs the reader over the NUL-terminated `text` (rewritten in place) for
// GenericDocument::Populate.
class ParseGenerator {
 public:
  ParseGenerator(char* text, bool validate_utf8, bool check_strings,
                 ParsedBatch::Arena* arena)
      : text_(text),
        validate_utf8_(validate_utf8),
        check_strings_(check_strings),
        arena_(arena) {}

  bool operator()(Document& doc) {
    CheckingHandler handler(&doc, &arena_->keys, check_strings_);
    rapidjson::InsituStringStream stream(text_);
    Reader reader(&arena_->pool, kReaderStackBytes);
    if (validate_utf8_) {
      reader.Parse<kValidatingFlags>(stream, handler);
    } else {
      reader.Parse<kFastFlags>(stream, handler);
    }
    if (!reader.HasParseError()) return true;
    error_ = Describe(reader, handler);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  static std::string Describe(const Reader& reader,
                              const CheckingHandler& handler) {
    std::string at = " at byte " + std::to_string(reader.GetErrorOffset());
    if (handler.too_deep()) {
      return "too deep: arrays and objects nest more than " +
             std::to_string(kMaxDepth) + " levels" + at;
    }
    if (handler.duplicate_key()) {
      return "duplicate key: " + QuoteKey(*handler.duplicate_key()) +
             " is given twice in one object" + at;
    }
    if (handler.bad_string()) {
      return "not valid UTF-8: a string escapes an unpaired surrogate" + at;
    }
    rapidjson::ParseErrorCode code = reader.GetParseErrorCode();
    if (code == rapidjson::kParseErrorStringInvalidEncoding) {
      return "not valid UTF-8" + at;
    }
    if (code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid) {
      return "not valid UTF-8: a string escapes an unpaired surrogate" + at;
    }
    std::string what = rapidjson::GetParseError_En(code);
    if (!what.empty() && what.back() == '.') what.pop_back();
    if (!what.empty()) {
      what[0] =
          static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
    }
    return "not JSON: " + what + at;
  }

  char* text_;
  bool validate_utf8_;
  bool check_strings_;
  ParsedBatch::Arena* arena_;
  std::string error_;
};

const char kShapeError[] =
    "wrong shape: the body must be an array of events or an object "
    "{\"client\": ..., \"seq\": ..., \"events\": [...]}";

Status ParseClient(const rapidjson::Value& v, std::string* client) {
  if (!v.IsString() ||
      !IsValidClientId(std::string_view(v.GetString(), v.GetStringLength()))) {
    return Status::InvalidArgument(
        "bad client: must be a string of 1-64 characters of [A-Za-z0-9_-]");
  }
  client->assign(v.GetString(), v.GetStringLength());
  return Status::Ok();
}

Status ParseSeq(const rapidjson::Value& v, int64_t* seq) {
  if (!v.IsInt64() || v.GetInt64() < 0 || v.GetInt64() > kMaxSeq) {
    return Status::InvalidArgument("bad seq: must be an integer from 0 to " +
                                   std::to_string(kMaxSeq));
  }
  *seq = v.GetInt64();
  return Status::Ok();
}

Status ParseSample(const rapidjson::Value& v, int* sample) {
  if (!v.IsInt64() || v.GetInt64() < 1 || v.GetInt64() > kMaxSample) {
    return Status::InvalidArgument(
        "bad sample: must be an integer from 1 to " +
        std::to_string(kMaxSample) +
        " (the batch stands for that many sessions)");
  }
  *sample = static_cast<int>(v.GetInt64());
  return Status::Ok();
}

// Reads pum's object shape. Unknown keys are ignored; a key given twice was
// refused while parsing.
Status ParseObjectShape(const rapidjson::Value& root,
                        std::optional<BatchId>* id, int* sample_out,
                        const rapidjson::Value** events) {
  const rapidjson::Value* client = nullptr;
  const rapidjson::Value* seq = nullptr;
  const rapidjson::Value* sample = nullptr;
  *events = nullptr;
  for (const auto& m : root.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    const rapidjson::Value** slot = key == "client"   ? &client
                                    : key == "seq"    ? &seq
                                    : key == "events" ? events
                                    : key == "sample" ? &sample
                                                      : nullptr;
    if (slot != nullptr) *slot = &m.value;
  }
  if (*events == nullptr || !(*events)->IsArray()) {
    return Status::InvalidArgument(
        "wrong shape: \"events\" must be an array of events");
  }
  if ((client == nullptr) != (seq == nullptr)) {
    return Status::InvalidArgument(
        "wrong shape: \"client\" and \"seq\" must be given together");
  }
  if (sample != nullptr) {
    Status s = ParseSample(*sample, sample_out);
    if (!s.ok()) return s;
  }
  if (client == nullptr) return Status::Ok();
  BatchId batch_id;
  Status s = ParseClient(*client, &batch_id.client);
  if (s.ok()) s = ParseSeq(*seq, &batch_id.seq);
  if (s.ok()) *id = std::move(batch_id);
  return s;
}

// The length of the UTF-8 sequence led by `c`, or 0 if `c` cannot lead one.
int SequenceLength(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

// True if the continuation bytes after lead byte `c` are in range.
bool ValidSequence(const unsigned char* p, int n) {
  for (int i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return false;
  }
  if (n < 3) return true;
  unsigned char c = p[0];
  unsigned char d = p[1];
  if (c == 0xE0) return d >= 0xA0;  // overlong
  if (c == 0xED) return d <= 0x9F;  // surrogates
  if (c == 0xF0) return d >= 0x90;  // overlong
  if (c == 0xF4) return d <= 0x8F;  // above U+10FFFF
  return true;
}

// The offset of the first byte of `s` that does not start a well-formed
// UTF-8 sequence, or npos. Runs of ASCII are skipped eight bytes at a time.
size_t Utf8ErrorOffset(std::string_view s) {
  const auto* begin = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* p = begin;
  const unsigned char* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & 0x8080808080808080u) == 0) {
        p += 8;
        continue;
      }
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    int n = SequenceLength(*p);
    if (n == 0 || end - p < n || !ValidSequence(p, n)) {
      return static_cast<size_t>(p - begin);
    }
    p += n;
  }
  return std::string_view::npos;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  return Utf8ErrorOffset(s) == std::string_view::npos;
}

ParsedBatch::ParsedBatch() : arena_(std::move(t_spare_arena)) {
  if (arena_ == nullptr) arena_ = std::make_unique<Arena>();
}

ParsedBatch::~ParsedBatch() {
  arena_->Reset();
  if (t_spare_arena == nullptr) t_spare_arena = std::move(arena_);
}

bool IsValidClientId(std::string_view client) {
  if (client.empty() || client.size() > 64) return false;
  for (char c : client) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status ParseBatch(std::string_view body, ParsedBatch* out) {
  if (body.empty())
    return Status::InvalidArgument("not JSON: the body is empty");
  if (body.substr(0, 3) == "\xEF\xBB\xBF") {
    return Status::InvalidArgument(
        "not JSON: the body starts with a byte order mark (U+FEFF), which "
        "JSON text must not");
  }
  const void* nul = std::memchr(body.data(), '\0', body.size());
  if (nul != nullptr) {
    size_t at = static_cast<const char*>(nul) - body.data();
    return Status::InvalidArgument("not JSON: a NUL byte at byte " +
                                   std::to_string(at));
  }
  const size_t bad_utf8 = Utf8ErrorOffset(body);
  ParsedBatch::Arena& arena = *out->arena_;
  arena.Reset();
  out->id_.reset();
  out->sample_ = 1;
  out->events_ = nullptr;
  // NUL-terminated, and padded with NULs: RapidJSON's SIMD scanning
  // (RAPIDJSON_SSE2 / RAPIDJSON_NEON, set by the Makefile) loads 16 aligned
  // bytes at a time and so may read up to 15 bytes past the terminator;
  // they stay inside this buffer, and are defined. (Regression: the fuzz
  // corpus' bad_client and bad_seq were heap-buffer-overflows under ASan.)
  arena.text.assign(body.data(), body.size());
  arena.text.append(kSimdPaddingBytes, '\0');
  // In a body that is valid UTF-8 every string is too (its quotes cannot
  // sit inside a multi-byte sequence), and unescaping keeps it so, except
  // for a \u escape of a lone surrogate: strings are checked again after
  // unescaping only when the body holds a "\u".
  const bool has_unicode_escape = body.find("\\u") != std::string_view::npos;
  ParseGenerator generator(
      arena.text.data(), bad_utf8 != std::string_view::npos,
      bad_utf8 != std::string_view::npos || has_unicode_escape, &arena);
  arena.doc.Populate(generator);
  if (!generator.error().empty()) {
    return Status::InvalidArgument(generator.error());
  }
  if (bad_utf8 != std::string_view::npos) {
    // Not reached: RapidJSON refuses every invalid byte, in a string by
    // its validation, elsewhere as a syntax error.
    return Status::InvalidArgument("not valid UTF-8 at byte " +
                                   std::to_string(bad_utf8));
  }
  const rapidjson::Value& root = arena.doc;
  if (root.IsArray()) {
    out->events_ = &root;
    return Status::Ok();
  }
  if (!root.IsObject()) return Status::InvalidArgument(kShapeError);
  return ParseObjectShape(root, &out->id_, &out->sample_, &out->events_);
}

}  // namespace pum
