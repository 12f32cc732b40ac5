#!/usr/bin/env bash
# Cross-compiles the macOS sleep/wake and network-change helper (ffi/macos/power_events.c) on Linux with clang
# and ld64.lld against the SDK stand-ins in stubs/: ffi/macos/power-events-build.sh <arm64|x86_64>... [--out DIR]
# → DIR/darwin-<arch>/iscsi-power-events (default DIR: ffi/build/check). A compile-and-link check only: the
# helper has never run on a Mac; a Mac build uses the real SDK:
#   clang -O2 -o iscsi-power-events ffi/macos/power_events.c -framework IOKit -framework CoreFoundation -framework SystemConfiguration
set -euo pipefail
ffi="$(cd "$(dirname "$0")/.." && pwd)"
out="$ffi/build/check"
arches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    arm64 | x86_64) arches+=("$1"); shift ;;
    *) echo "power-events-build.sh: unknown argument $1 (arches: arm64 x86_64; --out DIR)" >&2; exit 2 ;;
  esac
done
[ ${#arches[@]} -gt 0 ] || arches=(arm64 x86_64)
cc=$(command -v clang || command -v clang-16 || command -v clang-15 || command -v clang-14) || { echo "power-events-build.sh: clang not found" >&2; exit 3; }
ld=$(command -v ld64.lld || command -v ld64.lld-16 || command -v ld64.lld-15 || command -v ld64.lld-14) || { echo "power-events-build.sh: ld64.lld not found (apt-get install lld)" >&2; exit 3; }
stubs="$ffi/macos/stubs"
for arch in "${arches[@]}"; do
  dir="$out/darwin-${arch/x86_64/x64}"
  mkdir -p "$dir"
  "$cc" -target "$arch-apple-macos11" -nostdlibinc -isystem "$stubs/include" -std=c11 -O2 -Wall -Wextra -Werror \
    -c "$ffi/macos/power_events.c" -o "$dir/power_events.o"
  "$ld" -arch "$arch" -platform_version macos 11.0 11.0 -execute -e _main "$dir/power_events.o" "$stubs/libSystem.tbd" \
    "$stubs/IOKit.tbd" "$stubs/CoreFoundation.tbd" "$stubs/SystemConfiguration.tbd" -o "$dir/iscsi-power-events"
  rm -f "$dir/power_events.o"
  echo "$dir/iscsi-power-events"
done
