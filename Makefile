# pum: `make` builds build/pum-ingest, build/pum-exporter and the browser
# client (build/pum.js, build/pum.esm.js); `make test` runs every test;
# `make run` starts a single-host stack on loopback. `make deps` installs what
# is missing.
#
# BUILD selects the output folder; `make asan` uses build-asan.

BUILD ?= build
# Parallel compile jobs for the sub-makes.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CXX ?= g++
CXXSTD := -std=c++17
OPT ?= -O2 -g
SANITIZE ?=
CPPFLAGS := -I. -MMD -MP
CXXFLAGS := $(CXXSTD) $(OPT) $(SANITIZE) -Wall -Wextra -Werror -pthread
LDFLAGS := $(SANITIZE) -pthread
LIBS_STORE := -lsqlite3
LIBS_INGEST := -lfcgi
LIBS_EXPORTER := -lcivetweb -lz
LIBS_TEST := -lgtest -lgtest_main

# Debian packages the build and the tests need.
DEB_PACKAGES := g++ make libfcgi-dev libfcgi-bin spawn-fcgi rapidjson-dev \
  libcivetweb-dev libsqlite3-dev sqlite3 libgtest-dev zlib1g-dev \
  nginx-light curl prometheus chromium apache2 libapache2-mod-fcgid lighttpd \
  prometheus-alertmanager python3-yaml systemd

SCHEMA_SRCS := $(filter-out %_test.cc,$(wildcard schema/*.cc))
INGEST_SRCS := $(filter-out %_test.cc fcgi-ingest/main.cc,$(wildcard fcgi-ingest/*.cc))
EXPORTER_SRCS := $(filter-out %_test.cc exporter/main.cc,$(wildcard exporter/*.cc))

SCHEMA_OBJS := $(SCHEMA_SRCS:%.cc=$(BUILD)/obj/%.o)
INGEST_OBJS := $(INGEST_SRCS:%.cc=$(BUILD)/obj/%.o)
EXPORTER_OBJS := $(EXPORTER_SRCS:%.cc=$(BUILD)/obj/%.o)

SCHEMA_TESTS := $(wildcard schema/*_test.cc)
INGEST_TESTS := $(wildcard fcgi-ingest/*_test.cc)
EXPORTER_TESTS := $(wildcard exporter/*_test.cc)

# The browser client: esbuild (client-js/build.mjs) bundles client-js/src/
# with web-vitals from client-js/node_modules (`make deps` runs npm ci).
CLIENT_SRCS := $(shell find client-js/src -name '*.js' 2>/dev/null) \
  client-js/build.mjs client-js/snippet.html client-js/package-lock.json
CLIENT_OUT := $(BUILD)/pum.js $(BUILD)/pum.esm.js $(BUILD)/pum.core.js \
  $(BUILD)/snippet.min.html

UNIT_TEST_BINS := $(BUILD)/tests/schema_test $(BUILD)/tests/ingest_test \
  $(BUILD)/tests/exporter_test

.PHONY: all deps binaries client client-test unit-tests test asan run bench clean format check-format
.DEFAULT_GOAL := all

all: deps
	$(MAKE) -j$(JOBS) binaries

binaries: $(BUILD)/pum-ingest $(BUILD)/pum-exporter client

client: $(BUILD)/pum.js

# One run of build.mjs writes every file of CLIENT_OUT; the others depend on
# pum.js so a parallel make runs it once.
$(BUILD)/pum.js: $(CLIENT_SRCS)
	node client-js/build.mjs $(BUILD)

$(filter-out $(BUILD)/pum.js,$(CLIENT_OUT)): $(BUILD)/pum.js

# The client's unit tests and size budget (node --test; needs build/pum.js).
client-test: client
	BUILD=$(BUILD) node --test client-js/test/

deps:
	@sh tests/deps.sh $(DEB_PACKAGES)

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libpumschema.a: $(SCHEMA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/pum-ingest: $(BUILD)/obj/fcgi-ingest/main.o $(INGEST_OBJS) $(BUILD)/libpumschema.a
	$(CXX) $(LDFLAGS) $^ -o $@ $(LIBS_INGEST) $(LIBS_STORE)

$(BUILD)/pum-exporter: $(BUILD)/obj/exporter/main.o $(EXPORTER_OBJS) $(BUILD)/libpumschema.a
	$(CXX) $(LDFLAGS) $^ -o $@ $(LIBS_EXPORTER) $(LIBS_STORE)

$(BUILD)/tests/schema_test: $(SCHEMA_TESTS:%.cc=$(BUILD)/obj/%.o) $(BUILD)/libpumschema.a
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LIBS_TEST) $(LIBS_STORE)

$(BUILD)/tests/ingest_test: $(INGEST_TESTS:%.cc=$(BUILD)/obj/%.o) $(INGEST_OBJS) $(BUILD)/libpumschema.a
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LIBS_TEST) $(LIBS_INGEST) $(LIBS_STORE)

$(BUILD)/tests/exporter_test: $(EXPORTER_TESTS:%.cc=$(BUILD)/obj/%.o) $(EXPORTER_OBJS) $(BUILD)/libpumschema.a
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS) $^ -o $@ $(LIBS_TEST) $(LIBS_EXPORTER) $(LIBS_STORE)

unit-tests: $(UNIT_TEST_BINS)

# Every test: the unit tests, then the integration tests against real nginx,
# spawn-fcgi, SQLite and promtool. Ends with one "N passed, N failed" line.
test: deps
	$(MAKE) -j$(JOBS) binaries unit-tests
	BUILD=$(BUILD) sh tests/run-all.sh

# The unit and integration tests under AddressSanitizer and UBSan.
asan: deps
	$(MAKE) -j$(JOBS) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  binaries unit-tests
	BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 sh tests/run-all.sh

# A single-host stack on loopback: nginx, workers, exporter; Ctrl-C stops it.
run: all
	BUILD=$(BUILD) sh deploy/run-local.sh

format:
	clang-format -i $(wildcard schema/*.h schema/*.cc fcgi-ingest/*.h fcgi-ingest/*.cc exporter/*.h exporter/*.cc)

check-format:
	clang-format --dry-run --Werror $(wildcard schema/*.h schema/*.cc fcgi-ingest/*.h fcgi-ingest/*.cc exporter/*.h exporter/*.cc)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
