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

# Runs node's test runner on the given files; adds its counts to the totals.
run_node_tests() {
    local tap=$1; shift
    node --test --test-concurrency=1 --test-timeout=180000 \
         --test-reporter=spec --test-reporter-destination=stdout \
         --test-reporter=tap --test-reporter-destination="$tap" "$@"
    local p f c
    p=$(grep -E '^# pass ' "$tap" | awk '{print $3}')
    f=$(grep -E '^# fail ' "$tap" | awk '{print $3}')
    c=$(grep -E '^# cancelled ' "$tap" | awk '{print $3}')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0} + ${c:-0}))
    if [ -z "$p" ]; then failed=$((failed + 1)); echo "node test runner produced no summary"; fi
}

echo "== integration and browser tests"
files=$(ls tests/integration/*.test.mjs tests/browser/*.test.mjs 2>/dev/null)
if [ -n "${BESEDA_TEST_FILTER:-}" ]; then files=$(echo "$files" | grep -E "$BESEDA_TEST_FILTER"); fi
# One file at a time: each starts its own cluster, and the machine has 2 cores.
# shellcheck disable=SC2086
run_node_tests "$out/node.tap" $files

if [ -z "${BESEDA_TEST_FILTER:-}" ] && [ -z "${BESEDA_SKIP_ASAN:-}" ]; then
    echo "== the chat and hostile input again, on AddressSanitizer + UBSan builds"
    # The harness fails a test file whose processes logged a sanitizer report.
    if make --no-print-directory asan -j2 > "$out/asan-build.log" 2>&1; then
        BESEDA_BUILD=$PWD/build-asan run_node_tests "$out/asan.tap" \
            tests/integration/chat.test.mjs tests/integration/bad_input.test.mjs \
            tests/integration/settings_api.test.mjs
    else
        failed=$((failed + 1)); echo "FAIL asan build"; tail -20 "$out/asan-build.log"
    fi
fi

if [ -z "${BESEDA_TEST_FILTER:-}" ]; then
    echo "== bench-smoke: one short benchmark step, so the benchmark cannot rot"
    # Fails only if the generator fails or a message is lost or duplicated,
    # never because the machine was slow (docs/PERFORMANCE.md).
    if make --no-print-directory bench-smoke > "$out/bench-smoke.log" 2>&1; then
        passed=$((passed + 1)); grep -E '^bench-smoke' "$out/bench-smoke.log" || true
    else
        failed=$((failed + 1)); echo "FAIL bench-smoke"; grep -vE '^\{"ts"' "$out/bench-smoke.log" | tail -30
    fi
fi

if [ -z "${BESEDA_TEST_FILTER:-}" ] && [ -z "${BESEDA_SKIP_FUZZ:-}" ]; then
    echo "== fuzz smoke: every fuzz target 5 s from its seeds (docs/TESTING.md, Fuzzing)"
    # Build + run take about a minute on 2 cores; `make fuzz` runs longer.
    if make --no-print-directory -j2 fuzz FUZZ_SECONDS=5 > "$out/fuzz.log" 2>&1; then
        passed=$((passed + 1)); grep -E '^fuzz:' "$out/fuzz.log" || true
    else
        failed=$((failed + 1)); echo "FAIL fuzz smoke"; grep -vE '^(clang|make)' "$out/fuzz.log" | tail -30
    fi
fi

echo "== docs/CONFIG.md matches the option tables"
if scripts/config-doc.sh --check > "$out/config.log" 2>&1; then passed=$((passed + 1)); else
    failed=$((failed + 1)); cat "$out/config.log"; fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
