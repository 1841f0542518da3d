#!/bin/sh
# Runs every test of pum and prints one result line per suite, then exactly
# one line "N passed, N failed" (test cases over all suites). Exits non-zero
# if a test failed or a suite could not run.
#
#   BUILD=build sh tests/run-all.sh      (what `make test` does)
#
# Suites: every GoogleTest binary $BUILD/tests/*_test, the integration tests
# (node --test tests/integration/, against $BUILD/pum-ingest and
# $BUILD/pum-exporter with real nginx, spawn-fcgi, sqlite3 and promtool), the
# documentation's links (node --test tests/docs/), the
# browser client's unit and size-budget tests (node --test client-js/test/),
# the type check of the browser client (tsc -p client-js), the browser
# tests (node --test tests/browser/: $BUILD/pum.js in Debian's
# Chromium, driven by playwright-core from client-js/node_modules, against
# the real stack), the replay of the fuzz targets' committed corpora
# (tests/fuzz/corpus/<target>/, one check per input file, through
# $FUZZ_BUILD/fuzz/<target> built by `make fuzz-build` with clang++-14 and
# ASan/UBSan; a missing binary is a failure), and `make check-format` (one
# check: clang-format and prettier) when clang-format is installed.
#
# Environment: BUILD (default build); FUZZ_BUILD (default build-fuzz);
# PUM_TEST_FILTER, a node --test name
# pattern; PUM_KEEP_TMP=1 keeps the integration and browser tests'
# temporary stacks.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
export BUILD

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pum-run-all.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0

# report NAME PASSED FAILED [NOTE]
report() {
  PASSED=$((PASSED + $2))
  FAILED=$((FAILED + $3))
  if [ "$3" -eq 0 ]; then verdict=ok; else verdict=FAILED; fi
  echo "== $1: $verdict ($2 pass, $3 fail)${4:+ - $4}"
}

have() { command -v "$1" >/dev/null 2>&1; }

if ! have node; then
  echo "run-all: node is required (make deps installs it)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Counts the test cases of a GoogleTest JSON report: prints "PASSED FAILED".
gtest_counts() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    let pass = 0, fail = 0;
    for (const suite of r.testsuites || []) {
      for (const t of suite.testsuite || []) {
        if (t.failures && t.failures.length) fail++;
        else if (t.status === "RUN" && (t.result === undefined || t.result === "COMPLETED")) pass++;
      }
    }
    console.log(pass, fail);
  ' "$1"
}

# --- unit tests
found=0
for bin in "$BUILD"/tests/*_test; do
  [ -x "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  json="$TMP/$name.json"
  log="$TMP/$name.log"
  echo "-- $name"
  "$bin" --gtest_output="json:$json" --gtest_color=no >"$log" 2>&1
  rc=$?
  # Show the failures (and a crash's last lines), not the whole log.
  grep -E '^\[  FAILED  \]|Failure$|^.*: error:' "$log" | head -50
  if [ -s "$json" ] && counts=$(gtest_counts "$json" 2>/dev/null); then
    set -- $counts
    if [ "$rc" -ne 0 ] && [ "$2" -eq 0 ]; then
      tail -20 "$log"
      report "$name" "$1" 1 "exit status $rc with no failed test (crash or sanitizer report)"
    else
      report "$name" "$1" "$2"
    fi
  else
    # No report: it crashed or could not start. Count what it printed.
    tail -20 "$log"
    ok=$(grep -c '^\[       OK \]' "$log")
    bad=$(grep -c '^\[  FAILED  \]' "$log")
    report "$name" "$ok" $((bad + 1)) "exit status $rc, no JSON report"
  fi
done
if [ "$found" -eq 0 ]; then
  report "unit tests" 0 1 "no test binaries in $BUILD/tests (run make unit-tests)"
fi

# node_suite NAME DIR [ARGS...]: runs `node --test ARGS DIR` (spec output
# on the terminal, TAP into a file) and reports its counts; cancelled tests
# count as failures, and so does a non-zero exit with no failed test.
node_suite() {
  name=$1
  dir=$2
  shift 2
  tap="$TMP/$name.tap"
  set -- --test --test-timeout=180000 "$@" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap"
  [ -n "${PUM_TEST_FILTER:-}" ] && set -- "$@" --test-name-pattern="$PUM_TEST_FILTER"
  if have timeout; then
    timeout -k 10 600 node "$@" "$dir"
  else
    node "$@" "$dir"
  fi
  rc=$?
  pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  if [ -z "$pass" ] || [ -z "$fail" ]; then
    report "$name" 0 1 "node exited $rc without a summary"
  else
    fail=$((fail + ${cancelled:-0}))
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
      report "$name" "$pass" 1 "node exited $rc"
    else
      report "$name" "$pass" "$fail"
    fi
  fi
}

# --- integration tests
echo "-- integration (node --test tests/integration/, BUILD=$BUILD)"
missing=""
for b in pum-ingest pum-exporter; do
  [ -x "$BUILD/$b" ] || missing="$missing $BUILD/$b"
done
for c in nginx spawn-fcgi sqlite3 promtool; do
  have "$c" || missing="$missing $c"
done
if [ -n "$missing" ]; then
  report integration 0 1 "missing:$missing"
else
  node_suite integration tests/integration/ --test-concurrency=2
fi

# --- the browser client's own tests (unit tests, size budget)
echo "-- client-js (node --test client-js/test/, BUILD=$BUILD)"
if [ ! -d client-js/node_modules ]; then
  report client-js 0 1 "client-js/node_modules is missing: run make deps (npm ci in client-js/)"
elif [ ! -d client-js/test ]; then
  report client-js 0 1 "client-js/test/ is missing"
else
  node_suite client-js client-js/test/
fi

# --- the browser client's types: tsc on client-js/src (JSDoc) and pum.d.ts
echo "-- client-types (tsc -p client-js)"
if [ ! -x client-js/node_modules/.bin/tsc ]; then
  report client-types 0 1 "client-js/node_modules/.bin/tsc is missing: run make deps (npm ci in client-js/)"
elif client-js/node_modules/.bin/tsc -p client-js >"$TMP/tsc.log" 2>&1; then
  report client-types 1 0
else
  head -40 "$TMP/tsc.log"
  report client-types 0 1 "tsc reported $(grep -c 'error TS' "$TMP/tsc.log") error(s)"
fi

# --- the browser client in real Chromium against the real stack
echo "-- browser (node --test tests/browser/, BUILD=$BUILD)"
missing=""
for f in pum-ingest pum-exporter pum.js pum.spa.js pum.esm.js; do
  [ -f "$BUILD/$f" ] || missing="$missing $BUILD/$f"
done
for c in nginx spawn-fcgi; do
  have "$c" || missing="$missing $c"
done
[ -x /usr/bin/chromium ] || missing="$missing /usr/bin/chromium"
[ -d client-js/node_modules/playwright-core ] || missing="$missing client-js/node_modules/playwright-core (make deps: npm ci in client-js/)"
if [ -n "$missing" ]; then
  report browser 0 1 "missing:$missing"
else
  # A browser file may take longer than 180 s on a loaded machine (the
  # 120-session sampling test alone took 158 s while another build ran:
  # 2026-12-03); each test keeps its own, shorter timeout.
  node_suite browser tests/browser/ --test-concurrency=2 --test-timeout=420000
fi

# --- deployment: web servers, install, rules, dashboards, scale-out, alarms
if [ -d tests/deploy ]; then
  node_suite deploy tests/deploy/ --test-concurrency=2
fi

# --- documentation: every relative link resolves, every page is linked
node_suite docs tests/docs/

# --- fuzz targets: replay of the committed corpora (no fuzzing)
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
echo "-- fuzz (replay of tests/fuzz/corpus/, FUZZ_BUILD=$FUZZ_BUILD)"
# fuzz_replay TARGET: runs $FUZZ_BUILD/fuzz/TARGET on every file of its
# corpus in one process (state carries over, as when fuzzing); after a
# crash, goes on with the files after the one that crashed.
fuzz_replay() {
  t=$1
  bin="$FUZZ_BUILD/fuzz/$t"
  log="$TMP/fuzz-$t.log"
  files=$(find "tests/fuzz/corpus/$t" -type f | LC_ALL=C sort)
  total=$(printf '%s\n' "$files" | grep -c .)
  if [ ! -x "$bin" ]; then
    report "fuzz $t" 0 "$total" "missing $bin: make fuzz-build (needs clang++-14, libclang-rt-14-dev)"
    return
  fi
  pass=0
  fail=0
  while [ -n "$files" ]; do
    # shellcheck disable=SC2086
    TMPDIR="$TMP" UBSAN_OPTIONS=print_stacktrace=1 "$bin" -timeout=60 $files >"$log" 2>&1
    rc=$?
    done_n=$(grep -c '^Executed ' "$log")
    pass=$((pass + done_n))
    [ "$rc" -eq 0 ] && break
    fail=$((fail + 1))
    bad=$(printf '%s\n' "$files" | sed -n "$((done_n + 1))p")
    echo "fuzz $t: $bad failed (exit $rc):"
    grep -E 'invariant broken|ERROR: |runtime error|Assertion|SUMMARY|status [0-9]+, body|input \(' "$log" | head -8
    files=$(printf '%s\n' "$files" | sed "1,$((done_n + 1))d")
  done
  report "fuzz $t" "$pass" "$fail"
}
if [ ! -d tests/fuzz/corpus ]; then
  report fuzz 0 1 "tests/fuzz/corpus is missing"
else
  for dir in tests/fuzz/corpus/*/; do
    fuzz_replay "$(basename "$dir")"
  done
fi

# --- formatting
if have clang-format && [ -f .clang-format ]; then
  echo "-- check-format"
  if make -s check-format </dev/null >"$TMP/format.log" 2>&1; then
    report check-format 1 0
  else
    head -30 "$TMP/format.log"
    report check-format 0 1 "run make format"
  fi
else
  echo "== check-format: skipped (clang-format not installed)"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
