//! Helpers shared by the #[pg_test]s.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value};

pub fn sample(name: &str) -> Value {
    let text = match name {
        "users.json" => include_str!("../../tests/fixtures/sample/users.json"),
        "1_schedules.json" => include_str!("../../tests/fixtures/sample/1_schedules.json"),
        "2_schedules.json" => include_str!("../../tests/fixtures/sample/2_schedules.json"),
        other => panic!("no sample {other}"),
    };
    serde_json::from_str(text).unwrap()
}

pub fn count(sql: &str) -> i64 {
    Spi::get_one::<i64>(sql).unwrap().unwrap()
}

/// Run a SQL function returning jsonb with one jsonb argument, through SQL as a DBA would.
pub fn call_json(sql: &str, arg: Value) -> Value {
    Spi::get_one_with_args::<JsonB>(sql, &[JsonB(arg).into()]).unwrap().unwrap().0
}

/// Run SQL that must fail; its error message. The failure is caught in a subtransaction, so
/// the test goes on and can check that nothing was half-written.
pub fn sql_error(sql: &str, arg: Option<Value>) -> String {
    let result = crate::spi::in_subtransaction(|| match &arg {
        Some(v) => Spi::run_with_args(sql, &[JsonB(v.clone()).into()]),
        None => Spi::run(sql),
    }.map_err(|e| e.to_string()));
    match result {
        Ok(_) => panic!("expected {sql} to fail"),
        Err(e) => e.message,
    }
}

/// A users.json with `n` users spread over three companies of one group.
pub fn users_doc(n: usize, generated_at: &str) -> Value {
    let companies: Vec<Value> = (1..=3)
        .map(|c| {
            let users: Vec<Value> = (0..n)
                .filter(|i| i % 3 == c - 1)
                .map(|i| {
                    json!({"UserId": format!("00000000-0000-4000-8000-{i:012}"), "Email": format!("tech{i}@example.com"),
                           "EmployeeInformationId": 1000 + i, "FirstName": format!("Tech{i}"), "LastName": "Example",
                           "FullName": format!("Tech{i} Example"), "Roles": ["Employee"], "ServiceCompanyId": 100 + c})
                })
                .collect();
            json!({"ServiceCompanyId": 100 + c, "Name": format!("Branch {c}"), "ServiceCompanyGroupId": 10, "IsActive": true, "Users": users})
        })
        .collect();
    json!({"GeneratedAt": generated_at, "ServiceCompanyGroups": [
        {"ServiceCompanyGroupId": 10, "ServiceCompanyGroupName": "Test Group", "IsActive": true, "ServiceCompanies": companies}]})
}

/// The three sample documents synced as a DBA would: (schedule 1, schedule 2, users).
pub fn sync_samples() -> (Value, Value, Value) {
    let s1 = call_json("SELECT azure_sync.sync_schedule($1, '1_schedules.json')", sample("1_schedules.json"));
    let s2 = call_json("SELECT azure_sync.sync_schedule($1, '2_schedules.json')", sample("2_schedules.json"));
    let u = call_json("SELECT azure_sync.sync_users($1)", sample("users.json"));
    (s1, s2, u)
}
