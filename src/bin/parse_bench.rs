//! How long the pure parts take on their own: reading a users.json of N users (default
//! 20,000), planning them against an empty and a full database, and reading a schedule file
//! of 280 multi-KB jobs both ways. `tests/bench.py` runs it; the figures go into the report.
//!
//!     parse_bench [users]      prints one JSON line

#[path = "../clock.rs"]
#[allow(dead_code)]
mod clock;
#[path = "../digest.rs"]
#[allow(dead_code)]
mod digest;
#[path = "../contract/mod.rs"]
#[allow(dead_code, unused_imports)]
mod contract;
#[path = "../plan/mod.rs"]
#[allow(dead_code, unused_imports)]
mod plan;

use std::time::Instant;

fn users_json(n: usize) -> Vec<u8> {
    let companies: Vec<serde_json::Value> = (0..500)
        .map(|c| {
            let users: Vec<_> = (0..n)
                .filter(|i| i % 500 == c || (i % 37 == 0 && (i + 1) % 500 == c))
                .map(|i| {
                    serde_json::json!({"UserId": format!("{:08x}-0000-4000-8000-{:012x}", i + 1, i), "Email": format!("tech{i}@example.com"),
                        "EmployeeInformationId": 10_000 + i, "FirstName": "Maria", "LastName": format!("Lopez{i}"),
                        "FullName": format!("Maria Lopez{i}"), "Roles": ["Employee"], "ServiceCompanyId": c + 1})
                })
                .collect();
            serde_json::json!({"ServiceCompanyId": c + 1, "Name": format!("Branch {c}"), "ServiceCompanyGroupId": 1 + c / 10, "IsActive": true, "Users": users})
        })
        .collect();
    let groups: Vec<_> = companies
        .chunks(10)
        .enumerate()
        .map(|(g, cs)| serde_json::json!({"ServiceCompanyGroupId": g + 1, "ServiceCompanyGroupName": format!("Group {g}"), "IsActive": true, "ServiceCompanies": cs}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"GeneratedAt": "2025-12-10T06:00:00Z", "ServiceCompanyGroups": groups})).unwrap()
}

fn schedule_json() -> Vec<u8> {
    let note = "please use side gate dog friendly code is on file park on street ".repeat(20);
    let jobs: Vec<_> = (0..280)
        .map(|j| serde_json::json!({"JobId": j, "ScheduledDate": "2025-12-10", "StartTime": "08:30", "Notes": note,
            "Customer": {"Name": "Ann Rivers", "Phone": "555-0100"}, "Rooms": [{"Name": "Kitchen", "Rate": 20.5}, {"Name": "Bath", "Rate": 15}],
            "Employees": [{"EmployeeInformationId": 3013, "Name": "John Doe"}], "Rates": {"BillRate": 145.0}}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"ServiceCompanyId": 1, "ServiceCompanyGroupId": 1, "ServiceCompanyGroupName": "G", "Name": "C",
        "IsActive": true, "TimeZoneInfoId": "Eastern Standard Time", "GeneratedAt": "2025-12-10T21:00:53Z", "DateRangeStart": "2025-12-10",
        "DateRangeEnd": "2025-12-16", "FeatureToggles": {"TechDashboard_DisplayBillRate": true}, "Jobs": jobs}))
    .unwrap()
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }
    (best, last.unwrap())
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let users = users_json(n);
    let (parse_ms, file) = best_of(5, || contract::read_users_bytes(&users).unwrap());
    let guard = plan::users::DeletionGuard { max_fraction: 0.10, max_count: 5 };
    let (plan_empty_ms, first) = best_of(5, || plan::users::plan_users(&file.entries, &[], &guard, plan::users::DeletionPermission::Guarded));
    let existing: Vec<_> = first
        .create
        .iter()
        .map(|u| plan::users::ExistingUser { id: u.id.clone(), email: u.email.clone(), record_hash: u.record_hash.clone() })
        .collect();
    let (plan_full_ms, again) = best_of(5, || plan::users::plan_users(&file.entries, &existing, &guard, plan::users::DeletionPermission::Guarded));
    assert_eq!(again.unchanged, first.create.len());
    let schedule = schedule_json();
    let (tree_ms, a) = best_of(10, || contract::read_schedule(&contract::parse_json(&schedule).unwrap()).unwrap());
    let (fast_ms, b) = best_of(10, || contract::read_schedule_bytes(&schedule).unwrap());
    assert_eq!(a.job_count, b.job_count);
    println!(
        "{{\"users\": {}, \"users_json_bytes\": {}, \"parse_users_ms\": {parse_ms:.1}, \"plan_first_sync_ms\": {plan_empty_ms:.1}, \
         \"plan_no_change_ms\": {plan_full_ms:.1}, \"schedule_bytes\": {}, \"schedule_tree_ms\": {tree_ms:.2}, \"schedule_fast_ms\": {fast_ms:.2}}}",
        first.create.len(),
        users.len(),
        schedule.len()
    );
}
