#!/usr/bin/env bash
# The test command: installs what a fresh machine lacks, then runs every test (unit, policy, promtool rules, the
# AWS emulator applies and the SSH lab) on the project's Node, printing its version first. Ends with a plain
# "N passed, N failed, N skipped" line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# The tests, and every process they start, run on the Node setup installed (the portable build in node_modules).
export PATH="$PWD/node_modules/.bin:$PATH"
echo "test: Node $(node --version) ($(node -p process.execPath))"

report=$(mktemp --suffix=.json)
trap 'rm -f "$report"' EXIT
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + (r.numTodoTests ?? 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || echo "0 passed, 1 failed"
exit $status
