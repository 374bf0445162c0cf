#!/usr/bin/env python3
"""Realistic MaidCentral export files, the producer side of the contract (README, "Rules the code follows": the producer side).

Deterministic for a seed: N companies in G groups, a 7-day window with J jobs a day per
company (each job a few KB: customer, address, crew, rates, rooms, notes), U users spread over
the companies (some in two, mixed roles). Writes them to a container with the official Azure
client, and can apply a change set: touch K schedule files, rename / re-email / remove P% of
users.

    python tests/generate.py --connection-string "..." --container demo \
        --companies 20 --groups 4 --jobs-per-day 10 --users 200 --seed 7
"""
import argparse
import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

FIRST = ["Maria", "John", "Aisha", "Chen", "Lucia", "Sam", "Priya", "Diego", "Olga", "Kwame", "Emma", "Noah",
         "Fatima", "Liam", "Sofia", "Mateo", "Hana", "Omar", "Grace", "Yusuf", "Zoe", "Ivan", "Amara", "Leo"]
LAST = ["Lopez", "Doe", "Khan", "Wei", "Rossi", "Green", "Patel", "Garcia", "Ivanova", "Mensah", "Smith",
        "Nguyen", "Haddad", "Brown", "Silva", "Kim", "Sato", "Ali", "Walker", "Demir", "Moreau", "Novak"]
CITIES = [("Charleston", "SC", "Eastern Standard Time"), ("Austin", "TX", "Central Standard Time"),
          ("Denver", "CO", "Mountain Standard Time"), ("Portland", "OR", "Pacific Standard Time"),
          ("Raleigh", "NC", "Eastern Standard Time"), ("Tulsa", "OK", "Central Standard Time")]
STREETS = ["King St", "Meeting St", "Oak Ave", "Maple Dr", "Broad St", "Elm Ct", "River Rd", "Sunset Blvd"]
ROOMS = ["Kitchen", "Living Room", "Master Bath", "Guest Bath", "Bedroom", "Office", "Laundry", "Dining Room"]
SERVICES = ["Standard Clean", "Deep Clean", "Move-Out Clean", "Recurring Biweekly", "Post-Construction"]
TOGGLES = ["TechDashboard_DisplayBillRate", "TechDashboard_DisplayFeeSplitRate", "TechDashboard_DisplayAddOnRate",
           "TechDashboard_DisplayRoomRate", "TechDashboard_DisplayCustomerPhoneNumbers",
           "TechDashboard_DisplayCustomerEmails", "TechDashboard_HideDiscounts"]
NOTE_WORDS = ("please use side gate dog friendly code is on file park on street leave key under mat "
              "client prefers unscented products focus on baseboards and blinds pet hair in upstairs rooms").split()


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Population:
    """The companies, groups and users of one seed."""

    def __init__(self, seed, companies, groups, users):
        rng = random.Random(seed)
        self.seed = seed
        self.groups = [{"id": 100 + g, "name": f"{rng.choice(LAST)} {rng.choice(['Cleaning', 'Maids', 'Home Care', 'Keepers'])} Group {g}"}
                       for g in range(groups)]
        self.companies = []
        for c in range(companies):
            city, state, tz = CITIES[c % len(CITIES)]
            self.companies.append({"id": 1 + c, "group": self.groups[c % groups], "name": f"{city} {c + 1}",
                                   "city": city, "state": state, "tz": tz,
                                   "toggles": {t: rng.random() < 0.5 for t in TOGGLES}})
        self.users = []
        for u in range(users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            home = self.companies[u % companies]
            memberships = [home]
            if rng.random() < 0.05 and companies > 1:  # some work for a second branch
                memberships.append(self.companies[(u + 1 + rng.randrange(companies - 1)) % companies])
            roles = ["Employee"] if rng.random() < 0.85 else rng.choice([["Administrator"], ["Administrator", "Employee"], ["Manager", "Employee"]])
            self.users.append({"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "first": first, "last": last,
                               "email": f"{first}.{last}.{u}@example.com".lower(), "eid": 10_000 + u,
                               "roles": roles, "companies": memberships})
        # Each company's people, in user order: one pass, not one scan of every user per company.
        self.crews = {c["id"]: [] for c in self.companies}
        for u in self.users:
            for c in u["companies"]:
                self.crews[c["id"]].append(u)


def job(rng, company, day, n, crew):
    start = 7 * 60 + rng.randrange(0, 9 * 60, 15)
    length = rng.choice([90, 120, 150, 180, 240])
    rooms = rng.sample(ROOMS, rng.randint(3, 7))
    return {
        "JobId": company["id"] * 1_000_000 + int(day.strftime("%j")) * 1000 + n,
        "ScheduledDate": day.isoformat(),
        "StartTime": f"{start // 60:02d}:{start % 60:02d}",
        "EndTime": f"{(start + length) // 60:02d}:{(start + length) % 60:02d}",
        "ServiceType": rng.choice(SERVICES),
        "Status": rng.choice(["Scheduled", "Confirmed", "Scheduled", "Scheduled"]),
        "Customer": {"CustomerId": rng.randrange(1, 10**6), "Name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                     "Phone": f"555-{rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                     "Email": f"customer{rng.randrange(10**6)}@example.net"},
        "Address": {"Street": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}", "City": company["city"],
                    "State": company["state"], "Zip": f"{rng.randrange(10000, 99999)}",
                    "Latitude": round(rng.uniform(25, 48), 6), "Longitude": round(rng.uniform(-122, -75), 6),
                    "EntryInstructions": " ".join(rng.choices(NOTE_WORDS, k=rng.randint(8, 20)))},
        "Employees": [{"EmployeeInformationId": u["eid"], "Name": f"{u['first']} {u['last']}", "IsTeamLead": i == 0}
                      for i, u in enumerate(rng.sample(crew, min(len(crew), rng.randint(1, 3))))],
        "Rates": {"BillRate": round(rng.uniform(90, 400), 2), "FeeSplitRate": round(rng.uniform(0.3, 0.6), 2),
                  "AddOnRate": round(rng.uniform(0, 60), 2), "Discount": rng.choice([0, 0, 10, 15])},
        "Rooms": [{"Name": r, "RoomRate": round(rng.uniform(10, 45), 2), "Tasks": rng.sample(
            ["Dust", "Vacuum", "Mop", "Wipe counters", "Clean mirrors", "Scrub tub", "Empty trash", "Make bed"], 4)}
                  for r in rooms],
        "Notes": " ".join(rng.choices(NOTE_WORDS, k=rng.randint(40, 120))),
    }


def schedule_file(pop, company, jobs_per_day, start, generated_at, version=0):
    rng = random.Random(f"{pop.seed}/{company['id']}/{start}/{version}")
    crew = pop.crews.get(company["id"]) or [{"eid": 1, "first": "Crew", "last": "Member"}]
    jobs = [job(rng, company, start + timedelta(days=d), n, crew) for d in range(7) for n in range(jobs_per_day)]
    doc = {"ServiceCompanyId": company["id"], "ServiceCompanyGroupId": company["group"]["id"],
           "ServiceCompanyGroupName": company["group"]["name"], "Name": company["name"], "IsActive": True,
           "TimeZoneInfoId": company["tz"], "GeneratedAt": iso(generated_at),
           "DateRangeStart": start.isoformat(), "DateRangeEnd": (start + timedelta(days=6)).isoformat(),
           "FeatureToggles": company["toggles"], "Jobs": jobs}
    return json.dumps(doc, separators=(",", ":")).encode()


def users_file(pop, generated_at, users=None):
    users = pop.users if users is None else users
    # Each company's entries in user order, in one pass over the users.
    members_of = {c["id"]: [] for c in pop.companies}
    for u in users:
        for i, uc in enumerate(u["companies"]):
            members_of[uc["id"]].append({"UserId": u["id"], "Email": u["email"], "EmployeeInformationId": u["eid"] + 1_000_000 * i,
                                         "FirstName": u["first"], "LastName": u["last"], "FullName": f"{u['first']} {u['last']}",
                                         "Roles": u["roles"], "ServiceCompanyId": uc["id"]})
    groups = []
    for g in pop.groups:
        companies = []
        for c in (c for c in pop.companies if c["group"] is g):
            members = members_of[c["id"]]
            companies.append({"ServiceCompanyId": c["id"], "Name": c["name"], "ServiceCompanyGroupId": g["id"],
                              "IsActive": True, "Users": members})
        groups.append({"ServiceCompanyGroupId": g["id"], "ServiceCompanyGroupName": g["name"], "IsActive": True,
                       "ServiceCompanies": companies})
    return json.dumps({"GeneratedAt": iso(generated_at), "ServiceCompanyGroups": groups}, separators=(",", ":")).encode()


def change_users(pop, percent, seed):
    """Rename, re-email and remove about `percent`% of users (a third each). Returns the new list."""
    rng = random.Random(f"changes/{seed}")
    users = [dict(u) for u in pop.users]
    k = max(1, round(len(users) * percent / 100))
    picked = rng.sample(range(len(users)), min(k, len(users)))
    removed = set()
    for n, i in enumerate(picked):
        if n % 3 == 0:
            users[i]["last"] = users[i]["last"] + "-Renamed"
        elif n % 3 == 1:
            users[i]["email"] = users[i]["email"].replace("@", ".new@")
        else:
            removed.add(i)
    return [u for i, u in enumerate(users) if i not in removed]


def write_container(service, container, blobs, workers=16):
    """Upload {name: bytes} with the official client."""
    cc = service.get_container_client(container)
    if not cc.exists():
        cc.create_container()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda kv: cc.upload_blob(kv[0], kv[1], overwrite=True), blobs.items()))
    return cc


def build(pop, jobs_per_day, start, generated_at, companies=None):
    blobs = {f"{c['id']}_schedules.json": schedule_file(pop, c, jobs_per_day, start, generated_at)
             for c in (companies or pop.companies)}
    blobs["users.json"] = users_file(pop, generated_at)
    return blobs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connection-string", required=True)
    ap.add_argument("--container", required=True)
    ap.add_argument("--companies", type=int, default=20)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--jobs-per-day", type=int, default=10)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start", default=date.today().isoformat())
    ap.add_argument("--touch", type=int, default=0, help="rewrite K schedule files with a newer GeneratedAt")
    ap.add_argument("--change-users", type=float, default=0, help="rename / re-email / remove P%% of users")
    args = ap.parse_args()
    from azure.storage.blob import BlobServiceClient
    service = BlobServiceClient.from_connection_string(args.connection_string)
    pop = Population(args.seed, args.companies, args.groups, args.users)
    start = date.fromisoformat(args.start)
    now = datetime.now(timezone.utc)
    if args.touch or args.change_users:
        blobs = {}
        for c in pop.companies[:args.touch]:
            blobs[f"{c['id']}_schedules.json"] = schedule_file(pop, c, args.jobs_per_day, start, now, version=1)
        if args.change_users:
            blobs["users.json"] = users_file(pop, now, change_users(pop, args.change_users, args.seed))
    else:
        blobs = build(pop, args.jobs_per_day, start, now)
    write_container(service, args.container, blobs)
    size = sum(len(b) for b in blobs.values())
    print(f"wrote {len(blobs)} blobs ({size / 1e6:.1f} MB) to container {args.container}")


if __name__ == "__main__":
    main()
