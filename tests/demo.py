"""The main job on the embedded default, end to end: Azurite with a realistic sample
container, a scratch cluster with pg_cron, the extension configured, one run, the rows shown.
Called by tests/demo.sh after set-up; `demo.sh stop` stops what this starts."""
import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import harness
import generate

WORK = Path(os.environ.get("AZURE_SYNC_WORKDIR", "/tmp/azure_sync_work"))
CLUSTER = harness.Cluster(WORK / "demo", port=28815, dbname="azure_sync_demo")
CONTAINER = "mc-backup-data"


def psql(sql, title):
    print(f"\n-- {title}\n{sql}")
    sys.stdout.flush()
    subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(CLUSTER.port), "-U", "postgres", "-d", CLUSTER.dbname,
                    "-P", "pager=off", "-c", sql], check=True)


def azurite_running():
    pid_file = WORK / "demo" / "azurite.pid"
    if pid_file.exists():
        port = int((WORK / "demo" / "azurite.port").read_text())
        try:
            harness.wait_for_port(port, seconds=1)
            return harness.Azurite(WORK / "demo", port=port)
        except RuntimeError:
            pass
    return None


def start():
    CLUSTER.ensure_started()
    azurite = azurite_running()
    if azurite is None:
        azurite = harness.Azurite(WORK / "demo").start()
        (WORK / "demo" / "azurite.pid").write_text(str(azurite.proc.pid))
        (WORK / "demo" / "azurite.port").write_text(str(azurite.port))
    print(f"Azurite blob service on port {azurite.port}; PostgreSQL 15 with pg_cron on port {CLUSTER.port}")

    pop = generate.Population(seed=7, companies=20, groups=4, users=200)
    blobs = generate.build(pop, jobs_per_day=10, start=date.today(), generated_at=datetime.now(timezone.utc))
    generate.write_container(azurite.service(), CONTAINER, blobs)
    print(f"wrote {len(blobs)} blobs ({sum(map(len, blobs.values())) / 1e6:.1f} MB) to container {CONTAINER} "
          "with the official azure-storage-blob client")

    CLUSTER.fresh_extension()
    with CLUSTER.connect() as c:
        c.execute("SELECT * FROM azure_sync.configure(azure_url => %s)", (azurite.container_sas_url(CONTAINER, "rl", 24 * 90),))

    psql("SELECT name, value, stored_in FROM azure_sync.show_config() WHERE name IN ('azure_url', 'bucket', 'sas_expires_at')",
         "configuration (secrets masked)")
    psql("SELECT jsonb_pretty(azure_sync.run() - 'users')", "the sync, as pg_cron would run it")
    psql("SELECT jsonb_pretty(azure_sync.run() - 'users' - 'timings')", "again: nothing changed, nothing downloaded")
    psql("SELECT (SELECT count(*) FROM azure_sync.service_company_groups) AS groups, "
         "(SELECT count(*) FROM azure_sync.companies) AS companies, (SELECT count(*) FROM azure_sync.user_profiles) AS users, "
         "(SELECT count(*) FROM azure_sync.company_memberships) AS memberships, (SELECT count(*) FROM azure_sync.schedule_data) AS schedules, "
         "(SELECT pg_size_pretty(sum(size_bytes)) FROM azure_sync.stored_objects) AS stored", "rows written")
    psql("SELECT service_company_id, schedule_date, date_range_end, generated_at, job_count, storage_path, size_bytes "
         "FROM azure_sync.schedule_data ORDER BY service_company_id LIMIT 5", "schedule_data (first 5)")
    psql("SELECT p.email, p.full_name, m.company_id, m.roles FROM azure_sync.user_profiles p "
         "JOIN azure_sync.company_memberships m ON m.user_id = p.id ORDER BY p.email LIMIT 5", "users and memberships (first 5)")
    psql("SELECT id, status, trigger, duration, blobs_listed, blobs_downloaded, schedules_applied, users_created FROM azure_sync.recent_runs",
         "sync_jobs")
    print(f"\nExplore: psql -h 127.0.0.1 -p {CLUSTER.port} -U postgres {CLUSTER.dbname}"
          "\nStop the demo's PostgreSQL and Azurite: tests/demo.sh stop")


def stop():
    CLUSTER.stop()
    azurite = azurite_running()
    if azurite is not None:
        pid = int((WORK / "demo" / "azurite.pid").read_text())
        try:
            os.killpg(pid, 15)
        except ProcessLookupError:
            pass
    print("stopped")


if __name__ == "__main__":
    stop() if sys.argv[1:] == ["stop"] else start()
