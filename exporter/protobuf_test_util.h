// Test-only: a protobuf exposition body read back with libprotobuf's
// delimited parser, as Prometheus' readDelimited() reads it.
#ifndef PUM_EXPORTER_PROTOBUF_TEST_UTIL_H_
#define PUM_EXPORTER_PROTOBUF_TEST_UTIL_H_

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "exporter/metrics.pb.h"

namespace pum {
namespace testing {

// The families of `body`; fails the test if a message does not parse or a
// byte is left over.
inline std::vector<::io::prometheus::client::MetricFamily> ParseProtobufBody(
    const std::string& body) {
  google::protobuf::io::ArrayInputStream input(body.data(),
                                               static_cast<int>(body.size()));
  google::protobuf::io::CodedInputStream coded(&input);
  std::vector<::io::prometheus::client::MetricFamily> out;
  while (true) {
    ::io::prometheus::client::MetricFamily family;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromCodedStream(&family, &coded,
                                                               &clean_eof)) {
      EXPECT_TRUE(clean_eof) << "a message does not parse";
      break;
    }
    out.push_back(std::move(family));
  }
  EXPECT_EQ(coded.CurrentPosition(), static_cast<int>(body.size()));
  return out;
}

}  // namespace testing
}  // namespace pum

#endif  // PUM_EXPORTER_PROTOBUF_TEST_UTIL_H_
