#!/usr/bin/env bash
# make bench: facegate's engine (build/bench_engine) side by side with the reference implementation
# (bench/reference.mjs: face-api 1.7.15 on tfjs 4.22.0 + wasm backend), one thread and all cores,
# as Markdown tables on stdout (also saved to $BENCH_OUT/bench.md with the raw JSON): stage times,
# each network's multiply-adds against the core's FMA peak, and its time by kind of operator;
# then the server under load (bench/server.mjs: wrk at 1, 2, 4, 8, 16 clients).
# Environment: BENCH_RUNS (runs per stage; default 20 for facegate, 10 for the reference),
# BENCH_SERVER_RUNS (wrk runs per client count, default 3),
# FG_SHARED_DIR (default ../shared next to the repo), BENCH_OUT (default $BUILD/bench), BUILD.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
BUILD=${BUILD:-build}
shared=${FG_SHARED_DIR:-$root/../shared}
out=${BENCH_OUT:-$BUILD/bench}
fg_runs=${BENCH_RUNS:-20}
ref_runs=${BENCH_RUNS:-10}
all=$(nproc)
images=("$shared/golden/single640.jpg" "$root/node_modules/@vladmandic/face-api/demo/sample1.jpg")
status=0

for img in "${images[@]}"; do
    if [ ! -f "$img" ]; then
        echo "bench: missing image $img (set FG_SHARED_DIR to the shared folder)" >&2
        exit 1
    fi
done
image_list=$(IFS=,; echo "${images[*]}")
mkdir -p "$out"
rm -f "$out"/facegate-*.json "$out"/reference-*.json

thread_counts=(1)
[ "$all" -gt 1 ] && thread_counts+=("$all")

# facegate's engine, when it has been built.
compare_args=()
if [ -x "$BUILD/bench_engine" ]; then
    for t in "${thread_counts[@]}"; do
        echo "bench: facegate engine, $t thread(s), $fg_runs runs" >&2
        if ! "$BUILD/bench_engine" --images "$image_list" --runs "$fg_runs" --threads "$t" \
            --json "$out/facegate-${t}t.json" >&2; then
            echo "bench: $BUILD/bench_engine --threads $t failed" >&2
            status=1
        fi
    done
    [ -f "$out/facegate-1t.json" ] && compare_args+=(--facegate-1 "$out/facegate-1t.json")
    [ -f "$out/facegate-${all}t.json" ] && compare_args+=(--facegate-all "$out/facegate-${all}t.json")
else
    echo "bench: $BUILD/bench_engine is not built; benchmarking the reference only" >&2
fi

# The reference. Multi-threaded wasm needs bench/reference.mjs's worker shim; if that ever fails,
# fall back to the stock (single-threaded) configuration rather than losing the column.
for t in "${thread_counts[@]}"; do
    json="$out/reference-${t}t.json"
    echo "bench: reference, $t thread(s), $ref_runs runs" >&2
    node bench/reference.mjs --images "$image_list" --runs "$ref_runs" --threads "$t" --json "$json"
    rc=$?
    if [ "$rc" -ne 0 ] && [ ! -f "$json" ] && [ "$t" -gt 1 ]; then
        echo "bench: reference with the thread shim failed; retrying with --no-thread-shim" >&2
        node bench/reference.mjs --images "$image_list" --runs "$ref_runs" --threads "$t" \
            --no-thread-shim --json "$json"
        rc=$?
    fi
    # Exit status 1 with a JSON written means the sanity check against the golden outputs failed.
    [ "$rc" -ne 0 ] && status=1
done
[ -f "$out/reference-1t.json" ] && compare_args+=(--reference-1 "$out/reference-1t.json")
[ -f "$out/reference-${all}t.json" ] && compare_args+=(--reference-all "$out/reference-${all}t.json")

# Memory of one real CLI call; skipped until the CLI has the embed subcommand.
for img in "${images[@]}"; do
    [ -x "$BUILD/facegate" ] && [ -x /usr/bin/time ] || break
    log=$(mktemp)
    if /usr/bin/time -v "$BUILD/facegate" embed "$img" >/dev/null 2>"$log"; then
        kb=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): \([0-9]*\)$/\1/p' "$log")
        [ -n "$kb" ] && compare_args+=(--embed-rss "$(basename "$img")=$kb")
    else
        compare_args+=(--note "\`$BUILD/facegate embed\` did not run (exit status $?); its max RSS is not measured")
        rm -f "$log"
        break
    fi
    rm -f "$log"
done
[ -x "$BUILD/facegate" ] || compare_args+=(--note "$BUILD/facegate is not built; \`facegate embed\` max RSS is not measured")

if [ ${#compare_args[@]} -eq 0 ] || ! printf '%s\n' "${compare_args[@]}" | grep -q -- '^--\(reference\|facegate\)'; then
    echo "bench: no benchmark produced results" >&2
    exit 1
fi
node bench/compare.mjs "${compare_args[@]}" | tee "$out/bench.md" || status=1

# Liveness: the server's CPU per challenge session (20 frames of a real liveness dev clip through
# the fast path and the verifier, 3 descriptors), beside the reference's per-frame figures above.
if [ -x "$BUILD/bench_liveness" ] && [ -f "$shared/liveness/dev_tranvanluyt_real.mp4" ]; then
    echo "bench: liveness session, one core" >&2
    FG_MODEL_DIR="$root/node_modules/@vladmandic/face-api/model" \
        FG_FAST_MODEL_DIR="$root/node_modules/@vladmandic/human/models" \
        "$BUILD/bench_liveness" --clip "$shared/liveness/dev_tranvanluyt_real.mp4" \
        --runs "$fg_runs" --reference "$out/reference-1t.json" --json "$out/liveness.json" |
        tee -a "$out/bench.md" || status=1
else
    echo "bench: $BUILD/bench_liveness or ../shared/liveness missing; the liveness bench is skipped" >&2
fi

# The matcher: 1:N over synthetic templates, float32 scan vs the quantised search (exactness
# checked on every probe: a differing answer fails the bench).
if [ -x "$BUILD/bench_match" ]; then
    echo "bench: matcher, 10k / 100k / 1M synthetic templates" >&2
    { printf '\n#### 1:N search (one core, synthetic templates)\n\n'
      "$BUILD/bench_match" --sizes 10000,100000,1000000; } | tee -a "$out/bench.md" || status=1
fi

# The liveness challenge on the server: CPU per 20-frame session, frames per CPU second.
if [ -x "$BUILD/facegate" ]; then
    echo "bench: liveness challenge sessions on one server worker" >&2
    FACEGATE_BIN="$BUILD/facegate" node bench/liveness-server.mjs | tee -a "$out/bench.md" || status=1
fi

# The shared store at scale: 1M templates in PostgreSQL, start-up load, log-ins/s of one and two
# servers (wrk, 60 s runs; BENCH_TEMPLATES, BENCH_LOGIN_SECONDS, BENCH_CONNECTIONS).
if [ -x "$BUILD/bench_store" ] && command -v wrk >/dev/null; then
    bench/logins.sh | tee -a "$out/bench.md" || status=1
else
    echo "bench: $BUILD/bench_store or wrk missing; the shared-store bench is skipped" >&2
fi

# The server under load: wrk at 1..16 keep-alive clients of 1:N log-ins (bench/server.mjs).
if [ -x "$BUILD/facegate" ] && command -v wrk >/dev/null; then
    if node bench/server.mjs --bin "$BUILD/facegate" --runs "${BENCH_SERVER_RUNS:-3}" \
        --json "$out/server.json" >"$out/server.md"; then
        { echo; cat "$out/server.md"; } | tee -a "$out/bench.md"
    else
        echo "bench: the server benchmark failed" >&2
        status=1
    fi
fi
echo "bench: JSON and Markdown in $out/" >&2
exit "$status"
