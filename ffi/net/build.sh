#!/bin/sh
# Builds the native TCP shim for src/transport/native.ts: ffi/net/build.sh [<os>-<arch> [outdir]] →
# <outdir>/libiscsi_net.so (default: this host's platform, outdir ffi/build/<os>-<arch>). Linux only (epoll);
# needs a C compiler (cc, or $CC) and pthreads. scripts/build.ts runs it per target and embeds the result.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
platform=${1:-$os-$arch}
case $platform in
  linux-*) ;;
  *)
    echo "ffi/net/build.sh: the native transport is Linux-only (asked for $platform)" >&2
    exit 1
    ;;
esac
if [ "$os" != linux ]; then
  echo "ffi/net/build.sh: $platform is built on Linux (found $os)" >&2
  exit 1
fi
out=${2:-$here/../build/$platform}
mkdir -p "$out"
tmp="$out/.libiscsi_net.so.$$"
${CC:-cc} -O2 -g -Wall -Wextra -Werror -std=c11 -shared -fPIC -Wl,-soname,libiscsi_net.so -o "$tmp" "$here/native_tcp.c" "$here/bound_connect.c" -lpthread
mv -f "$tmp" "$out/libiscsi_net.so"
echo "$out/libiscsi_net.so"
