"""Outage readiness: each kind of gap is reported, and a backup without gaps says so."""
import uuid
from datetime import date, datetime, timedelta, timezone

import generate
from conftest import configure, run
from test_supabase import sb  # noqa: F401  (the Supabase stand-ins' fixture)


def readiness(db):
    return {check: (ok, detail) for check, ok, detail in db.execute("SELECT * FROM azure_sync.readiness()").fetchall()}


def current_container(azurite, db, generated_at):
    """Two companies whose week covers today, generated at `generated_at`."""
    pop = generate.Population(41, companies=2, groups=1, users=4)
    name = f"ready-{uuid.uuid4().hex[:12]}"
    cc = generate.write_container(azurite.service(), name, generate.build(pop, 2, date.today() - timedelta(days=1), generated_at))
    configure(db, azure_url=azurite.container_sas_url(name, "rl", expiry_hours=24 * 60))
    return pop, cc


def test_a_fresh_backup_is_ready_and_each_gap_is_reported(db, azurite):
    assert readiness(db)["the backup is fresh"] == (False, "no run has succeeded yet")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    pop, cc = current_container(azurite, db, now - timedelta(minutes=5))
    assert run(db)["status"] == "succeeded"
    ready = readiness(db)
    assert all(ok for ok, _ in ready.values()), ready
    assert ready["technicians can sign in"] == (True, "not checked: no auth_url configured (profiles only)")
    assert ready["the Azure credential stays valid"][1].startswith("the SAS expires at")
    # A document gone missing, and a company whose export stopped a week ago.
    path = db.execute("SELECT storage_path FROM azure_sync.schedule_data ORDER BY 1 LIMIT 1").fetchone()[0]
    db.execute("DELETE FROM azure_sync.stored_objects WHERE path = %s", [path])
    db.execute("UPDATE azure_sync.schedule_data SET generated_at = now() - interval '7 days', date_range_end = current_date - 1 "
               "WHERE service_company_id = %s", [pop.companies[1]["id"]])
    ready = readiness(db)
    assert ready["every snapshot can be read"] == (False, f"1 schedule rows whose document is missing, e.g. {path}")
    ok, detail = ready["every company has its current week"]
    assert not ok and detail.startswith("1 active companies whose newest snapshot") and f"{pop.companies[1]['id']} " in detail, detail
    configure(db, azure_url=azurite.container_sas_url(cc.container_name, "rl", expiry_hours=24 * 5))
    assert readiness(db)["the Azure credential stays valid"][0] is False


def test_technicians_without_a_confirmed_auth_user_are_reported(sb, azurite):  # noqa: F811
    now = datetime.now(timezone.utc).replace(microsecond=0)
    pop, _ = current_container(azurite, sb.db, now - timedelta(minutes=5))
    assert sb.db.execute("SELECT azure_sync.run()").fetchone()[0]["status"] == "succeeded"
    assert readiness(sb.db)["technicians can sign in"] == (True, "no profiles without a confirmed Supabase Auth user")
    gone = pop.users[0]
    sb.db.execute("DELETE FROM auth.users WHERE id = %s", [gone["id"]])  # a hand edit in the dashboard
    ok, detail = readiness(sb.db)["technicians can sign in"]
    assert not ok and detail == f"1 profiles without a confirmed Supabase Auth user, e.g. {gone['email'].lower()}"
    assert readiness(sb.db)["every snapshot can be read"][0] is True
