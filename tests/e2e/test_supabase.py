"""Supabase Auth and Storage over their HTTP APIs (stand-ins that follow the documented API
over real auth.users / storage.objects tables), and the portal's row-level security."""
import json
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

import generate
from conftest import SEEN_ERRORS, WORKDIR, configure, needs_pg_cron, sql_error

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from standins import supabase  # noqa: E402

T0 = datetime(2025, 12, 10, 6, 0, tzinfo=timezone.utc)
START = date(2025, 12, 10)
SERVICE_KEY = supabase.make_jwt("service_role")


@pytest.fixture
def sb(cluster):
    """The extension created in a database that has Supabase's auth and storage schemas, with
    GoTrue and Storage stand-ins configured."""
    supabase.fresh_extension(cluster)
    conninfo = f"host=127.0.0.1 port={cluster.port} user=postgres dbname={cluster.dbname}"
    logs = WORKDIR / "standin-logs"
    logs.mkdir(parents=True, exist_ok=True)
    gotrue = supabase.GoTrue(conninfo, logs)
    storage = supabase.Storage(conninfo, logs, WORKDIR / f"storage-{uuid.uuid4().hex[:8]}")
    db = cluster.connect()
    db.notices = []
    db.add_notice_handler(lambda d: db.notices.append(d.message_primary))
    configure(db, auth_url=gotrue.url, storage_url=storage.url, service_role_key=SERVICE_KEY)

    class Env:
        pass
    env = Env()
    env.db, env.gotrue, env.storage = db, gotrue, storage
    yield env
    db.close()
    gotrue.close()
    storage.close()


def sync_users(db, doc, **kw):
    extra = "".join(f", {k} => {v}" for k, v in kw.items())
    return db.execute(f"SELECT azure_sync.sync_users(%s::jsonb{extra})", (doc.decode() if isinstance(doc, bytes) else doc if isinstance(doc, str) else json.dumps(doc),)).fetchone()[0]


def population():
    return generate.Population(11, companies=20, groups=4, users=200)


def test_users_become_auth_users_and_only_changes_cost_calls(sb):
    pop = population()
    first = sync_users(sb.db, generate.users_file(pop, T0))
    assert first["users_created"] == 200 and first["users_failed"] == 0, first["auth_failures"]
    assert first["auth_backend"] == "Supabase Auth (GoTrue admin API)"
    assert sb.gotrue.count("POST") == 200
    rows = sb.db.execute("SELECT id::text, email, email_confirmed_at IS NOT NULL, raw_app_meta_data, raw_user_meta_data FROM auth.users").fetchall()
    assert {r[0] for r in rows} == {u["id"] for u in pop.users}
    assert all(r[2] for r in rows), "emails confirmed"
    by_id = {r[0]: r for r in rows}
    two = next(u for u in pop.users if len(u["companies"]) == 2)
    app = by_id[two["id"]][3]
    assert app["service_company_ids"] == sorted(c["id"] for c in two["companies"])
    assert set(app["roles"]) == {str(c["id"]) for c in two["companies"]}
    assert by_id[two["id"]][4]["first_name"] == two["first"]
    assert sb.db.execute("SELECT count(*) FROM auth.identities WHERE provider = 'email'").fetchone()[0] == 200

    sb.gotrue.reset_calls()
    again = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(minutes=15)))
    assert again["users_unchanged"] == 200 and sb.gotrue.calls == []

    users = [dict(u) for u in pop.users]
    users[5]["last"] = "Renamed"
    sync = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(minutes=30), users))
    assert sync["users_updated"] == 1 and sb.gotrue.calls == [("PUT", f"/admin/users/{users[5]['id']}")]

    sb.gotrue.reset_calls()
    users[6]["email"] = "brand.new.address@example.org"
    sync = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(minutes=45), users))
    assert sync["users_updated"] == 1 and sb.gotrue.calls == [("PUT", f"/admin/users/{users[6]['id']}")]
    assert sb.db.execute("SELECT email FROM auth.users WHERE id = %s", (users[6]["id"],)).fetchone()[0] == "brand.new.address@example.org"

    sb.gotrue.reset_calls()
    gone = users.pop(7)
    sync = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(hours=1), users))
    assert sync["users_deleted"] == 1 and sb.gotrue.calls == [("DELETE", f"/admin/users/{gone['id']}")]
    assert sb.db.execute("SELECT count(*) FROM azure_sync.user_profiles WHERE id = %s", (gone["id"],)).fetchone()[0] == 0
    assert sb.db.execute("SELECT count(*) FROM auth.users WHERE id = %s", (gone["id"],)).fetchone()[0] == 0

    sb.gotrue.reset_calls()
    sync = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(hours=2), users[50:]))
    assert sync["users_deleted"] == 0 and sync["user_deletions_blocked"] == 50
    assert sb.gotrue.count("DELETE") == 0
    assert sb.db.execute("SELECT count(*) FROM auth.users").fetchone()[0] == 199


def test_a_run_rolled_back_after_creating_auth_users_is_repaired(sb, cluster):
    pop = population()
    doc = generate.users_file(pop, T0).decode()
    with cluster.connect(autocommit=False) as tx:
        tx.execute("SELECT azure_sync.sync_users(%s::jsonb)", (doc,))
        tx.rollback()
    assert sb.db.execute("SELECT count(*) FROM auth.users").fetchone()[0] == 200, "GoTrue kept what it was told"
    assert sb.db.execute("SELECT count(*) FROM azure_sync.user_profiles").fetchone()[0] == 0
    sb.gotrue.reset_calls()
    repaired = sync_users(sb.db, doc)
    assert repaired["users_created"] == 200 and repaired["users_failed"] == 0, repaired["auth_failures"][:3]
    assert sb.db.execute("SELECT count(*) FROM auth.users").fetchone()[0] == 200
    assert sb.db.execute("SELECT count(*) FROM azure_sync.user_profiles").fetchone()[0] == 200
    # Each one: the create is refused as a duplicate, the user is read and updated.
    assert sb.gotrue.count("POST") == 200 and sb.gotrue.count("GET") == 200 and sb.gotrue.count("PUT") == 200


def test_gotrue_failing_for_some_users_leaves_them_alone(sb):
    pop = population()
    broken = {pop.users[3]["id"], pop.users[4]["id"]}
    sb.gotrue.fail_ids = set(broken)
    first = sync_users(sb.db, generate.users_file(pop, T0))
    assert first["users_created"] == 198 and first["users_failed"] == 2
    assert {f["user_id"] for f in first["auth_failures"]} == broken
    assert all("HTTP 500" in f["reason"] for f in first["auth_failures"])
    assert sb.db.execute("SELECT count(*) FROM azure_sync.user_profiles WHERE id::text = ANY(%s)", (list(broken),)).fetchone()[0] == 0
    # Deleting users GoTrue fails on: their profiles stay (no orphan either way).
    sb.gotrue.fail_ids = {pop.users[10]["id"]}
    remaining = [u for i, u in enumerate(pop.users) if i not in (10, 11)]
    second = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(hours=1), remaining))
    assert (second["users_created"], second["users_deleted"], second["users_failed"]) == (2, 1, 1), "the earlier failures caught up"
    assert sb.db.execute("SELECT count(*) FROM azure_sync.user_profiles WHERE id = %s", (pop.users[10]["id"],)).fetchone()[0] == 1
    assert sb.db.execute("SELECT count(*) FROM auth.users WHERE id = %s", (pop.users[10]["id"],)).fetchone()[0] == 1
    # When GoTrue is well again, everything catches up.
    sb.gotrue.fail_ids = set()
    third = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(hours=2), remaining))
    assert (third["users_created"], third["users_deleted"], third["users_failed"]) == (0, 1, 0)
    assert sb.db.execute("SELECT count(*) FROM auth.users").fetchone()[0] == 198


def test_run_uploads_snapshots_byte_identical_and_only_when_changed(sb, azurite):
    name = f"sb-{uuid.uuid4().hex[:12]}"
    pop = generate.Population(12, companies=6, groups=2, users=30)
    blobs = generate.build(pop, 4, START, T0)
    cc = generate.write_container(azurite.service(), name, blobs)
    configure(sb.db, azure_url=azurite.container_sas_url(name, "rl", 24 * 60))
    first = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert first["status"] == "succeeded", first["errors"]
    assert first["schedules_applied"] == 6 and first["users_created"] == 30
    assert first["storage_requests"] == 7  # the bucket once, six uploads
    assert (first["storage_backend"], first["auth_backend"]) == ("Supabase Storage (bucket schedule-data)", "Supabase Auth (GoTrue admin API)")
    for company in pop.companies:
        path = f"{company['id']}/{START.isoformat()}/schedule.json"
        assert sb.storage.read("schedule-data", path) == blobs[f"{company['id']}_schedules.json"], path
    assert sb.db.execute("SELECT count(*) FROM storage.objects WHERE bucket_id = 'schedule-data'").fetchone()[0] == 6
    assert sb.db.execute("SELECT public FROM storage.buckets WHERE id = 'schedule-data'").fetchone()[0] is False
    assert sb.db.execute("SELECT count(*) FROM azure_sync.stored_objects").fetchone()[0] == 0, "Storage, not the embedded table"

    sb.storage.reset_calls()
    sb.gotrue.reset_calls()
    again = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert (again["storage_requests"], again["auth_requests"], again["blobs_downloaded"]) == (0, 0, 0)
    assert sb.storage.calls == [] and sb.gotrue.calls == []

    # A failed upload leaves that blob unapplied: the next run downloads and uploads it again.
    cc.upload_blob("2_schedules.json", generate.schedule_file(pop, pop.companies[1], 4, START, T0 + timedelta(minutes=15), version=1), overwrite=True)
    sb.storage.fail_ids = {f"2/{START.isoformat()}/schedule.json"}
    failed = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert failed["status"] == "failed" and failed["blobs_failed"] == 1
    assert "storage upload schedule-data/2/2025-12-10/schedule.json failed: HTTP 500" in failed["errors"][0]["reason"], failed["errors"]
    assert sb.db.execute("SELECT generated_at FROM azure_sync.schedule_data WHERE service_company_id = 2").fetchone()[0] == T0
    sb.storage.fail_ids = set()
    retried = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert (retried["status"], retried["blobs_downloaded"], retried["schedules_applied"]) == ("succeeded", 1, 1)
    assert sb.db.execute("SELECT generated_at FROM azure_sync.schedule_data WHERE service_company_id = 2").fetchone()[0] == T0 + timedelta(minutes=15)


def test_portal_users_see_only_their_companies(sb):
    pop = generate.Population(13, companies=3, groups=1, users=12)
    for c in pop.companies:
        sb.db.execute("SELECT azure_sync.sync_schedule(%s::jsonb)", (generate.schedule_file(pop, c, 2, START, T0).decode(),))
    sync_users(sb.db, generate.users_file(pop, T0))
    alice = next(u for u in pop.users if len(u["companies"]) == 1 and u["companies"][0]["id"] == 1)
    claims = json.dumps({"sub": alice["id"], "role": "authenticated"})
    with sb.db.transaction():
        sb.db.execute("SET LOCAL ROLE authenticated")
        sb.db.execute("SELECT set_config('request.jwt.claims', %s, true)", (claims,))
        assert [r[0] for r in sb.db.execute("SELECT DISTINCT service_company_id FROM azure_sync.schedule_data").fetchall()] == [1]
        assert [r[0] for r in sb.db.execute("SELECT id FROM azure_sync.companies").fetchall()] == [1]
        assert [r[0] for r in sb.db.execute("SELECT id::text FROM azure_sync.user_profiles").fetchall()] == [alice["id"]]
        assert {r[0] for r in sb.db.execute("SELECT company_id FROM azure_sync.company_memberships").fetchall()} == {1}
        assert sb.db.execute("SELECT count(*) FROM azure_sync.stored_objects").fetchone()[0] == 0  # documents live in Storage here
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            sb.db.execute("UPDATE azure_sync.schedule_data SET job_count = 0")
        raise_rollback(sb.db)
    with sb.db.transaction():
        sb.db.execute("SET LOCAL ROLE anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            sb.db.execute("SELECT * FROM azure_sync.schedule_data")
        raise_rollback(sb.db)


def raise_rollback(conn):
    raise psycopg.Rollback()


def test_the_service_role_key_never_shows(sb, azurite):
    configure(sb.db, service_role_key=supabase.make_jwt("anon"))
    pop = generate.Population(14, companies=2, groups=1, users=3)
    result = sync_users(sb.db, generate.users_file(pop, T0))
    assert result["users_failed"] == 3
    assert all("HTTP 403 not_admin" in f["reason"] for f in result["auth_failures"]), result["auth_failures"]
    configure(sb.db, service_role_key="")
    err = sql_error(sb.db, "SELECT azure_sync.sync_users('{\"GeneratedAt\": \"2026-01-01T00:00:00Z\", \"ServiceCompanyGroups\": []}')")
    assert "auth_url is set but service_role_key is not" in err
    configure(sb.db, service_role_key=SERVICE_KEY)
    texts = [json.dumps(result), err, " ".join(sb.db.notices)]
    texts += [r[0] for r in sb.db.execute("SELECT summary::text || errors::text FROM azure_sync.sync_jobs").fetchall()]
    texts += [sb.gotrue.log_path.read_text(), sb.storage.log_path.read_text()]
    texts += [sb.db.execute("SELECT string_agg(value, ' ') FROM azure_sync.show_config()").fetchone()[0]]
    for text in texts + SEEN_ERRORS:
        assert SERVICE_KEY not in text and supabase.make_jwt("anon").split(".")[2] not in text


def test_gotrue_dropping_connections_or_too_slow_fails_those_calls_only(sb):
    pop = generate.Population(15, companies=2, groups=1, users=6)
    sb.gotrue.drop = True
    configure(sb.db, max_retries=1)
    dropped = sync_users(sb.db, generate.users_file(pop, T0))
    assert (dropped["users_created"], dropped["users_failed"]) == (0, 6)
    assert sb.gotrue.count("POST") == 12, "each create tried twice (one retry)"
    assert sb.db.execute("SELECT count(*) FROM azure_sync.user_profiles").fetchone()[0] == 0
    sb.gotrue.drop = False
    sb.gotrue.delay = 1.5
    configure(sb.db, request_timeout_ms=500, max_retries=0)
    slow = sync_users(sb.db, generate.users_file(pop, T0))
    assert slow["users_failed"] == 6
    sb.gotrue.delay = 0
    configure(sb.db, request_timeout_ms=120000, max_retries=3)
    well = sync_users(sb.db, generate.users_file(pop, T0))
    # Some creates of the slow round may have landed after the client gave up: they are
    # read back and updated, never duplicated.
    assert (well["users_created"], well["users_failed"]) == (6, 0)
    assert sb.db.execute("SELECT count(*) FROM auth.users").fetchone()[0] == 6


def test_a_sync_keeps_pending_magic_links_unless_the_email_changes(sb):
    pop = generate.Population(17, companies=2, groups=1, users=4)
    assert sync_users(sb.db, generate.users_file(pop, T0))["users_created"] == 4
    uid = pop.users[0]["id"]
    confirmed = sb.db.execute("SELECT email_confirmed_at FROM auth.users WHERE id = %s", [uid]).fetchone()[0]
    # The technician asks for a magic link; then upstream renames them.
    sb.db.execute("INSERT INTO auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to) "
                  "VALUES (gen_random_uuid(), %s, 'recovery_token', 'pending-link', %s)", [uid, pop.users[0]["email"]])
    renamed = [dict(u) for u in pop.users]
    renamed[0]["last"] = renamed[0]["last"] + "-Renamed"
    result = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(minutes=15), users=renamed))
    assert result["users_updated"] == 1
    assert sb.db.execute("SELECT count(*) FROM auth.one_time_tokens WHERE user_id = %s", [uid]).fetchone()[0] == 1, "the link still works"
    assert sb.db.execute("SELECT email_confirmed_at FROM auth.users WHERE id = %s", [uid]).fetchone()[0] == confirmed
    # A new email is confirmed at once (magic-link sign-in works for it), which ends old links.
    renamed[0]["email"] = "moved." + renamed[0]["email"]
    result = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(minutes=30), users=renamed))
    assert result["users_updated"] == 1
    row = sb.db.execute("SELECT email, email_confirmed_at > %s FROM auth.users WHERE id = %s", [confirmed, uid]).fetchone()
    assert row == (renamed[0]["email"].lower(), True)
    assert sb.db.execute("SELECT count(*) FROM auth.one_time_tokens WHERE user_id = %s", [uid]).fetchone()[0] == 0


def storage_get(storage, token, path, bucket="schedule-data"):
    """GET an object through the Storage API as a portal client does: (status, body)."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"{storage.url}/object/authenticated/{bucket}/{path}",
                                 headers={"Authorization": f"Bearer {token}", "apikey": supabase.make_jwt("anon")})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_a_technician_reads_their_companies_snapshots_through_storage_and_nothing_else(sb, azurite):
    pop = generate.Population(19, companies=3, groups=1, users=12)
    name = f"portal-{uuid.uuid4().hex[:12]}"
    generate.write_container(azurite.service(), name, generate.build(pop, 2, START, T0))
    configure(sb.db, azure_url=azurite.container_sas_url(name, "rl", 24 * 60))
    assert sb.db.execute("SELECT azure_sync.run()").fetchone()[0]["status"] == "succeeded"
    tech = next(u for u in pop.users if len(u["companies"]) == 1)
    own = tech["companies"][0]["id"]
    other = next(c["id"] for c in pop.companies if c["id"] != own)
    token = supabase.make_jwt("authenticated", sub=tech["id"])
    status, body = storage_get(sb.storage, token, f"{own}/{START}/schedule.json")
    assert status == 200 and json.loads(body)["ServiceCompanyId"] == own
    status, body = storage_get(sb.storage, token, f"{other}/{START}/schedule.json")
    assert status == 400 and json.loads(body)["statusCode"] == "404", "another company's snapshot does not exist for them"
    status, _ = storage_get(sb.storage, supabase.make_jwt("anon"), f"{own}/{START}/schedule.json")
    assert status == 400, "anon reads nothing"
    # The policy asks for the user's companies once per statement (scalar subqueries), not
    # once per row.
    policy = sb.db.execute("SELECT qual FROM pg_policies WHERE schemaname = 'storage' AND policyname = 'azure_sync_snapshots_read'").fetchone()[0]
    assert "SELECT azure_sync.my_company_ids()" in policy and "SELECT azure_sync.snapshot_bucket()" in policy, policy


def test_email_swaps_and_cycles_resolve_in_one_run(sb):
    pop = generate.Population(23, companies=2, groups=1, users=8)
    assert sync_users(sb.db, generate.users_file(pop, T0))["users_created"] == 8
    users = [dict(u) for u in pop.users]
    emails = [u["email"] for u in users]
    # Two users swap; three rotate.
    users[0]["email"], users[1]["email"] = emails[1], emails[0]
    users[2]["email"], users[3]["email"], users[4]["email"] = emails[3], emails[4], emails[2]
    result = sync_users(sb.db, generate.users_file(pop, T0 + timedelta(minutes=15), users=users))
    assert (result["users_updated"], result["users_failed"]) == (5, 0), result["auth_failures"]
    in_auth = dict(sb.db.execute("SELECT id::text, email FROM auth.users").fetchall())
    in_profiles = dict(sb.db.execute("SELECT id::text, email FROM azure_sync.user_profiles").fetchall())
    for u in users:
        assert in_auth[u["id"]] == u["email"].lower() == in_profiles[u["id"]], u
    assert not [e for e in in_auth.values() if e.endswith(".invalid")], "nobody is left on a temporary address"
    assert sb.gotrue.count("PUT") == 10, "one step aside and one final update each"


def test_a_snapshot_over_the_size_limit_fails_alone_unsent_and_the_rest_lands(sb, azurite):
    pop = generate.Population(29, companies=3, groups=1, users=6)
    blobs = generate.build(pop, 2, START, T0)
    big = json.loads(blobs["2_schedules.json"])
    big["Jobs"] = [{"Notes": "x" * 1000, "N": i} for i in range(60 * 1024)]  # about 60 MB
    blobs["2_schedules.json"] = json.dumps(big).encode()
    name = f"big-{uuid.uuid4().hex[:12]}"
    generate.write_container(azurite.service(), name, blobs)
    configure(sb.db, azure_url=azurite.container_sas_url(name, "rl", 24 * 60))
    result = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    errors = {e["blob"]: e["reason"] for e in result["errors"]}
    assert list(errors) == ["2_schedules.json"], errors
    assert "over the size limit of 52428800 bytes" in errors["2_schedules.json"] and "not sent" in errors["2_schedules.json"], errors
    assert (result["status"], result["schedules_applied"], result["users_created"]) == ("partial", 2, 6), result
    assert not [p for m, p in sb.storage.calls if m == "POST" and p.startswith("/object/schedule-data/2/")], "the body was never sent"
    bucket = sb.db.execute("SELECT public, file_size_limit, allowed_mime_types FROM storage.buckets WHERE id = 'schedule-data'").fetchone()
    assert bucket == (False, 52428800, ["application/json"])
    # It fails for good: not downloaded again while its ETag stays.
    again = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert (again["get_requests"], again["blobs_still_failing"]) == (0, 1), again


def test_an_unfit_existing_bucket_is_reported_not_used_blindly(sb, azurite):
    sb.db.execute("INSERT INTO storage.buckets (id, name, public) VALUES ('schedule-data', 'schedule-data', true)")
    pop = generate.Population(37, companies=1, groups=1, users=2)
    name = f"pub-{uuid.uuid4().hex[:12]}"
    generate.write_container(azurite.service(), name, generate.build(pop, 2, START, T0))
    configure(sb.db, azure_url=azurite.container_sas_url(name, "rl", 24 * 60))
    result = sb.db.execute("SELECT azure_sync.run()").fetchone()[0]
    assert result["status"] == "partial" and "is public" in result["storage_problem"], result
    assert any("is public" in n for n in sb.db.notices)


def test_reconcile_auth_finds_and_repairs_each_kind_of_drift(sb):
    pop = generate.Population(43, companies=2, groups=1, users=6)
    assert sync_users(sb.db, generate.users_file(pop, T0))["users_created"] == 6
    a, b, c = pop.users[0], pop.users[1], pop.users[2]
    orphan, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    insert = ("INSERT INTO auth.users (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, created_at, updated_at) "
              "VALUES ('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s, now(), %s, now(), now())")
    sb.db.execute("DELETE FROM auth.users WHERE id = %s", [a["id"]])  # deleted by hand in the dashboard
    sb.db.execute(insert, [orphan, "left.behind@example.com", json.dumps({"azure_sync": True})])  # a rolled-back run's user
    sb.db.execute(insert, [stranger, "admin@example.com", json.dumps({"provider": "email"})])  # not ours: never touched
    sb.db.execute("UPDATE auth.users SET email = 'edited@example.com' WHERE id = %s", [b["id"]])
    sb.db.execute("UPDATE auth.users SET email_confirmed_at = NULL WHERE id = %s", [c["id"]])
    before = sb.db.execute("SELECT id::text, email, email_confirmed_at IS NOT NULL FROM auth.users ORDER BY 1").fetchall()

    found = sb.db.execute("SELECT azure_sync.reconcile_auth()").fetchone()[0]
    assert found["missing_auth_users"] == [a["id"]] and found["orphans"] == [orphan], found
    assert {m["user_id"]: m["differs"] for m in found["mismatched"]} == {b["id"]: ["email"], c["id"]: ["confirmation"]}
    assert sb.db.execute("SELECT id::text, email, email_confirmed_at IS NOT NULL FROM auth.users ORDER BY 1").fetchall() == before, "a dry run changes nothing"
    ok, _ = dict((r[0], (r[1], r[2])) for r in sb.db.execute("SELECT * FROM azure_sync.readiness()").fetchall())["technicians can sign in"]
    assert ok is False

    repaired = sb.db.execute("SELECT azure_sync.reconcile_auth(dry_run => false)").fetchone()[0]
    assert (repaired["created"], repaired["updated"], repaired["deleted"], repaired["failures"]) == (1, 2, 1, []), repaired
    in_auth = {r[0]: (r[1], r[2]) for r in sb.db.execute("SELECT id::text, email, email_confirmed_at IS NOT NULL FROM auth.users").fetchall()}
    for u in pop.users:
        assert in_auth[u["id"]] == (u["email"].lower(), True), u
    assert orphan not in in_auth and in_auth[stranger] == ("admin@example.com", True)
    again = sb.db.execute("SELECT azure_sync.reconcile_auth()").fetchone()[0]
    assert (again["missing_auth_users"], again["orphans"], again["mismatched"]) == ([], [], [])


@needs_pg_cron
def test_schedule_runs_reconcile_daily_beside_the_sync_when_auth_is_configured(sb):
    sb.db.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
    sb.db.execute("SELECT azure_sync.schedule()")
    jobs = dict(sb.db.execute("SELECT jobname, schedule FROM cron.job WHERE jobname LIKE 'azure-sync%'").fetchall())
    assert jobs == {"azure-sync-15min": "*/15 * * * *", "azure-sync-reconcile": "17 3 * * *"}
    assert sb.db.execute("SELECT azure_sync.unschedule()").fetchone()[0] is True
    assert sb.db.execute("SELECT count(*) FROM cron.job WHERE jobname LIKE 'azure-sync%'").fetchone()[0] == 0
