#include "schema/base/http_status.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pum {
namespace {

TEST(HttpReasonPhrase, NamesEveryStatusPumAnswers) {
  struct Case {
    int status;
    std::string phrase;
  };
  const std::vector<Case> cases = {
      {200, "OK"},
      {204, "No Content"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      // pum-ingest's own copy had none for its 409 (seq_too_old) and wrote
      // "Status: 409 ", and pum-exporter's none for 500.
      {409, "Conflict"},
      {413, "Payload Too Large"},
      {422, "Unprocessable Entity"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HttpReasonPhrase(c.status), c.phrase) << c.status;
  }
}

TEST(HttpReasonPhrase, UnknownCodesGiveAnEmptyPhraseNeverNull) {
  for (int status : {0, -1, 100, 199, 299, 418, 599, 600, 1000}) {
    const char* phrase = HttpReasonPhrase(status);
    ASSERT_NE(phrase, nullptr) << status;
    EXPECT_STREQ(phrase, "") << status;
  }
}

}  // namespace
}  // namespace pum
