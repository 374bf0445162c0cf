"""Operated by a DBA who is not a superuser, as on Supabase (where `postgres` is none and the
extension's objects belong to another role): granted azure_sync_admin, the whole SQL API works;
not granted, every call is refused cleanly. Secrets with Vault (the stand-in of
tests/standins/vault.sql), and no secret in the server log when configure() fails."""
import json
import time
import uuid
from pathlib import Path

import psycopg
import pytest

import generate
import harness
from conftest import SEEN_ERRORS, T0, configure, needs_pg_cron, sql_error
from test_supabase import SERVICE_KEY, sb  # noqa: F401  (the Supabase stand-ins' fixture)

DBA = "azure_sync_test_dba"
STRANGER = "azure_sync_test_stranger"
VAULT_SQL = (Path(__file__).resolve().parents[1] / "standins" / "vault.sql").read_text()


def login_role(cluster, name):
    with cluster.connect("postgres") as c:
        if not c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone():
            c.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')


@pytest.fixture
def dba(cluster, db):
    """A connection as a DBA who is no superuser, granted azure_sync_admin (and nothing else)."""
    login_role(cluster, DBA)
    db.execute(f'GRANT azure_sync_admin TO "{DBA}"')
    conn = cluster.connect(user=DBA)
    conn.notices = []
    conn.add_notice_handler(lambda d: conn.notices.append(d.message_primary))
    yield conn
    conn.close()


@pytest.fixture
def stranger(cluster, db):
    """A connection as a role that may log in but was granted nothing of ours."""
    login_role(cluster, STRANGER)
    conn = cluster.connect(user=STRANGER)
    yield conn
    conn.close()


def refusal(conn, sql, params=None):
    """The error of SQL that must be refused, checked to be PostgreSQL's clean refusal."""
    try:
        conn.execute(sql, params)
    except psycopg.Error as e:
        SEEN_ERRORS.append(str(e))
        detail = e.diag.message_detail or ""
        assert "backtrace" not in detail.lower() and "src/" not in detail and "panicked" not in str(e), (sql, str(e), detail)
        assert e.sqlstate == "42501", (sql, e.sqlstate, str(e))
        return str(e)
    raise AssertionError(f"{sql} was not refused")


def test_a_dba_granted_azure_sync_admin_operates_the_whole_api(db, dba, container):
    pop, blobs, name = container["pop"], container["blobs"], container["name"]
    shown = dict(dba.execute("SELECT name, value FROM azure_sync.configure(download_concurrency => 2)").fetchall())
    assert shown["download_concurrency"] == "2" and shown["azure_url"].endswith("sig=*****"), shown
    assert dict(dba.execute("SELECT name, stored_in FROM azure_sync.show_config()").fetchall())["azure_url"] == "azure_sync.secrets"

    listed = dba.execute("SELECT count(*) FILTER (WHERE changed) FROM azure_sync.list_blobs()").fetchone()[0]
    assert listed == 9, "8 schedules and users.json, all new"
    assert dba.execute("SELECT azure_sync.download_blob('users.json')").fetchone()[0] == blobs["users.json"]
    assert dba.execute("SELECT azure_sync.fetch_blob('users.json') = %s::jsonb", [blobs["users.json"].decode()]).fetchone()[0] is True

    result = dba.execute("SELECT azure_sync.run()").fetchone()[0]
    assert (result["status"], result["schedules_applied"], result["users_created"]) == ("succeeded", 8, 40), result
    assert dba.execute("SELECT last_run_status, blobs_failing_repeatedly FROM azure_sync.status").fetchone() == ("succeeded", 0)
    assert dba.execute("SELECT count(*) FROM azure_sync.recent_runs").fetchone()[0] == 1
    assert dba.execute("SELECT count(*) FROM azure_sync.company_freshness WHERE newest_generated_at IS NOT NULL").fetchone()[0] == 8
    assert dba.execute("SELECT count(*) FROM azure_sync.failing_blobs").fetchone()[0] == 0
    for table, rows in [("sync_jobs", 1), ("user_profiles", 40), ("companies", 8), ("blob_state", 9), ("settings", 1)]:
        assert dba.execute(f"SELECT count(*) FROM azure_sync.{table}").fetchone()[0] == rows, table
    checks = dict(dba.execute('SELECT "check", ok FROM azure_sync.readiness()').fetchall())
    assert checks["the Azure credential stays valid"] is True and checks["the backup is fresh"] is True, checks

    users = json.loads(blobs["users.json"])
    assert dba.execute("SELECT azure_sync.sync_users(%s::jsonb)", [json.dumps(users)]).fetchone()[0]["users_unchanged"] == 40
    first = pop.companies[0]["id"]
    schedule = dba.execute("SELECT azure_sync.sync_schedule(%s::jsonb, %s)", [blobs[f"{first}_schedules.json"].decode(), f"{first}_schedules.json"]).fetchone()[0]
    assert (schedule["status"], schedule["new_row"]) == ("applied", False), schedule
    allowance = dba.execute("SELECT azure_sync.allow_mass_deletion('role test', 3)").fetchone()[0]
    assert dba.execute("SELECT granted_by FROM azure_sync.deletion_allowances WHERE id = %s", [allowance]).fetchone()[0] == DBA, \
        "the DBA who logged in is recorded, not the owner the function runs as"
    assert dba.execute("SELECT azure_sync.clear_future_stamps()").fetchone()[0] is not None
    assert "configure(auth_url" in sql_error(dba, "SELECT azure_sync.reconcile_auth()"), "refused for want of Auth, not of a right"
    assert dba.execute("SELECT azure_sync.unschedule()").fetchone()[0] is False, "no job of ours yet"
    if not harness.PG_CRON:
        # Where pg_cron is missing the DBA is told what is missing, not refused a right (with
        # pg_cron, test_a_dba_schedules_a_pg_cron_job_that_runs_as_azure_sync_admin).
        assert "pg_cron is not available here" in sql_error(dba, "SELECT azure_sync.schedule()")

    # What the role may not do: read a secret, write a table, touch what it was not granted.
    refusal(dba, "SELECT * FROM azure_sync.secrets")
    refusal(dba, "UPDATE azure_sync.settings SET value = '9' WHERE name = 'download_concurrency'")
    refusal(dba, "DELETE FROM azure_sync.sync_jobs")
    refusal(dba, "SELECT azure_sync.create_portal_policies()")
    assert dba.execute("SELECT azure_sync.forget_secrets()").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM azure_sync.secrets").fetchone()[0] == 0


def test_a_dba_can_neither_send_a_secret_elsewhere_nor_have_the_server_read_a_file(db, dba):
    configure(db, auth_url="https://project.supabase.co/auth/v1", service_role_key="the-service-key-123")
    err = sql_error(dba, "SELECT * FROM azure_sync.configure(auth_url => 'https://collector.example/auth/v1')")
    assert "auth_url would send the stored service_role_key to a new endpoint: give service_role_key in the same call" in err, err
    err = sql_error(dba, "SELECT * FROM azure_sync.configure(storage_url => 'https://collector.example/storage/v1')")
    assert "storage_url would send the stored service_role_key" in err, err
    assert dict(dba.execute("SELECT name, value FROM azure_sync.show_config()").fetchall())["storage_url"] == "(not set)", "nothing stored"
    # With the key given again, the DBA moves the endpoint: they knew the secret anyway.
    shown = dict(dba.execute("SELECT name, value FROM azure_sync.configure(auth_url => 'https://new.supabase.co/auth/v1', "
                             "service_role_key => 'the-new-key-456')").fetchall())
    assert shown["auth_url"] == "https://new.supabase.co/auth/v1"
    # The server reads ca_bundle's file: not for a role that may not read server files.
    err = refusal(dba, "SELECT * FROM azure_sync.configure(ca_bundle => '/etc/passwd')")
    assert "only a superuser or a member of pg_read_server_files may set it" in err, err
    assert "root:" not in err


def test_a_role_not_granted_is_refused_every_call_cleanly(db, stranger, container):
    calls = ["SELECT * FROM azure_sync.configure(download_concurrency => 2)", "SELECT * FROM azure_sync.show_config()",
             "SELECT azure_sync.run()", "SELECT azure_sync.schedule()", "SELECT azure_sync.unschedule()",
             "SELECT * FROM azure_sync.list_blobs()", "SELECT azure_sync.download_blob('users.json')",
             "SELECT azure_sync.fetch_blob('users.json')", "SELECT azure_sync.sync_users('{}'::jsonb)",
             "SELECT azure_sync.sync_schedule('{}'::jsonb)", "SELECT azure_sync.allow_mass_deletion()",
             "SELECT azure_sync.reconcile_auth()", "SELECT * FROM azure_sync.readiness()", "SELECT azure_sync.clear_future_stamps()",
             "SELECT azure_sync.forget_secrets()", "SELECT * FROM azure_sync.status", "SELECT * FROM azure_sync.sync_jobs"]
    for sql in calls:
        assert "permission denied for schema azure_sync" in refusal(stranger, sql), sql
    # With USAGE on the schema (say, for the contract functions), still nothing more.
    db.execute(f'GRANT USAGE ON SCHEMA azure_sync TO "{STRANGER}"')
    for sql in calls:
        assert "permission denied for" in refusal(stranger, sql), sql
    assert stranger.execute("SELECT azure_sync.validate('users', '{}'::jsonb) <> '{}'").fetchone()[0] is True
    assert db.execute("SELECT count(*) FROM azure_sync.sync_jobs").fetchone()[0] == 0, "nothing ran"
    assert db.execute("SELECT value FROM azure_sync.settings WHERE name = 'download_concurrency'").fetchone() is None


def test_a_dba_keeps_secrets_in_vault_without_any_right_on_it(db, dba, container):
    db.execute(VAULT_SQL)
    try:
        # Configured before Vault arrived: still read (the run works), and said.
        result = dba.execute("SELECT azure_sync.run()").fetchone()[0]
        assert result["status"] == "succeeded", result
        assert any("still kept in azure_sync.secrets although Supabase Vault is installed" in n for n in dba.notices), dba.notices
        # Any configure() moves them.
        dba.execute("SELECT * FROM azure_sync.configure(service_role_key => 'dba-set-key-123')")
        assert any("moved azure_url from azure_sync.secrets into Vault" in n for n in dba.notices), dba.notices
        assert db.execute("SELECT count(*) FROM azure_sync.secrets").fetchone()[0] == 0
        names = [r[0] for r in db.execute("SELECT name FROM vault.secrets ORDER BY name").fetchall()]
        assert names == ["azure_sync.azure_url", "azure_sync.service_role_key"]
        shown = dict(dba.execute("SELECT name, value || '@' || stored_in FROM azure_sync.show_config() WHERE is_secret").fetchall())
        assert shown["service_role_key"] == "*****@vault" and shown["azure_url"].endswith("sig=*****@vault"), shown
        assert dba.execute("SELECT azure_sync.run()").fetchone()[0]["status"] == "succeeded"
        refusal(dba, "SELECT * FROM vault.decrypted_secrets")
        # Cleared: removed from Vault, not left empty.
        dba.execute("SELECT * FROM azure_sync.configure(service_role_key => '')")
        assert [r[0] for r in db.execute("SELECT name FROM vault.secrets").fetchall()] == ["azure_sync.azure_url"]
        # DROP EXTENSION would leave them: forget_secrets() first, as the README says.
        assert dba.execute("SELECT azure_sync.forget_secrets()").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM vault.secrets").fetchone()[0] == 0
    finally:
        db.execute("DROP SCHEMA vault CASCADE")


def test_a_forgotten_drop_extension_leaves_vault_secrets_that_the_documented_delete_removes(db, container):
    db.execute(VAULT_SQL)
    try:
        configure(db, service_role_key="left-behind-key")
        db.execute("DROP EXTENSION azure_sync CASCADE")
        assert db.execute("SELECT count(*) FROM vault.decrypted_secrets WHERE decrypted_secret = 'left-behind-key'").fetchone()[0] == 1
        # README, "Removing azure_sync": the statement for secrets left after a DROP.
        db.execute("DELETE FROM vault.secrets WHERE name LIKE 'azure\\_sync.%'")
        assert db.execute("SELECT count(*) FROM vault.secrets").fetchone()[0] == 0
    finally:
        db.execute("DROP SCHEMA vault CASCADE")


def server_log(cluster):
    return (cluster.workdir / "server.log").read_text(errors="replace")


def test_a_failing_configure_leaves_no_secret_in_the_server_log(cluster, db, dba):
    marker = uuid.uuid4().hex[:10]
    cases = [
        # Malformed, refused by the checks.
        (dba, f"SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/c?sp=rl&sig=LEAKA{marker}', auth_url => 'ftp://x')"),
        # Refused after storing: http to a host that is not this machine.
        (dba, f"SELECT * FROM azure_sync.configure(azure_url => 'http://10.1.2.3/c?sp=rl&sig=LEAKB{marker}')"),
    ]
    for conn, sql in cases:
        sql_error(conn, sql)
    # A permission refused inside configure(): a Vault that refuses the write.
    db.execute(VAULT_SQL)
    try:
        db.execute("CREATE OR REPLACE FUNCTION vault.create_secret(new_secret text, new_name text DEFAULT NULL, new_description text DEFAULT '', new_key_id uuid DEFAULT NULL) "
                   "RETURNS uuid LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'permission denied for table secrets' USING ERRCODE = '42501'; END $$")
        err = refusal(dba, f"SELECT * FROM azure_sync.configure(service_role_key => 'LEAKC{marker}')")
        assert "permission denied for table secrets" in err, err
    finally:
        db.execute("DROP SCHEMA vault CASCADE")
    # Later statements are logged as before: the setting was changed for the failing call only.
    sql_error(dba, f"SELECT 1 / 0 AS control_{marker}")
    time.sleep(0.5)
    log = server_log(cluster)
    assert f"control_{marker}" in log, "the control statement is logged: the log is the right one"
    assert "permission denied for table secrets" in log, "the errors themselves are logged"
    for leak in ("LEAKA", "LEAKB", "LEAKC"):
        assert f"{leak}{marker}" not in log, f"{leak} is in the server log"


@needs_pg_cron
def test_a_dba_schedules_a_pg_cron_job_that_runs_as_azure_sync_admin(db, dba, container):
    job = dba.execute("SELECT azure_sync.schedule('* * * * *', NULL)").fetchone()[0]
    row = db.execute("SELECT jobname, username, command FROM cron.job WHERE jobid = %s", (job,)).fetchone()
    assert row == ("azure-sync-15min", DBA, "SET ROLE azure_sync_admin; SELECT azure_sync.run(trigger => 'cron')"), row
    # Scheduling again replaces the job, whoever scheduled it before.
    db.execute("SELECT azure_sync.schedule('* * * * *', NULL)")
    assert db.execute("SELECT count(*) FROM cron.job WHERE jobname = 'azure-sync-15min'").fetchone()[0] == 1
    job = dba.execute("SELECT azure_sync.schedule('* * * * *', NULL)").fetchone()[0]
    try:
        deadline = time.monotonic() + 130
        done = None
        while time.monotonic() < deadline and not done:
            time.sleep(2)
            done = db.execute("SELECT status, return_message, username FROM cron.job_run_details WHERE jobid = %s AND status IN ('succeeded', 'failed') "
                              "ORDER BY runid LIMIT 1", (job,)).fetchone()
        assert done is not None, "pg_cron did not run the job within two minutes"
        assert done[0] == "succeeded" and done[2] == DBA, done
        row = db.execute("SELECT status, trigger, schedules_applied FROM azure_sync.sync_jobs WHERE trigger = 'cron' ORDER BY id LIMIT 1").fetchone()
        assert row == ("succeeded", "cron", 8)
    finally:
        assert dba.execute("SELECT azure_sync.unschedule()").fetchone()[0] is True
    assert db.execute("SELECT count(*) FROM cron.job WHERE jobname = 'azure-sync-15min'").fetchone()[0] == 0


def test_a_dba_repairs_auth_drift_through_the_role(cluster, sb):
    login_role(cluster, DBA)
    sb.db.execute(f'GRANT azure_sync_admin TO "{DBA}"')
    pop = generate.Population(47, companies=1, groups=1, users=3)
    with cluster.connect(user=DBA) as dba:
        done = dba.execute("SELECT azure_sync.sync_users(%s::jsonb)", [generate.users_file(pop, T0).decode()]).fetchone()[0]
        assert done["users_created"] == 3, done
        sb.db.execute("DELETE FROM auth.users WHERE id = %s", [pop.users[0]["id"]])
        repaired = dba.execute("SELECT azure_sync.reconcile_auth(dry_run => false)").fetchone()[0]
        assert repaired["missing_auth_users"] == [pop.users[0]["id"]] and repaired["created"] == 1, repaired
        shown = dict(dba.execute("SELECT name, value FROM azure_sync.show_config()").fetchall())
        assert shown["service_role_key"] == "*****" and SERVICE_KEY not in json.dumps(shown)
