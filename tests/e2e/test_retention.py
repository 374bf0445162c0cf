"""Snapshots and history that do not grow forever: days older than retain_days go with their
documents (a company's newest never does), in the embedded default and through the Storage
API; sync_jobs and pg_cron's history of our job older than history_days go too."""
import uuid
from datetime import date, datetime, timedelta, timezone

import generate
from conftest import configure, needs_pg_cron, run
from test_supabase import sb  # noqa: F401  (the Supabase stand-ins' fixture)

TODAY = date.today()
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def days_stored(db, company):
    return [r[0] for r in db.execute("SELECT schedule_date FROM azure_sync.schedule_data WHERE service_company_id = %s ORDER BY 1", [company]).fetchall()]


def export_days(db, cc, pop, company, days_ago, **settings):
    """Export one company's file for each of these days (oldest first), a run after each."""
    results = []
    for n, ago in enumerate(days_ago):
        generated = NOW - timedelta(hours=len(days_ago) - n)
        cc.upload_blob(f"{company['id']}_schedules.json", generate.schedule_file(pop, company, 2, TODAY - timedelta(days=ago), generated), overwrite=True)
        if settings:
            configure(db, **settings)
        results.append(run(db))
    return results


def fresh_container(azurite, db):
    name = f"keep-{uuid.uuid4().hex[:12]}"
    pop = generate.Population(31, companies=2, groups=1, users=4)
    cc = generate.write_container(azurite.service(), name, {})
    configure(db, azure_url=azurite.container_sas_url(name, "rl", expiry_hours=24 * 60))
    return pop, cc


def test_old_days_go_the_newest_stays_and_a_dry_run_only_reports(db, azurite):
    pop, cc = fresh_container(azurite, db)
    first, second = pop.companies
    export_days(db, cc, pop, first, [40, 35], retain_days=1000)
    export_days(db, cc, pop, second, [50], retain_days=1000)
    assert days_stored(db, first["id"]) == [TODAY - timedelta(days=40), TODAY - timedelta(days=35)]
    configure(db, retain_days=30)
    plan = run(db, dry_run="true")
    # Day -40 is past retention; -35 is the first company's newest and -50 the second's: kept.
    assert (plan["snapshots_expired"], plan["snapshots_removed"]) == (1, 0), plan
    assert len(days_stored(db, first["id"])) == 2
    real = run(db)
    assert (real["snapshots_expired"], real["snapshots_removed"]) == (1, 1), real
    assert days_stored(db, first["id"]) == [TODAY - timedelta(days=35)]
    assert days_stored(db, second["id"]) == [TODAY - timedelta(days=50)], "a company's newest snapshot stays, however old"
    paths = [r[0] for r in db.execute("SELECT path FROM azure_sync.stored_objects ORDER BY path").fetchall()]
    assert paths == sorted([f"{first['id']}/{TODAY - timedelta(days=35)}/schedule.json", f"{second['id']}/{TODAY - timedelta(days=50)}/schedule.json"])
    # A newer day arrives: the one before it is old enough to go at once.
    newer = export_days(db, cc, pop, first, [2])[0]
    assert newer["snapshots_removed"] == 1
    assert days_stored(db, first["id"]) == [TODAY - timedelta(days=2)]


def test_history_older_than_history_days_goes(db, azurite):
    pop, cc = fresh_container(azurite, db)
    for _ in range(3):
        run(db)
    db.execute("UPDATE azure_sync.sync_jobs SET started_at = now() - interval '100 days' WHERE id IN (SELECT min(id) FROM azure_sync.sync_jobs)")
    result = run(db)
    assert (result["history_runs_pruned"], result["cron_runs_pruned"]) == (1, 0), result
    assert db.execute("SELECT count(*) FROM azure_sync.sync_jobs").fetchone()[0] == 3


@needs_pg_cron
def test_our_pg_cron_history_older_than_history_days_goes(db, azurite):
    pop, cc = fresh_container(azurite, db)
    job = db.execute("SELECT azure_sync.schedule('0 3 * * *')").fetchone()[0]
    try:
        db.execute("INSERT INTO cron.job_run_details (jobid, runid, database, username, command, status, start_time, end_time) "
                   "VALUES (%s, 900001, current_database(), 'postgres', 'x', 'succeeded', now() - interval '100 days', now() - interval '100 days'), "
                   "(%s, 900002, current_database(), 'postgres', 'x', 'succeeded', now() - interval '1 day', now() - interval '1 day')", [job, job])
        result = run(db)
        assert result["cron_runs_pruned"] == 1, result
        assert db.execute("SELECT runid FROM cron.job_run_details WHERE jobid = %s", [job]).fetchall() == [(900002,)]
    finally:
        db.execute("DELETE FROM cron.job_run_details WHERE runid IN (900001, 900002)")
        db.execute("SELECT azure_sync.unschedule()")


def test_storage_objects_go_through_the_api_and_a_failed_delete_is_retried(sb, azurite):  # noqa: F811
    pop, cc = fresh_container(azurite, sb.db)
    first = pop.companies[0]
    export_days(sb.db, cc, pop, first, [45, 40], retain_days=1000)
    old_path = f"{first['id']}/{TODAY - timedelta(days=45)}/schedule.json"
    assert sb.db.execute("SELECT count(*) FROM storage.objects WHERE name = %s", [old_path]).fetchone()[0] == 1
    sb.storage.fail_ids.add(old_path)
    configure(sb.db, retain_days=30)
    failed = run(sb.db)
    assert failed["snapshots_removed"] == 0 and any("kept for the next run" in w for w in failed["warnings"]), failed
    assert len(days_stored(sb.db, first["id"])) == 2, "the row stays while its object does"
    sb.storage.fail_ids.clear()
    retried = run(sb.db)
    assert retried["snapshots_removed"] == 1, retried
    assert days_stored(sb.db, first["id"]) == [TODAY - timedelta(days=40)]
    assert sb.db.execute("SELECT count(*) FROM storage.objects WHERE name = %s", [old_path]).fetchone()[0] == 0
    assert sb.storage.count("DELETE") == 2
