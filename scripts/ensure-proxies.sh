#!/usr/bin/env bash
# Makes sure Debian's nginx and haproxy are installed for test/ops.test.ts, which runs each in front
# of examples/ops/server.ts (as foreground child processes with their own temp config, pid and log
# files; nothing uses the packaged services). Idempotent: does nothing when both are on PATH.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
command -v nginx > /dev/null 2>&1 || missing+=(nginx)
command -v haproxy > /dev/null 2>&1 || missing+=(haproxy)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The ops tests need nginx and haproxy; install them with: sudo apt-get install -y nginx-light haproxy" >&2
  exit 1
fi
echo "installing ${missing[*]} for the ops tests (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
packages=()
for name in "${missing[@]}"; do
  if [ "$name" = nginx ]; then
    # the smallest build has what the tests use (proxy, upstream, map); older releases lack it
    if apt-cache show nginx-light > /dev/null 2>&1; then packages+=(nginx-light); else packages+=(nginx); fi
  else
    packages+=("$name")
  fi
done
# policy-rc.d 101: install without starting the packaged services (the tests start their own)
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
apt-get install -y -qq --no-install-recommends "${packages[@]}" > /dev/null
if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
echo "installed: $(nginx -v 2>&1), $(haproxy -v | head -n 1)"
