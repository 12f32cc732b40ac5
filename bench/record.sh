#!/bin/sh
# Redoes every run of record in docs/performance.md, in the order the document shows them, and prints the
# tables as Markdown on stdout (progress on stderr). Run it on a quiet machine (nothing else busy), as root
# (tgtd, FUSE and loop devices), after `bash .ci/setup`; it takes about 45 minutes:
#
#   sh bench/record.sh > /tmp/runs-of-record.md
set -eu
cd "$(dirname "$0")/.."
run() {
  echo "\$ $*" >&2
  printf '\n#### `%s`\n\n' "$*"
  npx bun "$@"
}

echo "### Null target, one CPU (target and initiators on CPU 0)"
run bench/compare.ts --target null-target --rounds 3 --time 3 --warmup 1 --pin 0 --soak 60
echo "### Null target, two CPUs (target on CPU 0, initiators on CPU 1)"
run bench/compare.ts --target null-target --rounds 3 --time 3 --warmup 1 --pin 1 --pin-target 0
echo "### Two sessions on two CPUs against one (null target, 1 MiB reads)"
run bench/sessions.ts --target null-target --rounds 5 --time 4 --warmup 1 --profile read:1M:16 --sessions 2 --pin
echo "### One session with 1 connection against 2 (MC/S), 1 MiB reads, alternating"
port=$((20000 + $$ % 10000))
bench/build/null-target --port "$port" >/dev/null &
target=$!
sleep 0.5
for round in 1 2 3 4 5; do
  for c in 1 2; do
    printf 'round %s, %s connection(s): ' "$round" "$c"
    npx bun src/main.ts bench "iscsi://127.0.0.1:$port/iqn.2026-12.dev.iscsi:null/0" --rw read --bs 1M --qd 16 --time 4 --warmup 1 --connections "$c" --json |
      sed -n 's/.*"mbPerSecond": \([0-9.]*\).*/\1 MB\/s/p' | head -1
  done
done
kill "$target"
echo "### Disk paths (null target)"
run bench/attach-dd.ts --target null-target --rounds 3 --time 4
if [ -f bench/nfs-route.ts ]; then
  echo "### NFS route (libnfs checker against the engine, null target)"
  run bench/nfs-route.ts --target null-target --rounds 3 --mib 512 --depths 1,4
fi
echo "### tgtd, one CPU"
run bench/compare.ts --rounds 3 --time 3 --warmup 1 --pin 0 --backing null --bun
echo "### tgtd, two CPUs (tgtd on CPU 0, initiators on CPU 1)"
run bench/compare.ts --rounds 3 --time 3 --warmup 1 --pin 1 --pin-target 0 --backing null --bun
