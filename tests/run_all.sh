#!/usr/bin/env bash
# Every test of azure_sync, on a fresh machine or a warm one:
#   1. installs what is missing (tests/setup.sh),
#   2. for PostgreSQL 15 and then 17 (AZURE_SYNC_PG_MAJORS="15" runs one):
#      unit tests and #[pg_test]s (cargo pgrx test, server run as the postgres user),
#      the extension installed into that PostgreSQL,
#      end-to-end tests (pytest) on a scratch cluster with Azurite and the stand-ins; on 17,
#      which has no pg_cron here, pytest lists the tests it skips and why,
#   3. a compile check against PostgreSQL 16,
#   4. the release packages of 15 and 17, installed by copying files only (tests/package.sh).
# Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
work="${AZURE_SYNC_WORKDIR:-/tmp/azure_sync_work}"
export AZURE_SYNC_WORKDIR="$work"
majors="${AZURE_SYNC_PG_MAJORS:-15 17}"

"$here/setup.sh"

. "$here/postgres.sh"

mkdir -p "$work"
chown postgres:postgres "$work"
for major in $majors; do
  pg_config="$(pg_config_of "$major")"
  mkdir -p "$work/pgrx-test$major"
  chown postgres:postgres "$work/pgrx-test$major"

  echo "== PostgreSQL $major: unit tests and pg_tests"
  (cd "$root" && cargo pgrx test "pg$major" --runas postgres --pgdata "$work/pgrx-test$major/pgdata")

  echo "== PostgreSQL $major: installing the extension"
  (cd "$root" && cargo pgrx install --pg-config "$pg_config" >/dev/null)

  echo "== PostgreSQL $major: end-to-end tests"
  (cd "$here" && AZURE_SYNC_PG_CONFIG="$pg_config" AZURE_SYNC_E2E_PORT="289$major" \
     "$here/.venv/bin/python" -m pytest e2e -q -p no:cacheprovider "$@")
done

# PostgreSQL 16: the same source compiles against it (Cargo feature pg16); not run.
echo "== PostgreSQL 16: compile check"
(cd "$root" && cargo check --lib --quiet --no-default-features --features pg16)

echo "== release packages"
"$here/package.sh" --test $majors
