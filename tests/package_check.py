"""Checks of a release package made by tests/package.sh (`cargo pgrx package`).

    package_check.py [--install] PACKAGE_DIR PG_CONFIG

Always: the package holds the library, the control file and the install script of this
version (and the upgrade scripts), and the library links nothing but libc, libm, libgcc_s and
the loader and needs no glibc symbol newer than 2.36 (Supabase's image is Debian bookworm's
glibc 2.36). It prints both.

--install: copies the PostgreSQL that PG_CONFIG describes (less any azure_sync files an earlier
`cargo pgrx install` put there), copies the package's files into it at their paths (what the
README's Dockerfile does, and nothing else: no cargo, no source tree), starts a server of that
copy, and checks CREATE EXTENSION, the upgrade path from 0.1.0 (15 only) and a sync of a
container in Azurite.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from harness import pg_config  # noqa: E402

ALLOWED_LIBS = {"libc.so.6", "libm.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"}
NEWEST_GLIBC = (2, 36)


def crate_version():
    return re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)


def files_of(package):
    return sorted(p for p in Path(package).rglob("*") if p.is_file())


def check_files(package, version):
    names = {p.name for p in files_of(package)}
    for needed in ["azure_sync.so", "azure_sync.control", f"azure_sync--{version}.sql"]:
        if needed not in names:
            raise SystemExit(f"FAIL: the package has no {needed}: {sorted(names)}")
    upgrades = sorted(n for n in names if re.fullmatch(r"azure_sync--[0-9.]+--[0-9.]+\.sql", n))
    print(f"files: {len(names)} ({', '.join(sorted(names))})")
    return upgrades


def check_links(library):
    dynamic = subprocess.run(["readelf", "-d", str(library)], check=True, capture_output=True, text=True).stdout
    needed = sorted(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    symbols = subprocess.run(["readelf", "--dyn-syms", "-W", str(library)], check=True, capture_output=True, text=True).stdout
    versions = sorted({tuple(int(x) for x in v.split(".")) for v in re.findall(r"@GLIBC_([0-9]+(?:\.[0-9]+)+)", symbols)})
    newest = versions[-1] if versions else None
    print(f"links: {', '.join(needed)}")
    print(f"newest glibc symbol version: GLIBC_{'.'.join(map(str, newest)) if newest else '(none)'} (at most {'.'.join(map(str, NEWEST_GLIBC))})")
    extra = [n for n in needed if n not in ALLOWED_LIBS]
    if extra:
        raise SystemExit(f"FAIL: {library.name} links {extra}, beyond {sorted(ALLOWED_LIBS)}: the image may lack them")
    if newest and newest > NEWEST_GLIBC:
        too_new = sorted(set(re.findall(r"(\S+)@GLIBC_(" + ".".join(map(str, newest)) + r")\b", symbols)))
        raise SystemExit(f"FAIL: {library.name} needs GLIBC_{'.'.join(map(str, newest))} ({too_new[:5]}): it would not load on glibc 2.36")


def copy_of_postgres(config, into):
    """A copy of the PostgreSQL that `config` describes, at the same paths under `into`
    (PostgreSQL finds its library and share folders relative to its programs), without any
    azure_sync file: the package must bring all of them."""
    bindir = Path(pg_config("--bindir", config))
    pkglibdir = Path(pg_config("--pkglibdir", config))
    sharedir = Path(pg_config("--sharedir", config))
    roots = {bindir.parent, sharedir}
    for folder in roots:
        if not any(other in folder.parents for other in roots):  # not already inside the other
            shutil.copytree(folder, into / folder.relative_to("/"), symlinks=True, dirs_exist_ok=True)
    for old in [*(into / pkglibdir.relative_to("/")).glob("azure_sync*"), *(into / sharedir.relative_to("/") / "extension").glob("azure_sync*")]:
        old.unlink()
    return into / bindir.relative_to("/"), into / pkglibdir.relative_to("/"), into / sharedir.relative_to("/") / "extension"


def install_and_sync(package, config, version, upgrades):
    import generate

    major = harness.major_of(config)
    work = Path(tempfile.mkdtemp(prefix=f"azure_sync_package_pg{major}_", dir="/tmp"))
    work.chmod(0o755)
    try:
        bindir, libdir, extdir = copy_of_postgres(config, work / "server")
        # The install: the package's files, copied to their paths. Nothing else.
        for f in files_of(package):
            target = work / "server" / f.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        assert (libdir / "azure_sync.so").exists() and (extdir / "azure_sync.control").exists(), "the package's paths are the server's"
        subprocess.run(["chown", "-R", "postgres:postgres", str(work)], check=True)

        cluster = harness.Cluster(work / "cluster", port=harness.free_port(), dbname="package_check", pg_bin=bindir, preload_cron=False).ensure_started()
        azurite = harness.Azurite(work / "azurite", port=harness.free_port()).start()
        try:
            with cluster.connect() as db:
                db.execute("CREATE EXTENSION azure_sync")
                installed = db.execute("SELECT extversion FROM pg_extension WHERE extname = 'azure_sync'").fetchone()[0]
                server = db.execute("SHOW server_version").fetchone()[0]
                assert installed == version, (installed, version)
                paths = [f"{a}->{b}" for a, b in db.execute(
                    "SELECT source, target FROM pg_extension_update_paths('azure_sync') WHERE path IS NOT NULL AND target = %s", [version]).fetchall()]
                expected = [f"{m.group(1)}->{m.group(2)}" for m in (re.fullmatch(r"azure_sync--([0-9.]+)--([0-9.]+)\.sql", u) for u in upgrades) if m.group(2) == version]
                assert sorted(paths) == sorted(expected), (paths, expected)

                pop = generate.Population(5, companies=3, groups=1, users=12)
                blobs = generate.build(pop, 2, date(2025, 12, 10), datetime(2025, 12, 10, 6, 0, tzinfo=timezone.utc))
                container = f"pkg-{uuid.uuid4().hex[:10]}"
                generate.write_container(azurite.service(), container, blobs)
                db.execute("SELECT count(*) FROM azure_sync.configure(azure_connection_string => %s, azure_container => %s)",
                           [azurite.connection_string, container])
                result = db.execute("SELECT azure_sync.run()").fetchone()[0]
                assert (result["status"], result["schedules_applied"], result["users_created"]) == ("succeeded", 3, 12), result
                print(f"installed by copying {len(files_of(package))} files into PostgreSQL {server}: CREATE EXTENSION azure_sync {installed}, "
                      f"update paths {paths or 'none'}, run(): {result['status']}, {result['schedules_applied']} schedules, {result['users_created']} users")
        finally:
            azurite.stop()
            cluster.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install", action="store_true")
    ap.add_argument("package", type=Path)
    ap.add_argument("pg_config", type=Path)
    args = ap.parse_args()
    version = crate_version()
    upgrades = check_files(args.package, version)
    check_links(next(p for p in files_of(args.package) if p.name == "azure_sync.so"))
    if args.install:
        install_and_sync(args.package.resolve(), args.pg_config, version, upgrades)
    print("package OK")


if __name__ == "__main__":
    main()
