#!/bin/sh
# Instruction counts of pum-exporter's /metrics handler under callgrind, one
# scrape at a time, without nginx or pum-ingest: the store is filled with
# build/bench/scrape-fill (tests/bench/scrape_fill.cc, the series of
# tests/bench/scrape.mjs), and only HandleMetrics (the handler: reading the
# store, rendering, gzip) is counted (--toggle-collect).
#
#   make bench-tools    # builds build/bench/scrape-fill
#   sh tests/bench/scrape_callgrind.sh [N] [KIND] [SCRAPES]
#
# N histograms (8000), KIND of write before each scrape: one, spread (400
# series) or none; SCRAPES (4) scrapes as Prometheus scrapes (its Accept
# header, gzip). Prints one line per scrape: its instructions (Ir) and the
# bytes sent. The first scrape after the start is the cold one. Raw files:
# $BUILD/bench/callgrind.scrape-KIND.out.<scrape>.
set -eu
BUILD=${BUILD:-build}
N=${1:-8000}
KIND=${2:-one}
SCRAPES=${3:-4}
ACCEPT='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
mkdir "$dir/metrics.d"
cat >"$dir/metrics.d/bench.json" <<'JSON'
{"allowedMetrics": [{"name": "bench_latency_seconds",
  "help": "make bench: one histogram family, a series per path.",
  "type": "histogram", "range": [0, 3600],
  "labels": [{"name": "path", "pattern": "^/page/[0-9]{1,6}$", "maxValues": 200000}],
  "buckets": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]}]}
JSON
"$BUILD/bench/scrape-fill" "$dir/store.db" fill "$N"
out="$BUILD/bench/callgrind.scrape-$KIND.out"
rm -f "$out" "$out".*
valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
  --toggle-collect='*HandleMetrics*' "$BUILD/pum-exporter" \
  --storage.path="$dir/store.db" --metrics.dir="$dir/metrics.d" \
  --web.listen-address=127.0.0.1:0 2>"$dir/log" &
pid=$!
port=
for _ in $(seq 600); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/metrics.*/\1/p' "$dir/log" 2>/dev/null || true)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { cat "$dir/log" >&2; exit 1; }
for k in $(seq "$SCRAPES"); do
  [ "$KIND" = none ] || "$BUILD/bench/scrape-fill" "$dir/store.db" "$KIND" "$k" "$N"
  bytes=$(curl -s -o "$dir/body" -w '%{size_download}' -H "Accept: $ACCEPT" \
    -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics")
  callgrind_control -d "$pid" >/dev/null 2>&1
  sleep 0.5
  f=$(ls -t "$out".* | head -1)
  ir=$(callgrind_annotate "$f" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p')
  echo "scrape $k ($KIND write before): Ir $ir, $bytes bytes"
done
gzip -dc "$dir/body" | tail -c 200 >"$dir/tail"
grep -q '# EOF' "$dir/tail" || { echo "the last body does not end in # EOF" >&2; exit 1; }
