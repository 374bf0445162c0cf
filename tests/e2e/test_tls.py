"""TLS as behind a TLS-inspecting proxy: Azurite and a Storage stand-in served over https with
a certificate from a test CA. Without the `ca_bundle` setting the calls fail with a clear
certificate error; with it, the sync works."""
import os
import subprocess
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

import generate
import harness
from conftest import WORKDIR, configure, run
from standins import supabase
from test_supabase import SERVICE_KEY, sb  # noqa: F401  (the Supabase stand-ins' fixture)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def test_ca():
    """A CA, and a certificate it signed for 127.0.0.1: (certificate, key, CA bundle)."""
    folder = WORKDIR / f"tls-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)  # the server, running as postgres, reads the bundle
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=azure_sync test CA", cwd=folder)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                    "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
            "-days", "2", "-extfile", "ext.cnf", cwd=folder)
    for f in folder.iterdir():
        os.chmod(f, 0o644)
    return folder / "server.pem", folder / "server.key", folder / "ca.pem"


@pytest.fixture(scope="module")
def azurite_https(test_ca):
    a = harness.Azurite(WORKDIR / "azurite-tls", port=harness.free_port(), tls=test_ca).start()
    yield a
    a.stop()


def test_a_private_ca_is_trusted_only_through_ca_bundle(sb, azurite_https, test_ca):  # noqa: F811
    pop = generate.Population(47, companies=2, groups=1, users=4)
    name = f"tls-{uuid.uuid4().hex[:12]}"
    generate.write_container(azurite_https.service(), name, generate.build(pop, 2, date(2025, 12, 10), datetime(2025, 12, 10, 6, tzinfo=timezone.utc)))
    conninfo = f"host=127.0.0.1 port={sb.db.info.port} user=postgres dbname={sb.db.info.dbname}"
    storage = supabase.Storage(conninfo, WORKDIR / "standin-logs", WORKDIR / f"storage-tls-{uuid.uuid4().hex[:8]}", tls=test_ca[:2])
    try:
        assert storage.url.startswith("https://") and azurite_https.endpoint.startswith("https://")
        configure(sb.db, azure_url=azurite_https.container_sas_url(name, "rl", 24 * 60), storage_url=storage.url, auth_url="",
                  service_role_key=SERVICE_KEY)
        refused = run(sb.db)
        assert refused["status"] == "failed", refused
        reason = refused["errors"][0]["reason"]
        assert "invalid peer certificate" in reason and "ca_bundle" in reason, reason

        configure(sb.db, ca_bundle=str(test_ca[2]))
        trusted = run(sb.db)
        assert (trusted["status"], trusted["schedules_applied"]) == ("succeeded", 2), trusted
        assert storage.count("POST", "/object/") == 2, "snapshots uploaded over https"

        # A bundle that is not one is refused when configured, not at 3 a.m.
        bad = test_ca[2].with_name("not-a-bundle.pem")
        bad.write_text("hello")
        os.chmod(bad, 0o644)
        from conftest import sql_error
        err = sql_error(sb.db, "SELECT * FROM azure_sync.configure(ca_bundle => %s)", [str(bad)])
        assert "holds no certificate" in err, err
    finally:
        storage.close()
