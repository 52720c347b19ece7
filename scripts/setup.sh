#!/usr/bin/env bash
# Installs what facegate needs to build, run and test, when it is missing:
#   - Debian packages (apt-get as root; otherwise prints the exact command and fails),
#   - the npm packages pinned in package-lock.json (model weights, reference implementation,
#     playwright-core) and web/package-lock.json (the React app).
# Idempotent and quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake pkg-config
    libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
    libturbojpeg0-dev libjpeg62-turbo-dev libspng-dev libwebp-dev libexif-dev
    libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libsystemd-dev systemd
    libpq-dev postgresql wrk
    libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
    nodejs npm
    chromium ffmpeg curl
    clang ninja-build python3
    libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
    # nodejs/npm may come from outside Debian (e.g. a newer Node); accept any working node.
    if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
    if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "setup: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: missing Debian packages. Run:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

# npm ci when node_modules is absent or older than the lockfile.
npm_ci() {
    local dir=$1
    [ -f "$dir/package-lock.json" ] || return 0
    if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
        [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "setup: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}
npm_ci .
npm_ci web
npm_ci examples/oidc-rp

# A faster XNNPACK (see scripts/build-xnnpack.sh); the build falls back to Debian's without it.
if [ "${FG_SYSTEM_XNNPACK:-0}" != 1 ] && [ "$(id -u)" -eq 0 ]; then
    if [ ! -f third_party/xnnpack/.stamp ]; then
        echo "setup: building XNNPACK with clang into third_party/xnnpack (a few minutes, once)"
    fi
    scripts/build-xnnpack.sh >/dev/null ||
        echo "setup: building XNNPACK failed; using Debian's libxnnpack (about half the speed)" >&2
fi
exit 0
