#!/bin/sh
# Builds the benchmark null target: bench/null-target/build.sh [outdir] → <outdir>/null-target (default
# bench/build). Linux only (epoll); needs a C compiler (cc, or $CC).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build}
mkdir -p "$out"
tmp="$out/.null-target.$$"
${CC:-cc} -O2 -g -Wall -Wextra -Werror -std=gnu11 -o "$tmp" "$here"/main.c "$here"/pdu.c "$here"/command.c "$here"/login.c "$here"/scsi.c
mv -f "$tmp" "$out/null-target"
echo "$out/null-target"
