#!/usr/bin/env bash
# Runs facegate's test suites and prints one summary line. Usage: scripts/test.sh [SUITE...]
# Suites: unit (ctest), sanitize (ctest under ASan+UBSan), fuzz (every libFuzzer harness for
# FUZZ_SECONDS, default 20), server (real server, node --test), web (Vitest and the SDK package
# check), docs (OpenAPI lint, routes documented), e2e (Playwright +
# Chromium). With no argument, all of them in that order.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BUILD_ASAN=${BUILD_ASAN:-build-asan}
JOBS=$(nproc)
mkdir -p test-output

suite_unit() {
    (cd "$BUILD" && ctest --output-on-failure -j "$JOBS")
}

suite_sanitize() {
    cmake -S . -B "$BUILD_ASAN" -DCMAKE_BUILD_TYPE=Debug -DFG_SANITIZE=ON >/dev/null &&
        cmake --build "$BUILD_ASAN" -j "$JOBS" -- --no-print-directory >/dev/null &&
        (cd "$BUILD_ASAN" && ASAN_OPTIONS=detect_leaks=1 FG_TEST_QUICK=1 \
            ctest --output-on-failure -j "$JOBS")
}

suite_fuzz() {
    scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
}

# The server suite twice: on SQLite, then on a throw-away PostgreSQL (scripts/postgres.sh), where
# the cluster tests (several servers on one database) run too.
suite_server() {
    ls tests/server/*.test.mjs >/dev/null 2>&1 || return 0
    echo "--- server suite on SQLite"
    node --test --test-concurrency=1 tests/server/ || return 1
    echo "--- server suite on PostgreSQL"
    # shellcheck source=scripts/postgres.sh
    . scripts/postgres.sh
    pg_start || return 1
    FG_TEST_PG_URL=$PG_URL FG_TEST_PG_DATA=$PG_DATA node --test --test-concurrency=1 tests/server/
    local rc=$?
    pg_stop
    return $rc
}

suite_web() {
    [ -f web/package.json ] || return 0
    (cd web && npm run --silent test)
}

suite_docs() {
    # Redocly's linter: no telemetry, no update check (the tests run offline).
    REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint &&
        node --test tests/docs/
}

suite_e2e() {
    ls tests/e2e/*.test.mjs >/dev/null 2>&1 || return 0
    [ -f web/package.json ] && (cd web && npm run --silent build)
    node --test --test-concurrency=1 tests/e2e/
}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(unit sanitize fuzz server web docs e2e)
passed=0
failed=0
failed_names=()
for s in "${suites[@]}"; do
    echo "=== suite: $s"
    if "suite_$s"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names+=("$s")
    fi
done
[ $failed -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
