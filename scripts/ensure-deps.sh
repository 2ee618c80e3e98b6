#!/bin/sh
# Installs what `npm start` and `npm test` need when it is missing: the npm packages, and
# nats-server (from the OS packages) unless NATS_URL points at a running server. With the
# argument `test`, also Prometheus and promtool, which the side-by-side PromQL tests run.
set -e
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "sluice: installing npm packages" >&2
  # `npm install` (it follows the lock file) rather than `npm ci`, which refuses a lock file
  # without chdb's optional native libraries for other platforms.
  npm install --no-audit --no-fund >&2
fi

find_nats() {
  command -v nats-server 2>/dev/null && return 0
  for d in /usr/sbin /usr/local/sbin /sbin; do
    [ -x "$d/nats-server" ] && echo "$d/nats-server" && return 0
  done
  return 1
}

# apt_install PACKAGE WHY: installs a Debian/Ubuntu package, or explains what to do instead.
apt_install() {
  echo "sluice: $1 not found; installing it from the OS packages ($2)" >&2
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    if { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$1"; } >&2; then
      return 0
    fi
    echo "sluice: could not install $1 with apt-get; install the package $1 by hand." >&2
  else
    echo "sluice: $1 is not installed and this system has no apt-get; install $1 by hand." >&2
  fi
  return 1
}

if [ -z "${NATS_URL:-}" ] && ! find_nats >/dev/null; then
  apt_install nats-server "the local NATS server; or set NATS_URL to a running server" || exit 1
fi

if [ "${1:-}" = test ] && ! command -v promtool >/dev/null 2>&1; then
  # Without it the side-by-side tests report themselves skipped; everything else still runs.
  apt_install prometheus "the peer the PromQL engine is checked against" || true
fi
