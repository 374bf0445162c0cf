#!/usr/bin/env bash
# Builds the library of a released version from its commit, for the upgrade test: the code a
# database of that release runs. Prints the path of the .so. Cached per version (the build
# has a target folder of its own, so it never touches the current build's artifacts).
#   tests/previous_release.sh 0.1.0 1f007e9c6f569f88bf4ce081e3d5ea5ecc203f47
set -euo pipefail
version="$1"
commit="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="${AZURE_SYNC_WORKDIR:-/tmp/azure_sync_work}/release-$version"
so="$work/libazure_sync.so"
if [ -f "$so" ] && [ "$(cat "$work/commit" 2>/dev/null)" = "$commit" ]; then
  echo "$so"
  exit 0
fi
rm -rf "$work"
mkdir -p "$work/src"
git -C "$root" archive "$commit" | tar -x -C "$work/src"
echo "[upgrade test] building the $version library from commit ${commit:0:12} (once; cached)" >&2
CARGO_TARGET_DIR="$root/target/release-$version" cargo build --lib --quiet --manifest-path "$work/src/Cargo.toml" >&2
cp "$root/target/release-$version/debug/libazure_sync.so" "$so"
echo "$commit" > "$work/commit"
echo "$so"
