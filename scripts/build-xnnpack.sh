#!/usr/bin/env bash
# Build a faster XNNPACK for facegate into third_party/xnnpack/ (git-ignored).
#
# Why: Debian bookworm's libxnnpack (git20220216, built with GCC 12) spills an
# accumulator to the stack in the f32 5x16 FMA3 GEMM inner loop and reaches ~30
# GFLOPS; XNNPACK git20241108 (Debian trixie's source) built with clang reaches
# ~80 GFLOPS on the same 1x1 convolutions (SSD ~1.8-2x faster, same outputs
# within the golden tolerances).
#
# What it does (idempotent, quiet; the log goes to $OUT/build.log):
#   1. with a private apt configuration (nothing is added to /etc/apt), reads
#      Debian trixie's index and fetches, through apt-get, the xnnpack source
#      tarball and the binary packages of cpuinfo, pthreadpool and FXdiv that
#      it needs (trixie's cpuinfo/pthreadpool run on bookworm's glibc);
#   2. builds libXNNPACK.so with clang (Release, production microkernels only,
#      no tests/benchmarks, no AVX-512/VNNI/AMX kernels) with RUNPATH $ORIGIN so
#      it finds its own libcpuinfo/libpthreadpool next to it;
#   3. prints the cmake arguments to build facegate against it.
#
# Env: XNNPACK_OUT (default <repo>/third_party/xnnpack), XNNPACK_DEB_VERSION,
#      JOBS (default nproc).  Needs root for apt-get install of missing tools.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${XNNPACK_OUT:-$ROOT/third_party/xnnpack}"
XNN_VERSION="${XNNPACK_DEB_VERSION:-0.0~git20241108.4ea82e5-2}"
JOBS="${JOBS:-$(nproc)}"
SUITE=trixie
# The Debian mirror this machine's apt already uses (DEBIAN_MIRROR overrides).
system_mirror() {
    local u
    u=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}')
    [ -n "$u" ] || u=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
        /etc/apt/sources.list 2>/dev/null)
    echo "$u"
}
MIRROR="${DEBIAN_MIRROR:-$(system_mirror)}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

CONFIG="xnnpack=$XNN_VERSION suite=$SUITE cc=clang opts=v1"
LOG="$OUT/build.log"

cmake_args() {
    echo "-DXNNPACK_LIB=$OUT/lib/libXNNPACK.so -DPTHREADPOOL_LIB=$OUT/lib/libpthreadpool.so" \
         "\"-DCMAKE_C_FLAGS=-I$OUT/include -Wno-deprecated-declarations\""
}

if [ -f "$OUT/lib/libXNNPACK.so" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$CONFIG" ]; then
    cmake_args
    exit 0
fi

[ -n "$MIRROR" ] || { echo "build-xnnpack: no Debian mirror found in /etc/apt (set DEBIAN_MIRROR)" >&2; exit 1; }
mkdir -p "$OUT"
: > "$LOG"
fail() {
    echo "build-xnnpack: $1 (log: $LOG)" >&2
    tail -n 30 "$LOG" >&2 || true
    exit 1
}
run() { "$@" >> "$LOG" 2>&1; }

# --- tools
need=()
command -v cmake   >/dev/null || need+=(cmake)
command -v ninja   >/dev/null || need+=(ninja-build)
command -v clang   >/dev/null || need+=(clang)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    run apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq "${need[@]}" \
        || fail "cannot install ${need[*]}"
fi

# --- private apt configuration for Debian trixie (binary + source indexes)
APT="$OUT/.apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/dl"
cat > "$APT/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $SUITE main
deb-src [signed-by=$KEYRING] $MIRROR $SUITE main
EOF
A=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
   -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache"
   -o "APT::Sandbox::User=root")
run apt-get "${A[@]}" update || fail "apt-get update ($SUITE) failed"

# --- fetch: xnnpack source tarball (apt checks it against the signed index;
#     the mirror here serves the orig tarball but not the .dsc, so apt-get's
#     exit status is ignored and the tarball is looked for instead)
cd "$APT/dl"
upstream="${XNN_VERSION%-*}"
tarball="xnnpack_${upstream}.orig.tar.xz"
if [ ! -f "$tarball" ]; then
    run apt-get "${A[@]}" source --download-only "xnnpack=$XNN_VERSION" || true
    [ -f "$tarball" ] || fail "could not fetch $tarball"
fi
rm -f ./*.deb
run apt-get "${A[@]}" download libcpuinfo0 libcpuinfo-dev libpthreadpool0 libpthreadpool-dev \
    libfxdiv-dev || fail "could not fetch cpuinfo/pthreadpool/fxdiv packages"

# --- unpack
DEPS="$OUT/.deps"
rm -rf "$OUT/src" "$DEPS" "$OUT/lib" "$OUT/include"
mkdir -p "$OUT/src" "$DEPS/x" "$OUT/lib" "$OUT/include"
run tar -xf "$tarball" -C "$OUT/src" || fail "cannot unpack $tarball"
XSRC="$OUT/src"
[ -f "$XSRC/CMakeLists.txt" ] || XSRC="$(dirname "$(find "$OUT/src" -maxdepth 2 -name CMakeLists.txt | head -n 1)")"
[ -f "$XSRC/CMakeLists.txt" ] || fail "no CMakeLists.txt in $tarball"
for deb in ./*.deb; do run dpkg-deb -x "$deb" "$DEPS/x" || fail "cannot unpack $deb"; done
cp -a "$DEPS/x"/usr/lib/x86_64-linux-gnu/libcpuinfo.so* \
      "$DEPS/x"/usr/lib/x86_64-linux-gnu/libpthreadpool.so* "$OUT/lib/"
cp "$DEPS/x"/usr/include/cpuinfo.h "$DEPS/x"/usr/include/pthreadpool.h \
   "$DEPS/x"/usr/include/fxdiv.h "$OUT/include/"

# --- build
off=""
for isa in AVX512F AVX512SKX AVX512VBMI AVX512VNNI AVX512VNNIGFNI AVX512AMX AVX512FP16 \
           AVXVNNI AVXVNNIINT8 AVX256SKX AVX256VNNI AVX256VNNIGFNI; do
    off="$off -DXNNPACK_ENABLE_$isa=OFF"
done
rm -rf "$OUT/build"
# shellcheck disable=SC2086
run cmake -S "$XSRC" -B "$OUT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_ASM_COMPILER=clang \
    -DCMAKE_INSTALL_PREFIX="$OUT" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_RPATH='$ORIGIN' \
    -DBUILD_SHARED_LIBS=ON -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DXNNPACK_BUILD_TESTS=OFF -DXNNPACK_BUILD_BENCHMARKS=OFF -DXNNPACK_BUILD_ALL_MICROKERNELS=OFF \
    -DXNNPACK_USE_SYSTEM_LIBS=ON -DXNNPACK_ENABLE_KLEIDIAI=OFF $off \
    -DCPUINFO_SOURCE_DIR="$OUT" -DPTHREADPOOL_SOURCE_DIR="$OUT" -DFXDIV_SOURCE_DIR="$OUT" \
    -DCPUINFO_LIBRARY="$OUT/lib/libcpuinfo.so" -DPTHREADPOOL_LIBRARY="$OUT/lib/libpthreadpool.so" \
    || fail "cmake configure failed"
run cmake --build "$OUT/build" -j "$JOBS" || fail "build failed"
run cmake --install "$OUT/build" || fail "install failed"
rm -f "$OUT/lib/libmicrokernels-prod.a"
rm -rf "$OUT/build" "$OUT/src" "$DEPS"
echo "$CONFIG" > "$OUT/.stamp"
cmake_args
