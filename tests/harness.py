"""Scratch PostgreSQL cluster and Azurite for the end-to-end tests, the demo and the benchmark.

PostgreSQL refuses to run as root, so the cluster runs as the `postgres` OS user (through
`su`). Everything lives under one work folder that can be thrown away; the cluster is reused
across runs when it is already there, so the suite starts in seconds after the first time.
"""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
# The PostgreSQL under test: tests/run_all.sh runs the suite once per major, naming its
# pg_config; Debian's 15 otherwise.
PG_CONFIG = Path(os.environ.get("AZURE_SYNC_PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config"))


def pg_config(flag, config=PG_CONFIG):
    """What `config` (the PostgreSQL under test unless named) says for `flag`."""
    return subprocess.run([str(config), flag], check=True, capture_output=True, text=True).stdout.strip()


def major_of(config=PG_CONFIG):
    return int(pg_config("--version", config).split()[1].split(".")[0])


PG_BIN = Path(pg_config("--bindir"))
PG_MAJOR = major_of()
# pg_cron is packaged for Debian's 15 only: the 17 used here has none, and neither do the
# registries this machine reaches (tests that need it say so when skipped).
PG_CRON = (Path(pg_config("--pkglibdir")) / "pg_cron.so").exists()
NO_PG_CRON = f"pg_cron is not installed for PostgreSQL {PG_MAJOR} here (no package of it for {PG_MAJOR} on the registries this machine reaches)"
AZURITE = HERE / "node_modules" / ".bin" / "azurite-blob"
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port(preferred=None):
    """`preferred` when nothing listens there, else any free port."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as s:
            # As servers do: a port whose last connections linger in TIME_WAIT is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def wait_for_port(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds}s")


def as_postgres(*cmd, check=True):
    """Run a command as the postgres OS user (root cannot run the server)."""
    line = " ".join(f"'{c}'" for c in cmd)
    # From /tmp: the checkout may sit in a folder the postgres user cannot enter, and
    # PostgreSQL's programs refuse to run from a working directory they cannot read.
    return subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", line], check=check, capture_output=True, text=True, cwd="/tmp")


class Cluster:
    """A scratch cluster of the PostgreSQL under test (pg_cron preloaded where it is installed),
    listening on 127.0.0.1 only, trust auth."""

    def __init__(self, workdir, port=None, dbname="azure_sync", pg_bin=None, preload_cron=None):
        """`pg_bin`: another installation's programs (the package test's copy)."""
        self.workdir = Path(workdir)
        self.pgdata = self.workdir / "pgdata"
        self.port = port or 28815
        self.dbname = dbname
        self.pg_bin = Path(pg_bin) if pg_bin else PG_BIN
        self.preload_cron = PG_CRON if preload_cron is None else preload_cron

    def ensure_started(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.workdir, "postgres", "postgres")
        port_file = self.workdir / "port"
        if port_file.exists():
            self.port = int(port_file.read_text())
        if not (self.pgdata / "PG_VERSION").exists():
            as_postgres(str(self.pg_bin / "initdb"), "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
            with open(self.pgdata / "postgresql.conf", "a") as conf:
                conf.write(
                    f"\n# azure_sync scratch cluster\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.workdir}'\nmax_connections = 50\nfsync = off\nlogging_collector = off\n"
                )
                if self.preload_cron:
                    conf.write(f"shared_preload_libraries = 'pg_cron'\ncron.database_name = '{self.dbname}'\ncron.host = '{self.workdir}'\n")
        if as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pgdata), "status", check=False).returncode != 0:
            # Stopped: start on the preferred port when free, else any (another cluster,
            # a CI run's or a session's, may hold it); the last port= line wins.
            self.port = free_port(self.port)
            port_file.write_text(str(self.port))
            with open(self.pgdata / "postgresql.conf", "a") as conf:
                conf.write(f"port = {self.port}\n")
            as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.workdir / "server.log"), "-w", "start")
        with self.connect("postgres") as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)).fetchone():
                c.execute(f'CREATE DATABASE "{self.dbname}"')
        return self

    def restart(self):
        as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.workdir / "server.log"), "-w", "restart")

    def stop(self):
        as_postgres(str(self.pg_bin / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "stop", check=False)

    def connect(self, dbname=None, autocommit=True, user="postgres"):
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, dbname=dbname or self.dbname, autocommit=autocommit)

    def fresh_extension(self):
        """Drop and create the extension (and pg_cron): every table empty, settings cleared."""
        with self.connect() as c:
            c.execute("DROP EXTENSION IF EXISTS azure_sync CASCADE")
            c.execute("DROP SCHEMA IF EXISTS azure_sync CASCADE")
            if self.preload_cron:
                c.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
            c.execute("CREATE EXTENSION azure_sync")


class Azurite:
    """Azurite's blob service on a free port (10000 when free, as UseDevelopmentStorage=true
    expects), in memory, or `persistent` on disk so that it can be stopped and started again
    with its blobs."""

    def __init__(self, workdir, port=None, persistent=False, tls=None):
        """`tls`: (certificate, key) PEM files to serve https with."""
        self.workdir = Path(workdir)
        self.port = port or free_port(10000)
        self.persistent = persistent
        self.tls = tls
        self.proc = None

    @property
    def endpoint(self):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self):
        return (f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
                f"BlobEndpoint={self.endpoint};")

    def start(self):
        if not AZURITE.exists():
            raise RuntimeError("Azurite is not installed: run tests/setup.sh")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"azurite-{self.port}.log", "w")
        storage = ["--location", str(self.workdir / f"data-{self.port}")] if self.persistent else ["--inMemoryPersistence"]
        if self.tls:
            storage += ["--cert", str(self.tls[0]), "--key", str(self.tls[1])]
        self.proc = subprocess.Popen(
            [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), *storage,
             "--silent", "--skipApiVersionCheck", "--loose"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        wait_for_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def service(self):
        from azure.storage.blob import BlobServiceClient
        if self.tls:
            return BlobServiceClient.from_connection_string(self.connection_string, connection_verify=str(self.tls[2]))
        return BlobServiceClient.from_connection_string(self.connection_string)

    def container_sas_url(self, container, permission="rl", expiry_hours=24):
        """A container SAS URL made by the official client."""
        from datetime import datetime, timedelta, timezone
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas
        expiry = datetime.now(timezone.utc) + timedelta(hours=expiry_hours)
        token = generate_container_sas(DEV_ACCOUNT, container, account_key=DEV_KEY,
                                       permission=ContainerSasPermissions.from_string(permission), expiry=expiry)
        return f"{self.endpoint}/{container}?{token}"


def upload_dir(service, container, folder):
    """Upload every file of a folder as a blob of the same name, with the official client."""
    cc = service.get_container_client(container)
    if not cc.exists():
        cc.create_container()
    for path in sorted(Path(folder).iterdir()):
        if path.is_file():
            cc.upload_blob(path.name, path.read_bytes(), overwrite=True)
    return cc
