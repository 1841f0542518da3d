#!/bin/sh
# pum-ingest-wrapper.sh: starts pum-ingest with its flags for a web server
# that takes only a program path, not a command line (lighttpd's
# fastcgi.server "bin-path" splits on spaces and cannot quote).
#
# Install it with
#     install -D -m 0755 deploy/lighttpd/pum-ingest-wrapper.sh \
#       /usr/local/libexec/pum/pum-ingest-wrapper.sh
# It execs pum-ingest (same pid, so the web server can stop it), which
# accepts FastCGI on file descriptor 0 as the web server hands it over.
#
# Environment (lighttpd: "bin-environment"):
#   PUM_INGEST       the binary (default /usr/local/bin/pum-ingest)
#   PUM_CONFIG_FILE  pum.json (default /etc/pum/pum.json): storage_path,
#                    metrics_dir and the rest of the settings
#   PUM_INGEST_ARGS  more flags, split on spaces (optional)
#   PUM_CONFIG_PATH  read by pum-ingest itself: the allowlist directory,
#                    when pum.json sets no metrics_dir
# shellcheck disable=SC2086 # PUM_INGEST_ARGS is split on purpose
exec "${PUM_INGEST:-/usr/local/bin/pum-ingest}" \
  --config.file="${PUM_CONFIG_FILE:-/etc/pum/pum.json}" ${PUM_INGEST_ARGS:-}
