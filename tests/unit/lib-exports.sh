#!/bin/sh
# The functions libfacegate.so exports are exactly the FG_API declarations of facegate.h:
# internal symbols (models, nn, image helpers, the matcher) stay hidden.
# Usage: lib-exports.sh LIBFACEGATE.so facegate.h
set -eu
lib=$1 header=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^FG_API [^(]*[ *]\(fg_[a-z0-9_]*\)(.*/\1/p' "$header" | sort -u >"$tmp/declared"
nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" {print $3}' |
    sort -u >"$tmp/exported"
if ! cmp -s "$tmp/declared" "$tmp/exported"; then
    echo "exported (>) and declared (<) functions differ:"
    diff "$tmp/declared" "$tmp/exported" || true
    exit 1
fi
if [ "$(wc -l <"$tmp/declared")" -lt 10 ]; then
    echo "found only $(wc -l <"$tmp/declared") FG_API declarations in $header"
    exit 1
fi
echo "$(wc -l <"$tmp/exported") exported functions, all declared in facegate.h"
