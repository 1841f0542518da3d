#include "schema/base/status.h"

#include <gtest/gtest.h>

#include <string>

namespace pum {
namespace {

using Code = Status::Code;

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Status, EachFactoryGivesItsCodeAndMessage) {
  struct Case {
    Status status;
    Code code;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), Code::kInvalidArgument},
      {Status::NotFound("m"), Code::kNotFound},
      {Status::Busy("m"), Code::kBusy},
      {Status::IoError("m"), Code::kIoError},
      {Status::Corruption("m"), Code::kCorruption},
      {Status::NotSupported("m"), Code::kNotSupported},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), "m");
  }
}

TEST(Status, IgnoreErrorChangesNothing) {
  Status s = Status::IoError("disk full");
  s.IgnoreError();
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.message(), "disk full");
}

}  // namespace
}  // namespace pum
