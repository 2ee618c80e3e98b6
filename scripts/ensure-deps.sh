#!/bin/sh
# Installs what `npm start` and `npm test` need when it is missing: the npm packages, and
# nats-server (from the OS packages) unless NATS_URL points at a running server.
set -e
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sluice: installing npm packages" >&2
  npm ci --no-audit --no-fund >&2
fi

find_nats() {
  command -v nats-server 2>/dev/null && return 0
  for d in /usr/sbin /usr/local/sbin /sbin; do
    [ -x "$d/nats-server" ] && echo "$d/nats-server" && return 0
  done
  return 1
}

if [ -z "${NATS_URL:-}" ] && ! find_nats >/dev/null; then
  echo "sluice: nats-server not found; installing it from the OS packages" >&2
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    if { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server; } >&2; then
      :
    else
      echo "sluice: could not install nats-server with apt-get. Install it by hand (it is the Debian/Ubuntu package nats-server) or set NATS_URL to a running server." >&2
      exit 1
    fi
  else
    echo "sluice: nats-server is not installed and this system has no apt-get. Install nats-server 2.9+ (https packages of your OS, or the release binary) or set NATS_URL to a running server." >&2
    exit 1
  fi
fi
