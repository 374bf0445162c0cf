#!/usr/bin/env bash
# Release packages of azure_sync, one per PostgreSQL major:
#   tests/package.sh [--test] [15] [17]        (both majors when none is named)
# builds each with `cargo pgrx package` (release) into target/package/pgNN/, a tree of the
# files to copy into a server of that major at the same paths (the .so into its library
# folder, the control file and SQL scripts into its extension folder), and prints what the
# .so links and the newest glibc symbol version it needs: only libc, libm, libgcc_s and the
# loader, and nothing newer than glibc 2.36, or it will not load on Supabase's image.
# --test then installs each package into a copy of that PostgreSQL by copying its files only
# (no cargo, no source tree) and runs CREATE EXTENSION and a sync against Azurite
# (tests/package_check.py).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
test=false
majors=()
for arg in "$@"; do
  case "$arg" in
    --test) test=true ;;
    15|17) majors+=("$arg") ;;
    *) echo "usage: tests/package.sh [--test] [15] [17]" >&2; exit 2 ;;
  esac
done
[ ${#majors[@]} -gt 0 ] || majors=(15 17)

. "$here/postgres.sh"

python="$here/.venv/bin/python"
[ -x "$python" ] || python=python3
for major in "${majors[@]}"; do
  pg_config="$(pg_config_of "$major")"
  out="$root/target/package/pg$major"
  echo "== package for PostgreSQL $major: $out"
  rm -rf "$out"
  (cd "$root" && cargo pgrx package --pg-config "$pg_config" --out-dir "$out" >/dev/null)
  if $test; then
    "$python" "$here/package_check.py" --install "$out" "$pg_config"
  else
    "$python" "$here/package_check.py" "$out" "$pg_config"
  fi
done
