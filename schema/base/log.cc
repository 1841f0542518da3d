#include "schema/base/log.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <mutex>

namespace pum {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};
std::atomic<int> g_fd{2};
std::mutex g_write_mu;

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

bool ValidKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

// The length of the valid UTF-8 sequence at the start of `s` (a lead byte
// of 0xC2..0xF4 and its continuation bytes, no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s) {
  auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (lead < 0xC2 || lead > 0xF4 || s.size() < length) return 0;
  unsigned char low = 0x80, high = 0xBF;  // the second byte's range
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void AppendControl(unsigned char c, std::string* out) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", c);
  *out += buf;
}

// Appends `s` escaped for the inside of a quoted string: JSON's escapes
// (with \b and \f only when `json`), invalid UTF-8 as U+FFFD.
void AppendEscaped(std::string_view s, bool json, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(s.substr(i));
      if (length == 0) {
        *out += kReplacement;
        ++i;
      } else {
        out->append(s.substr(i, length));
        i += length;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        if (json) {
          *out += "\\b";
        } else {
          AppendControl(c, out);
        }
        break;
      case '\f':
        if (json) {
          *out += "\\f";
        } else {
          AppendControl(c, out);
        }
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          AppendControl(c, out);
        } else {
          *out += static_cast<char>(c);
        }
    }
  }
}

bool NeedsLogfmtQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '=' || c == '"' || c >= 0x7F) return true;
  }
  return false;
}

void AppendLogfmt(std::string_view key, std::string_view value,
                  std::string* out) {
  if (!out->empty()) *out += ' ';
  out->append(key);
  *out += '=';
  if (!NeedsLogfmtQuotes(value)) {
    out->append(value);
    return;
  }
  *out += '"';
  AppendEscaped(value, false, out);
  *out += '"';
}

void AppendJson(std::string_view key, std::string_view value, bool number,
                std::string* out) {
  *out += out->empty() ? "{\"" : ",\"";
  out->append(key);
  *out += "\":";
  if (number) {
    out->append(value);
    return;
  }
  *out += '"';
  AppendEscaped(value, true, out);
  *out += '"';
}

int64_t NowMs() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

// write() until all of `line` is out or the descriptor fails.
void WriteAll(int fd, std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(fd, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    line.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

const char* LogFormatName(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "logfmt";
}

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LogLevelName(level)) {
      *out = level;
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(std::string_view text, LogFormat* out) {
  for (LogFormat format : {LogFormat::kLogfmt, LogFormat::kJson}) {
    if (text == LogFormatName(format)) {
      *out = format;
      return true;
    }
  }
  return false;
}

std::string FormatLogTime(int64_t unix_ms) {
  time_t seconds = static_cast<time_t>(unix_ms / 1000);
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char buf[96];  // room for any int, to keep -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level,
                          std::string_view message, LogFields fields) {
  std::string line;
  const std::string ts = FormatLogTime(unix_ms);
  if (format == LogFormat::kJson) {
    AppendJson("ts", ts, false, &line);
    AppendJson("level", LogLevelName(level), false, &line);
    AppendJson("msg", message, false, &line);
    for (const LogField& field : fields) {
      assert(ValidKey(field.key));
      AppendJson(field.key, field.value, field.is_number, &line);
    }
    line += "}\n";
    return line;
  }
  AppendLogfmt("ts", ts, &line);
  AppendLogfmt("level", LogLevelName(level), &line);
  AppendLogfmt("msg", message, &line);
  for (const LogField& field : fields) {
    assert(ValidKey(field.key));
    AppendLogfmt(field.key, field.value, &line);
  }
  line += '\n';
  return line;
}

void SetLogOptions(const LogOptions& options) {
  g_level = options.level;
  g_format = options.format;
  g_fd = options.fd;
}

void Log(LogLevel level, std::string_view message, LogFields fields) {
  if (level < g_level.load()) return;
  std::string line =
      FormatLogLine(g_format.load(), NowMs(), level, message, fields);
  std::lock_guard<std::mutex> lock(g_write_mu);
  WriteAll(g_fd.load(), line);
}

void LogErrorNoThrow(std::string_view message, std::string_view err) noexcept {
  try {
    LogError(message, {{"err", err}});
  } catch (...) {  // no memory for the line: it is lost
  }
}

}  // namespace pum
