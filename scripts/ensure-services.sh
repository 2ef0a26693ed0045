#!/usr/bin/env bash
# Makes sure the real servers and clients the tests start are installed: PostgreSQL, Redis and
# mosquitto-clients (mosquitto_pub/mosquitto_sub, for the MQTT endpoint) from Debian's packages. Installs them with apt-get when missing and we are root; otherwise says so, and the
# tests that need them report themselves as skipped with the reason.
set -uo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "# services: ${missing[*]} missing and cannot be installed here (not root or no apt-get); their tests will be skipped"
  exit 0
fi
echo "# services: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/deepstream-ts-apt.log 2>&1; then
  echo "# services: apt-get failed (see /tmp/deepstream-ts-apt.log); their tests will be skipped"
fi
# The Debian packages may start system-wide servers; the tests never use them.
exit 0
