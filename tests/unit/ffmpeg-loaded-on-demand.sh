#!/bin/sh
# FFmpeg is opened with dlopen at the first video (src/video/video.c), not linked: linked, its
# libraries added 19 MB to the resident size of every facegate process, the server included.
# Usage: ffmpeg-loaded-on-demand.sh FACEGATE_BINARY
set -eu
bin=$1
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "readelf found no NEEDED entries in $bin" >&2; exit 1; }
bad=$(echo "$needed" | grep -E '^lib(avformat|avcodec|avutil|swscale|swresample)\.' || true)
if [ -n "$bad" ]; then
    echo "$bin links FFmpeg (it should dlopen it at the first video): $bad" >&2
    exit 1
fi
echo "$bin needs: $(echo "$needed" | tr '\n' ' ')"
