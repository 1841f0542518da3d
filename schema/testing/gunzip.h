// Gunzip: test-only inflation of one gzip member, for the tests that check
// what pum-exporter compressed.
//
// Contract: Gunzip(in) is the inflated content of `in` when `in` is exactly
// one complete gzip member with nothing after it, and "(error)" otherwise.
#ifndef PUM_SCHEMA_TESTING_GUNZIP_H_
#define PUM_SCHEMA_TESTING_GUNZIP_H_

#include <zlib.h>

#include <string>

namespace pum {
namespace testing {

inline std::string Gunzip(const std::string& in) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return "(error)";
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int result;
  do {
    stream.next_out = reinterpret_cast<Bytef*>(buf);
    stream.avail_out = sizeof(buf);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - stream.avail_out);
  } while (result == Z_OK);
  bool all_used = stream.avail_in == 0;
  inflateEnd(&stream);
  return result == Z_STREAM_END && all_used ? out : "(error)";
}

}  // namespace testing
}  // namespace pum

#endif  // PUM_SCHEMA_TESTING_GUNZIP_H_
