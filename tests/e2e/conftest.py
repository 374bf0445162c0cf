"""Fixtures of the end-to-end tests: one scratch cluster and one Azurite for the session,
a fresh extension for each test."""
import os
import sys
from pathlib import Path

import uuid
from datetime import date, datetime, timezone

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import generate  # noqa: E402
import harness  # noqa: E402

WORKDIR = Path(os.environ.get("AZURE_SYNC_WORKDIR", "/tmp/azure_sync_work"))

# Every error message any test saw: none may carry a secret (checked at the end).
SEEN_ERRORS = []


@pytest.fixture(scope="session")
def cluster():
    # One cluster per major: the suite runs on 15 and on 17.
    folder = "e2e" if harness.PG_MAJOR == 15 else f"e2e-pg{harness.PG_MAJOR}"
    return harness.Cluster(WORKDIR / folder, port=int(os.environ.get("AZURE_SYNC_E2E_PORT", "28816")), dbname="azure_sync_e2e").ensure_started()


@pytest.fixture(scope="session")
def azurite():
    a = harness.Azurite(WORKDIR / "azurite").start()
    yield a
    a.stop()


@pytest.fixture
def db(cluster):
    """A connection to a database where the extension was just created afresh."""
    cluster.fresh_extension()
    conn = cluster.connect()
    conn.notices = []
    conn.add_notice_handler(lambda d: conn.notices.append(d.message_primary))
    yield conn
    conn.close()


# For the tests that need pg_cron, which is not installed for every major here.
needs_pg_cron = pytest.mark.skipif(not harness.PG_CRON, reason=harness.NO_PG_CRON)


def sql_error(conn, sql, params=None):
    """Run SQL that must fail; return the error's text (and remember it for the secret check)."""
    import psycopg
    try:
        conn.execute(sql, params)
    except psycopg.Error as e:
        text = str(e)
        SEEN_ERRORS.append(text)
        return text
    raise AssertionError(f"expected an error from {sql}")


def configure(db, **settings):
    """azure_sync.configure() with named arguments."""
    args = ", ".join(f"{k} => %s" for k in settings)
    db.execute(f"SELECT * FROM azure_sync.configure({args})", list(settings.values()))


START = date(2025, 12, 10)
T0 = datetime(2025, 12, 10, 6, 0, tzinfo=timezone.utc)
TABLES = ["service_company_groups", "companies", "user_profiles", "company_memberships", "schedule_data",
          "stored_objects", "blob_state", "users_file_state", "sync_jobs", "deletion_allowances"]


def run(db, **args):
    params = ", ".join(f"{k} => {v}" for k, v in args.items())
    return db.execute(f"SELECT azure_sync.run({params})").fetchone()[0]


def counts(db):
    return {t: db.execute(f"SELECT count(*) FROM azure_sync.{t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def container(azurite, db):
    """A fresh container of 8 companies (3 jobs a day) and 40 users, configured by SAS URL."""
    name = f"run-{uuid.uuid4().hex[:12]}"
    pop = generate.Population(3, companies=8, groups=2, users=40)
    blobs = generate.build(pop, 3, START, T0)
    blobs["notes/readme.txt"] = b"not for the sync"
    cc = generate.write_container(azurite.service(), name, blobs)
    configure(db, azure_url=azurite.container_sas_url(name, "rl", expiry_hours=24 * 60))
    return {"name": name, "pop": pop, "blobs": blobs, "client": cc}


def pytest_terminal_summary(terminalreporter):
    """Name every skipped test and why, with the major it ran on (pg_cron is missing on 17)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.section(f"skipped on PostgreSQL {harness.PG_MAJOR}: {len(skipped)}")
        for report in skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            terminalreporter.write_line(f"{report.nodeid}: {reason.removeprefix('Skipped: ')}")
