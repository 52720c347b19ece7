#!/bin/sh
# facegate liveness's exit status and output on the liveness dev clips (skipped, 77, without
# ../shared/liveness): 0 when every step passed (a real left turn, then a look up), 1 when one
# failed (a print held still: no blink; the same real clip asked to look up before turning,
# which it does not do in that order), 2 for errors (no such file, not a video, an unknown
# step, --at with the wrong count), and --help.
# Usage: liveness-cli.sh FACEGATE   (FG_SHARED_DIR, FG_MODEL_DIR, FG_FAST_MODEL_DIR from ctest)
set -u
fg=$1
clips=${FG_SHARED_DIR:-../shared}/liveness
[ -f "$clips/dev_tranvanluyt_real.mp4" ] || { echo "skipped: no $clips"; exit 77; }
export FACEGATE_MODELS=$FG_MODEL_DIR FACEGATE_FAST_MODELS=$FG_FAST_MODEL_DIR
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
expect() { # expected-status description command...
    want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"
        cat "$tmp/err"
        failed=1
    fi
}
real=$clips/dev_tranvanluyt_real.mp4
expect 0 "turn_left then look_up on a real clip" "$fg" liveness --steps turn_left,look_up "$real"
grep -q '"state": "passed"' "$tmp/out" || { echo "FAIL: no passed state"; failed=1; }
grep -q '"angle_deg"' "$tmp/out" || { echo "FAIL: no angle evidence"; failed=1; }
expect 1 "look_up before turn_left" "$fg" liveness --no-identity --steps look_up,turn_left "$real"
grep -q '"failure": "ended"' "$tmp/out" || { echo "FAIL: not failed as ended"; failed=1; }
expect 1 "a blink on a print" "$fg" liveness --steps blink "$clips/dev_jomariya_print_2.jpg"
expect 2 "no such file" "$fg" liveness --steps blink "$tmp/none.mp4"
printf 'not a video' >"$tmp/x.mp4"
expect 2 "not a video" "$fg" liveness --steps blink "$tmp/x.mp4"
expect 2 "unknown step" "$fg" liveness --steps turn_around "$real"
expect 2 "--at count" "$fg" liveness --steps blink,turn_left --at 1 "$real"
expect 2 "no steps" "$fg" liveness "$real"
expect 0 "--help" "$fg" liveness --help
grep -q -- '--steps' "$tmp/out" || { echo "FAIL: --help does not describe --steps"; failed=1; }
[ "$failed" -eq 0 ] && echo "liveness CLI: all checks passed"
exit "$failed"
