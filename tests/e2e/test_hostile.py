"""Hostile input and misbehaving servers through run(): nothing panics, aborts the run, or is
dropped without a word."""
import json
import threading
import time
from datetime import timedelta

import psycopg
import pytest

import generate
from conftest import START, T0, configure, counts, run, sql_error
from stand_ins import DelayingProxy, FixedAnswer, LoopingListing

BOM = b"\xef\xbb\xbf"


def upload_changed(container, name, **fields):
    """The container's blob `name` with these top-level fields changed."""
    doc = json.loads(container["blobs"][name])
    doc.update(fields)
    container["client"].upload_blob(name, json.dumps(doc).encode(), overwrite=True)


def errors_by_blob(result):
    return {e["blob"]: e["reason"] for e in result["errors"]}


def via_proxy(azurite, container, proxy):
    return azurite.container_sas_url(container["name"], "rl", expiry_hours=24 * 60).replace(f":{azurite.port}/", f":{proxy.port}/")


def test_good_files_land_beside_more_bad_ones_than_there_are_workers(db, container):
    """The reproduction: five files whose GeneratedAt holds one non-ASCII character, beside a
    valid one, with four download workers."""
    cc, pop = container["client"], container["pop"]
    configure(db, download_concurrency=4)
    for i in range(1, 6):
        doc = json.loads(container["blobs"][f"{i}_schedules.json"])
        doc["GeneratedAt"] = "2026-11-29T1é:00:53Z"
        cc.upload_blob(f"{i}_schedules.json", json.dumps(doc, ensure_ascii=False).encode(), overwrite=True)
    result = run(db)
    assert result["status"] == "partial", result
    assert result["blobs_failed"] == 5 and result["schedules_applied"] == 3 and result["users_created"] == 40
    errors = errors_by_blob(result)
    assert sorted(errors) == [f"{i}_schedules.json" for i in range(1, 6)]
    assert all("GeneratedAt: expected an RFC 3339 timestamp" in r for r in errors.values()), errors
    assert counts(db)["schedule_data"] == 3
    # The same versions are not downloaded again; the run says they still fail.
    again = run(db)
    assert (again["status"], again["get_requests"], again["blobs_still_failing"]) == ("partial", 0, 5)


def test_a_user_with_a_nul_email_is_refused_alone_and_the_run_is_recorded(db, container):
    doc = json.loads(container["blobs"]["users.json"])
    users = doc["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"]
    users[0]["Email"] = "tech\u0000@example.com"
    container["client"].upload_blob("users.json", json.dumps(doc).encode(), overwrite=True)
    result = run(db)
    assert result["users_created"] == 39 and result["users_rejected"] == 1, result
    reason = result["users"]["rejected"][0]["reason"]
    assert reason.endswith("Users[0].Email contains a NUL character (\\u0000), which PostgreSQL text cannot hold"), reason
    row = db.execute("SELECT status, summary->'users'->'rejected'->0->>'reason' FROM azure_sync.sync_jobs ORDER BY id DESC LIMIT 1").fetchone()
    assert row == ("succeeded", reason)


def test_a_nul_company_name_refuses_its_file_by_path(db, container):
    upload_changed(container, "2_schedules.json", Name="Nul\u0000")
    errors = errors_by_blob(run(db))
    assert errors == {"2_schedules.json": "breaks the file contract: Name: contains a NUL character (\\u0000), which PostgreSQL text cannot hold"}
    assert db.execute("SELECT count(*) FROM azure_sync.companies WHERE name LIKE 'Nul%'").fetchone()[0] == 0


def test_a_byte_order_mark_is_accepted_and_not_stored(db, container):
    blob = container["blobs"]["3_schedules.json"]
    container["client"].upload_blob("3_schedules.json", BOM + blob, overwrite=True)
    assert run(db)["status"] == "succeeded"
    stored = db.execute("SELECT content FROM azure_sync.stored_objects WHERE path LIKE '3/%'").fetchone()[0]
    assert bytes(stored) == blob


def test_a_future_users_json_is_refused_and_never_stored(db, container):
    upload_changed(container, "users.json", GeneratedAt="2099-01-01T00:00:00Z")
    errors = errors_by_blob(run(db))
    assert errors["users.json"].startswith("GeneratedAt 2099-01-01T00:00:00.000000Z is later than"), errors
    assert counts(db)["users_file_state"] == 0 and counts(db)["user_profiles"] == 0


def test_two_names_for_one_company_are_reported_never_raced(db, container):
    cc = container["client"]
    cc.upload_blob("01_schedules.json", container["blobs"]["1_schedules.json"], overwrite=True)
    result = run(db)
    errors = errors_by_blob(result)
    assert set(errors) == {"01_schedules.json", "1_schedules.json"}, errors
    assert "names company 1 as 1_schedules.json also does" in errors["01_schedules.json"]
    assert db.execute("SELECT count(*) FROM azure_sync.schedule_data WHERE service_company_id = 1").fetchone()[0] == 0
    assert result["schedules_applied"] == 7


def test_a_listing_without_etags_is_judged_by_content(db, azurite, container):
    proxy = DelayingProxy(azurite.port, delay=0, strip_etags=True)
    try:
        configure(db, azure_url=via_proxy(azurite, container, proxy))
        first = run(db)
        assert first["status"] == "succeeded" and first["schedules_applied"] == 8
        again = run(db)
        # Downloaded again (nothing else can tell), applied never: the content is the same.
        assert (again["get_requests"], again["blobs_unchanged"], again["schedules_applied"], again["users_updated"]) == (9, 9, 0, 0), again
        cc, pop = container["client"], container["pop"]
        cc.upload_blob("4_schedules.json", generate.schedule_file(pop, pop.companies[3], 3, START, T0 + timedelta(hours=1), version=1), overwrite=True)
        changed = run(db)
        assert (changed["schedules_applied"], changed["blobs_unchanged"]) == (1, 8), changed
    finally:
        proxy.close()


@pytest.mark.parametrize("repeat", [True, False])
def test_a_listing_that_never_ends_is_refused(db, repeat):
    server = LoopingListing(repeat=repeat)
    try:
        configure(db, azure_url=f"http://127.0.0.1:{server.port}/devstoreaccount1/loop?sv=2021-12-02&sp=rl&se=2099-01-01&sig=FAKE",
                  max_list_pages=5)
        start = time.monotonic()
        result = run(db)
        assert result["status"] == "failed"
        reason = result["errors"][0]["reason"]
        if repeat:
            assert "a NextMarker it had already given: it is looping" in reason and len(server.requests) == 2, (reason, server.requests)
        else:
            assert "more than 5 pages" in reason and len(server.requests) == 5, (reason, server.requests)
        assert time.monotonic() - start < 3
        assert db.execute("SELECT status FROM azure_sync.sync_jobs").fetchone()[0] == "failed"
    finally:
        server.close()


def test_an_unexpected_error_still_records_a_failed_run_and_keeps_nothing(db, container):
    # Something the run did not expect: a table it reads is gone.
    db.execute("ALTER TABLE azure_sync.users_file_state RENAME TO users_file_state_away")
    try:
        result = run(db)
    finally:
        db.execute("ALTER TABLE azure_sync.users_file_state_away RENAME TO users_file_state")
    assert result["status"] == "failed"
    assert "users_file_state" in result["errors"][0]["reason"] and "nothing this run wrote was kept" in result["errors"][0]["reason"], result["errors"]
    assert db.execute("SELECT status FROM azure_sync.sync_jobs").fetchall() == [("failed",)]
    assert counts(db)["schedule_data"] == 0


def test_a_run_past_max_run_seconds_keeps_its_work_and_leaves_the_rest(db, azurite, container):
    proxy = DelayingProxy(azurite.port, delay=0.7)
    try:
        configure(db, azure_url=via_proxy(azurite, container, proxy), download_concurrency=1, max_run_seconds=2)
        first = run(db)
        assert first["status"] == "partial", first
        assert 0 < first["blobs_left_for_next_run"] < 9 and first["schedules_applied"] + first["blobs_left_for_next_run"] >= 8, first
        assert any("max_run_seconds" in w for w in first["warnings"])
        configure(db, max_run_seconds=0)
        second = run(db)
        assert second["status"] == "succeeded" and second["blobs_downloaded"] == first["blobs_left_for_next_run"], second
        assert counts(db)["schedule_data"] == 8 and counts(db)["user_profiles"] == 40
    finally:
        proxy.close()


def test_an_allowance_applies_the_held_back_users_json_without_a_new_export(db, container):
    assert run(db)["users_created"] == 40
    doc = json.loads(container["blobs"]["users.json"])
    for group in doc["ServiceCompanyGroups"]:
        for company in group["ServiceCompanies"]:
            company["Users"] = company["Users"][: len(company["Users"]) // 2]
    doc["GeneratedAt"] = (T0 + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    container["client"].upload_blob("users.json", json.dumps(doc).encode(), overwrite=True)
    held = run(db)
    assert held["status"] == "partial" and held["user_deletions_blocked"] > 5 and held["users_deleted"] == 0, held
    assert run(db)["get_requests"] == 0, "nothing new, nothing allowed: nothing downloaded"
    db.execute("SELECT azure_sync.allow_mass_deletion('half the staff left')")
    allowed = run(db)
    assert (allowed["status"], allowed["users_deleted"], allowed["get_requests"]) == ("succeeded", held["user_deletions_blocked"], 1), allowed
    assert run(db)["get_requests"] == 0, "the allowance is used up"


def test_one_document_syncs_wait_for_a_run_in_progress(db, cluster, container):
    with cluster.connect(autocommit=False) as first:
        first.execute("SELECT azure_sync.run()")
        # The run's transaction is open: its lock is held.
        db.execute("SET statement_timeout = '1s'")
        err = sql_error(db, "SELECT azure_sync.sync_schedule(%s::jsonb, '1_schedules.json')", [container["blobs"]["1_schedules.json"].decode()])
        db.execute("RESET statement_timeout")
        assert "canceling statement due to statement timeout" in err, err
        first.commit()
    assert db.execute("SELECT azure_sync.sync_schedule(%s::jsonb, '1_schedules.json')->>'status'",
                      [container["blobs"]["1_schedules.json"].decode()]).fetchone()[0] == "applied"


def test_a_cancel_reads_as_postgresql_s_own_message_with_no_rust_backtrace(db, azurite, container):
    proxy = DelayingProxy(azurite.port, delay=1.0)
    try:
        configure(db, azure_url=via_proxy(azurite, container, proxy), download_concurrency=1)
        db.execute("SET statement_timeout = '1500ms'")
        with pytest.raises(psycopg.errors.QueryCanceled) as caught:
            db.execute("SELECT azure_sync.run()")
        db.execute("RESET statement_timeout")
        diag = caught.value.diag
        assert diag.message_primary == "canceling statement due to statement timeout"
        assert not diag.message_detail, diag.message_detail
    finally:
        proxy.close()


HTML = b"<html><body><h1>Welcome</h1>Please sign in to the network.</body></html>"


@pytest.mark.parametrize("status, headers, body", [
    (301, {"Location": "http://127.0.0.1:9/elsewhere"}, b""),
    (200, {"Content-Type": "text/html"}, HTML),
])
def test_something_other_than_azure_answering_fails_the_listing(db, status, headers, body):
    server = FixedAnswer(status, headers, body)
    try:
        configure(db, azure_url=f"http://127.0.0.1:{server.port}/devstoreaccount1/data?sv=2021-12-02&sp=rl&se=2099-01-01&sig=FAKE")
        result = run(db)
        assert result["status"] == "failed", result
        reason = result["errors"][0]["reason"]
        assert ("redirect" in reason) if status == 301 else ("not a blob listing" in reason), reason
        assert len(server.requests) == 1, "a redirect is not followed, nor retried"
    finally:
        server.close()


@pytest.mark.parametrize("status, body", [(200, HTML), (404, b"Not Found"), (301, b"")])
def test_something_other_than_gotrue_answering_fails_those_users_with_nothing_applied(db, container, status, body):
    server = FixedAnswer(status, {"Location": "http://127.0.0.1:9/x"} if status == 301 else {"Content-Type": "text/html"}, body)
    try:
        configure(db, auth_url=f"http://127.0.0.1:{server.port}", service_role_key="a-service-role-key-for-the-test")
        result = run(db)
        assert result["status"] == "partial" and result["users_failed"] == 40 and result["users_created"] == 0, result
        assert counts(db)["user_profiles"] == 0, "nothing applied for a user whose Auth call was not really answered"
        reasons = {e["reason"] for e in result["errors"] if "(user " in e["blob"]}
        assert reasons and all(("something other than GoTrue" in r) or ("404" in r) or ("redirect" in r) for r in reasons), reasons
    finally:
        server.close()
