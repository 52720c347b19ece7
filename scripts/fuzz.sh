#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz-*.c; clang, ASan + UBSan) into build-fuzz/ and
# runs each for SECONDS (first argument; default 20, `make fuzz` 300), as many at once as there
# are cores. A harness starts from its own seeds (made at run time, see tests/fuzz/fuzz.h), the
# corpus kept in build-fuzz/corpus/NAME by earlier runs, and tests/fuzz/regressions/NAME (inputs
# that once failed, replayed first). Prints, and writes to build-fuzz/fuzz-report.md, one row per
# harness: executions, executions/s, corpus, new inputs, peak memory, result. Exit status 1 if a
# harness crashed, leaked or failed a check; its input is kept in build-fuzz/crashes/NAME/.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-20}}
out=${BUILD_FUZZ:-build-fuzz}
jobs=$(nproc)

CC=clang cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Debug -DFG_FUZZ=ON >/dev/null || exit 1
cmake --build "$out" -j "$jobs" --target fuzzers -- --no-print-directory >"$out/build.log" 2>&1 || {
    tail -30 "$out/build.log"
    echo "fuzz: the harnesses did not build (see $out/build.log)" >&2
    exit 1
}

names=()
for src in tests/fuzz/fuzz-*.c; do
    names+=("$(basename "$src" .c)")
done

run() {
    local name=$1 dir="$out/fuzz/${1#fuzz-}"
    local corpus="$out/corpus/${name#fuzz-}" seeds="$dir/seeds" crashes="$out/crashes/${name#fuzz-}"
    local regressions="tests/fuzz/regressions/${name#fuzz-}" dirs
    rm -rf "$seeds"
    mkdir -p "$corpus" "$seeds" "$crashes"
    dirs=("$corpus" "$seeds")
    [ -d "$regressions" ] && dirs+=("$regressions")
    FG_FUZZ_SEED_DIR="$seeds" ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1 \
        "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "${dirs[@]}" >"$dir/log" 2>&1
    echo $? >"$dir/status"
}

# Run them, `jobs` at a time.
for name in "${names[@]}"; do
    mkdir -p "$out/fuzz/${name#fuzz-}"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
    run "$name" &
done
wait

stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -1; }
status=0
report="$out/fuzz-report.md"
{
    echo "| harness | seconds | executions | exec/s | corpus | new inputs | peak RSS MB | result |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    for name in "${names[@]}"; do
        dir="$out/fuzz/${name#fuzz-}"
        log="$dir/log"
        rc=$(cat "$dir/status" 2>/dev/null || echo 1)
        result=ok
        if [ "$rc" != 0 ]; then
            result="FAILED ($(grep -m1 -o 'ERROR: [A-Za-z]*Sanitizer: [a-z-]*\|check failed: .*\|ERROR: libFuzzer: [a-z-]*' "$log" || echo "exit $rc"))"
            status=1
        fi
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "${name#fuzz-}" "$seconds" \
            "$(stat "$log" number_of_executed_units)" "$(stat "$log" average_exec_per_sec)" \
            "$(find "$out/corpus/${name#fuzz-}" -type f | wc -l)" "$(stat "$log" new_units_added)" \
            "$(stat "$log" peak_rss_mb)" "$result"
    done
} >"$report"
cat "$report"
if [ "$status" != 0 ]; then
    echo "fuzz: a harness failed: its log is $out/fuzz/NAME/log, its input in $out/crashes/NAME/" >&2
fi
exit "$status"
