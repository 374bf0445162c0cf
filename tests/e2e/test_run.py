"""azure_sync.run() end to end: Azurite with generated containers, a scratch cluster with
pg_cron preloaded."""
import json
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone


import generate
import harness
from conftest import SEEN_ERRORS, START, T0, configure, counts, run, sql_error
from stand_ins import DelayingProxy

def test_first_run_applies_everything_and_the_second_downloads_nothing(db, container):
    first = run(db)
    assert first["status"] == "succeeded", first["errors"]
    assert (first["blobs_listed"], first["blobs_ignored"], first["blobs_downloaded"]) == (10, 1, 9)
    assert first["schedules_applied"] == 8 and first["users_created"] == 40
    assert first["list_requests"] == 1 and first["get_requests"] == 9
    assert first["storage_backend"] == "embedded (azure_sync.stored_objects, bucket schedule-data)"
    assert first["auth_backend"] == "profiles only (no auth_url configured)"
    rows = counts(db)
    assert rows["schedule_data"] == 8 and rows["stored_objects"] == 8 and rows["user_profiles"] == 40
    assert rows["sync_jobs"] == 1 and rows["blob_state"] == 9
    # The stored documents are the blobs, byte for byte.
    stored = db.execute("SELECT path, content FROM azure_sync.stored_objects ORDER BY path").fetchall()
    for path, content in stored:
        company = path.split("/")[0]
        assert bytes(content) == container["blobs"][f"{company}_schedules.json"], path

    second = run(db)
    assert second["status"] == "succeeded"
    assert (second["blobs_downloaded"], second["blobs_unchanged"], second["get_requests"], second["list_requests"]) == (0, 9, 0, 1)

    # One blob changes: exactly that one is downloaded next time.
    pop = container["pop"]
    container["client"].upload_blob("3_schedules.json", generate.schedule_file(pop, pop.companies[2], 3, START, T0 + timedelta(minutes=15), version=1), overwrite=True)
    third = run(db)
    assert (third["blobs_downloaded"], third["schedules_applied"], third["get_requests"]) == (1, 1, 1)
    row = db.execute("SELECT generated_at FROM azure_sync.schedule_data WHERE service_company_id = 3").fetchone()[0]
    assert row == T0 + timedelta(minutes=15)
    assert db.execute("SELECT count(*) FROM azure_sync.sync_jobs WHERE status = 'succeeded'").fetchone()[0] == 3


def test_a_missing_users_file_deletes_nobody(db, container):
    assert run(db)["users_created"] == 40
    container["client"].delete_blob("users.json")
    result = run(db)
    assert result["status"] == "succeeded" and result["users_deleted"] == 0
    assert "users.json is not in the container: users were not synced and nobody was deleted" in result["warnings"]
    assert db.execute("SELECT count(*) FROM azure_sync.user_profiles").fetchone()[0] == 40


def test_one_listing_request_per_5000_blobs(db, azurite):
    name = f"run-{uuid.uuid4().hex[:12]}"
    pop = generate.Population(5, companies=3, groups=1, users=5)
    blobs = generate.build(pop, 1, START, T0)
    blobs.update({f"archive/{i:05d}.json": b"{}" for i in range(5003 - len(blobs))})
    generate.write_container(azurite.service(), name, blobs)
    configure(db, azure_connection_string=azurite.connection_string, azure_container=name)
    first = run(db)
    assert first["blobs_listed"] == 5003 and first["list_requests"] == 2 and first["blobs_downloaded"] == 4
    second = run(db)
    assert (second["list_requests"], second["get_requests"], second["blobs_downloaded"]) == (2, 0, 0)


def test_a_malformed_schedule_file_fails_alone(db, container):
    assert run(db)["status"] == "succeeded"
    before = db.execute("SELECT job_count, content_sha256 FROM azure_sync.schedule_data WHERE service_company_id = 5").fetchone()
    cc = container["client"]
    cc.upload_blob("5_schedules.json", b'{"ServiceCompanyId": 5, "Jobs": "none"', overwrite=True)  # cut short
    bad = json.loads(container["blobs"]["6_schedules.json"])
    bad["Jobs"] = {"not": "a list"}
    bad["GeneratedAt"] = "2025-12-10T07:00:00Z"
    cc.upload_blob("6_schedules.json", json.dumps(bad).encode(), overwrite=True)
    pop = container["pop"]
    cc.upload_blob("7_schedules.json", generate.schedule_file(pop, pop.companies[6], 3, START, T0 + timedelta(hours=1), version=2), overwrite=True)
    result = run(db)
    assert result["status"] == "partial"
    assert result["schedules_applied"] == 1 and result["blobs_failed"] == 2
    errors = {e["blob"]: e["reason"] for e in result["errors"]}
    assert errors["5_schedules.json"].startswith("breaks the file contract: $: not valid JSON: EOF while parsing"), errors
    assert errors["6_schedules.json"] == "breaks the file contract: Jobs: expected an array, got an object"
    # The earlier good version of company 5 stays as it was.
    assert db.execute("SELECT job_count, content_sha256 FROM azure_sync.schedule_data WHERE service_company_id = 5").fetchone() == before
    stored = db.execute("SELECT errors FROM azure_sync.sync_jobs ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert {e["blob"] for e in stored} == {"5_schedules.json", "6_schedules.json"}
    failing = db.execute("SELECT blob_name, consecutive_failures, retried FROM azure_sync.failing_blobs").fetchall()
    assert failing == [("5_schedules.json", 1, False), ("6_schedules.json", 1, False)]
    # A failure that will repeat is not downloaded again while the blob's ETag stays, yet it
    # stays visible: every run lists it and stays partial until it is fixed.
    again = run(db)
    assert (again["status"], again["get_requests"], again["blobs_downloaded"], again["blobs_failed"]) == ("partial", 0, 0, 0), again
    assert again["blobs_still_failing"] == 2
    assert {e["blob"] for e in again["still_failing"]} == {"5_schedules.json", "6_schedules.json"}
    assert again["still_failing"][0]["reason"].startswith("breaks the file contract")
    # Fixed upstream (a new ETag): downloaded and applied at once.
    cc.upload_blob("5_schedules.json", generate.schedule_file(pop, pop.companies[4], 3, START, T0 + timedelta(hours=2), version=3), overwrite=True)
    fixed = run(db)
    assert (fixed["get_requests"], fixed["schedules_applied"], fixed["blobs_still_failing"]) == (1, 1, 1), fixed


def test_two_concurrent_runs_one_works_one_skips(db, cluster, container):
    with cluster.connect(autocommit=False) as first:
        result = first.execute("SELECT azure_sync.run()").fetchone()[0]
        assert result["status"] == "succeeded"
        # `first` has not committed: its lock is held.
        start = time.monotonic()
        second = run(db)
        assert second["status"] == "skipped"
        assert time.monotonic() - start < 1
        first.commit()
    statuses = [r[0] for r in db.execute("SELECT status FROM azure_sync.sync_jobs ORDER BY id").fetchall()]
    assert sorted(statuses) == ["skipped", "succeeded"]


def test_a_dry_run_writes_nothing_and_plans_what_the_real_run_does(db, container):
    before = counts(db)
    plan = run(db, dry_run="true")
    assert counts(db) == before
    assert plan["dry_run"] is True and plan["status"] == "succeeded"
    real = run(db)
    for key in ["blobs_listed", "blobs_unchanged", "blobs_downloaded", "blobs_failed", "schedules_applied",
                "users_created", "users_updated", "users_deleted", "user_deletions_blocked"]:
        assert plan[key] == real[key], key
    # And once more after changes, including deletions held back by the guard.
    pop = container["pop"]
    fewer = pop.users[:30]
    container["client"].upload_blob("users.json", generate.users_file(pop, T0 + timedelta(hours=1), fewer), overwrite=True)
    before = counts(db)
    plan = run(db, dry_run="true")
    assert counts(db) == before
    real = run(db)
    assert plan["user_deletions_blocked"] == real["user_deletions_blocked"] == 10
    assert plan["users_deleted"] == real["users_deleted"] == 0


def test_progress_shows_and_cancel_leaves_nothing(db, cluster, azurite, container):
    proxy = DelayingProxy(azurite.port, delay=1.5)
    try:
        configure(db, azure_url=azurite.container_sas_url(container["name"], "rl", expiry_hours=24 * 60).replace(f":{azurite.port}/", f":{proxy.port}/"),
                  download_concurrency=2)
        pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        seen = []
        with cluster.connect() as watcher:
            def watch_then_cancel():
                deadline = time.monotonic() + 2.5
                while time.monotonic() < deadline:
                    q = watcher.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
                    seen.append(q[0] if q else None)
                    time.sleep(0.1)
                watcher.execute("SELECT pg_cancel_backend(%s)", (pid,))
            t = threading.Thread(target=watch_then_cancel)
            t.start()
            start = time.monotonic()
            err = sql_error(db, "SELECT azure_sync.run()")
            elapsed = time.monotonic() - start
            t.join()
        assert "canceling statement due to user request" in err, err
        assert elapsed < 4.5, elapsed
        assert any(q and q.startswith("azure_sync.run: 9 of 10 blobs changed") for q in seen), seen
        assert "sig=" not in " ".join(q or "" for q in seen if q and "sig=*****" not in q)
        rows = counts(db)
        assert rows["schedule_data"] == 0 and rows["user_profiles"] == 0 and rows["sync_jobs"] == 0
    finally:
        proxy.close()


def test_statement_timeout_ends_a_run_with_nothing_applied(db, azurite, container):
    proxy = DelayingProxy(azurite.port, delay=1.0)
    try:
        configure(db, azure_url=azurite.container_sas_url(container["name"], "rl", expiry_hours=24 * 60).replace(f":{azurite.port}/", f":{proxy.port}/"),
                  download_concurrency=1)
        db.execute("SET statement_timeout = '2500ms'")
        start = time.monotonic()
        err = sql_error(db, "SELECT azure_sync.run()")
        assert "canceling statement due to statement timeout" in err, err
        assert time.monotonic() - start < 4
        db.execute("RESET statement_timeout")
        rows = counts(db)
        assert rows["schedule_data"] == 0 and rows["sync_jobs"] == 0
    finally:
        proxy.close()


def test_notices_mark_the_phases(db, container):
    run(db)
    phases = [n for n in db.notices if n.startswith("azure_sync: ")]
    assert phases[0].startswith("azure_sync: listing http://127.0.0.1:"), phases
    assert "sig=" not in phases[0] or "sig=*****" in phases[0]
    assert any(p.startswith("azure_sync: 9 of 10 blobs changed (0 unchanged, 1 ignored, 0 still failing); downloading with 4 workers") for p in phases), phases
    assert phases[-1].startswith("azure_sync: done: 9 downloaded, 8 schedule files applied, 0 failed; users 40 created"), phases


def test_a_sas_close_to_expiry_is_warned_about(db, azurite, container):
    configure(db, azure_url=azurite.container_sas_url(container["name"], "rl", expiry_hours=24 * 5))
    result = run(db)
    assert result["status"] == "succeeded"
    assert any("the Azure SAS token expires at" in w and "day(s) left" in w for w in result["warnings"]), result["warnings"]
    assert any("expires at" in n for n in db.notices)
    assert db.execute("SELECT sas_expires_at > now() FROM azure_sync.status").fetchone()[0] is True


def test_a_listing_failure_is_recorded_as_a_failed_run(db, azurite, container):
    configure(db, azure_url=azurite.container_sas_url(container["name"], "rl", expiry_hours=-1))
    result = run(db)
    assert result["status"] == "failed"
    assert "the SAS token was rejected: it expired" in result["errors"][0]["reason"]
    SEEN_ERRORS.append(result["errors"][0]["reason"])
    row = db.execute("SELECT status, errors::text FROM azure_sync.sync_jobs").fetchone()
    assert row[0] == "failed" and "sig=" not in row[1].replace("sig=*****", "")


def test_schedule_without_pg_cron_says_what_is_missing(cluster, db):
    # In a database of its own: dropping pg_cron where its scheduler works would leave the
    # scheduler blind to the jobs of a later CREATE EXTENSION until the server restarts.
    with cluster.connect("postgres") as c:
        c.execute("DROP DATABASE IF EXISTS azure_sync_nocron WITH (FORCE)")
        c.execute("CREATE DATABASE azure_sync_nocron")
    with cluster.connect("azure_sync_nocron") as other:
        other.execute("CREATE EXTENSION azure_sync")
        err = sql_error(other, "SELECT azure_sync.schedule()")
        if harness.PG_CRON:
            assert "pg_cron is not available here: set cron.database_name = 'azure_sync_nocron' in postgresql.conf (now: azure_sync_e2e); " \
                   "then run CREATE EXTENSION pg_cron in database azure_sync_nocron" in err, err
        else:
            # Named for the server's own major, never an assumed 15.
            assert f"pg_cron is not installed on this server (Debian: apt-get install postgresql-{harness.PG_MAJOR}-cron); " \
                   "add pg_cron to shared_preload_libraries" in err, err
        assert other.execute("SELECT azure_sync.unschedule()").fetchone()[0] is False
