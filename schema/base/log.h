// Log: the one logger of pum-ingest and pum-exporter. Each event is one
// line on stderr with a timestamp, a level and a message, plus key=value
// fields, in the format of Prometheus and its exporters (--log.format):
//
//   logfmt: ts=2026-12-02T10:00:00.123Z level=info msg="listening on ..." k=v
//   json: {"ts":"2026-12-02T10:00:00.123Z","level":"info","msg":"...","k":"v"}
//
// Contract:
//   - ts is the wall clock in RFC 3339, UTC, with milliseconds.
//   - logfmt: a value is written bare unless it is empty or holds a space,
//     '=', '"', a control character or a byte of 0x80 or above; then it is
//     quoted, with '\\' '"' '\n' '\r' '\t' escaped as such and any other
//     control character as \u00XX. Non-ASCII UTF-8 is kept as it is.
//   - json: one object per line, keys in the order ts, level, msg, then the
//     fields; strings escaped as RFC 8259 requires ('"', '\\', \b \f \n \r
//     \t, other control characters \u00XX); a numeric field is a number.
//   - Either way, a byte that is not part of valid UTF-8 becomes U+FFFD, so
//     a line is always valid UTF-8 and never spans two lines.
//   - Events below the level set by SetLogOptions() are dropped.
//   - Log() is safe to call from any thread; lines never interleave.
//     SetLogOptions() is meant for startup, before other threads log.
//   - Keys are fixed by the code: [a-z0-9_.]+ (asserted).
#ifndef PUM_SCHEMA_BASE_LOG_H_
#define PUM_SCHEMA_BASE_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace pum {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

// "debug", "info", "warn", "error"; "logfmt", "json".
const char* LogLevelName(LogLevel level);
const char* LogFormatName(LogFormat format);
// The reverse; false (and `*out` unchanged) for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* out);
bool ParseLogFormat(std::string_view text, LogFormat* out);

// One key=value of an event. A string value, or an integer (a JSON number).
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T> &&
                                                    !std::is_same_v<T, bool>>>
  LogField(std::string_view k, T v)
      : key(k), value(std::to_string(v)), is_number(true) {}

  std::string_view key;
  std::string value;
  bool is_number = false;
};

using LogFields = std::initializer_list<LogField>;

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kLogfmt;
  int fd = 2;  // where lines are written (tests point it at a file)
};

// Replaces the options (the defaults above until then).
void SetLogOptions(const LogOptions& options);

// Writes one event, if `level` is at or above the configured one.
void Log(LogLevel level, std::string_view message, LogFields fields = {});
inline void LogDebug(std::string_view message, LogFields fields = {}) {
  Log(LogLevel::kDebug, message, fields);
}
inline void LogInfo(std::string_view message, LogFields fields = {}) {
  Log(LogLevel::kInfo, message, fields);
}
inline void LogWarn(std::string_view message, LogFields fields = {}) {
  Log(LogLevel::kWarn, message, fields);
}
inline void LogError(std::string_view message, LogFields fields = {}) {
  Log(LogLevel::kError, message, fields);
}

// LogError(message, {{"err", err}}) that never throws: for catch blocks and
// C callbacks, where an exception (no memory for the line) must not escape.
// The line is then lost.
void LogErrorNoThrow(std::string_view message, std::string_view err) noexcept;

// The line Log() writes (with its '\n') for an event at `unix_ms`
// (milliseconds since the epoch).
std::string FormatLogLine(LogFormat format, int64_t unix_ms, LogLevel level,
                          std::string_view message, LogFields fields);

// `unix_ms` as "2026-12-02T10:00:00.123Z".
std::string FormatLogTime(int64_t unix_ms);

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_LOG_H_
