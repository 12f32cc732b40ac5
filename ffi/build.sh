#!/usr/bin/env bash
# Builds the attach layer's native library: ffi/build.sh <os>-<arch> [outdir] → <outdir>/libiscsi_attach.{so,dylib}
# (default outdir ffi/build/<os>-<arch>). One list of sources per platform; linux-x64 is built and tested here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
platform="${1:?usage: ffi/build.sh <os>-<arch> [outdir]   (linux-x64, linux-arm64, darwin-arm64, darwin-x64)}"
out="${2:-$here/build/$platform}"

common=(ring.c fuse_backend.c)
cflags=(-std=c11 -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=default -I"$here")

case "$platform" in
  linux-x64 | linux-arm64)
    sources=("${common[@]}")
    lib=libiscsi_attach.so
    cc="${CC:-gcc}"
    fuse_cflags=$(pkg-config --cflags fuse3)
    fuse_libs=$(pkg-config --libs fuse3)
    # shellcheck disable=SC2206
    link=(-shared -Wl,-soname,$lib -pthread $fuse_libs)
    # shellcheck disable=SC2206
    cflags+=(-D_POSIX_C_SOURCE=200809L $fuse_cflags)
    ;;
  darwin-arm64 | darwin-x64)
    if [ "$(uname -s)" != Darwin ]; then
      # The darwin library links macFUSE/FUSE-T's libfuse, whose headers and stubs exist only on a Mac; from
      # Linux only the IOKit client is cross-compiled, as a check (ffi/macos/build-check.sh).
      echo "ffi/build.sh: $platform is built on a Mac (needs macFUSE or FUSE-T); ffi/macos/build-check.sh cross-checks the IOKit client from here" >&2
      exit 3
    fi
    # macFUSE or FUSE-T provide fuse3 through pkg-config as well; the IOKit client joins this list later.
    sources=("${common[@]}")
    lib=libiscsi_attach.dylib
    cc="${CC:-clang}"
    fuse_cflags=$(pkg-config --cflags fuse3)
    fuse_libs=$(pkg-config --libs fuse3)
    # shellcheck disable=SC2206
    link=(-dynamiclib -install_name "@rpath/$lib" $fuse_libs)
    # shellcheck disable=SC2206
    cflags+=($fuse_cflags)
    ;;
  *)
    echo "ffi/build.sh: unknown platform $platform" >&2
    exit 2
    ;;
esac

mkdir -p "$out"
tmp="$out/.$lib.$$"
(cd "$here" && "$cc" "${cflags[@]}" "${sources[@]}" -o "$tmp" "${link[@]}")
mv -f "$tmp" "$out/$lib"
echo "$out/$lib"
