#!/usr/bin/env bash
# Makes sure Debian's redis-server (>= 7.0) is installed for the cluster tests, which start their
# own server on a free port. Idempotent: does nothing when a recent enough redis-server is on PATH.
set -euo pipefail
REDIS="${REDIS_SERVER:-redis-server}"

major() {
  "$REDIS" --version 2>/dev/null | sed -n 's/.* v=\([0-9][0-9]*\)\..*/\1/p'
}

if command -v "$REDIS" > /dev/null 2>&1; then
  version="$(major)"
  if [ -n "$version" ] && [ "$version" -ge 7 ]; then
    exit 0
  fi
  echo "The cluster tests need redis-server >= 7.0; found: $("$REDIS" --version)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The cluster tests need Debian's redis-server (>= 7.0); install it with: sudo apt-get install -y redis-server" >&2
  exit 1
fi
echo "installing Debian's redis-server for the cluster tests (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# the tests start and stop their own servers; nothing needs the packaged service
apt-get install -y -qq --no-install-recommends redis-server > /dev/null
echo "redis-server installed: $("$REDIS" --version)"
