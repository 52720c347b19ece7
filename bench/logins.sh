#!/usr/bin/env bash
# Part of make bench: the shared store at scale. On a throw-away PostgreSQL (scripts/postgres.sh):
#   1. bench_store fills a database with BENCH_TEMPLATES synthetic users (default 1,000,000) and
#      times the start-up load (read + decrypt + index) as `facegate serve` does it;
#   2. `facegate serve` starts on that database (time to its banner, resident memory);
#   3. log-ins per second with wrk (bench/login.lua: 1:N log-ins of an enrolled face, raw JPEG
#      bodies), BENCH_LOGIN_SECONDS per run (default 60), BENCH_CONNECTIONS per server
#      (default 4): one server, then two servers on the same database, one wrk each.
# Prints Markdown on stdout. Needs wrk and PostgreSQL (scripts/setup.sh installs both).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
seconds=${BENCH_LOGIN_SECONDS:-60}
templates=${BENCH_TEMPLATES:-1000000}
conns=${BENCH_CONNECTIONS:-4}
shared=${FG_SHARED_DIR:-$PWD/../shared}
image=$shared/faces/portraits/obama/obama1.jpg
models=${FG_MODEL_DIR:-node_modules/@vladmandic/face-api/model}

# shellcheck source=scripts/postgres.sh
. scripts/postgres.sh
data=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    pg_stop
    rm -rf "$data"
}
trap cleanup EXIT
pg_start || exit 1
psql "${PG_URL}postgres" -qc "CREATE DATABASE bench" || exit 1
store="${PG_URL}bench"

echo "bench: filling PostgreSQL with $templates synthetic templates" >&2
load_line=$("$BUILD/bench_store" --store "$store" --data-dir "$data" --templates "$templates") ||
    exit 1

# Starts a server on the database; sets url, and started to the seconds to its banner.
start_server() {
    local log=$data/$1.log t0 t1
    url=
    t0=$(date +%s.%N)
    "$BUILD/facegate" serve --host 127.0.0.1 --port 0 --data-dir "$data" --store "$store" \
        --models "$models" --web-root "$data/none" --rate-limit-ip 64 >/dev/null 2>"$log" &
    pids+=($!)
    for _ in $(seq 1200); do
        url=$(sed -n 's#.*listening on \(http://127.0.0.1:[0-9]*\)/.*#\1#p' "$log")
        [ -n "$url" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$log" >&2; return 1; }
        sleep 0.1
    done
    [ -n "$url" ] || return 1
    t1=$(date +%s.%N)
    started=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')
}

rss_mb() {
    awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"
}

# wrk against $1 for $seconds; prints the RESULT JSON.
load() {
    FG_IMAGE=$image wrk -t1 -c"$conns" -d"${seconds}s" --timeout 10s -s bench/login.lua \
        "$1/api/v1/login" | sed -n 's/^RESULT //p'
}

row() { # servers, clients, then the RESULT JSON of each server's wrk
    local servers=$1 clients=$2
    shift 2
    node -e '
      const [servers, clients, ...runs] = process.argv.slice(1);
      const r = runs.map((j) => JSON.parse(j));
      const rate = r.reduce((s, x) => s + x.requests / x.seconds, 0);
      const all = (k) => r.map((x) => x[k]).join(" / ");
      const sum = (k) => r.reduce((s, x) => s + x[k], 0);
      console.log(`| ${servers} | ${clients} | ${rate.toFixed(1)} | ${all("p50_ms")} | ` +
        `${all("p99_ms")} | ${sum("requests")} | ${sum("non2xx")} | ${sum("errors")} |`);
    ' "$servers" "$clients" "$@"
}

start_server a || exit 1
a_url=$url a_start=$started
curl -sf "$a_url/api/v1/users?username=obama" -H 'Content-Type: image/jpeg' \
    --data-binary @"$shared/faces/portraits/obama/obama.jpg" >/dev/null || {
    echo "bench: signing up obama failed" >&2
    exit 1
}
echo "bench: log-ins, one server, $seconds s" >&2
one=$(load "$a_url")
start_server b || exit 1
b_url=$url b_start=$started
echo "bench: log-ins, two servers, $seconds s" >&2
load "$a_url" >"$data/a.json" &
wa=$!
load "$b_url" >"$data/b.json" &
wb=$!
wait "$wa" "$wb"

printf '\n#### Shared store: PostgreSQL, %s templates\n\n' "$templates"
echo "$load_line"
echo "- \`facegate serve\` start-up to its banner with $templates templates (engines included): ${a_start} s and ${b_start} s; resident memory $(rss_mb "${pids[0]}") MB and $(rss_mb "${pids[1]}") MB"
printf '\nLog-ins per second (1:N, %s s per run, wrk with %s connections per server; 2 cores shared by the servers, PostgreSQL and wrk):\n\n' "$seconds" "$conns"
echo "| servers | connections | log-ins/s | p50 ms | p99 ms | requests | non-2xx | socket errors |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row 1 "$conns" "$one"
row 2 "$((2 * conns))" "$(cat "$data/a.json")" "$(cat "$data/b.json")"
