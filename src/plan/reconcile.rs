//! Drift between Supabase Auth and the profiles: a run rolled back after a GoTrue call, a user
//! deleted or edited by hand in the dashboard. The profiles (what users.json last said) are
//! the truth; Auth is made to match them. Users azure_sync did not create (no marker in
//! app_metadata) are never touched.

use super::users::{app_metadata, DeletionGuard, DesiredUser};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// A user as GoTrue's admin list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthUser {
    pub id: String,
    /// Lowercased.
    pub email: Option<String>,
    pub confirmed: bool,
    pub app_metadata: Value,
}

impl AuthUser {
    /// Created by azure_sync (the marker in app_metadata, which a user cannot edit).
    pub fn ours(&self) -> bool {
        self.app_metadata.get("azure_sync") == Some(&Value::Bool(true))
    }
}

/// One user whose auth record disagrees with the profile, and in what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    pub user_id: String,
    /// `email`, `confirmation`, `app_metadata`.
    pub differs: Vec<&'static str>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Drift {
    /// Profiles with no auth user: to create.
    pub missing: Vec<DesiredUser>,
    /// Auth users that disagree with their profile: (the profile, what differs). An email
    /// that differs, or one unconfirmed, is confirmed again.
    pub mismatched: Vec<(DesiredUser, Mismatch)>,
    /// Auth users of ours with no profile: to delete (unless the guard holds them back).
    pub orphans: Vec<String>,
    /// How many orphans the deletion guard held back (then none is deleted).
    pub orphans_held_back: usize,
}

pub fn find_drift(profiles: &[DesiredUser], auth_users: &[AuthUser], guard: &DeletionGuard) -> Drift {
    let by_id: HashMap<&str, &AuthUser> = auth_users.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut drift = Drift::default();
    for p in profiles {
        let Some(a) = by_id.get(p.id.as_str()) else {
            drift.missing.push(p.clone());
            continue;
        };
        let mut differs = vec![];
        if a.email.as_deref() != Some(p.email.as_str()) {
            differs.push("email");
        }
        if !a.confirmed {
            differs.push("confirmation");
        }
        let expected = app_metadata(p);
        let expected = expected.as_object().expect("app_metadata is an object");
        if expected.iter().any(|(k, v)| k != "provider" && a.app_metadata.get(k) != Some(v)) {
            differs.push("app_metadata");
        }
        if !differs.is_empty() {
            let mut user = p.clone();
            user.email_changed = differs.contains(&"email") || differs.contains(&"confirmation");
            drift.mismatched.push((user, Mismatch { user_id: p.id.clone(), differs }));
        }
    }
    let profiled: std::collections::HashSet<&str> = profiles.iter().map(|p| p.id.as_str()).collect();
    let ours: Vec<&AuthUser> = auth_users.iter().filter(|a| a.ours()).collect();
    let orphans: Vec<String> = ours.iter().filter(|a| !profiled.contains(a.id.as_str())).map(|a| a.id.clone()).collect();
    if guard.blocks(orphans.len(), ours.len()) {
        drift.orphans_held_back = orphans.len();
    } else {
        drift.orphans = orphans;
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::users::Membership;

    fn profile(n: u32) -> DesiredUser {
        DesiredUser {
            id: format!("00000000-0000-4000-8000-{n:012}"),
            email: format!("tech{n}@example.com"),
            first_name: None,
            last_name: None,
            full_name: None,
            memberships: vec![Membership { company_id: 1, employee_information_id: Some(n as i64), roles: vec!["Employee".into()] }],
            record_hash: String::new(),
            email_changed: false,
        }
    }

    fn in_auth(p: &DesiredUser) -> AuthUser {
        AuthUser { id: p.id.clone(), email: Some(p.email.clone()), confirmed: true, app_metadata: app_metadata(p) }
    }

    const GUARD: DeletionGuard = DeletionGuard { max_fraction: 0.10, max_count: 5 };

    #[test]
    fn matching_users_are_no_drift() {
        let profiles: Vec<_> = (1..=3).map(profile).collect();
        let auth: Vec<_> = profiles.iter().map(in_auth).collect();
        assert_eq!(find_drift(&profiles, &auth, &GUARD), Drift::default());
    }

    #[test]
    fn each_kind_of_drift_is_found() {
        let profiles: Vec<_> = (1..=4).map(profile).collect();
        let mut auth: Vec<_> = profiles.iter().map(in_auth).collect();
        auth.remove(0); // deleted by hand
        auth[0].email = Some("someone.else@example.com".into()); // profile 2, edited by hand
        auth[1].confirmed = false; // profile 3
        auth[2].app_metadata["service_company_ids"] = serde_json::json!([9]); // profile 4
        let stranger = AuthUser { id: "x".into(), email: None, confirmed: true, app_metadata: serde_json::json!({"provider": "google"}) };
        let orphan = AuthUser { id: "y".into(), ..in_auth(&profile(9)) };
        auth.extend([stranger, orphan]);
        let drift = find_drift(&profiles, &auth, &GUARD);
        assert_eq!(drift.missing.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), [profiles[0].id.as_str()]);
        let differs: Vec<(bool, Vec<&str>)> = drift.mismatched.iter().map(|(u, m)| (u.email_changed, m.differs.clone())).collect();
        assert_eq!(differs, [(true, vec!["email"]), (true, vec!["confirmation"]), (false, vec!["app_metadata"])]);
        assert_eq!(drift.orphans, ["y"], "a user azure_sync did not create is never an orphan");
    }

    #[test]
    fn many_orphans_are_held_back_by_the_guard() {
        let auth: Vec<_> = (1..=20).map(|n| in_auth(&profile(n))).collect();
        let drift = find_drift(&[], &auth, &GUARD);
        assert_eq!((drift.orphans.len(), drift.orphans_held_back), (0, 20));
    }
}
