"""The Azure Blob client against Azurite (and against misbehaving stand-ins), through the
SQL functions a DBA uses: list_blobs(), download_blob(), fetch_blob()."""
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness
from conftest import SEEN_ERRORS, configure, sql_error
from stand_ins import FlakyServer, StallingServer

ODD_NAMES = ["with space.json", "plus+sign.json", "percent%41.json", "hash#tag.json",
             "ünïcödé-日本-é.json", "folder/nested name.json", "semi;colon&amp=.json"]


@pytest.fixture(scope="module")
def many(azurite):
    """A container of 5,003 small blobs, written with the official client."""
    cc = azurite.service().get_container_client("many")
    if not cc.exists():
        cc.create_container()
        names = [f"{i}_schedules.json" for i in range(5000)] + ["users.json", "readme.txt", "zz last.json"]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: cc.upload_blob(n, b"{}", overwrite=True), names))
    return cc


@pytest.fixture(scope="module")
def odd(azurite):
    """Blobs whose names need encoding, with bytes that must come back exactly."""
    cc = azurite.service().get_container_client("odd")
    if not cc.exists():
        cc.create_container()
    contents = {name: os.urandom(64) + name.encode() for name in ODD_NAMES}
    for name, data in contents.items():
        cc.upload_blob(name, data, overwrite=True)
    return contents


def listed_names(db):
    return [r[0] for r in db.execute("SELECT name FROM azure_sync.list_blobs() ORDER BY name").fetchall()]


def test_a_container_of_5003_blobs_is_listed_completely(db, azurite, many):
    configure(db, azure_connection_string=azurite.connection_string, azure_container="many")
    names = listed_names(db)
    assert len(names) == 5003 and len(set(names)) == 5003
    assert db.notices[-1].startswith("azure_sync: listed 5003 blobs in 2 page(s)"), db.notices
    kinds = dict(db.execute("SELECT kind, count(*) FROM azure_sync.list_blobs() GROUP BY kind").fetchall())
    assert kinds == {"schedule": 5000, "users": 1, "ignored": 2}
    row = db.execute("SELECT service_company_id, size_bytes, changed, etag <> '' AND etag NOT LIKE '\"%%', last_modified > now() - interval '1 day' "
                     "FROM azure_sync.list_blobs() WHERE name = '42_schedules.json'").fetchone()
    assert row == (42, 2, True, True, True)


def test_small_pages_are_followed_to_the_end(db, azurite, many):
    configure(db, azure_connection_string=azurite.connection_string, azure_container="many", list_page_size=700)
    names = listed_names(db)
    assert len(set(names)) == 5003
    assert db.notices[-1].startswith("azure_sync: listed 5003 blobs in 8 page(s)"), db.notices


def test_odd_names_list_and_download_byte_exact(db, azurite, odd):
    configure(db, azure_connection_string=azurite.connection_string, azure_container="odd")
    assert listed_names(db) == sorted(ODD_NAMES)
    for name, data in odd.items():
        got = db.execute("SELECT azure_sync.download_blob(%s)", (name,)).fetchone()[0]
        assert bytes(got) == data, name


def test_if_none_match_answers_not_modified(db, azurite, odd):
    configure(db, azure_connection_string=azurite.connection_string, azure_container="odd")
    etag = db.execute("SELECT etag FROM azure_sync.list_blobs() WHERE name = 'hash#tag.json'").fetchone()[0]
    assert db.execute("SELECT azure_sync.download_blob('hash#tag.json', if_none_match => %s) IS NULL", (etag,)).fetchone()[0] is True
    got = db.execute("SELECT azure_sync.download_blob('hash#tag.json', if_none_match => '0x8D000000000000')").fetchone()[0]
    assert bytes(got) == odd["hash#tag.json"]


def test_use_development_storage_means_azurite_on_10000(db, azurite, odd):
    if azurite.port != 10000:
        pytest.skip("port 10000 was busy: UseDevelopmentStorage=true cannot point elsewhere")
    configure(db, azure_connection_string="UseDevelopmentStorage=true", azure_container="odd")
    assert listed_names(db) == sorted(ODD_NAMES)


def test_a_sas_made_by_the_official_client_works(db, azurite, odd):
    configure(db, azure_url=azurite.container_sas_url("odd", "rl"))
    assert listed_names(db) == sorted(ODD_NAMES)
    got = db.execute("SELECT azure_sync.download_blob(%s)", ("plus+sign.json",)).fetchone()[0]
    assert bytes(got) == odd["plus+sign.json"]
    shown = db.execute("SELECT value FROM azure_sync.show_config() WHERE name = 'azure_url'").fetchone()[0]
    assert "sig=*****" in shown and "sig=" in shown


def test_a_sas_without_list_permission_says_so(db, azurite, odd):
    configure(db, azure_url=azurite.container_sas_url("odd", "r"))
    err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
    assert "list blobs of container \"odd\" failed: HTTP 403" in err, err
    assert "the SAS token was rejected: it lacks the list permission (sp=r; list blobs needs l" in err, err
    # Reading still works with r.
    assert db.execute("SELECT length(azure_sync.download_blob('hash#tag.json'))").fetchone()[0] > 0


def test_an_expired_sas_says_so(db, azurite, odd):
    configure(db, azure_url=azurite.container_sas_url("odd", "rl", expiry_hours=-1))
    err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
    assert "HTTP 403" in err and "the SAS token was rejected: it expired at" in err, err


def test_missing_container_and_blob_are_named(db, azurite, odd):
    configure(db, azure_connection_string=azurite.connection_string, azure_container="no-such-container")
    err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
    assert 'list blobs of container "no-such-container" failed: HTTP 404 ContainerNotFound' in err, err
    configure(db, azure_container="odd")
    err = sql_error(db, "SELECT azure_sync.download_blob('missing.json')")
    assert 'get blob "missing.json" failed: HTTP 404 BlobNotFound' in err, err


def test_a_blob_over_the_size_cap_is_refused_before_reading(db, azurite):
    cc = azurite.service().get_container_client("big")
    if not cc.exists():
        cc.create_container()
    cc.upload_blob("1_schedules.json", b"x" * 50_000, overwrite=True)
    configure(db, azure_connection_string=azurite.connection_string, azure_container="big", max_blob_bytes=10_000)
    err = sql_error(db, "SELECT azure_sync.download_blob('1_schedules.json')")
    # Judged on Content-Length: the size is known exactly without reading the body.
    assert 'get blob "1_schedules.json" failed: the blob is 50000 bytes, over the size cap of 10000 bytes' in err, err
    configure(db, max_blob_bytes=100_000)
    assert db.execute("SELECT length(azure_sync.download_blob('1_schedules.json'))").fetchone()[0] == 50_000


def test_fetch_blob_parses_as_the_sync_would(db, azurite):
    sample = os.path.join(os.path.dirname(__file__), "..", "fixtures", "sample")
    harness.upload_dir(azurite.service(), "sample-fetch", sample)
    cc = azurite.service().get_container_client("sample-fetch")
    cc.upload_blob("9_schedules.json", b'{"ServiceCompanyId": "nine"}', overwrite=True)
    configure(db, azure_connection_string=azurite.connection_string, azure_container="sample-fetch")
    doc = db.execute("SELECT azure_sync.fetch_blob('users.json')").fetchone()[0]
    assert doc["ServiceCompanyGroups"][0]["ServiceCompanyGroupId"] == 1
    err = sql_error(db, "SELECT azure_sync.fetch_blob('9_schedules.json')")
    assert "9_schedules.json breaks the file contract:" in err and "ServiceCompanyId: expected an integer, got a string" in err, err


def test_503_twice_then_200_is_retried_to_success(db):
    server = FlakyServer(failures=2)
    try:
        configure(db, azure_url=f"http://127.0.0.1:{server.port}/devstoreaccount1/flaky?sv=2021-12-02&sp=rl&sig=notasecret%2B1")
        assert listed_names(db) == ["1_schedules.json", "users.json"]
        assert len(server.requests) == 3
        assert all("sig=notasecret%2B1" in p for p in server.requests), "the signature is sent percent-encoded"
    finally:
        server.close()


def test_persistent_503_fails_after_the_configured_retries(db):
    server = FlakyServer(failures=100)
    try:
        configure(db, azure_url=f"http://127.0.0.1:{server.port}/devstoreaccount1/flaky?sp=rl&sig=x", max_retries=2)
        err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
        assert "HTTP 503 ServerBusy Try later (after 3 attempts)" in err, err
        assert len(server.requests) == 3
    finally:
        server.close()


def test_a_server_that_never_answers_times_out_within_the_bound(db):
    server = StallingServer()
    try:
        configure(db, azure_url=f"http://127.0.0.1:{server.port}/devstoreaccount1/stall?sp=rl&sig=x",
                  request_timeout_ms=1500, max_retries=0)
        start = time.monotonic()
        err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
        elapsed = time.monotonic() - start
        assert "no answer within 1.5s" in err, err
        assert 1.4 < elapsed < 4, elapsed
    finally:
        server.close()


def test_cancel_and_statement_timeout_end_a_hanging_request(db, cluster):
    server = StallingServer()
    try:
        configure(db, azure_url=f"http://127.0.0.1:{server.port}/devstoreaccount1/stall?sp=rl&sig=x",
                  request_timeout_ms=120000, max_retries=0)
        pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        with cluster.connect() as other:
            timer = threading.Timer(1.0, lambda: other.execute("SELECT pg_cancel_backend(%s)", (pid,)))
            timer.start()
            start = time.monotonic()
            err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
            timer.join()
        assert "canceling statement due to user request" in err, err
        assert time.monotonic() - start < 3
        db.execute("SET statement_timeout = '700ms'")
        start = time.monotonic()
        err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
        assert "canceling statement due to statement timeout" in err, err
        assert time.monotonic() - start < 3
        db.execute("RESET statement_timeout")
    finally:
        server.close()


def test_no_error_ever_carried_a_secret(db, azurite):
    """Runs last in this file: every error text seen above is free of signatures and keys."""
    assert len(SEEN_ERRORS) >= 8
    for text in SEEN_ERRORS:
        assert harness.DEV_KEY not in text and "AccountKey=" not in text, text
        assert "sig=" not in text or "sig=*****" in text, text
        assert "notasecret" not in text, text
    # The SAS signature itself, made by the official client, never shows up either.
    url = azurite.container_sas_url("odd", "r", expiry_hours=-2)
    sig = url.split("sig=")[1].split("&")[0]
    configure(db, azure_url=url)
    err = sql_error(db, "SELECT * FROM azure_sync.list_blobs()")
    assert sig not in err and harness.DEV_KEY not in err
    rows = db.execute("SELECT string_agg(value, ' ') FROM azure_sync.show_config()").fetchone()[0]
    assert sig not in rows
