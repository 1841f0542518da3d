// The version and the revision of this build, from the Makefile
// (build_info.h). Only pum-ingest and pum-exporter link this file.
#include "schema/base/build_info.h"

#ifndef PUM_VERSION
#error "PUM_VERSION must be defined (the Makefile does)"
#endif
#ifndef PUM_REVISION
#error "PUM_REVISION must be defined (the Makefile does)"
#endif

namespace pum {

BuildInfo ThisBuild() { return BuildInfo{PUM_VERSION, PUM_REVISION}; }

}  // namespace pum
