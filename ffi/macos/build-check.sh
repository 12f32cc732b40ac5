#!/usr/bin/env bash
# Cross-compiles the macOS C code (ring + HBA bridge + IOKit client) on Linux with clang and ld64.lld against
# the hand-written SDK stand-ins in stubs/ (see stubs/README.md): ffi/macos/build-check.sh <arm64|x86_64>... [--out DIR]
# → DIR/darwin-<arch>/libiscsi_hba.dylib (default DIR: ffi/build/check). A compile-and-link check only: the
# output has never run on a Mac, and a Mac build uses the real SDK through ffi/build.sh.
set -euo pipefail
ffi="$(cd "$(dirname "$0")/.." && pwd)"
out="$ffi/build/check"
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    arm64 | x86_64) arches+=("$1"); shift ;;
    *) echo "build-check.sh: unknown argument $1 (arches: arm64 x86_64; --out DIR)" >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(arm64 x86_64)

find_tool() {
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then echo "$name"; return; fi
  done
  echo "build-check.sh: none of $* found (apt-get install clang lld)" >&2
  exit 3
}
cc=$(find_tool clang clang-16 clang-15 clang-14)
ld=$(find_tool ld64.lld ld64.lld-16 ld64.lld-15 ld64.lld-14)

# shellcheck source=sources.sh
source "$ffi/macos/sources.sh"
sources=(ring.c "${ISCSI_DARWIN_SOURCES[@]}")
stubs="$ffi/macos/stubs"
lib=libiscsi_hba.dylib

for arch in "${arches[@]}"; do
  dir="$out/darwin-${arch/x86_64/x64}"
  objs="$dir/obj"
  mkdir -p "$objs"
  for src in "${sources[@]}"; do
    # -nostdlibinc: clang's own headers (stdint.h, stdarg.h, ...) but no Linux system header may leak in.
    "$cc" -target "$arch-apple-macos11" -nostdlibinc -isystem "$stubs/include" -I "$ffi" \
      -std=c11 -O2 -Wall -Wextra -Werror -fPIC -c "$ffi/$src" -o "$objs/$(basename "${src%.c}").o"
  done
  "$ld" -arch "$arch" -platform_version macos 11.0 11.0 -dylib -install_name "@rpath/$lib" \
    "$objs"/*.o "$stubs/IOKit.tbd" "$stubs/libSystem.tbd" -o "$dir/$lib"
  rm -rf "$objs"
  echo "$dir/$lib"
done
