#!/usr/bin/env bash
# Cross-compiles the macOS sleep/wake and network-change helper (ffi/macos/power_events.c) on Linux for both Mac
# CPUs with clang and ld64.lld against the SDK stand-ins in stubs/: ffi/macos/power-events-build.sh [OUTDIR]
# → OUTDIR/darwin-{arm64,x64}/iscsi-power-events (default OUTDIR: ffi/build/check). A compile-and-link check: the
# helper has never run on a Mac. On a Mac it is built against the real SDK:
#   clang -O2 -o iscsi-power-events ffi/macos/power_events.c -framework IOKit -framework CoreFoundation -framework SystemConfiguration
set -euo pipefail
ffi="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$ffi/build/check}"
stubs="$ffi/macos/stubs"
cc=$(command -v clang clang-16 clang-15 clang-14 | head -n1) || true
ld=$(command -v ld64.lld ld64.lld-16 ld64.lld-15 ld64.lld-14 | head -n1) || true
[ -n "$cc" ] && [ -n "$ld" ] || { echo "power-events-build.sh: needs clang and ld64.lld (apt-get install clang lld)" >&2; exit 3; }
for arch in arm64 x86_64; do
  dir="$out/darwin-${arch/x86_64/x64}"
  mkdir -p "$dir"
  "$cc" -target "$arch-apple-macos11" -nostdlibinc -isystem "$stubs/include" -std=c11 -O2 -Wall -Wextra -Werror \
    -c "$ffi/macos/power_events.c" -o "$dir/power_events.o"
  "$ld" -arch "$arch" -platform_version macos 11.0 11.0 -execute -e _main "$dir/power_events.o" "$stubs/libSystem.tbd" \
    "$stubs/IOKit.tbd" "$stubs/CoreFoundation.tbd" "$stubs/SystemConfiguration.tbd" -o "$dir/iscsi-power-events"
  rm -f "$dir/power_events.o"
  echo "$dir/iscsi-power-events"
done
