#!/usr/bin/env bash
# Every test of azure_sync, on a fresh machine or a warm one:
#   1. installs what is missing (tests/setup.sh),
#   2. unit tests and #[pg_test]s (cargo pgrx test, server run as the postgres user),
#   3. installs the extension into Debian's PostgreSQL 15,
#   4. end-to-end tests (pytest) on a scratch cluster with pg_cron, Azurite and the stand-ins.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="${AZURE_SYNC_WORKDIR:-/tmp/azure_sync_work}"
export AZURE_SYNC_WORKDIR="$work"

"$here/setup.sh"

mkdir -p "$work/pgrx-test"
chown postgres:postgres "$work" "$work/pgrx-test"

echo "== unit tests and pg_tests"
(cd "$root" && cargo pgrx test pg15 --runas postgres --pgdata "$work/pgrx-test/pgdata")

echo "== installing the extension into PostgreSQL 15"
(cd "$root" && cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config >/dev/null)

echo "== end-to-end tests"
cd "$here"
exec "$here/.venv/bin/python" -m pytest e2e -q -p no:cacheprovider "$@"
