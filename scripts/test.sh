#!/usr/bin/env bash
# The whole test suite: type check, then every *.test.ts under core/, plugins/, connectors/ and
# test/ on Node's own runner (TypeScript through tsx). Ends with the runner's pass/fail summary.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "# type check"
npx tsc -p tsconfig.json

mapfile -t files < <(find core plugins connectors test -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
exec node --import tsx --test --test-reporter=spec "${files[@]}"
