#include "exporter/gzip_stream.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace pum {

struct DeflateSegmenter::Stream {
  z_stream z;
  bool ok = false;
  std::string buffer;  // deflate's output, reused from call to call
  ~Stream() {
    if (ok) deflateEnd(&z);
  }
};

DeflateSegmenter::DeflateSegmenter(int level)
    : stream_(std::make_unique<Stream>()) {
  std::memset(&stream_->z, 0, sizeof(stream_->z));
  // windowBits -15: raw deflate, no zlib or gzip wrapper.
  stream_->ok = deflateInit2(&stream_->z, level, Z_DEFLATED, -15, 8,
                             Z_DEFAULT_STRATEGY) == Z_OK;
}

DeflateSegmenter::~DeflateSegmenter() = default;

Status DeflateSegmenter::Compress(std::string_view in, std::string* out) {
  out->clear();
  if (in.empty()) return Status::Ok();
  if (!stream_->ok) return Status::IoError("deflateInit2 failed");
  z_stream& z = stream_->z;
  if (deflateReset(&z) != Z_OK) return Status::IoError("deflateReset failed");
  // Into the reused buffer, sized for the worst case: deflateBound() is for
  // Z_FINISH, and a sync flush adds a few bytes more.
  std::string& buffer = stream_->buffer;
  buffer.resize(std::max(buffer.size(), deflateBound(&z, in.size()) + 16));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  size_t done = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(&buffer[done]);
    z.avail_out = static_cast<uInt>(buffer.size() - done);
    int result = deflate(&z, Z_SYNC_FLUSH);
    done = buffer.size() - z.avail_out;
    if (result != Z_OK && result != Z_BUF_ERROR) {
      return Status::IoError("deflate failed");
    }
    // Finished when all input is in and the flush had room to complete.
    if (z.avail_in == 0 && z.avail_out != 0) break;
    buffer.resize(buffer.size() * 2);
  }
  // A new string of exactly the segment's size: the caller may keep it
  // for as long as the text does not change.
  *out = std::string(buffer.data(), done);
  return Status::Ok();
}

const std::string& GzipHeader() {
  // ID1 ID2, CM=8 (deflate), no flags, MTIME 0, XFL 0, OS 3 (Unix).
  static const std::string kHeader("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
                                   10);
  return kHeader;
}

std::string GzipTrailer(uint32_t crc, uint64_t size) {
  // A final, empty block with fixed codes: BFINAL 1, BTYPE 01, end-of-block.
  std::string out("\x03\x00", 2);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(crc >> (8 * i)));
  uint32_t isize = static_cast<uint32_t>(size);
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>(isize >> (8 * i)));
  }
  return out;
}

uint32_t Crc32(std::string_view data) {
  // libdeflate's CRC-32 (carry-less multiplication where the CPU has it):
  // several times fewer instructions than zlib's.
  return libdeflate_crc32(0, data.data(), data.size());
}

uint32_t Crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t size_b) {
  return static_cast<uint32_t>(
      crc32_combine(crc_a, crc_b, static_cast<z_off_t>(size_b)));
}

Status GzipCompress(std::string_view in, std::string* out, int level) {
  DeflateSegmenter segmenter(level);
  std::string segment;
  Status status = segmenter.Compress(in, &segment);
  if (!status.ok()) return status;
  *out = GzipHeader();
  out->append(segment);
  out->append(GzipTrailer(Crc32(in), in.size()));
  return Status::Ok();
}

}  // namespace pum
