#!/bin/sh
# Builds the native TCP shim for src/transport/native.ts: ffi/build/<os>-<arch>/libiscsi_net.so.
# Linux only (epoll); needs a C compiler (cc, or $CC) and pthreads. Usage: sh ffi/net/build.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
if [ "$os" != linux ]; then
  echo "ffi/net/build.sh: the native transport is Linux-only (found $os)" >&2
  exit 1
fi
out="$here/../build/$os-$arch"
mkdir -p "$out"
${CC:-cc} -O2 -g -Wall -Wextra -Werror -std=c11 -shared -fPIC -o "$out/libiscsi_net.so" "$here/native_tcp.c" -lpthread
echo "$out/libiscsi_net.so"
