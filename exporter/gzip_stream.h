// GzipStream: one gzip member (RFC 1952) assembled from deflate segments
// compressed one at a time, so that a segment whose text did not change is
// reused as it is (scrape_model.h keeps one per chunk of series).
//
// Contract:
//   - DeflateSegmenter::Compress() gives a raw deflate (RFC 1951) segment
//     of its input: compressed on its own (no dictionary from what comes
//     before it), made of non-final blocks and ending on a byte boundary
//     (zlib's Z_SYNC_FLUSH). Such segments concatenate: any sequence of
//     them, followed by kDeflateEnd (an empty final block), is one valid
//     deflate stream of the concatenated inputs.
//   - GzipHeader() + segments + GzipTrailer(crc, size) is one gzip member
//     of the concatenated inputs, where crc is the CRC-32 of all of them
//     (Crc32Combine() of the segments' Crc32()) and size their total
//     length. Every gzip reader decodes it (a single member: curl
//     --compressed and browsers stop after the first member of a
//     multi-member body, so the segments are not separate members).
//   - GzipCompress() is that with a single segment: a whole body at once.
//   - A DeflateSegmenter owns its zlib state (RAII) and is used by one
//     thread at a time.
#ifndef PUM_EXPORTER_GZIP_STREAM_H_
#define PUM_EXPORTER_GZIP_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "schema/base/status.h"

namespace pum {

// The zlib level the exporter compresses at. Measured on the 8,000-histogram
// exposition (6.0 MB of text, 92 segments of ~64 KB), instructions by
// callgrind: levels 1-3 cost the same (~90-100M) for 373-383 KB; 4 and 5
// twice as much for 325 and 310 KB; 6 (zlib's default) 2.7x for 340 KB
// (segments compress a little worse than the whole body at once, 317 KB).
// Only changed segments are compressed again, but when every segment
// changed (writes spread over all series) the level decides the time.
inline constexpr int kGzipLevel = 1;

class DeflateSegmenter {
 public:
  explicit DeflateSegmenter(int level = kGzipLevel);
  ~DeflateSegmenter();
  DeflateSegmenter(const DeflateSegmenter&) = delete;
  DeflateSegmenter& operator=(const DeflateSegmenter&) = delete;

  // Replaces *out with the segment of `in` (empty for an empty `in`), in a
  // string whose capacity is its size: cached segments hold no slack. The
  // worst-case buffer deflate writes into is the segmenter's, reused.
  Status Compress(std::string_view in, std::string* out);

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
};

// The 10-byte member header (no name, no time).
const std::string& GzipHeader();
// An empty final deflate block, then the CRC-32 and the size mod 2^32.
std::string GzipTrailer(uint32_t crc, uint64_t size);

uint32_t Crc32(std::string_view data);
// The CRC-32 of A then B, from crc(A), crc(B) and B's length.
uint32_t Crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t size_b);

// gzip of `in`, one member, at `level`.
Status GzipCompress(std::string_view in, std::string* out,
                    int level = kGzipLevel);

}  // namespace pum

#endif  // PUM_EXPORTER_GZIP_STREAM_H_
