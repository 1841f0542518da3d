// Test-only helpers shared by the fcgi-ingest tests: the allowlist they use
// (the seed's example metrics plus a pattern label with a cap).
#ifndef PUM_FCGI_INGEST_TEST_UTIL_H_
#define PUM_FCGI_INGEST_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "schema/allowlist/allowlist.h"

namespace pum {
namespace testing {

inline constexpr char kTestAllowlist[] = R"({"allowedMetrics": [
  {"name": "usage_total", "help": "feature usage", "type": "counter",
   "labels": [{"name": "browser", "allowedValues": ["chrome", "firefox"]},
              {"name": "feature",
               "allowedValues": ["quickQuestion", "blockStudent"]}]},
  {"name": "firebase_response_time", "help": "seconds", "type": "histogram",
   "labels": [{"name": "firebaseHost",
               "allowedValues": ["pd-dev-1.firebaseio.com",
                                 "pd-dev-2.firebaseio.com"]}],
   "buckets": [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]},
  {"name": "app_load_succeeded", "help": "loads", "type": "counter",
   "labels": []},
  {"name": "route_views_total", "help": "views by route", "type": "counter",
   "labels": [{"name": "route", "pattern": "/[a-z]*", "maxValues": 2,
               "overflowValue": "other"}]},
  {"name": "big_total", "help": "huge increments", "type": "counter",
   "max_inc": 9e15},
  {"name": "wide_seconds", "help": "any finite value", "type": "histogram",
   "range": [-1.7e308, 1.7e308], "buckets": [1]},
  {"name": "timing_seconds", "help": "a timing", "type": "histogram",
   "range": [0, 3600], "buckets": [1, 10]}
]})";

inline std::shared_ptr<const Allowlist> TestAllowlist() {
  auto allowlist = std::make_shared<Allowlist>();
  Status s = allowlist->AddFile(kTestAllowlist, "test.json");
  EXPECT_TRUE(s.ok()) << s.message();
  return allowlist;
}

}  // namespace testing
}  // namespace pum

#endif  // PUM_FCGI_INGEST_TEST_UTIL_H_
