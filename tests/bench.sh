#!/usr/bin/env bash
# The benchmark (tests/bench.py): the extension built --release, the floor tool, then both
# scales. Writes tests/bench-results.md. Takes several minutes; not part of the test suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export AZURE_SYNC_WORKDIR="${AZURE_SYNC_WORKDIR:-/tmp/azure_sync_work}"
"$here/setup.sh"
echo "[bench] building and installing the extension (--release) and the floor tool"
(cd "$root" && cargo pgrx install --release --pg-config /usr/lib/postgresql/15/bin/pg_config >/dev/null)
(cd "$root" && cargo build --release --quiet --features pg15 --bin fetch_floor --bin parse_bench)
mkdir -p "$AZURE_SYNC_WORKDIR"
cd "$here"
exec "$here/.venv/bin/python" "$here/bench.py" "$@"
