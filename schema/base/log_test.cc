#include "schema/base/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "schema/testing/temp_dir.h"

namespace pum {
namespace {

constexpr int64_t kT = 1796205600123;  // 2026-12-02T10:00:00.123Z

TEST(Log, TimeIsRfc3339WithMillisecondsInUtc) {
  struct Case {
    int64_t unix_ms;
    const char* text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {kT, "2026-12-02T10:00:00.123Z"},
      {951868799999, "2000-02-29T23:59:59.999Z"},
      {951868800000, "2000-03-01T00:00:00.000Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatLogTime(c.unix_ms), c.text) << c.unix_ms;
  }
}

TEST(Log, LogfmtLineLikePrometheus) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kT, LogLevel::kInfo,
                          "listening on http://127.0.0.1:9102/metrics",
                          {{"address", "127.0.0.1:9102"}, {"workers", 4}}),
            "ts=2026-12-02T10:00:00.123Z level=info msg=\"listening on "
            "http://127.0.0.1:9102/metrics\" address=127.0.0.1:9102 "
            "workers=4\n");
}

TEST(Log, JsonLineLikePrometheus) {
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kT, LogLevel::kWarn, "no metrics",
                          {{"dir", "/etc/pum/metrics.d"}, {"count", 0}}),
            "{\"ts\":\"2026-12-02T10:00:00.123Z\",\"level\":\"warn\","
            "\"msg\":\"no metrics\",\"dir\":\"/etc/pum/metrics.d\","
            "\"count\":0}\n");
}

TEST(Log, LogfmtQuotesAndEscapesExactly) {
  struct Case {
    std::string value;
    std::string written;  // after "msg="
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"a/b:c.d-e_f,g;h", "a/b:c.d-e_f,g;h"},
      {"", "\"\""},
      {"two words", "\"two words\""},
      {"k=v", "\"k=v\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "back\\slash"},  // no quotes needed: kept as it is
      {"back\\slash and space", "\"back\\\\slash and space\""},
      {"line1\nline2", "\"line1\\nline2\""},
      {"cr\rtab\t", "\"cr\\rtab\\t\""},
      {std::string("nul\0bell\a", 9), "\"nul\\u0000bell\\u0007\""},
      {"\b\f\x1b\x7f", "\"\\u0008\\u000c\\u001b\\u007f\""},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
      {"\xE2\x82\xAC 5", "\"\xE2\x82\xAC 5\""},
      {"\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""},
      // Invalid UTF-8: a stray continuation byte, a truncated sequence, an
      // overlong '/', a surrogate, past U+10FFFF: each byte U+FFFD.
      {"a\x80z", "\"a\xEF\xBF\xBDz\""},
      {"\xE2\x82", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xF4\x90\x80\x80",
       "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
  };
  const std::string prefix = "ts=2026-12-02T10:00:00.123Z level=error msg=";
  for (const Case& c : cases) {
    EXPECT_EQ(
        FormatLogLine(LogFormat::kLogfmt, kT, LogLevel::kError, c.value, {}),
        prefix + c.written + "\n")
        << c.value;
    EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kT, LogLevel::kError, "m",
                            {{"key", c.value}}),
              prefix + "m key=" + c.written + "\n")
        << c.value;
  }
}

TEST(Log, JsonEscapesExactly) {
  struct Case {
    std::string value;
    std::string written;  // the JSON string, quotes included
  };
  const Case cases[] = {
      {"plain", "\"plain\""},
      {"", "\"\""},
      {"two words k=v", "\"two words k=v\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"a/b", "\"a/b\""},
      {"line1\nline2\r\t", "\"line1\\nline2\\r\\t\""},
      {"\b\f", "\"\\b\\f\""},
      {std::string("\0\x1f\x7f", 3), "\"\\u0000\\u001f\\u007f\""},
      {"</script>", "\"</script>\""},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
      {"a\xFFz", "\"a\xEF\xBF\xBDz\""},
  };
  const std::string prefix =
      "{\"ts\":\"2026-12-02T10:00:00.123Z\",\"level\":\"debug\",\"msg\":";
  for (const Case& c : cases) {
    EXPECT_EQ(
        FormatLogLine(LogFormat::kJson, kT, LogLevel::kDebug, c.value, {}),
        prefix + c.written + "}\n")
        << c.value;
    EXPECT_EQ(FormatLogLine(LogFormat::kJson, kT, LogLevel::kDebug, "m",
                            {{"key", c.value}}),
              prefix + "\"m\",\"key\":" + c.written + "}\n")
        << c.value;
  }
}

TEST(Log, NumbersAreBareInBothFormats) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kT, LogLevel::kInfo, "m",
                          {{"n", -3}, {"size", size_t{18446744073709551615u}}}),
            "ts=2026-12-02T10:00:00.123Z level=info msg=m n=-3 "
            "size=18446744073709551615\n");
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, kT, LogLevel::kInfo, "m",
                          {{"n", -3}, {"s", "7"}}),
            "{\"ts\":\"2026-12-02T10:00:00.123Z\",\"level\":\"info\","
            "\"msg\":\"m\",\"n\":-3,\"s\":\"7\"}\n");
}

TEST(Log, LevelAndFormatNames) {
  struct Case {
    const char* text;
    bool ok;
    LogLevel level;
  };
  const Case cases[] = {
      {"debug", true, LogLevel::kDebug}, {"info", true, LogLevel::kInfo},
      {"warn", true, LogLevel::kWarn},   {"error", true, LogLevel::kError},
      {"INFO", false, LogLevel::kWarn},  {"warning", false, LogLevel::kWarn},
      {"", false, LogLevel::kWarn},      {"fatal", false, LogLevel::kWarn},
  };
  for (const Case& c : cases) {
    LogLevel level = LogLevel::kWarn;
    EXPECT_EQ(ParseLogLevel(c.text, &level), c.ok) << c.text;
    EXPECT_EQ(level, c.level) << c.text;
    if (c.ok) {
      EXPECT_STREQ(LogLevelName(level), c.text);
    }
  }
  LogFormat format = LogFormat::kJson;
  EXPECT_TRUE(ParseLogFormat("logfmt", &format));
  EXPECT_EQ(format, LogFormat::kLogfmt);
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("text", &format));
  EXPECT_FALSE(ParseLogFormat("JSON", &format));
  EXPECT_EQ(format, LogFormat::kJson);
}

// Points the logger at a file for one test, and back at stderr after it.
class LogToFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Path("log");
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    SetLogOptions(LogOptions());
    ::close(fd_);
  }
  void Use(LogLevel level, LogFormat format) {
    LogOptions options;
    options.level = level;
    options.format = format;
    options.fd = fd_;
    SetLogOptions(options);
  }
  std::vector<std::string> Lines() const {
    std::ifstream in(path_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  testing::TempDir dir_;
  std::string path_;
  int fd_ = -1;
};

// The part of a logfmt line after its timestamp.
std::string AfterTs(const std::string& line) {
  size_t space = line.find(' ');
  return space == std::string::npos ? line : line.substr(space + 1);
}

TEST_F(LogToFile, TheLevelFiltersEvents) {
  struct Case {
    LogLevel level;
    std::vector<std::string> kept;
  };
  const Case cases[] = {
      {LogLevel::kDebug, {"d", "i", "w", "e"}},
      {LogLevel::kInfo, {"i", "w", "e"}},
      {LogLevel::kWarn, {"w", "e"}},
      {LogLevel::kError, {"e"}},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(::ftruncate(fd_, 0), 0);
    Use(c.level, LogFormat::kLogfmt);
    LogDebug("d");
    LogInfo("i");
    LogWarn("w");
    LogError("e");
    std::vector<std::string> kept;
    for (const std::string& line : Lines()) {
      std::string rest = AfterTs(line);
      kept.push_back(rest.substr(rest.find("msg=") + 4));
    }
    EXPECT_EQ(kept, c.kept) << LogLevelName(c.level);
  }
}

TEST_F(LogToFile, WritesTheConfiguredFormatWithTheCurrentTime) {
  Use(LogLevel::kInfo, LogFormat::kJson);
  LogInfo("hello", {{"k", "v"}});
  Use(LogLevel::kInfo, LogFormat::kLogfmt);
  LogInfo("hello", {{"k", "v"}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  // {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ", ...
  ASSERT_EQ(lines[0].substr(0, 7), "{\"ts\":\"");
  EXPECT_EQ(lines[0].substr(7 + 24),
            "\",\"level\":\"info\",\"msg\":\"hello\",\"k\":\"v\"}");
  const std::string ts = lines[0].substr(7, 24);
  EXPECT_EQ(ts.substr(0, 2), "20");
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts[23], 'Z');
  EXPECT_EQ(lines[1].substr(0, 3), "ts=");
  EXPECT_EQ(AfterTs(lines[1]), "level=info msg=hello k=v");
}

TEST_F(LogToFile, LinesFromManyThreadsNeverInterleave) {
  Use(LogLevel::kInfo, LogFormat::kLogfmt);
  const std::string payload(3000, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&payload, t] {
      for (int i = 0; i < 200; ++i) LogInfo(payload, {{"thread", t}});
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1600u);
  for (const std::string& line : lines) {
    std::string rest = AfterTs(line);
    ASSERT_EQ(rest.substr(0, 15 + payload.size()), "level=info msg=" + payload)
        << rest.substr(0, 40);
    ASSERT_EQ(rest.size(), 15 + payload.size() + 9) << rest.substr(0, 40);
  }
}

}  // namespace
}  // namespace pum
