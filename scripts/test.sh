#!/usr/bin/env bash
# The whole test suite: type check, then every *.test.ts under core/, plugins/, connectors/ and
# test/ on Node's own runner, on the sources: tsx compiles them and the "source" export condition
# points every @deepstream-ts/* import at src/ (docs/packages.md), so no build step is needed.
# `bash scripts/test.sh FILE...` runs only those test files. Ends with the runner's summary.
# Tests that need PostgreSQL or Redis start throwaway servers under one temporary directory,
# which is cleaned up here even when a test process dies.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "# type check"
npx tsc -p tsconfig.json

bash scripts/ensure-services.sh

export DS_TEST_SERVICES_DIR
DS_TEST_SERVICES_DIR="$(mktemp -d -t deepstream-ts-services-XXXXXX)"
chmod 755 "$DS_TEST_SERVICES_DIR"
cleanup() {
  # Any server still running from this run has its directory under DS_TEST_SERVICES_DIR.
  pkill -KILL -f "$DS_TEST_SERVICES_DIR" 2>/dev/null || true
  rm -rf "$DS_TEST_SERVICES_DIR"
}
trap cleanup EXIT

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find core plugins connectors test -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' 2>/dev/null | sort)
fi
# A test that hangs fails after two minutes instead of holding CI.
node --conditions=source --import tsx --test --test-timeout=120000 --test-reporter=spec "${files[@]}"
