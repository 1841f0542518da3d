#include "exporter/gzip_stream.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

namespace pum {
namespace {

// Inflates every gzip member of `in` in turn (as Go's multistream reader
// and `gzip -d` do); *members is how many there were. "(error)" if any
// member is broken or bytes are left over.
std::string GunzipMembers(const std::string& in, int* members) {
  std::string out;
  *members = 0;
  size_t used = 0;
  while (used < in.size()) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) return "(error)";
    stream.next_in =
        reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + used));
    stream.avail_in = static_cast<uInt>(in.size() - used);
    char buf[65536];
    int result;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buf);
      stream.avail_out = sizeof(buf);
      result = inflate(&stream, Z_NO_FLUSH);
      out.append(buf, sizeof(buf) - stream.avail_out);
    } while (result == Z_OK);
    used = in.size() - stream.avail_in;
    inflateEnd(&stream);
    if (result != Z_STREAM_END) return "(error)";
    ++*members;
  }
  return out;
}

std::string RandomText(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string text;
  while (text.size() < n) {
    text += "bench_latency_seconds_bucket{path=\"/page/" +
            std::to_string(rng() % 100000) + "\",le=\"0.25\"} " +
            std::to_string(rng() % 1000) + "\n";
    if (rng() % 7 == 0) text.push_back(static_cast<char>(rng()));  // binary
  }
  text.resize(n);
  return text;
}

TEST(GzipStream, SegmentsMakeOneMemberOfTheConcatenation) {
  struct Case {
    const char* name;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {"nothing", {}},
      {"one empty part", {""}},
      {"one byte", {"x"}},
      {"empty parts between", {"a", "", "b", "", ""}},
      {"text", {"# HELP a b\n# TYPE a counter\n", "a 1\n", "# EOF\n"}},
      {"large and random",
       {RandomText(200000, 1), RandomText(70000, 2), RandomText(1, 3),
        RandomText(65536, 4)}},
      {"incompressible", {RandomText(1, 5) + std::string(100000, '\xff')}},
  };
  DeflateSegmenter segmenter;
  for (const Case& c : cases) {
    std::string body = GzipHeader();
    std::string plain;
    uint32_t crc = Crc32("");
    for (const std::string& part : c.parts) {
      std::string segment;
      ASSERT_TRUE(segmenter.Compress(part, &segment).ok()) << c.name;
      body += segment;
      plain += part;
      crc = Crc32Combine(crc, Crc32(part), part.size());
    }
    body += GzipTrailer(crc, plain.size());
    int members = 0;
    EXPECT_EQ(GunzipMembers(body, &members), plain) << c.name;
    // One member: curl --compressed and browsers read no further.
    EXPECT_EQ(members, 1) << c.name;
  }
}

// Regression: a segment kept the capacity of deflate's worst-case buffer
// (about its input's size), so the cached gzip of 8,000 histograms held
// 7 MB for 0.4 MB of segments. Whatever *out held before, and however well
// the text compresses, the segment's capacity is about its size.
TEST(GzipStream, SegmentHoldsNoSlack) {
  struct Case {
    const char* name;
    std::string text;
    std::string before;  // what *out held
  };
  const Case cases[] = {
      {"compressible", std::string(65536, 'a'), ""},
      {"text", RandomText(65536, 10), ""},
      {"out held a large string", RandomText(3000, 11),
       std::string(1 << 20, 'x')},
      {"incompressible", std::string(100000, '\xff') + RandomText(1, 12), ""},
  };
  DeflateSegmenter segmenter;
  for (const Case& c : cases) {
    std::string segment = c.before;
    ASSERT_TRUE(segmenter.Compress(c.text, &segment).ok()) << c.name;
    ASSERT_FALSE(segment.empty()) << c.name;
    EXPECT_LE(segment.capacity(), segment.size() + 32) << c.name;
  }
}

TEST(GzipStream, Crc32CombineIsTheCrcOfTheConcatenation) {
  const std::string a = RandomText(1000, 7), b = RandomText(12345, 8);
  EXPECT_EQ(Crc32Combine(Crc32(a), Crc32(b), b.size()), Crc32(a + b));
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the check value
}

TEST(GzipStream, GzipCompressAtEveryLevel) {
  const std::string text = RandomText(100000, 9);
  for (int level = 1; level <= 9; ++level) {
    std::string compressed;
    ASSERT_TRUE(GzipCompress(text, &compressed, level).ok());
    int members = 0;
    EXPECT_EQ(GunzipMembers(compressed, &members), text) << level;
    EXPECT_EQ(members, 1);
    EXPECT_LT(compressed.size(), text.size()) << level;
  }
}

}  // namespace
}  // namespace pum
