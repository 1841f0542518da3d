# pum: `make` builds build/pum-ingest, build/pum-exporter and the browser
# client (build/pum.js, build/pum.esm.js); `make test` runs every test;
# `make run` starts a single-host stack on loopback. `make deps` installs what
# is missing. `make install` (PREFIX, DESTDIR, SYSCONFDIR) installs the
# binaries, pum.js, the configuration and the systemd units; see below.
#
# BUILD selects the output folder; `make asan` uses build-asan, `make tsan`
# build-tsan.

BUILD ?= build
# Parallel compile jobs for the sub-makes.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CXX ?= g++
CXXSTD := -std=c++17
OPT ?= -O2 -g
SANITIZE ?=
# RapidJSON's SIMD scanning of whitespace and strings: SSE2 is part of every
# x86-64 CPU, NEON of every aarch64 one (the same for every object file, as
# the parser's layout depends on it).
ARCH := $(shell uname -m)
SIMD_DEFS := $(if $(filter x86_64,$(ARCH)),-DRAPIDJSON_SSE2,$(if $(filter aarch64,$(ARCH)),-DRAPIDJSON_NEON,))
# $(BUILD)/gen holds protoc's output (exporter/metrics.pb.h): a system
# include directory, so that -Werror does not judge generated code.
CPPFLAGS := -I. -isystem $(BUILD)/gen -MMD -MP $(SIMD_DEFS)
CXXFLAGS := $(CXXSTD) $(OPT) $(SANITIZE) -Wall -Wextra -Werror -pthread
LDFLAGS := $(SANITIZE) -pthread
LIBS_STORE := -lsqlite3 -lre2
LIBS_INGEST := -lfcgi
LIBS_EXPORTER := -lcivetweb -lz -ldeflate -lyaml -lssl -lcrypto -lcrypt -lprotobuf
LIBS_TEST := -lgtest -lgtest_main

# The version --version prints: that of the latest release in CHANGELOG.md
# (raise both together). The revision is the checkout's short commit id;
# when git cannot tell (a tarball, no git) it is the one the build already
# has, else "unknown", so that `sudo make install` of a build relinks
# nothing (safe.directory: git refuses a repository another user owns).
# Either can be set on the command line (make PUM_REVISION=...).
PUM_VERSION := 0.1.0
PUM_GIT := git -c safe.directory='*' -C '$(CURDIR)'
ifndef PUM_REVISION
PUM_REVISION := $(shell \
  if [ "$$($(PUM_GIT) rev-parse --show-toplevel 2>/dev/null)" = '$(CURDIR)' ]; then \
    $(PUM_GIT) rev-parse --short HEAD 2>/dev/null; \
  elif [ -s '$(BUILD)/build-stamp.txt' ]; then \
    cut -d' ' -f2 '$(BUILD)/build-stamp.txt'; \
  else echo unknown; fi)
endif
# The one object that holds them (schema/base/build_info.h); it is rebuilt
# when $(BUILD_STAMP) changes, i.e. only when the version or the revision
# does, and only the two binaries link it.
BUILD_STAMP_SRC := schema/base/build_stamp.cc
BUILD_STAMP := $(BUILD)/build-stamp.txt
BUILD_STAMP_OBJ := $(BUILD)/obj/schema/base/build_stamp.o

# Debian packages the build and the tests need.
DEB_PACKAGES := g++ make libfcgi-dev libfcgi-bin spawn-fcgi rapidjson-dev \
  libcivetweb-dev libsqlite3-dev libre2-dev sqlite3 libgtest-dev zlib1g-dev libdeflate-dev \
  nginx-light curl prometheus chromium apache2 libapache2-mod-fcgid lighttpd \
  prometheus-alertmanager python3-yaml systemd libapache2-mod-qos \
  lighttpd-modules-lua libyaml-dev libssl-dev libcrypt-dev openssl apache2-utils \
  clang-14 libclang-rt-14-dev libprotobuf-dev protobuf-compiler

SCHEMA_SRCS := $(filter-out %_test.cc $(BUILD_STAMP_SRC),$(wildcard schema/*/*.cc))
INGEST_SRCS := $(filter-out %_test.cc fcgi-ingest/main.cc,$(wildcard fcgi-ingest/*.cc))
EXPORTER_SRCS := $(filter-out %_test.cc exporter/main.cc,$(wildcard exporter/*.cc))

SCHEMA_OBJS := $(SCHEMA_SRCS:%.cc=$(BUILD)/obj/%.o)
INGEST_OBJS := $(INGEST_SRCS:%.cc=$(BUILD)/obj/%.o)
# The protobuf exposition's messages (exporter/metrics.proto), compiled by
# protoc into $(BUILD)/gen.
PROTO_H := $(BUILD)/gen/exporter/metrics.pb.h
PROTO_CC := $(BUILD)/gen/exporter/metrics.pb.cc
PROTO_OBJ := $(BUILD)/obj/gen/exporter/metrics.pb.o
EXPORTER_OBJS := $(EXPORTER_SRCS:%.cc=$(BUILD)/obj/%.o) $(PROTO_OBJ)

SCHEMA_TESTS := $(wildcard schema/*/*_test.cc)
INGEST_TESTS := $(wildcard fcgi-ingest/*_test.cc)
EXPORTER_TESTS := $(wildcard exporter/*_test.cc)

# The browser client: esbuild (client-js/build.mjs) bundles client-js/src/
# with web-vitals from client-js/node_modules (`make deps` runs npm ci).
CLIENT_SRCS := $(shell find client-js/src -name '*.js' 2>/dev/null) \
  client-js/build.mjs client-js/snippet.html client-js/package-lock.json \
  client-js/pum.d.ts
CLIENT_OUT := $(BUILD)/pum.js $(BUILD)/pum.spa.js $(BUILD)/pum.esm.js \
  $(BUILD)/pum.core.js $(BUILD)/snippet.min.html

UNIT_TEST_BINS := $(BUILD)/tests/schema_test $(BUILD)/tests/ingest_test \
  $(BUILD)/tests/exporter_test

.PHONY: all deps binaries client client-test unit-tests test asan tsan run bench clean format \
  check-format install uninstall fuzz fuzz-build
.DEFAULT_GOAL := all

# `make` only builds: it installs nothing. When a package the build needs
# is missing it names it and points at `make deps` (which installs what the
# tests need, Chromium included); `make run` and `make test` install what
# they need themselves. NO_DEPS=1 is accepted for older scripts and changes
# nothing.
all: check-build-deps
	$(MAKE) -j$(JOBS) binaries

# The Debian packages the build needs, and those `make run` needs besides.
BUILD_PACKAGES := g++ make libfcgi-dev rapidjson-dev libcivetweb-dev \
  libsqlite3-dev libre2-dev zlib1g-dev libdeflate-dev libyaml-dev libssl-dev libcrypt-dev \
  libprotobuf-dev protobuf-compiler
RUN_PACKAGES := $(BUILD_PACKAGES) nginx-light spawn-fcgi libfcgi-bin sqlite3 \
  curl prometheus

.PHONY: check-build-deps deps-run
check-build-deps:
	@missing=""; for p in $(BUILD_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make: the build needs the Debian packages$$missing: apt-get install$$missing, or make deps" >&2; exit 1; \
	fi
	@[ -d client-js/node_modules ] || { echo "make: client-js/node_modules is missing (esbuild, web-vitals): make deps (npm ci in client-js/)" >&2; exit 1; }

deps-run:
	@sh tests/deps.sh $(RUN_PACKAGES)

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

# protoc writes both files at once (a grouped target).
$(PROTO_H) $(PROTO_CC) &: exporter/metrics.proto
	@mkdir -p $(BUILD)/gen
	protoc -I. --cpp_out=$(BUILD)/gen exporter/metrics.proto

$(PROTO_OBJ): $(PROTO_CC) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

# The exporter's objects may include the generated header: it exists before
# they compile, and a change of metrics.proto compiles them again (-MMD does
# not list a header found through -isystem).
$(filter-out $(PROTO_OBJ),$(EXPORTER_OBJS)) $(BUILD)/obj/exporter/main.o \
  $(EXPORTER_TESTS:%.cc=$(BUILD)/obj/%.o): $(PROTO_H)

# Rewritten only when its text changes, so that its date tells when.
.PHONY: FORCE
$(BUILD_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(PUM_VERSION) $(PUM_REVISION)' | cmp -s - $@ 2>/dev/null || \
	  echo '$(PUM_VERSION) $(PUM_REVISION)' >$@

$(BUILD_STAMP_OBJ): $(BUILD_STAMP_SRC) $(BUILD_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -DPUM_VERSION='"$(PUM_VERSION)"' \
	  -DPUM_REVISION='"$(PUM_REVISION)"' -c $< -o $@

$(BUILD)/libpumschema.a: $(SCHEMA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/pum-ingest: $(BUILD)/obj/fcgi-ingest/main.o $(BUILD_STAMP_OBJ) $(INGEST_OBJS) $(BUILD)/libpumschema.a
	$(CXX) $(LDFLAGS) $^ -o $@ $(LIBS_INGEST) $(LIBS_STORE)

$(BUILD)/pum-exporter: $(BUILD)/obj/exporter/main.o $(BUILD_STAMP_OBJ) $(EXPORTER_OBJS) $(BUILD)/libpumschema.a
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
# The fuzz targets are built too, for the replay of their corpora; if that
# build fails (no clang), the suite still runs and its fuzz line fails.
test: deps
	$(MAKE) -j$(JOBS) binaries unit-tests
	-$(MAKE) -j$(JOBS) fuzz-build
	BUILD=$(BUILD) FUZZ_BUILD=$(FUZZ_BUILD) sh tests/run-all.sh

# The unit and integration tests under AddressSanitizer and UBSan.
asan: deps
	$(MAKE) -j$(JOBS) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  binaries unit-tests
	-$(MAKE) -j$(JOBS) fuzz-build
	BUILD=build-asan FUZZ_BUILD=$(FUZZ_BUILD) ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1 sh tests/run-all.sh

# `make tsan`: the multi-threaded code under ThreadSanitizer. Not part of
# `make test`. It builds everything into $(TSAN_BUILD) (-fsanitize=thread
# -O1 -g) and runs, one at a time:
#   - the three GoogleTest binaries: the exporter's door thread, upkeep
#     thread and CivetWeb workers (HttpServer, concurrent scrapes, the
#     exception boundary), pum-ingest's request loop on a thread of its own
#     (the exception test), and the real binaries they start;
#   - the integration tests of TSAN_INTEGRATION, which drive the real
#     binaries' threads: exporter, exporter-idle and web-config (the door
#     with idle, slowloris and TLS connections, CivetWeb, basic auth, the
#     upkeep thread's reloads), pipeline and listen (pum-ingest workers
#     under spawn-fcgi and nginx, the exporter reading their store),
#     group-commit (pum-ingest's threads and its group committer under
#     concurrent POSTs).
# Every instrumented process, children of the tests included (they inherit
# TSAN_OPTIONS), writes its reports to $(TSAN_BUILD)/tsan/report.PID, so a
# race in a process whose stderr no test reads still fails the target: it
# ends by printing every report. No suppression is needed today; one would
# go in a file passed with TSAN_OPTIONS=suppressions=..., each entry with a
# comment saying why it is a false positive. Extra TSAN_OPTIONS from the
# environment are appended.
TSAN_BUILD := build-tsan
TSAN_INTEGRATION := exporter exporter-idle web-config pipeline listen group-commit
tsan: deps
	$(MAKE) -j$(JOBS) BUILD=$(TSAN_BUILD) OPT="-O1 -g" SANITIZE="-fsanitize=thread" \
	  binaries unit-tests
	@rm -rf $(TSAN_BUILD)/tsan && mkdir -p $(TSAN_BUILD)/tsan
	@TSAN_OPTIONS="log_path=$(CURDIR)/$(TSAN_BUILD)/tsan/report second_deadlock_stack=1 $$TSAN_OPTIONS"; \
	export TSAN_OPTIONS; failed=0; \
	for t in $(notdir $(UNIT_TEST_BINS)); do \
	  echo "== $(TSAN_BUILD)/tests/$$t"; \
	  $(TSAN_BUILD)/tests/$$t --gtest_brief=1 --gtest_color=no || failed=1; \
	done; \
	echo "== node --test $(TSAN_INTEGRATION:%=tests/integration/%.test.mjs)"; \
	BUILD=$(TSAN_BUILD) node --test --test-concurrency=1 --test-timeout=600000 \
	  $(TSAN_INTEGRATION:%=tests/integration/%.test.mjs) || failed=1; \
	if ls $(TSAN_BUILD)/tsan/report.* >/dev/null 2>&1; then \
	  cat $(TSAN_BUILD)/tsan/report.*; failed=1; \
	  echo "make tsan: ThreadSanitizer reports above ($(TSAN_BUILD)/tsan/)" >&2; \
	fi; \
	if [ $$failed -ne 0 ]; then echo "make tsan: FAILED" >&2; exit 1; fi; \
	echo "make tsan: passed, no ThreadSanitizer report"

# A single-host stack on loopback: nginx, workers, exporter; Ctrl-C stops it.
run: deps-run
	$(MAKE) -j$(JOBS) binaries
	BUILD=$(BUILD) sh deploy/run-local.sh

# The benchmark (tests/bench/bench.mjs, bench/README.md): ingest through one
# nginx (pum-ingest x1/x2/x4 vs a null FastCGI responder, tests/bench/
# null_fcgi.c, and nginx `return 204`; wrk at the peak, tests/bench/
# loadgen.c open-loop at half of it; synchronous normal and full; the
# seed's and pum's batch shapes; a store check of every line), scrapes of
# 1k/8k/50k histograms against prometheus-pushgateway, peak RSS, and the
# client's sizes and flush time in headless Chromium. It writes its section
# of bench/results.md (PUM_BENCH_SECTION, default "latest") and
# $(BUILD)/bench.json. It asserts nothing about speed; it fails only if it
# could not measure or a store check failed. PUM_BENCH_SECONDS (default 5)
# is each measurement's duration: about 10 minutes in all by default;
# PUM_BENCH_SMOKE=1 is a one-minute check that the harness works.
# `make bench-profile` writes callgrind profiles of the ingest path and of
# an 8k-histogram scrape into the same file instead.
BENCH_PACKAGES := wrk prometheus-pushgateway valgrind
.PHONY: bench-profile bench-tools
bench-tools: all
	@# tests/deps.sh only when a package is missing (it also runs npm ci).
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; [ -z "$$missing" ] || sh tests/deps.sh $$missing
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 -Wall -Wextra -Werror tests/bench/null_fcgi.c -o $(BUILD)/bench/null-fcgi -lfcgi
	$(CC) -O2 -Wall -Wextra -Werror tests/bench/loadgen.c -o $(BUILD)/bench/loadgen
	$(CXX) -I. $(CXXFLAGS) tests/bench/scrape_fill.cc $(BUILD)/libpumschema.a \
	  -o $(BUILD)/bench/scrape-fill $(LIBS_STORE)

bench: bench-tools
	BUILD=$(BUILD) node tests/bench/bench.mjs

bench-profile: bench-tools
	BUILD=$(BUILD) PUM_BENCH_PROFILE=1 node tests/bench/bench.mjs

# build/bench/parse-profile: the parse and validation path (or a whole
# Ingestor::Handle) in a loop, for callgrind; see tests/bench/parse_profile.cc.
$(BUILD)/bench/parse-profile: tests/bench/parse_profile.cc $(INGEST_OBJS) $(BUILD)/libpumschema.a
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) -DPUM_SOURCE_DIR='"$(CURDIR)"' $(CXXFLAGS) $< \
	  $(INGEST_OBJS) $(BUILD)/libpumschema.a -o $@ $(LIBS_INGEST) $(LIBS_STORE)

# ---------------------------------------------------------------- fuzz
# libFuzzer targets (tests/fuzz/fuzz_*.cc, see tests/fuzz/README.md), built
# with clang++-14 and ASan/UBSan into $(FUZZ_BUILD): the project's sources
# are compiled there again with clang. `make fuzz` runs each target for
# FUZZ_SECONDS, at nice 19, one at a time, starting from its committed
# corpus (tests/fuzz/corpus/<target>/, read only) and writing new inputs and
# crashes into $(FUZZ_BUILD)/work/<target>/. `make test` only replays the
# committed corpora (tests/run-all.sh).
FUZZ_BUILD ?= build-fuzz
FUZZ_CXX ?= clang++-14
FUZZ_SECONDS ?= 60
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -fsanitize-ignorelist=$(CURDIR)/tests/fuzz/ubsan-ignorelist.txt
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cc,%,$(wildcard tests/fuzz/fuzz_*.cc))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%)

fuzz-build:
	@command -v $(FUZZ_CXX) >/dev/null 2>&1 || { echo "make fuzz-build: $(FUZZ_CXX) not found (make deps installs clang-14 and libclang-rt-14-dev)" >&2; exit 1; }
	$(MAKE) BUILD=$(FUZZ_BUILD) CXX=$(FUZZ_CXX) OPT="-O1 -g -fno-omit-frame-pointer" \
	  SANITIZE="$(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link" $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz/%: tests/fuzz/%.cc $(INGEST_OBJS) $(BUILD)/libpumschema.a
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) -DPUM_SOURCE_DIR='"$(CURDIR)"' $(CXXFLAGS) -fsanitize=fuzzer \
	  $< $(INGEST_OBJS) $(BUILD)/libpumschema.a -o $@ $(LIBS_INGEST) $(LIBS_STORE)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  w=$(FUZZ_BUILD)/work/$$t; mkdir -p $$w/corpus $$w/artifacts || exit 1; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  echo "== $$t for $(FUZZ_SECONDS) s (new inputs in $$w/corpus)"; \
	  nice -n 19 $(FUZZ_BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
	    -print_final_stats=1 -artifact_prefix=$$w/artifacts/ $$dict \
	    $$w/corpus tests/fuzz/corpus/$$t || exit 1; \
	done

# ---------------------------------------------------------------- install
# `make install` builds (all), then installs, under DESTDIR (a staging root,
# empty by default):
#   $(BINDIR)/pum-ingest, pum-exporter                             0755
#   $(PUMDATADIR)/pum.js, pum.spa.js, pum.esm.js, snippet.min.html, pum.d.ts   0644
#   $(PUMDATADIR)/deploy/{nginx,apache,lighttpd,...}/  web server snippets,
#       Prometheus rules, Grafana dashboard (the PUM_DEPLOY_DIRS that exist)
#   $(PUMDATADIR)/conf/pum.json, metrics.d/  pristine copies of the config
#   $(PUMCONFDIR)/pum.json, metrics.d/*.json  the configuration, 0644, only
#       where no file of that name exists yet (an upgrade keeps your edits;
#       compare with $(PUMDATADIR)/conf/)
#   $(SYSTEMDUNITDIR)/pum-exporter.service, pum-ingest.socket,
#       pum-ingest@.service;  $(SYSUSERSDIR)/pum.conf (the user pum)
#   $(DOCDIR)/README.md, CHANGELOG.md, LICENSE, docs/*.md,
#       client-js/README.md (the README's links resolve there too)
# In the units and the deploy/ files it installs, the default paths
# /usr/local/bin, /usr/local/share/pum, /usr/local/share/doc/pum and
# /etc/pum are replaced by the installed ones. pum.json is conf/pum.json
# with metrics_dir $(PUMCONFDIR)/metrics.d and storage_path
# /var/lib/pum/pum.db (the units' StateDirectory=pum). It needs root only to
# write outside DESTDIR, writes nothing into $(BUILD), and never runs
# systemctl: see docs/install.md ("Running it with systemd") for enabling the units.
# PREFIX=/usr puts the units in /usr/lib/systemd/system (on Debian /lib is
# /usr/lib); set SYSTEMDUNITDIR (e.g. to
# `pkg-config --variable=systemdsystemunitdir systemd`) to choose another.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
PUMDATADIR ?= $(DATADIR)/pum
DOCDIR ?= $(DATADIR)/doc/pum
SYSCONFDIR ?= /etc
PUMCONFDIR ?= $(SYSCONFDIR)/pum
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL ?= install

PUM_UNITS := pum-exporter.service pum-ingest.socket pum-ingest@.service
PUM_DEPLOY_DIRS := nginx apache lighttpd prometheus grafana alertmanager
# Rewrites the default paths of the shipped files into the installed ones.
INSTALL_SED := sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
  -e 's|/usr/local/share/pum|$(PUMDATADIR)|g' \
  -e 's|/usr/local/share/doc/pum|$(DOCDIR)|g' -e 's|/etc/pum/|$(PUMCONFDIR)/|g'
# $(call install_sed,SRC,DEST,MODE): SRC through INSTALL_SED into DEST.
install_sed = $(INSTALL_SED) $(1) >$(2).new && chmod $(3) $(2).new && mv -f $(2).new $(2)

install: all
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(PUMDATADIR) \
	  $(DESTDIR)$(PUMDATADIR)/conf/metrics.d $(DESTDIR)$(PUMCONFDIR)/metrics.d \
	  $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(BUILD)/pum-ingest $(BUILD)/pum-exporter $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(BUILD)/pum.js $(BUILD)/pum.spa.js $(BUILD)/pum.esm.js $(BUILD)/snippet.min.html \
	  client-js/pum.d.ts $(DESTDIR)$(PUMDATADIR)/
	$(INSTALL) -d -m 0755 $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/client-js
	$(INSTALL) -m 0644 README.md CHANGELOG.md LICENSE $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	$(INSTALL) -m 0644 client-js/README.md $(DESTDIR)$(DOCDIR)/client-js/
	{ $(INSTALL_SED) deploy/systemd/pum.json.head && \
	  sed -e '1,/^{/{/^{/!d;}' \
	    -e 's|^\( *"metrics_dir": *\)"[^"]*"|\1"$(PUMCONFDIR)/metrics.d"|' \
	    -e 's|^\( *"storage_path": *\)"[^"]*"|\1"/var/lib/pum/pum.db"|' conf/pum.json; \
	} >$(DESTDIR)$(PUMDATADIR)/conf/pum.json.new
	chmod 0644 $(DESTDIR)$(PUMDATADIR)/conf/pum.json.new
	mv -f $(DESTDIR)$(PUMDATADIR)/conf/pum.json.new $(DESTDIR)$(PUMDATADIR)/conf/pum.json
	$(INSTALL) -m 0644 conf/metrics.d/*.json $(DESTDIR)$(PUMDATADIR)/conf/metrics.d/
	@for f in pum.json $$(cd conf && echo metrics.d/*.json); do \
	  s=$(DESTDIR)$(PUMDATADIR)/conf/$$f; t=$(DESTDIR)$(PUMCONFDIR)/$$f; \
	  if [ -e "$$t" ]; then \
	    echo "install: kept the existing $$t (the new one is $(PUMDATADIR)/conf/$$f)"; \
	  else \
	    echo "$(INSTALL) -m 0644 $$s $$t"; $(INSTALL) -m 0644 "$$s" "$$t" || exit 1; \
	  fi; \
	done
	for u in $(PUM_UNITS); do \
	  $(call install_sed,deploy/systemd/$$u,$(DESTDIR)$(SYSTEMDUNITDIR)/$$u,0644) || exit 1; \
	done
	$(INSTALL) -m 0644 deploy/systemd/pum.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/pum.conf
	@for d in $(PUM_DEPLOY_DIRS); do \
	  [ -d deploy/$$d ] || continue; \
	  for f in $$(find deploy/$$d -type f ! -name '*~' | LC_ALL=C sort); do \
	    t=$(DESTDIR)$(PUMDATADIR)/$$f; mode=0644; [ -x "$$f" ] && mode=0755; \
	    echo "install: $$f -> $$t"; \
	    $(INSTALL) -d -m 0755 "$${t%/*}" || exit 1; \
	    if grep -Iq . "$$f"; then \
	      $(call install_sed,"$$f","$$t",$$mode) || exit 1; \
	    else \
	      $(INSTALL) -m $$mode "$$f" "$$t" || exit 1; \
	    fi; \
	  done; \
	done

# Removes what `make install` installed, except the configuration
# ($(PUMCONFDIR)) and the store (/var/lib/pum). Stop and disable the units
# first (systemctl disable --now pum-exporter pum-ingest.socket 'pum-ingest@*').
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pum-ingest $(DESTDIR)$(BINDIR)/pum-exporter
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(PUM_UNITS)) $(DESTDIR)$(SYSUSERSDIR)/pum.conf
	rm -rf $(DESTDIR)$(PUMDATADIR) $(DESTDIR)$(DOCDIR)
	@echo "uninstall: kept $(DESTDIR)$(PUMCONFDIR) and /var/lib/pum; remove them by hand if you want"

format:
	clang-format -i $(wildcard schema/*/*.h schema/*/*.cc fcgi-ingest/*.h fcgi-ingest/*.cc exporter/*.h exporter/*.cc tests/fuzz/*.cc)

check-format:
	clang-format --dry-run --Werror $(wildcard schema/*/*.h schema/*/*.cc fcgi-ingest/*.h fcgi-ingest/*.cc exporter/*.h exporter/*.cc tests/fuzz/*.cc)

# The browser client's JavaScript: prettier (client-js/.prettierrc), from
# client-js/node_modules (`make deps`).
CLIENT_FORMAT := src test test-support build.mjs pum.d.ts
PRETTIER := client-js/node_modules/.bin/prettier
format: format-client
check-format: check-format-client
.PHONY: format-client check-format-client client-types
format-client:
	@test -x $(PRETTIER) || { echo "$(PRETTIER) is missing: run make deps" >&2; exit 1; }
	cd client-js && node_modules/.bin/prettier --log-level warn --write $(CLIENT_FORMAT)
check-format-client:
	@test -x $(PRETTIER) || { echo "$(PRETTIER) is missing: run make deps" >&2; exit 1; }
	cd client-js && node_modules/.bin/prettier --check $(CLIENT_FORMAT)

# Type-checks client-js/src (JSDoc types, // @ts-check) against pum.d.ts.
client-types:
	@test -x client-js/node_modules/.bin/tsc || { echo "client-js/node_modules/.bin/tsc is missing: run make deps" >&2; exit 1; }
	client-js/node_modules/.bin/tsc -p client-js

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(shell find $(BUILD) build-asan build-tsan $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
