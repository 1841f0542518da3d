#include "fcgi-ingest/batch_parser.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace pum {
namespace {

std::string Nested(int depth, const std::string& open,
                   const std::string& close) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

TEST(BatchParser, AcceptsTheSeedsArray) {
  ParsedBatch batch;
  Status s = ParseBatch(
      R"([{"metricName": "a", "metricType": "counter", "inc": 1}, 1, "x"])",
      &batch);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(batch.id().has_value());
  ASSERT_TRUE(batch.events().IsArray());
  EXPECT_EQ(batch.events().Size(), 3u);
}

TEST(BatchParser, AcceptsAnEmptyArrayAsAHeartbeat) {
  for (const char* body : {"[]", " [ ] \n", R"({"events": []})",
                           R"({"client": "c", "seq": 0, "events": []})"}) {
    ParsedBatch batch;
    ASSERT_TRUE(ParseBatch(body, &batch).ok()) << body;
    EXPECT_EQ(batch.events().Size(), 0u) << body;
  }
}

TEST(BatchParser, AcceptsPumsObjectShape) {
  ParsedBatch batch;
  Status s = ParseBatch(
      R"({"client": "Ab_-9", "seq": 42, "events": [{}], "future": {"x": 1}})",
      &batch);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(batch.id().has_value());
  EXPECT_EQ(batch.id()->client, "Ab_-9");
  EXPECT_EQ(batch.id()->seq, 42);
  EXPECT_EQ(batch.events().Size(), 1u);
}

TEST(BatchParser, ObjectWithoutClientAndSeqIsNotDeduplicated) {
  ParsedBatch batch;
  ASSERT_TRUE(ParseBatch(R"({"events": [1, 2]})", &batch).ok());
  EXPECT_FALSE(batch.id().has_value());
  EXPECT_EQ(batch.events().Size(), 2u);
}

TEST(BatchParser, SeqLimits) {
  struct Case {
    std::string seq;
    bool ok;
  };
  std::vector<Case> cases = {
      {"0", true},
      {"9007199254740991", true},
      {"-0", true},
      {"9007199254740992", false},
      {"-1", false},
      {"1.5", false},
      {"1.0", false},
      {"1e3", false},
      {"\"1\"", false},
      {"null", false},
      {"true", false},
      {"18446744073709551615", false},
      {"100000000000000000000000000000", false},
  };
  for (const Case& c : cases) {
    ParsedBatch batch;
    Status s = ParseBatch(
        R"({"client": "c", "seq": )" + c.seq + R"(, "events": []})", &batch);
    EXPECT_EQ(s.ok(), c.ok) << c.seq << ": " << s.message();
    if (!c.ok) {
      EXPECT_EQ(s.message().rfind("bad seq", 0), 0u) << s.message();
    }
  }
}

TEST(BatchParser, ClientLimits) {
  struct Case {
    std::string client;  // JSON text
    bool ok;
  };
  std::vector<Case> cases = {
      {"\"a\"", true},
      {"\"" + std::string(64, 'z') + "\"", true},
      {"\"" + std::string(65, 'z') + "\"", false},
      {"\"\"", false},
      {"\"a b\"", false},
      {"\"a.b\"", false},
      {"\"caf\xc3\xa9\"", false},
      {"\"a\\u0000\"", false},
      {"5", false},
      {"null", false},
  };
  for (const Case& c : cases) {
    ParsedBatch batch;
    Status s = ParseBatch(
        R"({"client": )" + c.client + R"(, "seq": 1, "events": []})", &batch);
    EXPECT_EQ(s.ok(), c.ok) << c.client << ": " << s.message();
    if (!c.ok) {
      EXPECT_EQ(s.message().rfind("bad client", 0), 0u) << s.message();
    }
  }
}

TEST(BatchParser, RejectsMalformedBodiesNamingTheProblem) {
  struct Case {
    std::string body;
    std::string prefix;  // of the error message
  };
  std::vector<Case> cases = {
      {"", "not JSON"},
      {"   ", "not JSON"},
      {"[", "not JSON"},
      {"[1,2", "not JSON"},
      {R"([{"metricName": "a")", "not JSON"},
      {"{", "not JSON"},
      {"nul", "not JSON"},
      {"[] []", "not JSON"},
      {"[],", "not JSON"},
      {"[1,]", "not JSON"},
      {"['a']", "not JSON"},
      {"[NaN]", "not JSON"},
      {"[Infinity]", "not JSON"},
      {"[-Infinity]", "not JSON"},
      {"[1e400]", "not JSON"},
      {"[01]", "not JSON"},
      {"{\"events\": [], // comment\n}", "not JSON"},
      {std::string("[]\0", 3), "not JSON"},
      {std::string("[\"a\0b\"]", 7), "not JSON"},
      {"\xef\xbb\xbf[]", "not JSON: the body starts with a byte order mark"},
      {"/* c */ []", "not JSON"},
      {"[] // c", "not JSON"},
      {"[\"\xff\"]", "not valid UTF-8"},
      {"[\"\xc0\xaf\"]", "not valid UTF-8"},          // overlong '/'
      {"[\"\xc1\xbf\"]", "not valid UTF-8"},          // overlong U+007F
      {"[\"\xe0\x80\xaf\"]", "not valid UTF-8"},      // overlong '/', 3 bytes
      {"[\"\xe0\x9f\xbf\"]", "not valid UTF-8"},      // overlong U+07FF
      {"[\"\xf0\x80\x80\xaf\"]", "not valid UTF-8"},  // overlong '/', 4 bytes
      {"[\"\xf0\x8f\xbf\xbf\"]", "not valid UTF-8"},  // overlong U+FFFF
      {"[\"\xf8\x88\x80\x80\x80\"]", "not valid UTF-8"},  // 5 bytes
      {"[\"\xed\xb0\x80\"]", "not valid UTF-8"},          // a raw low surrogate
      {"[\"\xed\xa0\xbd\xed\xb8\x80\"]", "not valid UTF-8"},  // CESU-8 pair
      {"[\"\x80\"]", "not valid UTF-8"},              // a lone continuation
      {"[\"\xc3\"]", "not valid UTF-8"},              // truncated at the quote
      {"[\"\xed\xa0\x80\"]", "not valid UTF-8"},      // a raw surrogate
      {"[\"\xf4\x90\x80\x80\"]", "not valid UTF-8"},  // above U+10FFFF
      {"[\"\xe2\x82\"]", "not valid UTF-8"},          // truncated sequence
      {"{\"\xff\": 1}", "not valid UTF-8"},           // in a key
      {R"(["\udc00"])", "not valid UTF-8"},
      {R"(["\ud800"])", "not valid UTF-8"},
      {R"(["\ud800\u0041"])", "not valid UTF-8"},
      {"42", "wrong shape"},
      {"\"events\"", "wrong shape"},
      {"null", "wrong shape"},
      {"true", "wrong shape"},
      {"{}", "wrong shape"},
      {R"({"client": "c", "seq": 1})", "wrong shape"},
      {R"({"events": {}})", "wrong shape"},
      {R"({"events": null})", "wrong shape"},
      {R"({"events": [], "events": []})", "duplicate key"},
      {R"({"client": "c", "events": []})", "wrong shape"},
      {R"({"seq": 1, "events": []})", "wrong shape"},
      {R"({"client": "a", "client": "b", "seq": 1, "events": []})",
       "duplicate key"},
      {Nested(9, "[", "]"), "too deep"},
      {Nested(100000, "[", "]"), "too deep"},
      {std::string(100000, '['), "too deep"},
      {Nested(100000, "{\"a\":", "}"), "too deep"},
      {"[" + Nested(8, "{\"a\":[", "]}") + "]", "too deep"},
  };
  for (const Case& c : cases) {
    ParsedBatch batch;
    Status s = ParseBatch(c.body, &batch);
    ASSERT_FALSE(s.ok()) << c.body.substr(0, 80);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(s.message().rfind(c.prefix, 0), 0u)
        << c.body.substr(0, 80) << " -> " << s.message();
  }
}

TEST(BatchParser, SampleLimits) {
  struct Case {
    std::string sample;  // JSON text
    int want;            // 0: refused
  };
  std::vector<Case> cases = {
      {"1", 1},   {"2", 2},     {"10000", 10000},  {"0", 0},
      {"-1", 0},  {"10001", 0}, {"1.5", 0},        {"1.0", 0},
      {"1e2", 0}, {"\"2\"", 0}, {"null", 0},       {"true", 0},
      {"[2]", 0}, {"{}", 0},    {"4294967297", 0}, {"18446744073709551616", 0},
  };
  for (const Case& c : cases) {
    for (const char* id : {"", R"("client": "c", "seq": 1, )"}) {
      ParsedBatch batch;
      Status s = ParseBatch(std::string("{") + id + R"("sample": )" + c.sample +
                                R"(, "events": []})",
                            &batch);
      EXPECT_EQ(s.ok(), c.want != 0) << c.sample << ": " << s.message();
      if (c.want != 0) {
        EXPECT_EQ(batch.sample(), c.want) << c.sample;
      } else {
        EXPECT_EQ(s.message().rfind("bad sample", 0), 0u) << s.message();
      }
    }
  }
}

TEST(BatchParser, SampleDefaultsToOne) {
  for (const char* body : {"[]", R"({"events": []})",
                           R"({"client": "c", "seq": 0, "events": []})"}) {
    ParsedBatch batch;
    ASSERT_TRUE(ParseBatch(body, &batch).ok()) << body;
    EXPECT_EQ(batch.sample(), 1) << body;
  }
  ParsedBatch twice;
  Status s = ParseBatch(R"({"sample": 2, "sample": 3, "events": []})", &twice);
  EXPECT_EQ(s.message().rfind("duplicate key", 0), 0u) << s.message();
}

// Regression: a key given twice inside an event or its labels was accepted
// and the first value silently won ({"metricName": "a", "metricName": "b"}
// counted under "a"), while a last-wins parser in front of pum (a WAF, a
// log pipeline, JavaScript's JSON.parse) would read "b".
TEST(BatchParser, DuplicateKeyInAnEventIsRefusedNotFirstWins) {
  struct Case {
    std::string body;
    std::string message;
  };
  std::vector<Case> cases = {
      {R"([{"metricName": "a", "metricName": "b", "inc": 1}])",
       "duplicate key: \"metricName\" is given twice in one object at byte "
       "33"},
      {R"([{"metricName": "a", "labels": {"x": "1", "x": "2"}}])",
       "duplicate key: \"x\" is given twice in one object at byte 45"},
      {R"([{"labels": {"x": "1", "x": "1"}}])",
       "duplicate key: \"x\" is given twice in one object at byte 26"},
      {R"({"events": [{"inc": 1, "inc": 2}]})",
       "duplicate key: \"inc\" is given twice in one object at byte 28"},
      {R"([{"a\u0000": 1, "a\u0000": 2}])",
       "duplicate key: a key of 2 bytes is given twice in one object at byte "
       "25"},
      {"[{\"caf\xc3\xa9\": 1, \"caf\\u00e9\": 2}]",
       "duplicate key: a key of 5 bytes is given twice in one object at byte "
       "25"},
  };
  for (const Case& c : cases) {
    ParsedBatch batch;
    Status s = ParseBatch(c.body, &batch);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.body;
    EXPECT_EQ(s.message(), c.message) << c.body;
  }
}

TEST(BatchParser, EqualKeysInDifferentObjectsAreFine) {
  std::string many = "[";
  for (int i = 0; i < 100; ++i) {
    many += std::string(i ? "," : "") +
            R"({"metricName": "a", "labels": {"x": "1", "y": "2"}, "inc": 1})";
  }
  many += "]";
  ParsedBatch batch;
  Status s = ParseBatch(many, &batch);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(batch.events().Size(), 100u);
  // Sibling and nested objects each have their own keys.
  ParsedBatch nested;
  s = ParseBatch(R"([{"a": {"a": {"a": 1}, "b": 2}, "b": {"a": 3}}])", &nested);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(BatchParser, DuplicateKeyInALargeObjectIsFound) {
  // Past the small objects' linear scan, in a hash set.
  std::string labels;
  for (int i = 0; i < 5000; ++i) {
    labels += "\"k" + std::to_string(i) + "\": \"v\", ";
  }
  ParsedBatch ok;
  Status s = ParseBatch("[{\"labels\": {" + labels + "\"last\": 1}}]", &ok);
  EXPECT_TRUE(s.ok()) << s.message();
  for (int dup : {0, 15, 16, 17, 4999}) {
    ParsedBatch batch;
    s = ParseBatch(
        "[{\"labels\": {" + labels + "\"k" + std::to_string(dup) + "\": 1}}]",
        &batch);
    EXPECT_EQ(
        s.message().rfind("duplicate key: \"k" + std::to_string(dup) + "\"", 0),
        0u)
        << dup << ": " << s.message();
  }
}

TEST(BatchParser, DepthLimitIsExact) {
  ParsedBatch ok;
  EXPECT_TRUE(ParseBatch(Nested(kMaxDepth, "[", "]"), &ok).ok());
  ParsedBatch deep;
  EXPECT_FALSE(ParseBatch(Nested(kMaxDepth + 1, "[", "]"), &deep).ok());
  // The deepest valid batch: object, events, event, labels.
  ParsedBatch realistic;
  EXPECT_TRUE(
      ParseBatch(R"({"events": [{"labels": {"a": "b"}}]})", &realistic).ok());
}

TEST(BatchParser, ErrorsSayWhere) {
  ParsedBatch batch;
  Status s = ParseBatch("[1, x]", &batch);
  EXPECT_EQ(s.message(), "not JSON: invalid value at byte 4");
}

// A body that is not UTF-8 is parsed again with RapidJSON's validation, so
// that its message (what, and at which byte) is what that validation says
// whether the bad byte is in a string or outside one.
TEST(BatchParser, InvalidUtf8MessagesAreExact) {
  struct Case {
    std::string body;
    std::string message;
  };
  std::vector<Case> cases = {
      {"[\xff]", "not JSON: invalid value at byte 1"},
      {"  \x80", "not JSON: invalid value at byte 2"},
      {"[\"ok\", \xc3\xa9]", "not JSON: invalid value at byte 7"},
      {"[\"\xff\"]", "not valid UTF-8 at byte 2"},
      {"[\"ab\xc3\"]", "not valid UTF-8 at byte 4"},
      {"{\"k\xe2\x82\": 1}", "not valid UTF-8 at byte 3"},
      {"{\"events\": [\"\xed\xa0\x80\"], \"x\": 1}",
       "not valid UTF-8 at byte 13"},
      {"[\"\xf0\x9f\x98\x80\", \"\xf4\x90\x80\x80\"]",
       "not valid UTF-8 at byte 10"},
      {"[1, \"\\udc00\"]",
       "not valid UTF-8: a string escapes an unpaired surrogate at byte 12"},
      {"[\"\\ud800x\"]",
       "not valid UTF-8: a string escapes an unpaired surrogate at byte 2"},
      {"[1] \xff",
       "not JSON: the document root must not be followed by other values at "
       "byte 4"},
      {"{\"a\":1,\"a\":2,\"\xff\":3}",
       "duplicate key: \"a\" is given twice in one object at byte 10"},
  };
  for (const Case& c : cases) {
    ParsedBatch batch;
    Status s = ParseBatch(c.body, &batch);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.body;
    EXPECT_EQ(s.message(), c.message) << c.body;
  }
}

// What one body of ConsecutiveBodiesKeepNothingOfEachOther must give.
struct Consecutive {
  std::string body;
  std::string error;  // prefix of the message; "" = accepted
  std::string client = "";
  int64_t seq = -1;  // -1 = no id
  int sample = 1;
  std::vector<std::string> names;  // each event's "metricName" ("" = none)
};

Consecutive Refused(std::string body, std::string error) {
  Consecutive c;
  c.body = std::move(body);
  c.error = std::move(error);
  return c;
}

std::vector<Consecutive> ConsecutiveBodies() {
  std::string big = "[";
  for (int i = 0; i < 2000; ++i) {
    big += std::string(i ? "," : "") + R"({"metricName": "big_)" +
           std::to_string(i) +
           R"(", "labels": {"route": "/some/long/route/name"}, "inc": 1})";
  }
  big += "]";
  std::vector<std::string> big_names;
  for (int i = 0; i < 2000; ++i)
    big_names.push_back("big_" + std::to_string(i));
  return {
      Consecutive{
          R"({"client": "a", "seq": 1, "sample": 5, "events": [{"metricName": "x"}]})",
          "",
          "a",
          1,
          5,
          {"x"}},
      Refused("[\"\xff\"]", "not valid UTF-8"),
      {R"([{"metricName": "y"}, 2])", "", "", -1, 1, {"y", ""}},
      Refused(R"({"events": [{"k": 1, "k": 2}]})", "duplicate key"),
      // The key sets of the failed parse are not carried over.
      {R"([{"k": 1, "metricName": "k"}])", "", "", -1, 1, {"k"}},
      Refused(Nested(kMaxDepth + 1, "[", "]"), "too deep"),
      {R"({"client": "b", "seq": 2, "events": [{"metricName": "z\u00e9"}]})",
       "",
       "b",
       2,
       1,
       {"z\xc3\xa9"}},
      Refused(R"({"client": "c", "seq": 3, "sample": 0, "events": []})",
              "bad sample"),
      {R"({"events": [{"metricName": "w"}]})", "", "", -1, 1, {"w"}},
      Refused("[1, x]", "not JSON"),
      {big, "", "", -1, 1, big_names},
      Refused("[\"\\udc00\"]", "not valid UTF-8"),
      {"[]", "", "", -1, 1, {}},
      {R"({"client": "d", "seq": 4, "events": [{"metricName": "v"}]})",
       "",
       "d",
       4,
       1,
       {"v"}},
  };
}

void ExpectParsedAs(const Consecutive& c, const ParsedBatch& batch,
                    size_t step) {
  ASSERT_TRUE(batch.events().IsArray()) << step;
  ASSERT_EQ(batch.events().Size(), c.names.size()) << step;
  for (size_t i = 0; i < c.names.size(); ++i) {
    const rapidjson::Value& e = batch.events()[static_cast<unsigned>(i)];
    std::string name;
    if (e.IsObject() && e.HasMember("metricName")) {
      name.assign(e["metricName"].GetString(),
                  e["metricName"].GetStringLength());
    }
    EXPECT_EQ(name, c.names[i]) << step << " event " << i;
  }
  EXPECT_EQ(batch.id().has_value(), c.seq >= 0) << step;
  if (batch.id().has_value()) {
    EXPECT_EQ(batch.id()->client, c.client) << step;
    EXPECT_EQ(batch.id()->seq, c.seq) << step;
  }
  EXPECT_EQ(batch.sample(), c.sample) << step;
}

// A thread reuses one arena (buffer, pool, key sets) from one ParsedBatch
// to the next: nothing of a body, accepted or refused, may show in the
// next one.
TEST(BatchParser, ConsecutiveBodiesKeepNothingOfEachOther) {
  const std::vector<Consecutive> bodies = ConsecutiveBodies();
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < bodies.size(); ++i) {
      const Consecutive& c = bodies[i];
      ParsedBatch batch;
      Status s = ParseBatch(c.body, &batch);
      if (!c.error.empty()) {
        EXPECT_EQ(s.message().rfind(c.error, 0), 0u)
            << i << ": " << s.message();
        continue;
      }
      ASSERT_TRUE(s.ok()) << i << ": " << s.message();
      ExpectParsedAs(c, batch, i);
    }
  }
}

// ParsedBatches alive at the same time each keep their own tree, made and
// destroyed in any order.
TEST(BatchParser, BatchesAliveTogetherKeepTheirOwnTrees) {
  const std::vector<Consecutive> bodies = ConsecutiveBodies();
  std::vector<std::unique_ptr<ParsedBatch>> alive;
  std::vector<size_t> which;
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto batch = std::make_unique<ParsedBatch>();
    Status s = ParseBatch(bodies[i].body, batch.get());
    ASSERT_EQ(s.ok(), bodies[i].error.empty()) << i << ": " << s.message();
    if (!s.ok()) continue;
    alive.push_back(std::move(batch));
    which.push_back(i);
    if (i % 3 == 2) {  // one dies in the middle, its arena is reused
      alive.erase(alive.begin());
      which.erase(which.begin());
    }
  }
  ASSERT_GE(alive.size(), 3u);
  for (size_t k = 0; k < alive.size(); ++k) {
    ExpectParsedAs(bodies[which[k]], *alive[k], which[k]);
  }
}

// A ParsedBatch made on one thread may die on another (its arena becomes
// that thread's spare), and threads parse at the same time.
TEST(BatchParser, BatchesMoveBetweenThreads) {
  const std::vector<Consecutive> bodies = ConsecutiveBodies();
  auto made = std::make_unique<ParsedBatch>();
  ASSERT_TRUE(ParseBatch(bodies[0].body, made.get()).ok());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      if (t == 0) made.reset();
      for (int round = 0; round < 20; ++round) {
        for (const Consecutive& c : bodies) {
          ParsedBatch batch;
          Status s = ParseBatch(c.body, &batch);
          bool ok = c.error.empty()
                        ? s.ok() && batch.events().Size() == c.names.size()
                        : s.message().rfind(c.error, 0) == 0;
          if (!ok) ++failures[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// ParseBatch on a ParsedBatch that holds a parse forgets it first.
TEST(BatchParser, ParsingAgainReplacesTheLastParse) {
  ParsedBatch batch;
  ASSERT_TRUE(
      ParseBatch(R"({"client": "a", "seq": 1, "sample": 3, "events": [1]})",
                 &batch)
          .ok());
  ASSERT_TRUE(ParseBatch("[1, 2]", &batch).ok());
  EXPECT_FALSE(batch.id().has_value());
  EXPECT_EQ(batch.sample(), 1);
  EXPECT_EQ(batch.events().Size(), 2u);
}

TEST(BatchParser, KeepsUnicodeEscapes) {
  ParsedBatch batch;
  ASSERT_TRUE(ParseBatch(R"(["caf\u00e9", "\ud83d\ude00"])", &batch).ok());
  EXPECT_EQ(std::string(batch.events()[0].GetString()), "caf\xc3\xa9");
  EXPECT_EQ(std::string(batch.events()[1].GetString()), "\xf0\x9f\x98\x80");
}

// Every number is the double nearest to its text, as strtod gives it:
// RapidJSON's default (not full precision) parse is an ulp off for about
// one shortest-form 17-digit number in six, which moved observations on a
// native bucket bound into the next bucket (tests/integration/
// native-histograms.test.mjs found it).
TEST(BatchParser, NumbersAreParsedExactly) {
  // Bounds of native buckets (schema 3 and 8, as Prometheus computes them)
  // that the default parse got wrong.
  for (const char* text :
       {"3.6680161728186844", "-3.6680161728186844", "0.9170040432046711",
        "2.938735877055719e-39", "1.7976931348623157e308", "5e-324"}) {
    ParsedBatch batch;
    ASSERT_TRUE(ParseBatch("[" + std::string(text) + "]", &batch).ok());
    EXPECT_EQ(batch.events()[0].GetDouble(), std::strtod(text, nullptr))
        << text;
  }
  // Random doubles of every magnitude in their shortest round-trip form
  // (JSON.stringify's), 500 to a body.
  std::mt19937_64 rng(20261203);
  int wrong = 0;
  for (int body = 0; body < 40; ++body) {
    std::string text = "[";
    std::vector<double> want;
    for (int i = 0; i < 500; ++i) {
      const double v =
          std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng),
                     static_cast<int>(rng() % 200) - 100);
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, v);
      if (i > 0) text += ",";
      text.append(buf, r.ptr);
      want.push_back(v);
    }
    text += "]";
    ParsedBatch batch;
    ASSERT_TRUE(ParseBatch(text, &batch).ok());
    for (size_t i = 0; i < want.size(); ++i) {
      if (batch.events()[static_cast<rapidjson::SizeType>(i)].GetDouble() !=
          want[i]) {
        ++wrong;
      }
    }
  }
  EXPECT_EQ(wrong, 0) << "of 20000 numbers";
}

TEST(BatchParser, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbf\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\xaf"));
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));
}

TEST(BatchParser, IsValidClientId) {
  EXPECT_TRUE(IsValidClientId("a"));
  EXPECT_TRUE(IsValidClientId("AZaz09_-"));
  EXPECT_TRUE(IsValidClientId(std::string(64, 'x')));
  EXPECT_FALSE(IsValidClientId(""));
  EXPECT_FALSE(IsValidClientId(std::string(65, 'x')));
  EXPECT_FALSE(IsValidClientId("a/b"));
  EXPECT_FALSE(IsValidClientId("a+b"));
}

}  // namespace
}  // namespace pum
