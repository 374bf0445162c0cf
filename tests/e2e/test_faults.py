"""Faults in the middle of a run: Azurite stopping mid-download, the backend killed with
SIGKILL mid-run. After each, the next run completes with nothing lost and nothing
duplicated. (GoTrue answering past the timeout: test_supabase.py, the slow-answers test.)"""
import os
import signal
import threading
import time
import uuid

import psycopg

import generate
import harness
from conftest import START, T0, WORKDIR, configure, counts, run
from stand_ins import DelayingProxy

EXPECTED = {"schedule_data": 8, "stored_objects": 8, "companies": 8, "user_profiles": 40, "blob_state": 9}


def container_behind_proxy(db, azurite, delay):
    name = f"fault-{uuid.uuid4().hex[:12]}"
    pop = generate.Population(21, companies=8, groups=2, users=40)
    generate.write_container(azurite.service(), name, generate.build(pop, 3, START, T0))
    proxy = DelayingProxy(azurite.port, delay=delay)
    url = azurite.container_sas_url(name, "rl", expiry_hours=24 * 60).replace(f":{azurite.port}/", f":{proxy.port}/")
    configure(db, azure_url=url, download_concurrency=2, max_retries=1)
    return proxy


def memberships(db):
    return db.execute("SELECT count(*), count(DISTINCT (user_id, company_id)) FROM azure_sync.company_memberships").fetchone()


def test_azurite_stopping_mid_download_loses_nothing(db):
    azurite = harness.Azurite(WORKDIR / "azurite-faults", persistent=True).start()
    proxy = container_behind_proxy(db, azurite, delay=0.8)
    try:
        result = {}
        t = threading.Thread(target=lambda: result.update(run(db)))
        t.start()
        time.sleep(1.2)  # some blobs applied, others on their way
        azurite.stop()
        t.join(60)
        assert result["status"] in ("partial", "failed"), result
        assert result["blobs_failed"] > 0
        assert any("failed" in e["reason"] for e in result["errors"]), result["errors"]
        failed_first = result["blobs_failed"]
        azurite.start()
        proxy.delay = 0
        again = run(db)
        assert again["status"] == "succeeded", again["errors"]
        assert again["blobs_downloaded"] >= failed_first, (again, failed_first)
        rows = counts(db)
        assert {k: rows[k] for k in EXPECTED} == EXPECTED
        total, distinct = memberships(db)
        assert total == distinct
        assert run(db)["blobs_downloaded"] == 0
    finally:
        proxy.close()
        azurite.stop()


def wait_for_server(cluster, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with cluster.connect() as c:
                c.execute("SELECT 1")
                return
        except psycopg.OperationalError:
            time.sleep(0.3)
    raise AssertionError("the server did not come back after the crash")


def test_the_backend_killed_mid_run_loses_nothing(cluster, azurite, db):
    proxy = container_behind_proxy(db, azurite, delay=0.6)
    try:
        pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        errors = []

        def doomed():
            try:
                run(db)
            except psycopg.Error as e:
                errors.append(e)
        t = threading.Thread(target=doomed)
        t.start()
        time.sleep(1.5)
        os.kill(pid, signal.SIGKILL)  # the whole server restarts after a backend crash
        t.join(30)
        assert errors, "the killed run cannot have answered"
        wait_for_server(cluster)
        proxy.delay = 0
        with cluster.connect() as again:
            # Nothing of the killed run was kept (its transaction never committed), the lock
            # died with it, and the next run does it all.
            assert again.execute("SELECT count(*) FROM azure_sync.sync_jobs").fetchone()[0] == 0
            result = again.execute("SELECT azure_sync.run()").fetchone()[0]
            assert result["status"] == "succeeded", result["errors"]
            rows = counts(again)
            assert {k: rows[k] for k in EXPECTED} == EXPECTED
            total, distinct = memberships(again)
            assert total == distinct
    finally:
        proxy.close()
