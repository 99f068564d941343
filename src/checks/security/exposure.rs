//! The `data_exposure` probe (OWASP API3, excessive data exposure): a user signs in through the service's own
//! login, then reads every route the lab names (lists, single objects, their own profile). No answer, the
//! login's included, may carry a field the lab names private (`password`, `password_hash`, `salt`, ...: JSON
//! keys at any depth, compared without case, whole names only, so `password_changed_at` is not one), and no
//! answer body may contain the user's password itself, in any form of answer.

use serde_json::Value;

use super::auth::{request, with_route};
use super::limits::login_req;
use super::ownership::{create, marker};
use super::session::{Answer, ProbeError, Session};
use super::{Create, Login, Route};

/// The private field names used when a check names none.
pub const DEFAULT_PRIVATE: [&str; 7] = [
    "password",
    "password_hash",
    "passwordhash",
    "hash",
    "salt",
    "secret",
    "pwd",
];

/// The probe's parameters.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// The login of the user who reads; the token is at `pointer` of its answer.
    pub login: Login,
    pub pointer: String,
    /// A resource the user creates first, so lists are not empty and `{id}` names it.
    pub create: Option<Create>,
    /// The routes read after signing in.
    pub routes: Vec<Route>,
    /// Field names that must never appear, lower-case.
    pub private: Vec<String>,
}

pub(super) async fn data_exposure(s: &mut Session<'_>, p: &Exposure) -> Result<(), ProbeError> {
    let password = s.env_value(&p.login.password_env)?;
    let login_route = Route {
        method: "POST".to_string(),
        path: p.login.path.clone(),
        json: None,
    };
    let a = s
        .send(
            &format!("{} logs in", p.login.username),
            login_req(&p.login, &p.login.username, &password),
        )
        .await?;
    let token = serde_json::from_slice::<Value>(&a.body)
        .ok()
        .and_then(|j| {
            j.pointer(&p.pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|_| a.success())
        .ok_or_else(|| {
            ProbeError::Failed(format!(
                "logging in with correct credentials did not answer 2xx with a token (status {})",
                a.status
            ))
        })?;
    judge(&a, &password, &p.private, &login_route)?;
    let id = match &p.create {
        Some(c) => {
            let m = marker(s);
            Some(create(s, c, &token, &m, "the user creates a resource").await?)
        }
        None => None,
    };
    for route in &p.routes {
        let a = s
            .send(
                "the user reads",
                request(route, id.as_deref()).bearer(Some(&token)),
            )
            .await?;
        if !a.success() {
            return Err(ProbeError::Failed(with_route(
                &format!(
                    "a signed-in user's read was not answered 2xx (status {})",
                    a.status
                ),
                route,
            )));
        }
        judge(&a, &password, &p.private, route)?;
    }
    Ok(())
}

/// Fails an answer that shows the password or a private field, naming the class and the route only.
fn judge(a: &Answer, password: &str, private: &[String], route: &Route) -> Result<(), ProbeError> {
    if !password.is_empty() && a.text().contains(password) {
        return Err(ProbeError::Failed(with_route(
            "excessive data exposure: an answer contains the user's password",
            route,
        )));
    }
    // An answer that cannot be read (not JSON, or cut at the probe's 256 KiB) cannot be cleared either: padding
    // an answer past what is read must not hide what it carries.
    let Ok(json) = serde_json::from_slice::<Value>(&a.body) else {
        return Err(ProbeError::Failed(with_route(
            "excessive data exposure: an answer could not be checked (it is not JSON, or longer than 256 KiB)",
            route,
        )));
    };
    if private_key(&json, private).is_some() {
        return Err(ProbeError::Failed(with_route(
            "excessive data exposure: an answer carries a private field (a password, hash, salt or secret)",
            route,
        )));
    }
    Ok(())
}

/// The first key of `v` (at any depth) that is one of `private`, compared without case.
pub(super) fn private_key<'a>(v: &'a Value, private: &[String]) -> Option<&'a str> {
    match v {
        Value::Object(o) => o
            .iter()
            .find(|(k, _)| private.iter().any(|p| p.eq_ignore_ascii_case(k)))
            .map(|(k, _)| k.as_str())
            .or_else(|| o.values().find_map(|x| private_key(x, private))),
        Value::Array(a) => a.iter().find_map(|x| private_key(x, private)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Vec<String> {
        DEFAULT_PRIVATE.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn private_keys_are_found_at_any_depth_and_in_any_case() {
        let p = defaults();
        let nested = json!({"items": [{"id": 1, "owner": {"name": "a", "Password_Hash": "x"}}]});
        assert_eq!(private_key(&nested, &p), Some("Password_Hash"));
        assert_eq!(private_key(&json!({"SALT": "x"}), &p), Some("SALT"));
    }

    fn route() -> Route {
        Route {
            method: "GET".into(),
            path: "/v1/me".into(),
            json: None,
        }
    }

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_password_in_any_answer_fails_and_is_never_repeated_to_the_learner() {
        let a = answer("user alice, password hunter2-x9, welcome");
        let Err(ProbeError::Failed(why)) = judge(&a, "hunter2-x9", &defaults(), &route()) else {
            panic!("the password went unnoticed");
        };
        assert!(
            why.contains("contains the user's password on GET /v1/me"),
            "{why}"
        );
        assert!(!why.contains("hunter2"), "{why}");
        let hash = answer(r#"{"username":"alice","password_hash":"$argon2id$..."}"#);
        let Err(ProbeError::Failed(why)) = judge(&hash, "hunter2-x9", &defaults(), &route()) else {
            panic!("the hash went unnoticed");
        };
        assert!(why.contains("carries a private field"), "{why}");
        assert!(judge(
            &answer(r#"{"username":"alice"}"#),
            "hunter2-x9",
            &defaults(),
            &route()
        )
        .is_ok());
    }

    #[test]
    fn an_answer_that_cannot_be_read_is_not_cleared() {
        for unreadable in [
            "<html>alice</html>",
            "{\"username\":\"alice\",\"pad\":\"xxxx",
        ] {
            let Err(ProbeError::Failed(why)) =
                judge(&answer(unreadable), "hunter2-x9", &defaults(), &route())
            else {
                panic!("{unreadable} was cleared");
            };
            assert!(why.contains("could not be checked"), "{why}");
        }
    }

    #[test]
    fn look_alike_names_and_values_are_not_private_keys() {
        let p = defaults();
        let profile = json!({
            "username": "alice",
            "password_changed_at": "2026-11-01T09:00:00Z",
            "hashtags": ["password"],
            "note": "my password is long"
        });
        assert_eq!(private_key(&profile, &p), None);
    }
}
