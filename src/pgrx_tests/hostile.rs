//! Hostile input through the one-document functions: stamps from the future, allowances that
//! expire or carry a maximum. (Text holding NUL cannot arrive as jsonb at all: the contract
//! reader's tests and the end-to-end tests feed it as bytes.)

#[pgrx::pg_schema]
mod tests {
    use super::super::support::*;
    use pgrx::prelude::*;
    use serde_json::json;

    const SYNC_USERS: &str = "SELECT azure_sync.sync_users($1)";

    #[pg_test]
    fn a_stamp_from_the_future_is_refused_and_never_stored() {
        let mut users = sample("users.json");
        users["GeneratedAt"] = json!("2099-01-01T00:00:00Z");
        let e = sql_error(SYNC_USERS, Some(users));
        assert!(e.starts_with("users.json: GeneratedAt 2099-01-01T00:00:00.000000Z is later than"), "{e}");
        let mut schedule = sample("1_schedules.json");
        schedule["GeneratedAt"] = json!("2099-01-01T00:00:00Z");
        let s = call_json("SELECT azure_sync.sync_schedule($1, '1_schedules.json')", schedule);
        assert_eq!(s["status"], "rejected");
        assert!(s["reason"].as_str().unwrap().contains("max_clock_skew_minutes"), "{s}");
        assert_eq!(count("SELECT count(*) FROM azure_sync.users_file_state") + count("SELECT count(*) FROM azure_sync.schedule_data"), 0);
        // The tolerance is a setting.
        Spi::run("SELECT * FROM azure_sync.configure(max_clock_skew_minutes => 10080)").unwrap();
        let mut soon = sample("users.json");
        soon["GeneratedAt"] = json!(Spi::get_one::<String>("SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')").unwrap().unwrap());
        assert_eq!(call_json(SYNC_USERS, soon)["status"], "applied");
    }

    #[pg_test]
    fn clear_future_stamps_lets_the_next_exports_apply() {
        sync_samples();
        // What 0.1.0 could store: stamps from a clock gone wrong.
        Spi::run("UPDATE azure_sync.users_file_state SET generated_at = '2099-01-01'").unwrap();
        Spi::run("UPDATE azure_sync.schedule_data SET generated_at = '2099-01-01' WHERE service_company_id = 1").unwrap();
        Spi::run("UPDATE azure_sync.companies SET source_generated_at = '2099-01-01'").unwrap();
        let mut next = sample("users.json");
        next["GeneratedAt"] = json!("2025-12-10T21:15:00Z");
        assert_eq!(call_json(SYNC_USERS, next.clone())["status"], "stale", "frozen behind the stamp");
        let cleared = Spi::get_one::<pgrx::JsonB>("SELECT azure_sync.clear_future_stamps()").unwrap().unwrap().0;
        assert_eq!(cleared, json!({"users_file_state": 1, "schedule_data": 1, "service_company_groups": 0, "companies": 3}));
        assert_eq!(call_json(SYNC_USERS, next)["status"], "applied");
        assert_eq!(count("SELECT count(*) FROM azure_sync.schedule_data WHERE generated_at > now()"), 0);
    }

    #[pg_test]
    fn an_allowance_expires_and_may_carry_a_maximum() {
        call_json(SYNC_USERS, users_doc(100, "2025-12-10T00:00:00Z"));
        let mut shrunk = users_doc(100, "2025-12-10T00:15:00Z");
        for c in shrunk["ServiceCompanyGroups"][0]["ServiceCompanies"].as_array_mut().unwrap() {
            c["Users"].as_array_mut().unwrap().truncate(23);
        }
        let absent = 100 - 69;
        // Expired: not used.
        Spi::run("SELECT azure_sync.allow_mass_deletion('old')").unwrap();
        Spi::run("UPDATE azure_sync.deletion_allowances SET expires_at = now() - interval '1 minute'").unwrap();
        let u = call_json(SYNC_USERS, shrunk.clone());
        assert_eq!((u["users_deleted"].as_i64(), u["user_deletions_blocked"].as_i64()), (Some(0), Some(absent)));
        // Too small: kept, and nobody deleted.
        Spi::run("SELECT azure_sync.allow_mass_deletion('a few', max_count => 10)").unwrap();
        let u = call_json(SYNC_USERS, shrunk.clone());
        assert_eq!(u["users_deleted"], 0);
        assert!(u["warnings"].to_string().contains("allows at most 10 deletions"), "{u}");
        // Large enough: used.
        let id = Spi::get_one::<i64>("SELECT azure_sync.allow_mass_deletion('the branch closed', max_count => 40)").unwrap().unwrap();
        let u = call_json(SYNC_USERS, shrunk);
        assert_eq!((u["users_deleted"].as_i64(), u["deletion_allowance_used"].as_i64()), (Some(absent), Some(id)));
        let e = sql_error("SELECT azure_sync.allow_mass_deletion('x', max_count => -1)", None);
        assert!(e.contains("max_count must be 0 or more"), "{e}");
    }
}
