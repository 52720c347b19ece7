#!/bin/sh
# Every function of the library that uses 256-bit (YMM) registers leaves their upper halves
# clean (vzeroupper) before it returns or calls code that may be SSE-only. With the upper halves
# dirty, every legacy SSE instruction after it waits on the previous one's result: GCC 12 called
# warp.c's scalar row without a vzeroupper, and the recognition net's input normalisation that
# followed took 0.30 ms instead of 0.05 (README, "Where the fast path's targets stand").
# The check reads the disassembly: from each ret, call or jump to another function in a YMM
# function, back to the nearest vzeroupper (clean) or YMM instruction (dirty). A call or jump to
# another YMM function is fine: the callee cleans up itself.
# Usage: avx-upper-clean.sh LIBFACEGATE.a
set -eu
lib=$1
command -v objdump >/dev/null || { echo "objdump (binutils) is missing"; exit 1; }
objdump -d --no-show-raw-insn "$lib" | awk '
function flush(   i, j, ins, target, bad) {
    if (fn == "" || !uses_ymm) return
    ymm_fn[fn] = 1
    for (i = 1; i <= n; i++) {
        ins = code[i]
        if (ins !~ /\t(ret|call|jmp)/) continue
        if (ins ~ /\tjmp/ && (ins !~ /</ || ins ~ ("<" fn "[+>]"))) continue  # a jump inside fn
        target = ""
        if (match(ins, /<[^>+]+>/)) target = substr(ins, RSTART + 1, RLENGTH - 2)
        bad = 0
        for (j = i - 1; j >= 1 && j >= i - 300; j--) {
            if (code[j] ~ /vzeroupper/) break
            if (code[j] ~ /%ymm/) { bad = 1; break }
        }
        if (bad) exits[++nexits] = fn "\t" target "\t" ins
    }
}
/^[0-9a-f]+ <.*>:$/ { flush(); fn = $2; gsub(/[<>:]/, "", fn); n = 0; uses_ymm = 0; next }
/^ +[0-9a-f]+:\t/ { code[++n] = $0; if ($0 ~ /%ymm/) uses_ymm = 1 }
END {
    flush()
    for (k = 1; k <= nexits; k++) {
        split(exits[k], f, "\t")
        if (f[2] != "" && (f[2] in ymm_fn)) continue
        print "dirty upper halves: " f[1] ":" f[3] f[4]; dirty++
    }
    if (length(ymm_fn) < 10) { print "found only " length(ymm_fn) " YMM functions in the library"; exit 1 }
    if (dirty) exit 1
    print length(ymm_fn) " functions use YMM registers; each cleans their upper halves before SSE code"
}'
