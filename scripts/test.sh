#!/usr/bin/env bash
# Runs every test: C unit tests, then the integration and browser tests (node's
# test runner against the real processes). Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0; failed=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== unit tests"
for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    if "$t" > "$out/unit.log" 2>&1; then
        passed=$((passed + 1)); echo "ok   $(basename "$t") ($(grep -c '^ok' "$out/unit.log") checks)"
    else
        failed=$((failed + 1)); echo "FAIL $(basename "$t")"; grep -v '^ok' "$out/unit.log" | tail -20
    fi
done

echo "== node dependencies"
for dir in tests tests/browser; do
    if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed in $dir"; failed=$((failed + 1)); }
    fi
done

echo "== integration and browser tests"
files=$(ls tests/integration/*.test.mjs tests/browser/*.test.mjs 2>/dev/null)
if [ -n "${BESEDA_TEST_FILTER:-}" ]; then files=$(echo "$files" | grep -E "$BESEDA_TEST_FILTER"); fi
# One file at a time: each starts its own cluster, and the machine has 2 cores.
node --test --test-concurrency=1 --test-timeout=180000 \
     --test-reporter=spec --test-reporter-destination=stdout \
     --test-reporter=tap --test-reporter-destination="$out/node.tap" $files
node_pass=$(grep -E '^# pass ' "$out/node.tap" | awk '{print $3}')
node_fail=$(grep -E '^# fail ' "$out/node.tap" | awk '{print $3}')
node_cancel=$(grep -E '^# cancelled ' "$out/node.tap" | awk '{print $3}')
passed=$((passed + ${node_pass:-0}))
failed=$((failed + ${node_fail:-0} + ${node_cancel:-0}))
if [ -z "$node_pass" ]; then failed=$((failed + 1)); echo "node test runner produced no summary"; fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
