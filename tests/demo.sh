#!/usr/bin/env bash
# The main job on the embedded default: installs what is missing, builds and installs the
# extension into Debian's PostgreSQL 15, starts a scratch cluster (pg_cron preloaded) and
# Azurite, writes a realistic sample container, configures, runs SELECT azure_sync.run()
# and shows the rows. `tests/demo.sh stop` stops the demo's PostgreSQL and Azurite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export AZURE_SYNC_WORKDIR="${AZURE_SYNC_WORKDIR:-/tmp/azure_sync_work}"
if [ "${1:-}" = stop ]; then
  exec "$here/.venv/bin/python" "$here/demo.py" stop
fi
"$here/setup.sh"
echo "[demo] building and installing the extension"
(cd "$root" && cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config >/dev/null)
mkdir -p "$AZURE_SYNC_WORKDIR"
cd "$here"
exec "$here/.venv/bin/python" "$here/demo.py"
