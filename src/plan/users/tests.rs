use super::*;

fn entry(id: u32, email: &str, first: &str, company: i64) -> UserEntry {
    UserEntry {
        user_id: format!("00000000-0000-4000-8000-{id:012}"),
        email: Some(email.to_string()),
        employee_information_id: Some(id as i64),
        first_name: Some(first.to_string()),
        last_name: Some("Tester".into()),
        full_name: Some(format!("{first} Tester")),
        roles: vec!["Employee".into()],
        company_id: company,
        path: format!("Users[{id}]"),
        refused: None,
    }
}

fn people(n: u32) -> Vec<UserEntry> {
    (1..=n).map(|i| entry(i, &format!("user{i}@example.com"), "Name", 1 + (i as i64 % 3))).collect()
}

/// The guard with the bounds the settings ship with.
fn guard() -> DeletionGuard {
    DeletionGuard { max_fraction: 0.10, max_count: 5 }
}

fn as_existing(plan: &UserPlan) -> Vec<ExistingUser> {
    plan.create.iter().chain(&plan.update).map(|u| ExistingUser { id: u.id.clone(), email: u.email.clone(), record_hash: u.record_hash.clone() }).collect()
}

#[test]
fn first_sync_creates_everyone_and_second_changes_nothing() {
    let file = people(10);
    let first = plan_users(&file, &[], &guard(), DeletionPermission::Guarded);
    assert_eq!(first.create.len(), 10);
    assert!(first.update.is_empty() && first.delete.is_empty() && first.rejected.is_empty());
    let second = plan_users(&file, &as_existing(&first), &guard(), DeletionPermission::Guarded);
    assert_eq!(second.unchanged, 10);
    assert!(second.create.is_empty() && second.update.is_empty() && second.delete.is_empty());
}

#[test]
fn a_renamed_user_is_the_only_update() {
    let mut file = people(10);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    file[3].first_name = Some("Renamed".into());
    let plan = plan_users(&file, &existing, &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].first_name.as_deref(), Some("Renamed"));
    assert_eq!(plan.unchanged, 9);
}

#[test]
fn a_person_in_two_companies_is_one_user_with_two_memberships() {
    let mut file = people(2);
    let mut again = file[0].clone();
    again.company_id = 77;
    again.employee_information_id = Some(9000);
    again.roles = vec!["Administrator".into(), "Employee".into()];
    file.push(again);
    let plan = plan_users(&file, &[], &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.create.len(), 2);
    let u = &plan.create[0];
    assert_eq!(u.memberships.len(), 2);
    assert_eq!(u.memberships[1], Membership { company_id: 77, employee_information_id: Some(9000), roles: vec!["Administrator".into(), "Employee".into()] });
    assert!(plan.warnings.is_empty());
}

#[test]
fn a_dropped_user_is_deleted() {
    let file = people(10);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let plan = plan_users(&file[1..], &existing, &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.delete, vec![existing[0].id.clone()]);
    assert_eq!(plan.deletions_blocked, 0);
}

#[test]
fn dropping_30_of_100_is_blocked_unless_allowed_once() {
    let file = people(100);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let plan = plan_users(&file[30..], &existing, &guard(), DeletionPermission::Guarded);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.deletions_blocked, 30);
    assert_eq!(plan.unchanged, 70, "creates and updates go on");
    let allowed = plan_users(&file[30..], &existing, &guard(), DeletionPermission::ForThisCall);
    assert_eq!(allowed.delete.len(), 30);
    assert_eq!(allowed.deletions_blocked, 0);
}

#[test]
fn an_allowance_is_used_only_when_the_guard_would_block() {
    let file = people(100);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let blocked = plan_users(&file[30..], &existing, &guard(), DeletionPermission::Allowance { id: 7, max_count: None });
    assert_eq!((blocked.delete.len(), blocked.deletions_blocked, blocked.allowance_used), (30, 0, Some(7)));
    let small = plan_users(&file[1..], &existing, &guard(), DeletionPermission::Allowance { id: 7, max_count: None });
    assert_eq!((small.delete.len(), small.allowance_used), (1, None), "not consumed when the guard lets it through");
    let empty = plan_users(&[], &existing, &guard(), DeletionPermission::Allowance { id: 7, max_count: None });
    assert_eq!((empty.delete.len(), empty.allowance_used), (0, None), "an empty export deletes nobody, allowance or not");
    let capped = plan_users(&file[30..], &existing, &guard(), DeletionPermission::Allowance { id: 7, max_count: Some(29) });
    assert_eq!((capped.delete.len(), capped.deletions_blocked, capped.allowance_used), (0, 30, None), "30 is more than the 29 allowed");
    assert!(capped.warnings.iter().any(|w| w.contains("allows at most 29")), "{:?}", capped.warnings);
    let enough = plan_users(&file[30..], &existing, &guard(), DeletionPermission::Allowance { id: 7, max_count: Some(30) });
    assert_eq!((enough.delete.len(), enough.allowance_used), (30, Some(7)));
}

#[test]
fn the_guard_needs_both_bounds_exceeded() {
    let g = guard();
    assert!(!g.blocks(5, 10), "5 is not more than 5");
    assert!(!g.blocks(9, 100), "9 of 100 is under 10%");
    assert!(g.blocks(11, 100));
    assert!(!g.blocks(10, 100), "exactly 10% is allowed");
    assert!(g.blocks(6, 10));
}

#[test]
fn an_empty_export_deletes_nobody_even_when_small() {
    let file = people(3);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let plan = plan_users(&[], &existing, &guard(), DeletionPermission::ForThisCall);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.deletions_blocked, 3);
}

#[test]
fn two_user_ids_with_one_email_are_both_rejected_and_the_rest_proceed() {
    let mut file = people(4);
    file[2].email = Some("USER1@example.com".into());
    let plan = plan_users(&file, &[], &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.create.len(), 2);
    let ids: Vec<&str> = plan.rejected.iter().map(|r| r.user_id.as_str()).collect();
    assert_eq!(ids, vec![file[0].user_id.as_str(), file[2].user_id.as_str()]);
    assert_eq!(plan.rejected[0].reason, format!("email user1@example.com is also used by user {}", file[2].user_id));
}

#[test]
fn rejected_users_already_present_are_not_deleted() {
    let mut file = people(4);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    file[0].email = Some("not an email".into());
    let plan = plan_users(&file, &existing, &guard(), DeletionPermission::Guarded);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.rejected.len(), 1);
    assert_eq!(plan.rejected[0].reason, "\"not an email\" is not a valid email address");
}

#[test]
fn an_email_held_by_a_blocked_deletion_is_not_reused() {
    let file = people(20);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    // 10 of 20 leave (blocked), and a newcomer takes the email of one who left.
    let mut next: Vec<UserEntry> = file[10..].to_vec();
    next.push(entry(999, "user1@example.com", "New", 1));
    let plan = plan_users(&next, &existing, &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.deletions_blocked, 10);
    assert_eq!(plan.rejected.len(), 1);
    assert!(plan.rejected[0].reason.contains("absent from users.json but not deleted"), "{}", plan.rejected[0].reason);
}

#[test]
fn emails_are_lowercased_and_change_the_hash() {
    let mut file = people(1);
    file[0].email = Some(" Pat.Kim@Example.COM ".into());
    let a = plan_users(&file, &[], &guard(), DeletionPermission::Guarded);
    assert_eq!(a.create[0].email, "pat.kim@example.com");
    file[0].email = Some("pat.kim2@example.com".into());
    let b = plan_users(&file, &as_existing(&a), &guard(), DeletionPermission::Guarded);
    assert_eq!(b.update.len(), 1);
}

#[test]
fn missing_email_is_a_rejection_not_a_failure() {
    let mut file = people(2);
    file[1].email = None;
    let plan = plan_users(&file, &[], &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.rejected[0].reason, "no email address: cannot sign in by magic link");
}

#[test]
fn planning_20000_users_is_quick_enough_to_run_in_a_test() {
    let file = people(20_000);
    let plan = plan_users(&file, &[], &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.create.len(), 20_000);
    let again = plan_users(&file, &as_existing(&plan), &guard(), DeletionPermission::Guarded);
    assert_eq!(again.unchanged, 20_000);
}

#[test]
fn a_refused_user_is_reported_kept_and_not_deleted() {
    let file = people(10);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let mut next = file.clone();
    next[3] = UserEntry { email: None, first_name: None, refused: Some("Users[3].Email contains a NUL".into()), ..next[3].clone() };
    let plan = plan_users(&next, &existing, &guard(), DeletionPermission::Guarded);
    assert!(plan.delete.is_empty(), "a refused user is still in the export");
    assert_eq!(plan.rejected.len(), 1);
    assert_eq!(plan.rejected[0].user_id, file[3].user_id);
    assert_eq!(plan.rejected[0].reason, "Users[3].Email contains a NUL");
    assert_eq!(plan.unchanged, 9);
}

#[test]
fn only_an_email_change_is_marked_for_confirmation() {
    let file = people(3);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let mut next = file.clone();
    next[0].first_name = Some("Renamed".into());
    next[1].email = Some("moved@example.com".into());
    let plan = plan_users(&next, &existing, &guard(), DeletionPermission::Guarded);
    let changed: Vec<(&str, bool)> = plan.update.iter().map(|u| (u.id.as_str(), u.email_changed)).collect();
    assert_eq!(changed, [(file[0].user_id.as_str(), false), (file[1].user_id.as_str(), true)]);
}

#[test]
fn swaps_and_cycles_of_emails_move_their_holders_first() {
    let file = people(5);
    let existing = as_existing(&plan_users(&file, &[], &guard(), DeletionPermission::Guarded));
    let mut next = file.clone();
    // 1 and 2 swap; 3 takes 4's, 4 takes 5's, 5 takes 3's (a cycle).
    let email = |i: usize| file[i].email.clone();
    (next[0].email, next[1].email) = (email(1), email(0));
    (next[2].email, next[3].email, next[4].email) = (email(3), email(4), email(2));
    let plan = plan_users(&next, &existing, &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.update.len(), 5);
    assert!(plan.rejected.is_empty(), "{:?}", plan.rejected);
    let mut all: Vec<String> = file.iter().map(|e| e.user_id.clone()).collect();
    all.sort();
    assert_eq!(plan.move_first, all);
    // In a chain only a holder steps aside: 1 takes 2's address, 2 takes a free one.
    let mut chain = file.clone();
    chain[0].email = email(1);
    chain[1].email = Some("fresh@example.com".into());
    let plan = plan_users(&chain, &existing, &guard(), DeletionPermission::Guarded);
    assert_eq!(plan.move_first, [file[1].user_id.clone()]);
    assert_eq!(temporary_email("x"), "x@moving.azure-sync.invalid");
}
