"""The upgrade path, as tembo-io/pgmq tests it: install the previous release as released (its
library built from its commit, its generated SQL kept in sql/azure_sync--0.1.0.sql), sync real
data into it with its own code, put the current library in place as an upgrade does, run
ALTER EXTENSION azure_sync UPDATE, then check that the data is kept, that the sync goes on
from where it was, and that the schema is the same as a fresh install's."""
import difflib
import os
import re
import shutil
import subprocess
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import generate
import harness
from conftest import WORKDIR

# 0.1.0 was built for PostgreSQL 15 only: on another major there is nothing to update from.
released_for_this_major = pytest.mark.skipif(
    harness.PG_MAJOR != 15, reason=f"0.1.0 was released for PostgreSQL 15 only: on {harness.PG_MAJOR} there is no earlier azure_sync to update from")

PREVIOUS = "0.1.0"
# The commit tagged v0.1.0: the release's code, whatever tags a clone carries.
PREVIOUS_COMMIT = "1f007e9c6f569f88bf4ce081e3d5ea5ecc203f47"
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
START = date(2025, 12, 10)
T0 = datetime(2025, 12, 10, 6, 0, tzinfo=timezone.utc)
TABLES = ["settings", "secrets", "service_company_groups", "companies", "user_profiles", "company_memberships",
          "schedule_data", "stored_objects", "blob_state", "users_file_state", "deletion_allowances", "sync_jobs"]


def fresh_database(cluster, name):
    with cluster.connect("postgres") as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return cluster.connect(name)


def columns(db):
    """Each table's columns, as the release at hand has them."""
    return {t: [r[0] for r in db.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'azure_sync' "
                                         "AND table_name = %s ORDER BY ordinal_position", [t]).fetchall()] for t in TABLES}


def contents(db, cols):
    """Every row of every table (these columns of it), as text, in a stable order."""
    def rows(t):
        row = ", ".join(f'x."{c}"' for c in cols[t])
        return db.execute(f"SELECT coalesce(array_agg(ROW({row})::text ORDER BY ROW({row})::text), '{{}}') FROM azure_sync.{t} AS x").fetchone()[0]
    return {t: rows(t) for t in TABLES}


# What pg_dump's binary-upgrade mode writes that differs between any two databases: the OIDs
# and freeze horizons it pins, sequence positions (data), the stored default that rows
# written before an ADD COLUMN read (storage), and the session key of \restrict. None of it
# is schema.
VOLATILE = ("binary_upgrade_set_next", "binary_upgrade_set_record_init_privs", "binary_upgrade_set_missing_value", "relfrozenxid",
            "pg_catalog.setval(", "\\restrict", "\\unrestrict")


def schema_dump(cluster, dbname):
    """The extension's objects as pg_dump writes them. Binary-upgrade mode is the one mode in
    which pg_dump writes an extension's member objects one by one instead of a bare CREATE
    EXTENSION; statements that only pin OIDs are left out, as are comments."""
    out = subprocess.run([str(harness.PG_BIN / "pg_dump"), "--schema-only", "--binary-upgrade", "--no-comments",
                          "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "-d", dbname],
                         check=True, capture_output=True, text=True).stdout
    statements, current = [], []
    for line in out.splitlines():
        if line.startswith("--") or not line.strip():
            continue
        current.append(line)
        if line.rstrip().endswith(";") or line.startswith("\\"):
            statements.append("\n".join(current))
            current = []
    kept = [re.sub(r"'\d+'::pg_catalog\.oid", "'<oid>'::pg_catalog.oid", st) for st in statements if not any(v in st for v in VOLATILE)]
    text = "\n".join(kept)
    assert "CREATE TABLE azure_sync.sync_jobs" in text, text[:2000]
    return text


def pg_config(flag):
    return Path(harness.pg_config(flag))


def put_library(source):
    """Put a build of the library in place as an install does: a new file renamed over the
    old, so backends that have the old one loaded keep it."""
    target = pg_config("--pkglibdir") / "azure_sync.so"
    staged = target.with_name(".azure_sync.so.staged")
    shutil.copyfile(source, staged)
    os.replace(staged, target)


@pytest.fixture
def previous_release():
    """The previous release's library in place (and its script beside the current ones, which
    `cargo pgrx install` does not ship) until the test puts the current one back."""
    built = subprocess.run([str(SQL_DIR.parent / "tests" / "previous_release.sh"), PREVIOUS, PREVIOUS_COMMIT],
                           check=True, capture_output=True, text=True).stdout.strip()
    script = f"azure_sync--{PREVIOUS}.sql"
    shutil.copyfile(SQL_DIR / script, pg_config("--sharedir") / "extension" / script)
    current = WORKDIR / "azure_sync-current.so"
    shutil.copyfile(pg_config("--pkglibdir") / "azure_sync.so", current)
    put_library(built)
    try:
        yield lambda: put_library(current)
    finally:
        put_library(current)


@released_for_this_major
def test_0_1_0_updates_in_place_keeping_its_data_and_ending_as_a_fresh_install(cluster, azurite, previous_release):
    db = fresh_database(cluster, "azure_sync_upgrade")
    current = db.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'azure_sync'").fetchone()[0]
    assert current != PREVIOUS, "the default version must be newer than the previous release"
    db.execute(f"CREATE EXTENSION azure_sync VERSION '{PREVIOUS}'")
    assert db.execute("SELECT extversion FROM pg_extension WHERE extname = 'azure_sync'").fetchone()[0] == PREVIOUS

    # The previous release syncs a container, and a DBA sets a few things.
    name = f"upgrade-{uuid.uuid4().hex[:12]}"
    pop = generate.Population(5, companies=6, groups=2, users=30)
    blobs = generate.build(pop, 3, START, T0)
    cc = generate.write_container(azurite.service(), name, blobs)
    db.execute("SELECT * FROM azure_sync.configure(azure_url => %s, download_concurrency => 3, delete_max_count => 7)",
               [azurite.container_sas_url(name, "rl", expiry_hours=24 * 60)])
    first = db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert first["status"] == "succeeded", first["errors"]
    assert first["schedules_applied"] == 6 and first["users_created"] == 30
    db.execute("SELECT azure_sync.allow_mass_deletion('kept across the upgrade')")
    released_columns = columns(db)
    before = contents(db, released_columns)
    assert all(before[t] for t in ["settings", "secrets", "companies", "user_profiles", "schedule_data", "blob_state", "sync_jobs"]), before
    db.close()

    # The upgrade: the current library in place, then the extension updated in a new session.
    previous_release()
    db = cluster.connect("azure_sync_upgrade")
    db.execute("ALTER EXTENSION azure_sync UPDATE")
    assert db.execute("SELECT extversion FROM pg_extension WHERE extname = 'azure_sync'").fetchone()[0] == current

    # Every row is kept, settings and secrets included; new columns hold their defaults.
    assert contents(db, released_columns) == before
    shown = dict(db.execute("SELECT name, value FROM azure_sync.show_config()").fetchall())
    assert shown["download_concurrency"] == "3" and shown["delete_max_count"] == "7"
    assert shown["azure_url"].startswith(azurite.endpoint) and shown["azure_url"].endswith("sig=*****")

    # The sync goes on from where 0.1.0 left it: nothing to download, then one changed file.
    again = db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert (again["status"], again["blobs_downloaded"], again["blobs_unchanged"]) == ("succeeded", 0, 7), again
    changed = generate.build(pop, 3, START, datetime(2025, 12, 10, 6, 15, tzinfo=timezone.utc))
    one = sorted(n for n in changed if n.endswith("_schedules.json"))[0]
    cc.upload_blob(one, changed[one], overwrite=True)
    after = db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert (after["status"], after["blobs_downloaded"], after["schedules_applied"]) == ("succeeded", 1, 1), after
    # configure() takes its new form (bigint arguments) on the upgraded database.
    db.execute("SELECT * FROM azure_sync.configure(max_retries => 2::bigint)")

    # The upgraded schema is the fresh install's, object for object.
    with fresh_database(cluster, "azure_sync_fresh") as fresh:
        fresh.execute("CREATE EXTENSION azure_sync")
    upgraded, installed = schema_dump(cluster, "azure_sync_upgrade"), schema_dump(cluster, "azure_sync_fresh")
    diff = "\n".join(difflib.unified_diff(installed.splitlines(), upgraded.splitlines(), "fresh install", "0.1.0 updated", lineterm=""))
    db.close()
    assert upgraded == installed, f"the upgrade script leaves a schema other than a fresh install's:\n{diff}"


def test_every_release_has_its_upgrade_script():
    """Each version of sql/azure_sync--A.sql (a release kept as released) leads on to the
    current version through azure_sync--A--B.sql scripts."""
    sql = SQL_DIR
    cargo = (SQL_DIR.parent / "Cargo.toml").read_text()
    current = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    releases = sorted(p.name[len("azure_sync--"):-4] for p in sql.glob("azure_sync--*.sql") if "--" not in p.name[len("azure_sync--"):])
    steps = dict(tuple(p.name[len("azure_sync--"):-4].split("--")) for p in sql.glob("azure_sync--*--*.sql"))
    assert releases, "no released version is kept in sql/"
    for release in releases:
        version, seen = release, set()
        while version != current:
            assert version not in seen and version in steps, f"no upgrade script leads from {version} toward {current}"
            seen.add(version)
            version = steps[version]
