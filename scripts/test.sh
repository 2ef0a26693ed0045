#!/usr/bin/env bash
# The whole test suite: type check, then every *.test.ts under core/, plugins/, connectors/ and
# test/ on Node's own runner, on the sources: tsx compiles them and the "source" export condition
# points every @deepstream-ts/* import at src/ (docs/packages.md), so no build step is needed.
# `bash scripts/test.sh FILE...` runs only those test files. Ends with the runner's summary.
# A second pass runs the end-to-end suites of CLUSTERED below again, each server started as three
# nodes over Redis behind a round-robin balancer (test/helpers/cluster-topology.ts); the exit code
# reflects both passes. `DS_TEST_TOPOLOGY=cluster bash scripts/test.sh FILE...` runs only those
# files, clustered.
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

# The client-level end-to-end suites the clustered pass runs (README, "Running a cluster").
CLUSTERED=(
  test/events.test.ts
  plugins/records/test/records-client.test.ts
  plugins/records/test/records-protocol.test.ts
  plugins/rpc/test/client.test.ts
  plugins/rpc/test/wire.test.ts
  plugins/presence/test/presence.test.ts
  plugins/presence/test/rooms.test.ts
  plugins/listening/test/listening.test.ts
  plugins/permissions-valve/test/client.test.ts
  plugins/http-api/test/api.test.ts
)
CLUSTER_TOPOLOGY="$PWD/test/helpers/cluster-topology.ts"

# A test that hangs fails after two minutes instead of holding CI.
run() {
  node --conditions=source --import tsx --test --test-timeout=120000 --test-reporter=spec "$@"
}

topology="${DS_TEST_TOPOLOGY:-}"
[ "$topology" = cluster ] && topology="$CLUSTER_TOPOLOGY"
if [ "$#" -gt 0 ]; then
  DS_TEST_TOPOLOGY="$topology" run "$@"
  exit
fi

mapfile -t files < <(find core plugins connectors test -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' 2>/dev/null | sort)
status=0
DS_TEST_TOPOLOGY="$topology" run "${files[@]}" || status=$?
echo "# the end-to-end suites again, each server a three-node cluster over Redis"
DS_TEST_TOPOLOGY="$CLUSTER_TOPOLOGY" run "${CLUSTERED[@]}" || status=$?
exit "$status"
