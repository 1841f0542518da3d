// kSeedAllowlistFile: the seed's own example allowlist file
// (peardeck/prometheus-user-metrics, abbreviated), for the allowlist tests.
// Test-only; not part of libpumschema's interface.
#ifndef PUM_SCHEMA_TESTING_SEED_ALLOWLIST_H_
#define PUM_SCHEMA_TESTING_SEED_ALLOWLIST_H_

namespace pum {
namespace testing {

// Three metrics, in this order: "usage_total" (a counter with two
// enumerated labels, named on line 4), "firebase_response_time" (a
// histogram, line 19) and "performance_timing_navigationStart".
inline constexpr char kSeedAllowlistFile[] = R"({
    "allowedMetrics": [
        {
            "name": "usage_total",
            "help": "counts of usage, like times a feature has been used, etc",
            "type": "counter",
            "labels": [
                {
                    "name": "browser",
                    "allowedValues": ["chrome", "firefox", "safari", "edge"]
                },
                {
                    "name": "feature",
                    "allowedValues": ["quickQuestion", "blockStudent"]
                }
            ]
        },
        {
            "name": "firebase_response_time",
            "help": "measures firebase response times in seconds",
            "type": "histogram",
            "labels": [
                {
                    "name": "firebaseHost",
                    "allowedValues": ["pd-dev-1.firebaseio.com"]
                }
            ],
            "buckets": [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
        },
        {
            "name": "performance_timing_navigationStart",
            "help": "Performance timing metric",
            "type": "histogram",
            "labels": [],
            "buckets": [0.01, 0.05, 0.1]
        }
    ]
})";

}  // namespace testing
}  // namespace pum

#endif  // PUM_SCHEMA_TESTING_SEED_ALLOWLIST_H_
