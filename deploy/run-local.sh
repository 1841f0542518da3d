#!/bin/sh
# `make run`: a single-host pum stack on loopback, from the repository, with
# a Prometheus scraping it and a demo page: the seed's docker-compose demo,
# without Docker.
#
#   nginx 127.0.0.1:$PUM_HTTP_PORT (8080)  --/record, FastCGI-->  pum-ingest x2
#     also /pum.js (and the seed's /static/aggregatorClient.js), /demo/
#   pum-exporter 127.0.0.1:$PUM_METRICS_PORT (9102)  <--  var/pum.db (SQLite)
#   prometheus 127.0.0.1:$PUM_PROMETHEUS_PORT (9090)  --scrapes /metrics every 5s
#
# with conf/pum.json and conf/metrics.d, nginx's locations taken from
# deploy/nginx/pum.conf and pum-client.conf (the snippets users include), the
# workers kept alive by deploy/pum-ingest-supervisor.sh on the unix socket
# var/run/ingest.sock (spawn-fcgi -n binds it once and hands it to the
# supervisor as fd 0; a worker that dies is replaced at once, sharing the
# same socket, whose backlog holds the connections meanwhile), and
# Debian's prometheus (job "pum", storage in var/prometheus) with the rule
# files deploy/prometheus/pum-recording-rules.yml and pum-alerts.yml where
# they exist. The demo page is deploy/demo/index.html. It prints
#   ingest: http://127.0.0.1:PORT/record
#   metrics: http://127.0.0.1:PORT/metrics
#   demo: http://127.0.0.1:PORT/demo/
#   prometheus: http://127.0.0.1:PORT/
# on stdout, runs in the foreground until Ctrl-C (SIGINT) or SIGTERM, then
# stops everything it started. Logs are in var/log/.
#
# Environment: BUILD (default build), PUM_HTTP_PORT, PUM_METRICS_PORT,
# PUM_PROMETHEUS_PORT, PUM_WORKERS (default 2), PUM_VAR_DIR (default var),
# PUM_CONFIG_FILE (default conf/pum.json), PUM_METRICS_DIR (default
# conf/metrics.d), PUM_SCRAPE_INTERVAL (default 5s).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

abs() { case $1 in /*) echo "$1" ;; *) echo "$ROOT/$1" ;; esac; }

BUILD=$(abs "${BUILD:-build}")
HTTP_PORT=${PUM_HTTP_PORT:-8080}
METRICS_PORT=${PUM_METRICS_PORT:-9102}
PROM_PORT=${PUM_PROMETHEUS_PORT:-9090}
SCRAPE_INTERVAL=${PUM_SCRAPE_INTERVAL:-5s}
WORKERS=${PUM_WORKERS:-2}
VAR=$(abs "${PUM_VAR_DIR:-var}")
CONFIG=$(abs "${PUM_CONFIG_FILE:-conf/pum.json}")
METRICS_DIR=$(abs "${PUM_METRICS_DIR:-conf/metrics.d}")

RUN="$VAR/run"
LOG="$VAR/log"
SOCK="$RUN/ingest.sock"
WORKER_PIDS="$RUN/ingest.pid"
SUPERVISOR_PIDFILE="$RUN/ingest-supervisor.pid"
EXPORTER_PIDFILE="$RUN/exporter.pid"
NGINX_CONF="$RUN/nginx.conf"
PROM_CONF="$RUN/prometheus.yml"
PROM_PIDFILE="$RUN/prometheus.pid"
RULES_DIR="$ROOT/deploy/prometheus"
DEMO_DIR="$ROOT/deploy/demo"

NGINX_PID=""
SUPERVISOR_PID=""
EXPORTER_PID=""
PROM_PID=""
SLEEP_PID=""

say() { echo "run-local: $*" >&2; }
die() { say "$*"; exit 1; }

# The pids of the current workers, from the supervisor's pid file (one a
# line).
worker_pids() {
  [ -f "$WORKER_PIDS" ] || return 0
  while read -r p || [ -n "$p" ]; do
    [ -n "$p" ] && echo "$p"
  done <"$WORKER_PIDS"
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Waits up to $2 tenths of a second for pid $1 to go, then SIGKILLs it.
reap() {
  n=0
  while alive "$1" && [ "$n" -lt "$2" ]; do
    sleep 0.1
    n=$((n + 1))
  done
  if alive "$1"; then
    say "pid $1 did not stop; killing it"
    kill -KILL "$1" 2>/dev/null
  fi
}

cleanup() {
  trap - EXIT INT TERM HUP
  [ -n "$SLEEP_PID" ] && kill "$SLEEP_PID" 2>/dev/null
  # Stop accepting first, then the workers, then the exporter.
  if [ -n "$NGINX_PID" ]; then
    kill -TERM "$NGINX_PID" 2>/dev/null
    reap "$NGINX_PID" 50
    wait "$NGINX_PID" 2>/dev/null
  fi
  # The supervisor stops its workers; if it is gone, they are stopped here.
  if [ -n "$SUPERVISOR_PID" ]; then
    kill -TERM "$SUPERVISOR_PID" 2>/dev/null
    reap "$SUPERVISOR_PID" 80
    wait "$SUPERVISOR_PID" 2>/dev/null
  fi
  for p in $(worker_pids); do kill -TERM "$p" 2>/dev/null; done
  for p in $(worker_pids); do reap "$p" 50; done
  if [ -n "$EXPORTER_PID" ]; then
    kill -TERM "$EXPORTER_PID" 2>/dev/null
    reap "$EXPORTER_PID" 50
    wait "$EXPORTER_PID" 2>/dev/null
  fi
  # Prometheus last: it writes its head block out as it stops.
  if [ -n "$PROM_PID" ]; then
    kill -TERM "$PROM_PID" 2>/dev/null
    reap "$PROM_PID" 150
    wait "$PROM_PID" 2>/dev/null
  fi
  rm -f "$SOCK" "$WORKER_PIDS" "$SUPERVISOR_PIDFILE" "$EXPORTER_PIDFILE" "$PROM_PIDFILE"
  say "stopped"
}

on_signal() {
  exit 0 # runs cleanup through the EXIT trap
}

# True if something listens on 127.0.0.1:$1 (or on every address).
port_taken() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
  else
    curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$1/"
    [ $? -ne 7 ]
  fi
}

# --- checks before starting anything
for b in pum-ingest pum-exporter; do
  [ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: run make"
done
for c in nginx spawn-fcgi curl prometheus bash; do
  command -v "$c" >/dev/null 2>&1 || die "$c is not installed: run make deps"
done
[ -f "$CONFIG" ] || die "no $CONFIG"
[ -d "$METRICS_DIR" ] || die "no $METRICS_DIR"
[ -f "$DEMO_DIR/index.html" ] || die "no $DEMO_DIR/index.html"
[ "$HTTP_PORT" != "$METRICS_PORT" ] || die "PUM_HTTP_PORT and PUM_METRICS_PORT are both $HTTP_PORT"
[ "$PROM_PORT" != "$HTTP_PORT" ] && [ "$PROM_PORT" != "$METRICS_PORT" ] ||
  die "PUM_PROMETHEUS_PORT ($PROM_PORT) must differ from PUM_HTTP_PORT and PUM_METRICS_PORT"
port_taken "$HTTP_PORT" && die "port $HTTP_PORT is taken (set PUM_HTTP_PORT to another port)"
port_taken "$METRICS_PORT" && die "port $METRICS_PORT is taken (set PUM_METRICS_PORT to another port)"
port_taken "$PROM_PORT" && die "port $PROM_PORT is taken (set PUM_PROMETHEUS_PORT to another port)"
if [ -f "$PROM_PIDFILE" ]; then
  read -r p <"$PROM_PIDFILE" 2>/dev/null
  alive "${p:-}" && die "the prometheus of another run is still alive ($PROM_PIDFILE: pid $p)"
fi
if [ -f "$SUPERVISOR_PIDFILE" ]; then
  read -r p <"$SUPERVISOR_PIDFILE" 2>/dev/null
  alive "${p:-}" && die "the workers' supervisor of another run is still alive ($SUPERVISOR_PIDFILE: pid $p)"
fi
for p in $(worker_pids); do
  alive "$p" && die "workers of another run are still alive ($WORKER_PIDS: pid $p)"
done
"$BUILD/pum-exporter" --check-config --config.file="$CONFIG" --metrics.dir="$METRICS_DIR" \
  --storage.path="$VAR/pum.db" >/dev/null || die "the configuration has errors (above)"

mkdir -p "$RUN" "$LOG" "$VAR/nginx" "$VAR/prometheus" || die "cannot create $VAR"
rm -f "$SOCK" "$WORKER_PIDS" "$SUPERVISOR_PIDFILE" "$EXPORTER_PIDFILE" "$PROM_PIDFILE"
trap cleanup EXIT
trap on_signal INT TERM HUP

# --- the workers
# spawn-fcgi -n binds the socket and execs the supervisor in its place (same
# pid) with the socket as fd 0; the supervisor keeps $WORKERS workers
# accepting on it and starts another whenever one exits. The workers' stderr
# and the supervisor's log go to var/log/ingest.log.
PUM_WORKERS="$WORKERS" PUM_WORKERS_PIDFILE="$WORKER_PIDS" PUM_INGEST_LOG="$LOG/ingest.log" \
  spawn-fcgi -n -s "$SOCK" -M 0666 -- /bin/bash "$ROOT/deploy/pum-ingest-supervisor.sh" "$BUILD/pum-ingest" \
  --config.file="$CONFIG" --storage.path="$VAR/pum.db" --metrics.dir="$METRICS_DIR" \
  >/dev/null 2>>"$LOG/ingest.log" &
SUPERVISOR_PID=$!
echo "$SUPERVISOR_PID" >"$SUPERVISOR_PIDFILE"

# --- nginx, with the location of deploy/nginx/pum.conf
sed "s#unix:/run/pum/ingest.sock#unix:$SOCK#" deploy/nginx/pum.conf >"$RUN/pum-location.conf"
# and pum.js (also at the seed's /static/aggregatorClient.js) from $BUILD
sed "s#/usr/local/share/pum/#$BUILD/#" deploy/nginx/pum-client.conf >"$RUN/pum-client.conf"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$NGINX_CONF" <<EOF
# written by deploy/run-local.sh
daemon off;
master_process on;
worker_processes 1;
$USER_LINE
pid $RUN/nginx.pid;
error_log $LOG/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log $LOG/nginx-access.log;
  client_body_temp_path $VAR/nginx/client_body;
  fastcgi_temp_path $VAR/nginx/fastcgi;
  proxy_temp_path $VAR/nginx/proxy;
  scgi_temp_path $VAR/nginx/scgi;
  uwsgi_temp_path $VAR/nginx/uwsgi;
  server {
    listen 127.0.0.1:$HTTP_PORT;
    include $RUN/pum-location.conf;
    include $RUN/pum-client.conf;
    # the demo page (deploy/demo/), and where /metrics and Prometheus are
    location = /demo { return 301 /demo/; }
    location /demo/ {
      alias $DEMO_DIR/;
      index index.html;
      types { text/html html; text/css css; text/javascript js; }
      default_type application/octet-stream;
      add_header Cache-Control no-store always;
    }
    location = /demo/links.js {
      types { }
      default_type "text/javascript; charset=utf-8";
      add_header Cache-Control no-store always;
      return 200 'window.PUM_DEMO = {metricsPort: $METRICS_PORT, prometheusPort: $PROM_PORT};\n';
    }
    location / { return 404; }
  }
}
EOF
nginx -p "$VAR/nginx/" -c "$NGINX_CONF" -e "$LOG/nginx-error.log" 2>>"$LOG/nginx-error.log" &
NGINX_PID=$!

# --- the exporter
"$BUILD/pum-exporter" --config.file="$CONFIG" --storage.path="$VAR/pum.db" \
  --metrics.dir="$METRICS_DIR" --web.listen-address="127.0.0.1:$METRICS_PORT" \
  >>"$LOG/exporter.log" 2>&1 &
EXPORTER_PID=$!
echo "$EXPORTER_PID" >"$EXPORTER_PIDFILE"

# --- Prometheus, scraping the exporter as job "pum", with pum's rules
RULE_FILES=""
for f in pum-recording-rules.yml pum-alerts.yml; do
  [ -f "$RULES_DIR/$f" ] && RULE_FILES="$RULE_FILES${RULE_FILES:+, }\"$RULES_DIR/$f\""
done
[ -n "$RULE_FILES" ] || say "no rule files in $RULES_DIR: Prometheus runs without pum's rules"
cat >"$PROM_CONF" <<EOF
# written by deploy/run-local.sh
global:
  scrape_interval: $SCRAPE_INTERVAL
  evaluation_interval: $SCRAPE_INTERVAL
rule_files: [$RULE_FILES]
scrape_configs:
  - job_name: pum
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
EOF
prometheus --config.file="$PROM_CONF" --storage.tsdb.path="$VAR/prometheus" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >>"$LOG/prometheus.log" 2>&1 &
PROM_PID=$!
echo "$PROM_PID" >"$PROM_PIDFILE"

# --- wait until all answer (at most 10 s each, 30 s for Prometheus)
# http_code URL: the status of a GET, 000 when nothing answers.
http_code() { curl -s -o /dev/null -w '%{http_code}' "$1"; }

# await NAME PID LOGFILE TENTHS URL CODE: waits until URL answers CODE (any
# answer when CODE is "any"); dies with the log's tail if PID exits first.
await() {
  n=0
  while :; do
    c=$(http_code "$5")
    if [ "$6" = any ]; then [ "$c" != 000 ] && return 0; else [ "$c" = "$6" ] && return 0; fi
    alive "$2" || { tail -5 "$3" >&2; die "$1 did not start (see $3)"; }
    n=$((n + 1))
    [ "$n" -lt "$4" ] || die "$1 does not answer at $5"
    sleep 0.1
  done
}
n=0
while [ "$(worker_pids | wc -l)" -lt "$WORKERS" ]; do
  alive "$SUPERVISOR_PID" || { tail -5 "$LOG/ingest.log" >&2; die "the pum-ingest workers did not start (see $LOG/ingest.log)"; }
  n=$((n + 1))
  [ "$n" -lt 100 ] || die "the pum-ingest workers did not start within 10 s (see $LOG/ingest.log)"
  sleep 0.1
done
await nginx "$NGINX_PID" "$LOG/nginx-error.log" 100 "http://127.0.0.1:$HTTP_PORT/" any
await pum-exporter "$EXPORTER_PID" "$LOG/exporter.log" 100 "http://127.0.0.1:$METRICS_PORT/-/healthy" 200
await prometheus "$PROM_PID" "$LOG/prometheus.log" 300 "http://127.0.0.1:$PROM_PORT/-/ready" 200

echo "ingest: http://127.0.0.1:$HTTP_PORT/record"
echo "metrics: http://127.0.0.1:$METRICS_PORT/metrics"
echo "demo: http://127.0.0.1:$HTTP_PORT/demo/"
echo "prometheus: http://127.0.0.1:$PROM_PORT/"
say "logs in $LOG; Ctrl-C stops"

# --- foreground until a signal, or until a part dies
while :; do
  sleep 1 &
  SLEEP_PID=$!
  wait "$SLEEP_PID"
  SLEEP_PID=""
  alive "$NGINX_PID" || die "nginx exited (see $LOG/nginx-error.log)"
  alive "$EXPORTER_PID" || die "pum-exporter exited (see $LOG/exporter.log)"
  alive "$PROM_PID" || die "prometheus exited (see $LOG/prometheus.log)"
  # The supervisor replaces dead workers; it exits only if they cannot start.
  alive "$SUPERVISOR_PID" || die "the pum-ingest workers' supervisor exited (see $LOG/ingest.log)"
done
