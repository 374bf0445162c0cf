"""Benchmark: the sync at a realistic size and ten times smaller, against the I/O floor.

For each scale: initial sync (empty database), no-op sync, 1% of schedule files changed,
users.json with 1% of users changed. For each: wall time, HTTP requests by kind, rows
written, peak memory of the backend that ran the sync. The floor is the time to fetch the
same blobs with plain parallel GETs (same client, same concurrency) and nothing else.
Results go to tests/bench-results.md. Run through tests/bench.sh."""
import argparse
import json
import os
import platform
import subprocess
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import generate
import harness
from standins import supabase

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = Path(os.environ.get("AZURE_SYNC_WORKDIR", "/tmp/azure_sync_work"))
FLOOR_BIN = ROOT / "target" / "release" / "fetch_floor"
PARSE_BIN = ROOT / "target" / "release" / "parse_bench"
SCALES = {
    "small": dict(companies=50, groups=5, jobs_per_day=40, users=2_000),
    "large": dict(companies=500, groups=50, jobs_per_day=40, users=20_000),
}
CONCURRENCY = 4
TABLES_SCHEMAS = ("azure_sync", "auth", "storage")


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if v.strip().endswith("kB"):
            fields[k] = int(v.split()[0]) * 1024
    return fields


class MemorySampler:
    """Peak private (anonymous) memory of a backend, sampled every 10 ms; VmHWM counts the
    shared buffers the backend touched too, which are the server's cache, not its own."""

    def __init__(self, pid):
        self.pid, self.peak_anon, self.running = pid, 0, True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                self.peak_anon = max(self.peak_anon, proc_status(self.pid).get("RssAnon", 0))
            except FileNotFoundError:
                return
            time.sleep(0.01)

    def stop(self):
        self.running = False
        self.thread.join()
        return self.peak_anon


def cpu_seconds(pid):
    """User + system CPU of a process and all its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rows_written(conn):
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
                        "WHERE schemaname = ANY(%s)", (list(TABLES_SCHEMAS),)).fetchone()[0]


class Bench:
    def __init__(self, args):
        self.cluster = harness.Cluster(WORK / "bench", port=28817, dbname="azure_sync_bench").ensure_started()
        self.azurite = harness.Azurite(WORK / "bench-azurite").start()
        self.conninfo = f"host=127.0.0.1 port={self.cluster.port} user=postgres dbname={self.cluster.dbname}"
        self.observer = self.cluster.connect()
        self.results = []
        self.parse = json.loads(subprocess.run([str(PARSE_BIN), "20000"], capture_output=True, text=True, check=True).stdout)
        print(f"pure parts: {self.parse}", flush=True)

    def fresh(self):
        supabase.fresh_extension(self.cluster)
        with self.cluster.connect() as c:
            c.execute("VACUUM ANALYZE")

    def flush_stats(self, *conns):
        time.sleep(1.1)  # pgstat flushes at most once a second
        for c in conns:
            c.execute("SELECT pg_stat_force_next_flush()")
            c.execute("SELECT 1")

    def run_scenario(self, scale, label, largest_blob):
        conn = self.cluster.connect()
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.gotrue.reset_calls()
        self.storage.reset_calls()
        before = rows_written(self.observer)
        sampler = MemorySampler(pid)
        cpu0 = cpu_seconds(pid)
        t = time.monotonic()
        summary = conn.execute("SELECT azure_sync.run()").fetchone()[0]
        wall = time.monotonic() - t
        cpu = cpu_seconds(pid) - cpu0
        peak_anon = sampler.stop()
        hwm = proc_status(pid).get("VmHWM", 0)
        self.flush_stats(conn, self.gotrue.db, self.storage.db)
        written = rows_written(self.observer) - before
        conn.close()
        result = {
            "scale": scale, "scenario": label, "status": summary["status"], "wall_s": round(wall, 3), "backend_cpu_s": round(cpu, 2),
            "list": summary["list_requests"], "get": summary["get_requests"],
            "auth": len(self.gotrue.calls), "storage": len(self.storage.calls), "rows_written": written,
            "peak_private_mb": round(peak_anon / 2**20, 1), "vm_hwm_mb": round(hwm / 2**20, 1),
            "largest_blob_mb": round(largest_blob / 2**20, 2), "timings": summary["timings"],
            "blobs_listed": summary["blobs_listed"], "blobs_downloaded": summary["blobs_downloaded"],
            "users_created": summary["users_created"], "users_updated": summary["users_updated"],
            "users_deleted": summary["users_deleted"], "errors": summary["errors"][:3],
        }
        print(f"  {label:<22} {wall:8.2f} s  cpu {cpu:6.2f} s  list {result['list']:>3}  get {result['get']:>4}  auth {result['auth']:>6}  "
              f"storage {result['storage']:>4}  rows {written:>7}  private peak {result['peak_private_mb']:>7} MB  "
              f"(VmHWM {result['vm_hwm_mb']} MB)  {summary['status']}", flush=True)
        self.results.append(result)
        return result

    def floor(self, sas_url, names):
        out = subprocess.run([str(FLOOR_BIN), sas_url, str(CONCURRENCY)], input="\n".join(names), capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def scale(self, name, spec):
        print(f"\n== {name}: {spec}", flush=True)
        self.fresh()
        logs = WORK / "bench-logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.gotrue = supabase.GoTrue(self.conninfo, logs)
        self.storage = supabase.Storage(self.conninfo, logs, WORK / f"bench-storage-{uuid.uuid4().hex[:8]}")
        t = time.monotonic()
        pop = generate.Population(2025, spec["companies"], spec["groups"], spec["users"])
        start, t0 = date.today(), datetime.now(timezone.utc) - timedelta(hours=1)
        blobs = generate.build(pop, spec["jobs_per_day"], start, t0)
        container = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        generate.write_container(self.azurite.service(), container, blobs)
        total = sum(map(len, blobs.values()))
        largest = max(map(len, blobs.values()))
        print(f"  generated and uploaded {len(blobs)} blobs, {total / 2**20:.0f} MB, in {time.monotonic() - t:.0f} s", flush=True)
        sas = self.azurite.container_sas_url(container, "rl", 24 * 30)
        with self.cluster.connect() as c:
            c.execute("SELECT * FROM azure_sync.configure(azure_url => %s, auth_url => %s, storage_url => %s, "
                      "service_role_key => %s, download_concurrency => %s)",
                      (sas, self.gotrue.url, self.storage.url, supabase.make_jwt("service_role"), CONCURRENCY))
        floor = self.floor(sas, list(blobs))
        print(f"  floor: {floor['blobs']} plain GETs, {CONCURRENCY} at a time: {floor['ms'] / 1000:.2f} s", flush=True)
        # First with the embedded backends (documents in the database, profiles only): the
        # sync's own cost against the floor, without the Python stand-ins' share.
        with self.cluster.connect() as c:
            c.execute("SELECT * FROM azure_sync.configure(auth_url => '', storage_url => '')")
        embedded = self.run_scenario(name, "initial, embedded", largest)
        embedded["floor_s"] = floor["ms"] / 1000
        self.fresh()
        with self.cluster.connect() as c:
            c.execute("SELECT * FROM azure_sync.configure(azure_url => %s, auth_url => %s, storage_url => %s, "
                      "service_role_key => %s, download_concurrency => %s)",
                      (sas, self.gotrue.url, self.storage.url, supabase.make_jwt("service_role"), CONCURRENCY))
        initial = self.run_scenario(name, "initial sync", largest)
        initial["floor_s"] = floor["ms"] / 1000
        self.run_scenario(name, "no-op sync", largest)
        k = max(1, spec["companies"] // 100)
        changed = {f"{c['id']}_schedules.json": generate.schedule_file(pop, c, spec["jobs_per_day"], start, t0 + timedelta(minutes=15), version=1)
                   for c in pop.companies[:k]}
        generate.write_container(self.azurite.service(), container, changed)
        self.run_scenario(name, f"1% schedules ({k})", largest)
        users = generate.change_users(pop, 1, seed=2025)
        changed_users = generate.users_file(pop, t0 + timedelta(minutes=30), users)
        generate.write_container(self.azurite.service(), container, {"users.json": changed_users})
        r = self.run_scenario(name, "users 1% changed", max(largest, len(changed_users)))
        r["users_changed"] = r["users_updated"] + r["users_deleted"] + r["users_created"]
        self.gotrue.close()
        self.storage.close()

    def report(self):
        lines = ["# azure_sync benchmark", "",
                 f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} cores, "
                 f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {platform.platform()}; "
                 "PostgreSQL 15 (Debian), extension built --release, Azurite 3.35.0 in memory, the GoTrue and Storage "
                 f"stand-ins of tests/standins (Python, one database connection each), {CONCURRENCY} download workers.",
                 "Figures vary between runs here; the ratios are what count. Reproduce with `tests/bench.sh`.", "",
                 "Backend CPU is the CPU time of the PostgreSQL backend that ran the sync, its worker threads included: "
                 "where it is far below the wall time, the time went to the other side of the wire.", "",
                 "| scale | scenario | status | wall s | backend CPU s | list | get | auth | storage | rows written | private peak MB | VmHWM MB |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.results:
            lines.append(f"| {r['scale']} | {r['scenario']} | {r['status']} | {r['wall_s']} | {r['backend_cpu_s']} | {r['list']} | {r['get']} | {r['auth']} | "
                         f"{r['storage']} | {r['rows_written']} | {r['peak_private_mb']} | {r['vm_hwm_mb']} |")
        p = self.parse
        lines += ["", "## The pure parts alone (src/bin/parse_bench.rs, best of 5)", "",
                  f"- users.json of {p['users']:,} users ({p['users_json_bytes'] / 2**20:.1f} MB): parsed and checked in {p['parse_users_ms']} ms; "
                  f"planned in {p['plan_first_sync_ms']} ms against an empty database, {p['plan_no_change_ms']} ms against a database that has them all.",
                  f"- a schedule file of 280 jobs ({p['schedule_bytes'] / 1024:.0f} KB): {p['schedule_tree_ms']} ms as a JSON tree, "
                  f"{p['schedule_fast_ms']} ms with the jobs only counted (what the sync does)."]
        lines += ["", "## Targets", ""]
        for scale in dict.fromkeys(r["scale"] for r in self.results):
            rs = {r["scenario"].split(" (")[0]: r for r in self.results if r["scale"] == scale}
            init, noop, users, emb = rs["initial sync"], rs["no-op sync"], rs["users 1% changed"], rs["initial, embedded"]
            blobs = init["blobs_listed"]
            t = init["timings"]
            blob_phase = (t["list_ms"] + t["download_and_apply_schedules_ms"]) / 1000
            checks = [
                ("no-op: one listing request per 5,000 blobs", noop["list"] == -(-blobs // 5000), f"{noop['list']} for {blobs} blobs"),
                ("no-op: zero downloads, auth and storage calls", noop["get"] == noop["auth"] == noop["storage"] == 0,
                 f"get {noop['get']}, auth {noop['auth']}, storage {noop['storage']}"),
                ("no-op: under 5% of the initial sync's time", noop["wall_s"] < 0.05 * init["wall_s"],
                 f"{noop['wall_s']} s vs {init['wall_s']} s ({100 * noop['wall_s'] / init['wall_s']:.1f}%)"),
                ("initial, embedded backends: whole run at most 1.5x the floor", emb["wall_s"] <= 1.5 * emb["floor_s"],
                 f"{emb['wall_s']} s vs floor {emb['floor_s']:.2f} s = {emb['wall_s'] / emb['floor_s']:.2f}x "
                 f"(download, hash, parse, store {blobs - 1} documents in the database, {emb['users_created']} profiles)"),
                ("initial, with Storage: schedules and listing at most 1.5x the floor", blob_phase <= 1.5 * init["floor_s"],
                 f"list + download/parse/upload/apply {blob_phase:.2f} s vs floor {init['floor_s']:.2f} s = {blob_phase / init['floor_s']:.2f}x"),
                ("initial, with Storage and Auth: whole run at most 1.5x the floor", init["wall_s"] <= 1.5 * init["floor_s"],
                 f"{init['wall_s']} s vs floor {init['floor_s']:.2f} s = {init['wall_s'] / init['floor_s']:.2f}x "
                 f"(users phase {t['users_ms'] / 1000:.1f} s: {init['users_created']} users created through the GoTrue stand-in; "
                 f"the backend used {init['backend_cpu_s']} s of CPU in the whole run)"),
                ("users 1%: auth calls equal the changed users", users["auth"] == users["users_changed"],
                 f"{users['auth']} calls for {users['users_changed']} changed users"),
            ]
            for r in rs.values():
                limit = 3 * r["largest_blob_mb"] + 64
                checks.append((f"{r['scenario']}: private peak at most 3x largest blob + 64 MB", r["peak_private_mb"] <= limit,
                               f"{r['peak_private_mb']} MB vs {limit:.1f} MB"))
            lines.append(f"### {scale}")
            lines.append("")
            for name, ok, detail in checks:
                lines.append(f"- {'met' if ok else '**missed**'}: {name}: {detail}")
            lines.append("")
        lines += ["## Why the time targets are missed", "",
                  "- **With Auth (GoTrue stand-in):** the run waits on the other side. The backend's CPU time (table above) is a "
                  "small part of the wall time; the users phase is one POST per new user through a Python stand-in with one database "
                  "connection, 4 calls at a time. No blob floor has an analogue for creating 20,000 accounts. What the sync controls "
                  "is met: auth calls only for changed users, none on a no-op run, bounded concurrency (`download_concurrency`).",
                  "- **Embedded backends:** CPU-bound on a 2-core machine that also runs Azurite serving the same bytes (backend CPU "
                  "time about equal to the wall time). `perf record -g -p <backend pid>` over a first sync of 300 blobs: LZ4 "
                  "compression of the stored snapshots 20%, PostgreSQL's own writing (TOAST, WAL, parsing) about 25%, the JSON scan "
                  "that validates each file about 15%, sha256 7%, copies 8%. All of it is work the floor does not do (it stores, "
                  "checks and hashes nothing). The profile did find one avoidable cost, fixed: with the default pglz compression, "
                  "`pglz_compress` took 67% and the run twice as long; `stored_objects.content` now uses lz4.",
                  "- **With Storage:** every snapshot is uploaded as well as downloaded, twice the bytes of the GET-only floor, to a "
                  "Python stand-in that writes each to disk and to storage.objects; uploads run on the download workers, in parallel.",
                  ""]
        text = "\n".join(lines) + "\n"
        (HERE / "bench-results.md").write_text(text)
        print("\n" + text)

    def close(self):
        self.azurite.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("scales", nargs="*", help=f"any of {', '.join(SCALES)} (default: all)")
    args = ap.parse_args()
    args.scales = args.scales or list(SCALES)
    for s in args.scales:
        if s not in SCALES:
            ap.error(f"unknown scale {s!r}: choose from {', '.join(SCALES)}")
    bench = Bench(args)
    try:
        for s in args.scales:
            bench.scale(s, SCALES[s])
        bench.report()
    finally:
        bench.close()


if __name__ == "__main__":
    main()
