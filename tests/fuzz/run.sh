#!/usr/bin/env bash
# Runs every fuzz target in build-fuzz/fuzz/ for FUZZ_SECONDS (default 30)
# each, starting from its seed corpus tests/fuzz/corpus/<thing>/ (fuzz_<thing>).
# New inputs go to build-fuzz/fuzz/corpus/<thing>/, never into the seeds.
# A crash, leak, sanitizer report or timeout fails the run; the reproducer
# is left as build-fuzz/fuzz/<kind>-<hash> (`build-fuzz/fuzz/fuzz_<thing> <file>`
# replays it). FUZZ_TARGETS="gateway_frame router_token" runs only those.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-30}
out=build-fuzz/fuzz
failed=()
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')}
for t in $targets; do
    bin=$out/fuzz_$t
    [ -x "$bin" ] || { echo "FAIL $t: $bin not built (make fuzz-build)"; failed+=("$t"); continue; }
    mkdir -p "$out/corpus/$t"
    seeds=tests/fuzz/corpus/$t
    [ -d "$seeds" ] || seeds=
    # Client frames may be 64 KiB (text 8 KiB): let inputs grow past those
    # limits. The others stay at libFuzzer's default (4 KiB).
    extra=
    [ "$t" = gateway_frame ] && extra=-max_len=66000
    # -close_fd_mask=3: the processes' JSON logs would drown the report
    # (sanitizer reports still go to the terminal). -timeout: an input that
    # takes over 10 s is a hang. -rss_limit_mb: the default 2 GB.
    if "$bin" -max_total_time="$seconds" -timeout=10 -close_fd_mask=3 -print_final_stats=1 $extra \
            -artifact_prefix="$out/" "$out/corpus/$t" $seeds > "$out/$t.log" 2>&1; then
        echo "ok   $t: $(grep -E '^stat::number_of_executed_units' "$out/$t.log" | awk '{print $2}') runs in ${seconds}s, $(ls "$out/corpus/$t" | wc -l) corpus files"
    else
        echo "FAIL $t (log: $out/$t.log)"
        grep -E 'ERROR|SUMMARY|fuzz check failed|Test unit written' "$out/$t.log" | head -10
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
    exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
