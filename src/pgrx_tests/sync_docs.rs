//! sync_users / sync_schedule / validate / configure against a real PostgreSQL.

#[pgrx::pg_schema]
mod tests {
    use super::super::support::*;
    use pgrx::prelude::*;
    use pgrx::JsonB;
    use serde_json::json;

const SYNC_USERS: &str = "SELECT azure_sync.sync_users($1)";
const SYNC_USERS_ALLOWED: &str = "SELECT azure_sync.sync_users($1, allow_mass_deletion => true)";


#[pg_test]
fn first_sync_of_the_samples_writes_every_table() {
    let (s1, s2, u) = sync_samples();
    assert_eq!(s1["status"], "applied");
    assert_eq!(s1["storage_path"], "1/2025-12-10/schedule.json");
    assert_eq!(s1["job_count"], 2);
    assert_eq!(s2["status"], "applied");
    assert_eq!(u["status"], "applied");
    assert_eq!(u["users_created"], 4);
    assert_eq!(u["users_in_file"], 4);
    assert_eq!(u["auth_backend"], "profiles only (no auth_url configured)");
    assert_eq!(count("SELECT count(*) FROM azure_sync.service_company_groups"), 2);
    assert_eq!(count("SELECT count(*) FROM azure_sync.companies"), 3);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 4);
    assert_eq!(count("SELECT count(*) FROM azure_sync.company_memberships"), 5);
    assert_eq!(count("SELECT count(*) FROM azure_sync.schedule_data"), 2);
    assert_eq!(count("SELECT count(*) FROM azure_sync.stored_objects WHERE bucket = 'schedule-data'"), 2);
    // The header's details land on the company; the document is kept whole.
    let tz = Spi::get_one::<String>("SELECT time_zone_id FROM azure_sync.companies WHERE id = 1").unwrap();
    assert_eq!(tz.as_deref(), Some("Eastern Standard Time"));
    let toggle = Spi::get_one::<bool>("SELECT (feature_toggles->>'TechDashboard_HideDiscounts')::bool FROM azure_sync.companies WHERE id = 2").unwrap();
    assert_eq!(toggle, Some(true));
    let jobs = Spi::get_one::<i64>(
        "SELECT jsonb_array_length(convert_from(content, 'UTF8')::jsonb->'Jobs') FROM azure_sync.stored_objects WHERE path = '1/2025-12-10/schedule.json'",
    )
    .unwrap();
    assert_eq!(jobs, Some(2));
    let email = Spi::get_one::<String>("SELECT email FROM azure_sync.user_profiles WHERE id = '0a6e2f4c-1111-4a2b-8c3d-4e5f60718293'").unwrap();
    assert_eq!(email.as_deref(), Some("pat.kim@example.com"), "emails are stored lowercased");
}

#[pg_test]
fn second_identical_sync_changes_nothing() {
    sync_samples();
    let before = count("SELECT count(*) FROM azure_sync.user_profiles WHERE updated_at = created_at");
    let (s1, s2, u) = sync_samples();
    assert_eq!(s1["status"], "unchanged");
    assert_eq!(s2["status"], "unchanged");
    assert_eq!((u["users_created"].as_i64(), u["users_updated"].as_i64(), u["users_unchanged"].as_i64()), (Some(0), Some(0), Some(4)));
    assert_eq!(u["users_deleted"], 0);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles WHERE updated_at = created_at"), before);
}

#[pg_test]
fn a_renamed_user_is_updated() {
    sync_samples();
    let mut doc = sample("users.json");
    doc["GeneratedAt"] = json!("2025-12-10T21:15:00Z");
    doc["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][1]["LastName"] = json!("Lopez-Garcia");
    let u = call_json(SYNC_USERS, doc);
    assert_eq!(u["users_updated"], 1);
    assert_eq!(u["users_unchanged"], 3);
    let last = Spi::get_one::<String>("SELECT last_name FROM azure_sync.user_profiles WHERE id = '5f0c9a64-2b1e-4f43-9c55-0d7a1a2b3c01'").unwrap();
    assert_eq!(last.as_deref(), Some("Lopez-Garcia"));
}

#[pg_test]
fn a_user_in_two_companies_has_two_memberships() {
    sync_samples();
    let rows = Spi::get_one::<String>(
        "SELECT string_agg(company_id || ':' || employee_information_id || ':' || array_to_string(roles, '+'), ' ' ORDER BY company_id)
         FROM azure_sync.company_memberships WHERE user_id = 'c278b273-7d6b-4394-9911-7fe85fb50181'",
    )
    .unwrap();
    assert_eq!(rows.as_deref(), Some("1:3013:Administrator+Employee 2:4013:Employee"));
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles WHERE id = 'c278b273-7d6b-4394-9911-7fe85fb50181'"), 1);
}

#[pg_test]
fn a_user_dropped_from_the_file_is_deleted() {
    sync_samples();
    let mut doc = sample("users.json");
    doc["GeneratedAt"] = json!("2025-12-10T21:15:00Z");
    doc["ServiceCompanyGroups"][0]["ServiceCompanies"][1]["Users"].as_array_mut().unwrap().remove(1); // Sam Green
    let u = call_json(SYNC_USERS, doc);
    assert_eq!(u["users_deleted"], 1);
    assert_eq!(u["user_deletions_blocked"], 0);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles WHERE id = '9d1e7b20-7c3a-4d5e-8f60-1a2b3c4d5e02'"), 0);
    assert_eq!(count("SELECT count(*) FROM azure_sync.company_memberships WHERE user_id = '9d1e7b20-7c3a-4d5e-8f60-1a2b3c4d5e02'"), 0);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 3);
}

#[pg_test]
fn dropping_30_of_100_is_blocked_then_allowed_once() {
    let first = call_json(SYNC_USERS, users_doc(100, "2025-12-10T00:00:00Z"));
    assert_eq!(first["users_created"], 100);
    // The export loses 30 people: held back, the rest still synced.
    let mut shrunk = users_doc(100, "2025-12-10T00:15:00Z");
    for c in shrunk["ServiceCompanyGroups"][0]["ServiceCompanies"].as_array_mut().unwrap() {
        c["Users"].as_array_mut().unwrap().truncate(23); // 33/33/34 → 23 each: 31 gone
    }
    shrunk["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"].as_array_mut().unwrap().push(users_doc(100, "x")["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][23].clone());
    let blocked = call_json(SYNC_USERS, shrunk.clone());
    assert_eq!(blocked["user_deletions_blocked"], 30);
    assert_eq!(blocked["users_deleted"], 0);
    assert_eq!(blocked["users_unchanged"], 70);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 100);
    // The DBA allows it once.
    let allowance = Spi::get_one::<i64>("SELECT azure_sync.allow_mass_deletion('30 technicians left')").unwrap().unwrap();
    let allowed = call_json(SYNC_USERS, shrunk.clone());
    assert_eq!(allowed["users_deleted"], 30);
    assert_eq!(allowed["deletion_allowance_used"], allowance);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 70);
    assert_eq!(count("SELECT count(*) FROM azure_sync.deletion_allowances WHERE used_at IS NOT NULL AND users_deleted = 30"), 1);
    // Once only: the next mass drop is blocked again.
    let mut smaller = shrunk;
    for c in smaller["ServiceCompanyGroups"][0]["ServiceCompanies"].as_array_mut().unwrap() {
        c["Users"].as_array_mut().unwrap().truncate(15);
    }
    smaller["GeneratedAt"] = json!("2025-12-10T00:30:00Z");
    let again = call_json(SYNC_USERS, smaller.clone());
    assert_eq!(again["users_deleted"], 0);
    assert!(again["user_deletions_blocked"].as_i64().unwrap() > 5);
    // The per-call switch works too.
    let forced = call_json(SYNC_USERS_ALLOWED, smaller);
    assert_eq!(forced["users_deleted"], again["user_deletions_blocked"]);
}

#[pg_test]
fn a_stale_users_file_changes_nothing() {
    sync_samples();
    let mut old = sample("users.json");
    old["GeneratedAt"] = json!("2025-12-09T06:00:00Z");
    old["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][0]["FirstName"] = json!("Johnny");
    old["ServiceCompanyGroups"][1]["ServiceCompanies"][0]["Users"] = json!([]);
    let u = call_json(SYNC_USERS, old);
    assert_eq!(u["status"], "stale");
    assert_eq!((u["users_updated"].as_i64(), u["users_deleted"].as_i64()), (Some(0), Some(0)));
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles WHERE first_name = 'John'"), 1);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 4);
}

#[pg_test]
fn a_schedule_whose_company_disagrees_with_its_blob_name_is_rejected() {
    let s = call_json("SELECT azure_sync.sync_schedule($1, '7_schedules.json')", sample("1_schedules.json"));
    assert_eq!(s["status"], "rejected");
    assert_eq!(s["reason"], "ServiceCompanyId 1 disagrees with the blob name \"7_schedules.json\" (company 7)");
    assert_eq!(count("SELECT count(*) FROM azure_sync.schedule_data"), 0);
    assert_eq!(count("SELECT count(*) FROM azure_sync.companies"), 0);
}

#[pg_test]
fn schedules_never_regress_and_new_days_keep_history() {
    sync_samples();
    let mut older = sample("1_schedules.json");
    older["GeneratedAt"] = json!("2025-12-10T20:00:00Z");
    older["Jobs"] = json!([]);
    let s = call_json("SELECT azure_sync.sync_schedule($1)", older);
    assert_eq!(s["status"], "stale");
    assert_eq!(count("SELECT job_count::bigint FROM azure_sync.schedule_data WHERE service_company_id = 1"), 2);
    let mut next_day = sample("1_schedules.json");
    next_day["GeneratedAt"] = json!("2025-12-11T06:00:00Z");
    next_day["DateRangeStart"] = json!("2025-12-11");
    next_day["DateRangeEnd"] = json!("2025-12-17");
    let s = call_json("SELECT azure_sync.sync_schedule($1)", next_day);
    assert_eq!(s["status"], "applied");
    assert_eq!(s["new_row"], true);
    assert_eq!(count("SELECT count(*) FROM azure_sync.schedule_data WHERE service_company_id = 1"), 2);
    assert_eq!(count("SELECT count(*) FROM azure_sync.stored_objects WHERE path LIKE '1/%'"), 2);
}

#[pg_test]
fn duplicate_emails_are_reported_and_the_rest_proceed() {
    let mut doc = sample("users.json");
    doc["ServiceCompanyGroups"][1]["ServiceCompanies"][0]["Users"][0]["Email"] = json!("SAM.GREEN@example.com");
    let u = call_json(SYNC_USERS, doc);
    assert_eq!(u["users_created"], 2);
    assert_eq!(u["users_rejected"], 2);
    let reasons: Vec<String> = u["rejected"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap().to_string()).collect();
    assert!(reasons.iter().all(|r| r.starts_with("email sam.green@example.com is also used by user")), "{reasons:?}");
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 2);
}

#[pg_test]
fn malformed_documents_fail_clearly_and_leave_earlier_rows_intact() {
    sync_samples();
    let snapshot = "SELECT count(*) * 1000000 + sum(hashtext(id::text || email || coalesce(first_name, ''))) % 1000000 FROM azure_sync.user_profiles";
    let before = count(snapshot);
    let schedules_before = count("SELECT count(*) FROM azure_sync.schedule_data");

    let mut wrong_type = sample("users.json");
    wrong_type["GeneratedAt"] = json!("2025-12-11T00:00:00Z");
    wrong_type["ServiceCompanyGroups"][0]["ServiceCompanies"][1]["Users"][1]["UserId"] = json!(12345);
    let e = sql_error(SYNC_USERS, Some(wrong_type));
    assert_eq!(e, "users.json breaks the file contract: ServiceCompanyGroups[0].ServiceCompanies[1].Users[1].UserId: expected a UUID string, got a number");

    let mut missing = sample("users.json");
    missing["ServiceCompanyGroups"][1].as_object_mut().unwrap().remove("ServiceCompanies");
    let e = sql_error(SYNC_USERS, Some(missing));
    assert!(e.ends_with("ServiceCompanyGroups[1].ServiceCompanies: required field is missing"), "{e}");

    let e = sql_error(SYNC_USERS, Some(json!([1, 2, 3])));
    assert!(e.ends_with("$: expected an object, got an array"), "{e}");

    let mut huge = sample("users.json");
    huge["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][0]["FullName"] = json!("y".repeat(2 * 1024 * 1024));
    let e = sql_error(SYNC_USERS, Some(huge));
    assert!(e.ends_with("Users[0].FullName: expected a string of at most 1024 characters, got 2097152 characters"), "{e}");
    assert!(e.len() < 300, "the error does not echo the value");

    let mut bad_schedule = sample("2_schedules.json");
    bad_schedule["Jobs"] = json!({"not": "an array"});
    bad_schedule["GeneratedAt"] = json!("2026-01-01T00:00:00Z");
    let e = sql_error("SELECT azure_sync.sync_schedule($1, '2_schedules.json')", Some(bad_schedule));
    assert_eq!(e, "2_schedules.json breaks the file contract: Jobs: expected an array, got an object");

    assert_eq!(count(snapshot), before);
    assert_eq!(count("SELECT count(*) FROM azure_sync.schedule_data"), schedules_before);
    assert_eq!(count("SELECT count(*) FROM azure_sync.user_profiles"), 4);
}

#[pg_test]
fn validate_lists_problems_and_is_empty_when_valid() {
    let ok = Spi::get_one_with_args::<Vec<String>>("SELECT azure_sync.validate('users', $1)", &[JsonB(sample("users.json")).into()]).unwrap().unwrap();
    assert!(ok.is_empty());
    let mut bad = sample("1_schedules.json");
    bad["IsActive"] = json!("true");
    bad.as_object_mut().unwrap().remove("Name");
    let problems = Spi::get_one_with_args::<Vec<String>>("SELECT azure_sync.validate('schedule', $1)", &[JsonB(bad).into()]).unwrap().unwrap();
    assert_eq!(problems, vec!["Name: required field is missing".to_string(), "IsActive: expected a boolean, got a string".to_string()]);
    let schema = Spi::get_one::<String>("SELECT azure_sync.json_schema('users')->>'title'").unwrap().unwrap();
    assert!(schema.starts_with("users.json"));
}

#[pg_test]
fn sync_functions_are_not_executable_by_public_and_secrets_stay_private() {
    Spi::run("CREATE ROLE azure_sync_test_reader").unwrap();
    Spi::run("GRANT USAGE ON SCHEMA azure_sync TO azure_sync_test_reader").unwrap();
    for f in ["azure_sync.sync_users(jsonb, boolean)", "azure_sync.sync_schedule(jsonb, text)", "azure_sync.allow_mass_deletion(text, integer)", "azure_sync.show_config()"] {
        let can = Spi::get_one::<bool>(&format!("SELECT has_function_privilege('azure_sync_test_reader', '{f}', 'EXECUTE')")).unwrap();
        assert_eq!(can, Some(false), "{f}");
    }
    let can_validate = Spi::get_one::<bool>("SELECT has_function_privilege('azure_sync_test_reader', 'azure_sync.validate(text, jsonb)', 'EXECUTE')").unwrap();
    assert_eq!(can_validate, Some(true));

    Spi::run("SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/data?sv=2022-11-02&sp=rl&se=2030-01-01&sig=FAKESIG%2B1', service_role_key => 'service-role-key-value-123')").unwrap();
    let e = sql_error("SET LOCAL ROLE azure_sync_test_reader; SELECT value FROM azure_sync.secrets", None);
    assert!(e.contains("permission denied for table secrets"), "{e}");
    let e = sql_error("SET LOCAL ROLE azure_sync_test_reader; SELECT * FROM azure_sync.show_config()", None);
    assert!(e.contains("permission denied for function show_config"), "{e}");
    Spi::run("RESET ROLE").unwrap();

    let shown = Spi::get_one::<String>("SELECT string_agg(name || '=' || value, ' ') FROM azure_sync.show_config()").unwrap().unwrap();
    assert!(!shown.contains("FAKESIG") && !shown.contains("service-role-key-value"), "{shown}");
    assert!(shown.contains("azure_url=https://acct.blob.core.windows.net/data?sv=2022-11-02&sp=rl&se=2030-01-01&sig=*****"), "{shown}");
    assert!(shown.contains("service_role_key=*****"), "{shown}");
    assert!(shown.contains("sas_expires_at=2030-01-01"), "{shown}");
}

#[pg_test]
fn configure_checks_values_and_null_leaves_them_alone() {
    Spi::run("SELECT * FROM azure_sync.configure(bucket => 'snapshots', download_concurrency => 8)").unwrap();
    Spi::run("SELECT * FROM azure_sync.configure(download_concurrency => NULL)").unwrap();
    let rows = Spi::get_one::<String>("SELECT string_agg(name || '=' || value, ' ') FROM azure_sync.show_config() WHERE name IN ('bucket', 'download_concurrency')").unwrap().unwrap();
    assert_eq!(rows, "bucket=snapshots download_concurrency=8");
    let e = sql_error("SELECT * FROM azure_sync.configure(delete_max_fraction => 2)", None);
    assert_eq!(e, "delete_max_fraction must be a fraction between 0 and 1, got \"2\"");
    let e = sql_error("SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/data')", None);
    assert_eq!(e, "Azure configuration: the container SAS URL has no query string (the SAS token)");
}

#[pg_test]
fn the_subtransaction_helper_keeps_the_good_and_undoes_the_bad() {
    Spi::run("CREATE TEMP TABLE subtxn_probe (v int)").unwrap();
    Spi::run("INSERT INTO subtxn_probe VALUES (1)").unwrap();
    let kept = crate::spi::in_subtransaction(|| {
        Spi::run("INSERT INTO subtxn_probe VALUES (2)").unwrap();
        Ok::<_, String>(7)
    });
    assert_eq!(kept, Ok(7));
    let failed = crate::spi::in_subtransaction(|| {
        Spi::run("INSERT INTO subtxn_probe VALUES (3)").unwrap();
        Spi::run("SELECT 1 / 0").unwrap();
        Ok::<_, String>(())
    });
    let err = failed.unwrap_err();
    assert_eq!(err.message, "division by zero");
    assert_eq!(err.sqlstate, "ERRCODE_DIVISION_BY_ZERO");
    let panicked = crate::spi::in_subtransaction(|| {
        Spi::run("INSERT INTO subtxn_probe VALUES (4)").unwrap();
        if true {
            panic!("a Rust panic in the work");
        }
        Ok::<_, String>(())
    });
    assert!(panicked.unwrap_err().message.contains("a Rust panic in the work"));
    // Work that reports failure by returning Err is rolled back too.
    let refused = crate::spi::in_subtransaction(|| {
        Spi::run("INSERT INTO subtxn_probe VALUES (5)").unwrap();
        Err::<(), _>("the document was rejected")
    });
    assert_eq!(refused.unwrap_err().message, "the document was rejected");
    assert_eq!(Spi::get_one::<String>("SELECT string_agg(v::text, ',' ORDER BY v) FROM subtxn_probe").unwrap().as_deref(), Some("1,2"));
    // The transaction is still healthy after both failures.
    assert_eq!(count("SELECT count(*) FROM subtxn_probe"), 2);
}

/// The Vault stand-in of the end-to-end tests (tests/standins/vault.sql), which behaves like
/// supabase_vault 0.3.1 on every point azure_sync depends on.
fn create_vault_stand_in() {
    Spi::run(include_str!("../../tests/standins/vault.sql")).unwrap();
}

fn vault_names() -> String {
    Spi::get_one::<String>("SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM vault.secrets").unwrap().unwrap()
}

#[pg_test]
fn secrets_go_to_vault_when_it_exists() {
    create_vault_stand_in();
    Spi::run("SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/data?sp=rl&se=2030-01-01&sig=FIRSTSIG', service_role_key => 'vault-held-key-123')").unwrap();
    Spi::run("SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/data?sp=rl&se=2031-01-01&sig=SECONDSIG')").unwrap();
    assert_eq!(count("SELECT count(*) FROM azure_sync.secrets"), 0, "nothing in the fallback table");
    assert_eq!(count("SELECT count(*) FROM vault.secrets WHERE name LIKE 'azure_sync.%'"), 2, "updated in place, not duplicated");
    let url = Spi::get_one::<String>("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'azure_sync.azure_url'").unwrap().unwrap();
    assert!(url.ends_with("sig=SECONDSIG"));
    let shown = Spi::get_one::<String>("SELECT string_agg(name || '=' || value || '@' || stored_in, ' ') FROM azure_sync.show_config() WHERE is_secret").unwrap().unwrap();
    assert!(shown.contains("azure_url=https://acct.blob.core.windows.net/data?sp=rl&se=2031-01-01&sig=*****@vault"), "{shown}");
    assert!(shown.contains("service_role_key=*****@vault") && !shown.contains("vault-held-key"), "{shown}");
}

#[pg_test]
fn clearing_a_secret_removes_it_from_vault_and_creates_nothing() {
    create_vault_stand_in();
    Spi::run("SELECT * FROM azure_sync.configure(service_role_key => 'key-to-clear')").unwrap();
    assert_eq!(vault_names(), "azure_sync.service_role_key");
    Spi::run("SELECT * FROM azure_sync.configure(service_role_key => '')").unwrap();
    assert_eq!(vault_names(), "", "an emptied secret is removed, not kept empty");
    Spi::run("SELECT * FROM azure_sync.configure(azure_connection_string => '')").unwrap();
    assert_eq!(vault_names(), "", "clearing a secret never set creates nothing");
    let shown = Spi::get_one::<String>("SELECT value FROM azure_sync.show_config() WHERE name = 'service_role_key'").unwrap().unwrap();
    assert_eq!(shown, "(not set)");
}

#[pg_test]
fn secrets_stored_before_vault_arrived_are_still_read_then_moved_into_it() {
    Spi::run("SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/data?sp=rl&se=2030-01-01&sig=EARLYSIG', service_role_key => 'early-key')").unwrap();
    create_vault_stand_in();
    // Not hidden: read from where they are, and show_config() says where that is.
    let shown = Spi::get_one::<String>("SELECT string_agg(name || '@' || stored_in, ' ' ORDER BY name) FROM azure_sync.show_config() WHERE is_secret AND value <> '(not set)'").unwrap().unwrap();
    assert_eq!(shown, "azure_url@azure_sync.secrets service_role_key@azure_sync.secrets");
    let url = Spi::get_one::<String>("SELECT value FROM azure_sync.show_config() WHERE name = 'sas_expires_at'").unwrap();
    assert_eq!(url.as_deref(), Some("2030-01-01"), "the SAS is still read");
    // Any configure() call moves them; a secret given in the same call wins over the old copy.
    Spi::run("SELECT * FROM azure_sync.configure(service_role_key => 'new-key')").unwrap();
    assert_eq!(count("SELECT count(*) FROM azure_sync.secrets"), 0, "nothing left behind in the table");
    assert_eq!(vault_names(), "azure_sync.azure_url,azure_sync.service_role_key");
    let key = Spi::get_one::<String>("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'azure_sync.service_role_key'").unwrap();
    assert_eq!(key.as_deref(), Some("new-key"));
    let url = Spi::get_one::<String>("SELECT decrypted_secret FROM vault.decrypted_secrets WHERE name = 'azure_sync.azure_url'").unwrap().unwrap();
    assert!(url.ends_with("sig=EARLYSIG"), "moved as it was");
    let stored = Spi::get_one::<String>("SELECT secret FROM vault.secrets WHERE name = 'azure_sync.service_role_key'").unwrap().unwrap();
    assert_ne!(stored, "new-key", "Vault keeps it encrypted");
}

#[pg_test]
fn forget_secrets_removes_every_secret_of_ours_and_nothing_else() {
    create_vault_stand_in();
    Spi::run("SELECT vault.create_secret('not ours', 'portal.other_key')").unwrap();
    Spi::run("SELECT * FROM azure_sync.configure(azure_url => 'https://acct.blob.core.windows.net/data?sp=rl&sig=S', service_role_key => 'k')").unwrap();
    // A name an earlier version may have used goes too: everything with our prefix.
    Spi::run("SELECT vault.create_secret('old', 'azure_sync.retired_setting')").unwrap();
    assert_eq!(Spi::get_one::<i64>("SELECT azure_sync.forget_secrets()").unwrap(), Some(3));
    assert_eq!(vault_names(), "portal.other_key");
    assert_eq!(Spi::get_one::<i64>("SELECT azure_sync.forget_secrets()").unwrap(), Some(0), "again: nothing to do");
}
}
