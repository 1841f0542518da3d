#!/bin/bash
# pum-ingest-supervisor.sh: keeps N pum-ingest workers alive on one FastCGI
# socket, replacing any worker that exits. `make run` (deploy/run-local.sh)
# runs the workers this way; use it wherever nothing else supervises them
# (systemd, mod_fcgid and lighttpd "bin-path" restart dead workers
# themselves).
#
#     spawn-fcgi -n -s /run/pum/ingest.sock -M 0660 -- \
#       /bin/bash pum-ingest-supervisor.sh /usr/local/bin/pum-ingest --config.file=/etc/pum/pum.json
#
# spawn-fcgi binds the socket once and, with -n, execs this script in its
# place with the listening socket as file descriptor 0. Every worker inherits
# that descriptor (pum-ingest with no --listen accepts on fd 0), so all of
# them accept on the same socket, as with `spawn-fcgi -F N`; the socket stays
# open while a worker is being replaced, so connections wait in its backlog
# instead of failing.
#
# A worker that exits is started again at once. One that exits by itself
# (not killed by a signal) less than a second after it started is started
# again after a second; when that happens 5 times in a row to one worker
# slot (it cannot start: a bad configuration, a store it refuses), the
# supervisor gives up, stops the others and exits 1.
#
# SIGTERM, SIGINT or SIGHUP: SIGTERM to every worker, SIGKILL to those still
# running after 5 s, then exit 0.
#
# Arguments: the worker's command line. Environment:
#   PUM_WORKERS          how many workers (default 2)
#   PUM_WORKERS_PIDFILE  a file that always holds the pids of the current
#                        workers, one a line (optional; removed on exit)
#   PUM_INGEST_LOG       append the workers' stderr to this file (optional;
#                        default: this script's stderr)
# The supervisor logs each replacement on its stderr.
set -u

say() { echo "pum-ingest-supervisor: $*" >&2; }

[ $# -gt 0 ] || { say "usage: pum-ingest-supervisor.sh PUM-INGEST [FLAG...] (listening socket on fd 0)"; exit 2; }
[ -S /dev/stdin ] || { say "file descriptor 0 is not a socket: start me with spawn-fcgi -n -s SOCKET -- $0 ..."; exit 2; }
N=${PUM_WORKERS:-2}
case $N in '' | *[!0-9]* | 0) say "PUM_WORKERS must be a positive integer, not '$N'"; exit 2 ;; esac
PIDFILE=${PUM_WORKERS_PIDFILE:-}
INGEST_LOG=${PUM_INGEST_LOG:-}
CMD=("$@")

declare -a PID STARTED FAILS
# `read -t T -u 9` on this pipe, which nobody writes, is a sleep without a
# fork that a signal interrupts.
exec 9<> <(:)
STOPPING=0

# Milliseconds since the epoch.
now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 1000))
}

write_pids() {
  [ -n "$PIDFILE" ] || return 0
  printf '%s\n' "${PID[@]}" >"$PIDFILE.tmp" && mv -f "$PIDFILE.tmp" "$PIDFILE"
}

# start_worker SLOT: a worker with the socket as its stdin (bash gives a
# background job /dev/null unless told otherwise).
start_worker() {
  if [ -n "$INGEST_LOG" ]; then
    "${CMD[@]}" <&0 2>>"$INGEST_LOG" &
  else
    "${CMD[@]}" <&0 &
  fi
  PID[$1]=$!
  STARTED[$1]=$(now_ms)
}

stop_all() {
  local p live=()
  for p in "${PID[@]}"; do kill -0 "$p" 2>/dev/null && live+=("$p"); done
  if [ ${#live[@]} -gt 0 ]; then
    kill -TERM "${live[@]}" 2>/dev/null
    local n=0
    while [ $n -lt 50 ]; do
      local any=0
      for p in "${live[@]}"; do alive "$p" && any=1; done
      [ $any = 0 ] && break
      read -r -t 0.1 -u 9 _
      n=$((n + 1))
    done
    for p in "${live[@]}"; do
      if alive "$p"; then
        say "worker $p did not stop on SIGTERM; killing it"
        kill -KILL "$p" 2>/dev/null
      fi
    done
    wait "${live[@]}" 2>/dev/null
  fi
  [ -n "$PIDFILE" ] && rm -f "$PIDFILE" "$PIDFILE.tmp"
}

on_signal() {
  STOPPING=1
  stop_all
  exit 0
}
trap on_signal TERM INT HUP

for ((i = 0; i < N; i++)); do
  FAILS[i]=0
  start_worker "$i"
done
write_pids
say "${N} workers: ${PID[*]}"

# alive PID: running, not a zombie waiting to be reaped.
alive() {
  kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Every 0.1 s, look for workers that have exited. (Polling, because `wait
# -n` misses a job that bash has already reaped and reported, e.g. when two
# workers die at once.)
while :; do
  read -r -t 0.1 -u 9 _
  [ $STOPPING = 1 ] && break
  for ((i = 0; i < N; i++)); do
    kill -0 "${PID[i]}" 2>/dev/null && continue # running, or not yet reaped
    died=${PID[i]}
    wait "$died" 2>/dev/null
    rc=$?
    lived=$(($(now_ms) - STARTED[i]))
    if [ "$rc" -gt 128 ]; then
      say "worker $died was killed by signal $((rc - 128)); starting another"
      FAILS[i]=0
    elif [ "$lived" -ge 1000 ]; then
      say "worker $died exited with status $rc; starting another"
      FAILS[i]=0
    else
      FAILS[i]=$((FAILS[i] + 1))
      if [ "${FAILS[i]}" -ge 5 ]; then
        say "worker $died exited with status $rc right after starting, ${FAILS[i]} times in a row; giving up"
        unset 'PID[i]'
        stop_all
        exit 1
      fi
      say "worker $died exited with status $rc right after starting; starting another in 1 s"
      read -r -t 1 -u 9 _
      [ $STOPPING = 1 ] && break 2
    fi
    start_worker "$i"
    write_pids
  done
done
