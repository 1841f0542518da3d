// Test-only: a native histogram holding `values`, each observed once at
// `schema`, for tests that compare what pum kept with observing directly.
#ifndef PUM_SCHEMA_TESTING_NATIVE_H_
#define PUM_SCHEMA_TESTING_NATIVE_H_

#include <vector>

#include "schema/native/native_histogram.h"

namespace pum {
namespace testing {

inline NativeHistogram NativeOf(const std::vector<double>& values, int schema) {
  NativeHistogram h;
  h.schema = schema;
  for (double v : values) ObserveNative(v, 1, &h);
  return h;
}

}  // namespace testing
}  // namespace pum

#endif  // PUM_SCHEMA_TESTING_NATIVE_H_
