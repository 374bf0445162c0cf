use super::*;
use crate::clock::Timestamp;
use serde_json::json;

const USERS: &str = include_str!("../../tests/fixtures/sample/users.json");
const SCHEDULE_1: &str = include_str!("../../tests/fixtures/sample/1_schedules.json");

fn users_doc() -> Value {
    serde_json::from_str(USERS).unwrap()
}

#[test]
fn sample_users_file_reads_every_appearance() {
    let f = read_users(&users_doc()).unwrap();
    assert_eq!(f.groups.len(), 2);
    assert_eq!(f.companies.len(), 3);
    assert_eq!(f.entries.len(), 5, "John Doe appears under two companies");
    let john: Vec<_> = f.entries.iter().filter(|e| e.user_id == "c278b273-7d6b-4394-9911-7fe85fb50181").collect();
    assert_eq!(john.len(), 2);
    assert_eq!(john[1].company_id, 2);
    assert_eq!(john[1].employee_information_id, Some(4013));
    assert_eq!(f.entries[0].roles, vec!["Administrator", "Employee"]);
    assert_eq!(f.generated_at, Timestamp::parse("2025-12-10T21:00:00Z").unwrap());
}

#[test]
fn sample_schedule_file_reads_header_and_counts_jobs() {
    let s = read_schedule(&serde_json::from_str(SCHEDULE_1).unwrap()).unwrap();
    assert_eq!(s.service_company_id, 1);
    assert_eq!(s.group_name, "Castle Keepers");
    assert_eq!(s.date_range_start.as_str(), "2025-12-10");
    assert_eq!(s.job_count, 2);
    assert_eq!(s.feature_toggles.get("TechDashboard_HideDiscounts"), Some(&json!(false)));
    assert_eq!(s.time_zone_id.as_deref(), Some("Eastern Standard Time"));
}

#[test]
fn wrong_type_deep_inside_names_the_full_path() {
    let mut doc = users_doc();
    doc["ServiceCompanyGroups"][0]["ServiceCompanies"][1]["Users"][1]["UserId"] = json!(42);
    let err = read_users(&doc).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].to_string(), "ServiceCompanyGroups[0].ServiceCompanies[1].Users[1].UserId: expected a UUID string, got a number");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let mut doc = users_doc();
    doc["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][0]
        .as_object_mut()
        .unwrap()
        .remove("UserId");
    doc["ServiceCompanyGroups"][1]["IsActive"] = json!("yes");
    doc["GeneratedAt"] = json!("last tuesday");
    let problems = validate(DocKind::Users, &doc);
    assert_eq!(
        problems,
        vec![
            "GeneratedAt: expected an RFC 3339 timestamp with offset such as \"2025-12-10T21:00:53Z\", got \"last tuesday\"".to_string(),
            "ServiceCompanyGroups[0].ServiceCompanies[0].Users[0].UserId: required field is missing".to_string(),
            "ServiceCompanyGroups[1].IsActive: expected a boolean, got a string".to_string(),
        ]
    );
}

#[test]
fn unknown_fields_are_accepted() {
    let mut doc = users_doc();
    doc["ExportVersion"] = json!(3);
    doc["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][0]["PhoneNumber"] = json!("555-0100");
    assert!(validate(DocKind::Users, &doc).is_empty());
    let mut s: Value = serde_json::from_str(SCHEDULE_1).unwrap();
    s["Region"] = json!({"Anything": [1, 2]});
    assert!(validate(DocKind::Schedule, &s).is_empty());
}

#[test]
fn not_an_object_and_not_json_are_reported_at_the_root() {
    assert_eq!(validate(DocKind::Users, &json!([1, 2])), vec!["$: expected an object, got an array"]);
    assert_eq!(validate(DocKind::Schedule, &json!("x")), vec!["$: expected an object, got a string"]);
    let err = parse_json(b"{\"GeneratedAt\": ").unwrap_err();
    assert!(err.to_string().starts_with("$: not valid JSON: EOF while parsing"), "{err}");
}

#[test]
fn a_two_megabyte_name_is_refused_without_echoing_it() {
    let mut doc = users_doc();
    let huge = "x".repeat(2 * 1024 * 1024);
    doc["ServiceCompanyGroups"][0]["ServiceCompanies"][0]["Users"][1]["FirstName"] = json!(huge);
    let err = read_users(&doc).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        "ServiceCompanyGroups[0].ServiceCompanies[0].Users[1].FirstName: expected a string of at most 1024 characters, got 2097152 characters"
    );
}

#[test]
fn missing_required_schedule_fields_are_each_named() {
    let mut s: Value = serde_json::from_str(SCHEDULE_1).unwrap();
    let o = s.as_object_mut().unwrap();
    o.remove("ServiceCompanyId");
    o.remove("Jobs");
    o.insert("DateRangeEnd".into(), json!("2025-12-01"));
    let problems = validate(DocKind::Schedule, &s);
    assert_eq!(
        problems,
        vec![
            "ServiceCompanyId: required field is missing".to_string(),
            "Jobs: required field is missing".to_string(),
            "DateRangeEnd: 2025-12-01 is before DateRangeStart 2025-12-10".to_string(),
        ]
    );
}

#[test]
fn jobs_are_opaque_whatever_their_shape() {
    let mut s: Value = serde_json::from_str(SCHEDULE_1).unwrap();
    s["Jobs"] = json!([1, "two", null, {"x": {"y": []}}]);
    assert_eq!(read_schedule(&s).unwrap().job_count, 4);
}

#[test]
fn company_disagreeing_with_its_group_is_a_problem() {
    let mut doc = users_doc();
    doc["ServiceCompanyGroups"][1]["ServiceCompanies"][0]["ServiceCompanyGroupId"] = json!(33);
    assert_eq!(
        validate(DocKind::Users, &doc),
        vec!["ServiceCompanyGroups[1].ServiceCompanies[0].ServiceCompanyGroupId: 33 disagrees with the enclosing group 32"]
    );
}

#[test]
fn problems_are_capped_so_messages_stay_readable() {
    let users: Vec<Value> = (0..200).map(|_| json!({"UserId": 1})).collect();
    let doc = json!({"GeneratedAt": "2025-12-10T21:00:00Z", "ServiceCompanyGroups": [
        {"ServiceCompanyGroupId": 1, "ServiceCompanyGroupName": "G", "IsActive": true,
         "ServiceCompanies": [{"ServiceCompanyId": 1, "Name": "C", "IsActive": true, "Users": users}]}]});
    let err = read_users(&doc).unwrap_err();
    assert_eq!(err.problems.len(), reader::MAX_PROBLEMS);
    assert!(err.truncated);
    assert!(err.to_string().starts_with("50+ problems: "), "{err}");
}

#[test]
fn blob_names_are_classified() {
    assert_eq!(BlobKind::of("users.json"), BlobKind::Users);
    assert_eq!(BlobKind::of("59_schedules.json"), BlobKind::Schedule(59));
    assert_eq!(BlobKind::of("_schedules.json"), BlobKind::Ignored);
    assert_eq!(BlobKind::of("-1_schedules.json"), BlobKind::Ignored);
    assert_eq!(BlobKind::of("archive/1_schedules.json"), BlobKind::Ignored);
    assert_eq!(BlobKind::of("Users.json"), BlobKind::Ignored);
    assert_eq!(BlobKind::of("1_schedules.json.bak"), BlobKind::Ignored);
    assert_eq!(BlobKind::of("99999999999999999999_schedules.json"), BlobKind::Ignored);
}

#[test]
fn the_json_schemas_are_valid_json_and_name_the_required_fields() {
    let users: Value = serde_json::from_str(USERS_SCHEMA).unwrap();
    let schedule: Value = serde_json::from_str(SCHEDULE_SCHEMA).unwrap();
    assert_eq!(users["required"], json!(["GeneratedAt", "ServiceCompanyGroups"]));
    let req = schedule["required"].as_array().unwrap();
    for f in ["ServiceCompanyId", "GeneratedAt", "DateRangeStart", "DateRangeEnd", "Jobs"] {
        assert!(req.contains(&json!(f)), "{f}");
    }
}

#[test]
fn text_holding_nul_is_refused_by_path_a_user_alone_or_the_file() {
    // A user's own text: that user is refused, the rest of the file reads.
    let users = USERS.replacen("\"maria.lopez@example.com\"", "\"maria\\u0000@example.com\"", 1);
    let file = read_users(&parse_json(users.as_bytes()).unwrap()).unwrap();
    let refused: Vec<&UserEntry> = file.entries.iter().filter(|e| e.refused.is_some()).collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].user_id, "5f0c9a64-2b1e-4f43-9c55-0d7a1a2b3c01");
    assert_eq!(
        refused[0].refused.as_deref(),
        Some("ServiceCompanyGroups[0].ServiceCompanies[0].Users[1].Email contains a NUL character (\\u0000), which PostgreSQL text cannot hold")
    );
    assert_eq!(refused[0].email, None, "nothing of the refused text travels on");
    let roles = USERS.replacen("\"Roles\": [\"Employee\"]", "\"Roles\": [\"Emp\\u0000\"]", 1);
    assert!(read_users(&parse_json(roles.as_bytes()).unwrap()).unwrap().entries.iter().any(|e| e.refused.as_deref().is_some_and(|r| r.contains(".Roles[0] contains a NUL"))));
    // The file's own text: the file is refused, by path, never truncated.
    let company = USERS.replacen("\"Charleston\"", "\"Charles\\u0000ton\"", 1);
    let e = read_users(&parse_json(company.as_bytes()).unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "ServiceCompanyGroups[0].ServiceCompanies[0].Name: contains a NUL character (\\u0000), which PostgreSQL text cannot hold");
    let schedule = SCHEDULE_1.replacen("\"FeatureToggles\": {", "\"FeatureToggles\": {\"Hide\\u0000\": true, ", 1);
    let e = crate::contract::read_schedule_bytes(schedule.as_bytes()).unwrap_err();
    assert_eq!(e.to_string(), "FeatureToggles: FeatureToggles (a key) contains a NUL character (\\u0000), which PostgreSQL text cannot hold");
}
