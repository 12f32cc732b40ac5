#!/usr/bin/env bash
# The NFS attach route on a real Mac, end to end: attach a LUN through the daemon's loopback NFS server and
# DiskImages, erase it as APFS, write a file, F_FULLFSYNC it and watch the COMMIT counter rise, detach,
# re-attach, and verify the file. Prints a report to paste into an issue. DESTROYS the LUN's data.
#
#   sudo scripts/macos-smoke.sh IQN LUN --yes      (the daemon must run and know the node: iscsi -m discovery ...)
#
# Needs only what macOS ships: diskutil, hdiutil (through the daemon), perl (F_FULLFSYNC), osascript (JSON).
set -euo pipefail

ISCSI=${ISCSI:-iscsi}
[ $# -eq 3 ] && [ "$3" = --yes ] || { echo "usage: sudo $0 IQN LUN --yes   (erases the LUN)" >&2; exit 64; }
IQN=$1
LUN=$2
VOL=ISCSISMOKE$$
report=()
say() { echo "smoke: $*" >&2; report+=("$*"); }
fail() { say "FAILED: $*"; print_report; exit 1; }

# JSON field from stdin-free osascript: jget JSON 'expression over o'
jget() { osascript -l JavaScript -e 'function run(argv) { const o = JSON.parse(argv[0]); return String(eval(argv[1])); }' "$1" "$2"; }

print_report() {
  echo
  echo '### macos-smoke.sh report'
  echo
  echo "- macOS $(sw_vers -productVersion) ($(sw_vers -buildVersion)), $(uname -m); $($ISCSI --version 2>&1 | head -1)"
  for line in "${report[@]}"; do echo "- $line"; done
  echo
}

attach() {
  local json
  json=$($ISCSI attach "$IQN" "$LUN" --via nfs --json) || fail "iscsi attach --via nfs failed"
  ID=$(jget "$json" 'o.id')
  DEV=$(jget "$json" 'o.device')
  URL=$(jget "$json" 'o.export.url')
  [ "$DEV" != undefined ] || fail "attach gave no device: $json"
  say "attached as $DEV (attachment $ID, export $URL)"
}

commits() {
  jget "$($ISCSI attach --list --json)" "o.find((a) => a.id === $ID).nfs.commits"
}

[ "$(id -u)" -eq 0 ] || { echo "run with sudo: mount_nfs and hdiutil run as root in the daemon, diskutil here" >&2; exit 77; }
mounted_nfs=$(mount | grep -c '127.0.0.1:/iscsi/' || true)
say "NFS mounts of ours before: $mounted_nfs"

t0=$(date +%s)
attach
say "attach took $(( $(date +%s) - t0 )) s; mount line: $(mount | grep '127.0.0.1:/iscsi/' | head -1)"

diskutil eraseDisk APFS "$VOL" GPT "$DEV" >/dev/null || fail "diskutil eraseDisk APFS on $DEV"
say "diskutil eraseDisk APFS $VOL GPT $DEV: ok"
MNT="/Volumes/$VOL"
[ -d "$MNT" ] || fail "$MNT is not mounted after eraseDisk"

t0=$(date +%s)
dd if=/dev/urandom of="$MNT/smoke.bin" bs=1m count=64 2>/dev/null || fail "writing 64 MiB to $MNT"
sum=$(shasum -a 256 "$MNT/smoke.bin" | cut -d' ' -f1)
before=$(commits)
# F_FULLFSYNC is fcntl 51 on macOS: the barrier that must reach the image file as COMMIT.
perl -e 'use Fcntl; open(my $f, "<", $ARGV[0]) or die "$!"; defined(fcntl($f, 51, 0)) or die "F_FULLFSYNC: $!"' "$MNT/smoke.bin" || fail "F_FULLFSYNC"
after=$(commits)
say "64 MiB written and F_FULLFSYNC'd in $(( $(date +%s) - t0 )) s; sha256 $sum"
if [ "$after" -gt "$before" ]; then say "COMMIT counter rose with F_FULLFSYNC: $before -> $after (the barrier reaches the target)"
else say "COMMIT counter did NOT rise with F_FULLFSYNC: $before -> $after (DiskImages does not pass the barrier on)"; fi

$ISCSI detach "$ID" >/dev/null || fail "iscsi detach $ID"
say "detached; NFS mounts of ours left: $(mount | grep -c '127.0.0.1:/iscsi/' || true)"

attach
diskutil mountDisk "$DEV" >/dev/null || fail "diskutil mountDisk $DEV after re-attach"
again=$(shasum -a 256 "$MNT/smoke.bin" | cut -d' ' -f1) || fail "reading $MNT/smoke.bin after re-attach"
if [ "$again" = "$sum" ]; then say "after detach and re-attach the file reads back identical"; else fail "sha256 after re-attach is $again, not $sum"; fi
$ISCSI attach --list | sed 's/^/    /' >&2
$ISCSI detach "$ID" >/dev/null || fail "final iscsi detach $ID"
say "final detach ok; counters are in the listing above"
print_report
