#!/usr/bin/env bash
# Release artefacts in dist/release/: one tarball per target (the executable, LICENSE, README, CHANGELOG),
# SHA256SUMS plus one .sha256 per tarball, and iscsi.rb (Formula/iscsi.rb with version, URLs and checksums).
#
#   scripts/release.sh --repo OWNER/NAME [--allow-dirty] [--no-build] [--out DIR]
#
# Refuses a dirty tree (uncommitted or untracked files) unless --allow-dirty: a release is one commit.
# --no-build packs the binaries already in dist/ (their version is checked where they can run).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(linux-x64 darwin-arm64 darwin-x64)
allow_dirty=0 build=1 repo="" out=dist/release
while [ $# -gt 0 ]; do
  case "$1" in
    --allow-dirty) allow_dirty=1 ;;
    --no-build) build=0 ;;
    --repo) repo=${2:?--repo needs OWNER/NAME}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "release: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
say() { echo "release: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $repo =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "name the GitHub repository the tarballs are published in: --repo OWNER/NAME"
if [ -n "$(git status --porcelain)" ]; then
  if [ $allow_dirty -eq 0 ]; then
    git status --short >&2
    die "the working tree has uncommitted or untracked files; commit them, or pass --allow-dirty for a trial run"
  fi
  say "warning: packing a dirty tree (--allow-dirty)"
fi
version=$(sed -n 's/^  "version": "\([^"]*\)",\{0,1\}$/\1/p' package.json)
[ -n "$version" ] || die "cannot read the version from package.json"
commit=$(git rev-parse --short HEAD)
say "iscsi $version at $commit"

if [ $build -eq 1 ]; then
  bun=$(command -v bun || echo node_modules/.bin/bun)
  [ -x "$bun" ] || die "bun not found: run \`bash .ci/setup\` (or npm ci) first"
  "$bun" scripts/build.ts >&2
fi

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }
# GNU tar can make the archive independent of who packed it and when (the commit's time stands for all files).
tar_flags=()
if tar --version 2>/dev/null | grep -q GNU; then
  tar_flags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$(git log -1 --format=%ct)")
fi

rm -rf "$out"
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
host="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')"
for t in "${targets[@]}"; do
  bin="dist/iscsi-$t"
  [ -f "$bin" ] || die "$bin is missing: run without --no-build (or \`bun run build\`)"
  if [ "$t" = "$host" ]; then
    got=$("./$bin" --version)
    [ "$got" = "iscsi $version" ] || die "$bin --version says \"$got\", expected \"iscsi $version\": rebuild"
  fi
  name="iscsi-$version-$t"
  mkdir -p "$stage/$name"
  cp "$bin" "$stage/$name/iscsi"
  chmod 755 "$stage/$name/iscsi"
  cp LICENSE README.md CHANGELOG.md "$stage/$name/"
  # ${a[@]+…}: an empty array is "unbound" under set -u in bash 3.2 (macOS).
  tar -C "$stage" ${tar_flags[@]+"${tar_flags[@]}"} -czf "$out/$name.tar.gz" "$name"
  sum=$(sha256 "$out/$name.tar.gz")
  echo "$sum  $name.tar.gz" > "$out/$name.tar.gz.sha256"
  say "$out/$name.tar.gz $(du -h "$out/$name.tar.gz" | cut -f1) sha256 $sum"
done
(cd "$out" && cat ./*.sha256) > "$out/SHA256SUMS"

# Plain variables, not an associative array: macOS still ships bash 3.2.
sum_of() { cut -d' ' -f1 "$out/iscsi-$version-$1.tar.gz.sha256"; }
sed -e "s|@VERSION@|$version|g" -e "s|@REPO@|$repo|g" \
    -e "s|@SHA256_LINUX_X64@|$(sum_of linux-x64)|" -e "s|@SHA256_DARWIN_ARM64@|$(sum_of darwin-arm64)|" \
    -e "s|@SHA256_DARWIN_X64@|$(sum_of darwin-x64)|" Formula/iscsi.rb > "$out/iscsi.rb"
if grep -q '@[A-Z0-9_]*@' "$out/iscsi.rb"; then die "placeholders left in $out/iscsi.rb"; fi
if command -v ruby >/dev/null; then ruby -c "$out/iscsi.rb" >/dev/null || die "$out/iscsi.rb does not parse"; fi
say "formula: $out/iscsi.rb (copy it into the tap; see docs/macos-release.md)"
ls -1 "$out"
