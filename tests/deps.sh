#!/bin/sh
# Installs the Debian packages given as arguments that are not installed yet
# (apt-get update first), then the client's npm packages when it has a lock.
set -eu
missing=""
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "deps: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  # Debian's libapache2-mod-qos enables itself in the system Apache, where it
  # fails to load (it needs libpcre loaded first; deploy/apache/
  # pum-ratelimit.conf does that). The tests load it from their own configs.
  case "$missing" in
    *libapache2-mod-qos*) $SUDO a2dismod -q qos >/dev/null 2>&1 || true ;;
  esac
fi
# Node.js and npm come with the machine image (Debian's nodejs/npm packages
# conflict with it); install Debian's only where there is none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
cd "$(dirname "$0")/../client-js" 2>/dev/null || exit 0
# npm 11 runs no dependency's install script unless package.json's
# allowScripts approves it; esbuild's (a check that its binary is there) is
# denied there on purpose: the binary comes as the optional dependency
# @esbuild/<platform>, which esbuild finds by itself.
if [ -f package-lock.json ] && [ ! -f node_modules/.package-lock.json -o package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
