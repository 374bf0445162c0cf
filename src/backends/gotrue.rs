//! The Supabase Auth (GoTrue) admin API: create, update, delete, read users, with the upstream
//! UserId as the auth id so every call can be repeated safely.

use super::supabase::{ApiClient, ApiError, Body};
use crate::plan::reconcile::AuthUser;
use crate::plan::users::{app_metadata, DesiredUser};
use serde_json::{json, Value};

pub struct GoTrue {
    pub api: ApiClient,
}

/// The user as GoTrue should hold it. Names go in user_metadata (the user may edit them);
/// companies and roles decide access, so they go in app_metadata (only the service role
/// writes it).
///
/// `confirm_email`: send `email_confirm: true`, which marks the email confirmed so that
/// magic-link sign-in works at once. Only on create and on an email change: on GoTrue every
/// update carrying it confirms again and deletes the user's one-time tokens, so a magic link
/// the technician just asked for would stop working.
pub fn user_body(u: &DesiredUser, confirm_email: bool) -> Value {
    let mut body = json!({
        "email": u.email,
        "user_metadata": {"first_name": u.first_name, "last_name": u.last_name, "full_name": u.full_name},
        "app_metadata": app_metadata(u),
    });
    if confirm_email {
        body["email_confirm"] = json!(true);
    }
    body
}

/// What a create-or-update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

impl GoTrue {
    fn ok(result: Result<(u16, Vec<u8>), ApiError>) -> Result<Vec<u8>, ApiError> {
        result.map(|(_, body)| body)
    }

    /// A 2xx is success only when it is the user asked for: anything else answering (a proxy's
    /// HTML page, another service) must not read as a user created or updated.
    fn echoed(operation: &str, id: &str, answer: &[u8]) -> Result<(), ApiError> {
        let echoed = serde_json::from_slice::<Value>(answer).ok().and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
        if echoed.as_deref() == Some(id) {
            return Ok(());
        }
        Err(ApiError {
            service: "auth",
            operation: operation.to_string(),
            status: None,
            code: Some("unexpected_answer".into()),
            message: "the answer is not the user asked for: something other than GoTrue answered".into(),
        })
    }

    pub fn create(&self, u: &DesiredUser) -> Result<(), ApiError> {
        let mut body = user_body(u, true);
        body["id"] = json!(u.id);
        let operation = format!("create user {}", u.id);
        let answer = Self::ok(self.api.send("POST", "/admin/users", "users", &operation, Body::Json(&body), &[]))?;
        Self::echoed(&operation, &u.id, &answer)
    }

    /// `confirm_email`: see `user_body`.
    pub fn update(&self, u: &DesiredUser, confirm_email: bool) -> Result<(), ApiError> {
        let body = user_body(u, confirm_email);
        let operation = format!("update user {}", u.id);
        let answer = Self::ok(self.api.send("PUT", &format!("/admin/users/{}", u.id), "users", &operation, Body::Json(&body), &[]))?;
        Self::echoed(&operation, &u.id, &answer)
    }

    /// Give a user another address and nothing else (a step of an email swap: no
    /// `email_confirm`, no metadata).
    pub fn move_email(&self, id: &str, email: &str) -> Result<(), ApiError> {
        let body = json!({ "email": email });
        let operation = format!("move user {id} to a temporary address");
        let answer = Self::ok(self.api.send("PUT", &format!("/admin/users/{id}"), "users", &operation, Body::Json(&body), &[]))?;
        Self::echoed(&operation, id, &answer)
    }

    /// GoTrue's word that a user does not exist: a 404 with code user_not_found. A bare 404
    /// (a wrong URL, a proxy) says nothing about the user and stays an error.
    fn no_such_user(e: &ApiError) -> bool {
        e.status == Some(404) && e.code.as_deref() == Some("user_not_found")
    }

    /// Hard delete. A user already gone counts as deleted: an earlier run may have deleted it
    /// and then rolled back its own transaction.
    pub fn delete(&self, id: &str) -> Result<(), ApiError> {
        let body = json!({"should_soft_delete": false});
        match self.api.send("DELETE", &format!("/admin/users/{id}"), "users", &format!("delete user {id}"), Body::Json(&body), &[]) {
            Ok(_) => Ok(()),
            Err(e) if Self::no_such_user(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub fn get(&self, id: &str) -> Result<Option<Value>, ApiError> {
        match self.api.send("GET", &format!("/admin/users/{id}"), "users", &format!("read user {id}"), Body::None, &[]) {
            Ok((_, body)) => Ok(serde_json::from_slice(&body).ok()),
            Err(e) if Self::no_such_user(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every user, page after page (GoTrue pages from 1, newest first) until a short page.
    pub fn list_all(&self, per_page: u32) -> Result<Vec<AuthUser>, ApiError> {
        let mut all = vec![];
        for page in 1.. {
            let operation = format!("list users (page {page})");
            let (_, body) = self.api.send("GET", &format!("/admin/users?page={page}&per_page={per_page}"), "users", &operation, Body::None, &[])?;
            let users = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("users").and_then(Value::as_array).cloned()).ok_or_else(|| ApiError {
                service: "auth",
                operation,
                status: None,
                code: Some("unexpected_answer".into()),
                message: "the answer has no users list: something other than GoTrue answered".into(),
            })?;
            let n = users.len();
            all.extend(users.iter().filter_map(|u| {
                Some(AuthUser {
                    id: u.get("id")?.as_str()?.to_string(),
                    email: u.get("email").and_then(Value::as_str).map(str::to_lowercase),
                    confirmed: u.get("email_confirmed_at").is_some_and(|c| !c.is_null()),
                    app_metadata: u.get("app_metadata").cloned().unwrap_or(Value::Null),
                })
            }));
            if n < per_page as usize {
                break;
            }
        }
        Ok(all)
    }

    /// Create; when GoTrue already has this id (an earlier run created it and then rolled back),
    /// update instead. "Already exists" comes as 422 email_exists, or as 500 on the duplicate
    /// primary key: either way, read the user by id to know which.
    pub fn create_or_update(&self, u: &DesiredUser) -> Result<Upserted, ApiError> {
        match self.create(u) {
            Ok(()) => Ok(Upserted::Created),
            Err(e) if e.status == Some(422) || e.status == Some(500) => match self.get(&u.id)? {
                // Confirm only if GoTrue holds another email: its pending links stay otherwise.
                Some(held) => {
                    let same_email = held.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(&u.email));
                    self.update(u, !same_email).map(|_| Upserted::Updated)
                }
                // GoTrue checks a new address against the identities of every provider.
                None if e.code.as_deref() == Some("email_exists") => Err(ApiError {
                    message: format!(
                        "{}: {} already belongs to another sign-in identity in Supabase Auth (another user, or an identity of another provider such as Google)",
                        e.message, u.email
                    ),
                    ..e
                }),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Update; a user missing from GoTrue (deleted by hand, or never created) is created.
    pub fn update_or_create(&self, u: &DesiredUser) -> Result<Upserted, ApiError> {
        match self.update(u, u.email_changed) {
            Ok(()) => Ok(Upserted::Updated),
            Err(e) if Self::no_such_user(&e) => self.create(u).map(|_| Upserted::Created),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confirming_body_carries_email_confirm() {
        let user = DesiredUser {
            id: "c278b273-7d6b-4394-9911-7fe85fb50181".into(),
            email: "a@example.com".into(),
            first_name: None,
            last_name: None,
            full_name: None,
            memberships: vec![],
            record_hash: String::new(),
            email_changed: false,
        };
        assert_eq!(user_body(&user, true)["email_confirm"], json!(true));
        assert!(user_body(&user, false).get("email_confirm").is_none(), "a plain update keeps the user's pending magic links");
    }
}
