// Text helpers for the messages pum's components report: quoting a value
// taken from a file or a command line, and joining problems into one
// Status message. Shared by the allowlist and the configuration so that
// both report problems the same way.
#ifndef PUM_SCHEMA_BASE_TEXT_H_
#define PUM_SCHEMA_BASE_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

namespace pum {

// `s` in double quotes for an error message, with quotes, backslashes and
// control characters (below 0x20, and 0x7f) escaped as in JSON; other bytes,
// UTF-8 included, are kept as they are. The result never holds a line break,
// so a message stays one line whatever a file holds (regression: a name with
// a "\n" escape made a fake error line; found by fuzzing).
std::string Quote(std::string_view s);

// `lines` joined by "\n" (no trailing newline; "" for no lines): the form of
// a Status message that lists several problems, one per line.
std::string JoinLines(const std::vector<std::string>& lines);

}  // namespace pum

#endif  // PUM_SCHEMA_BASE_TEXT_H_
