//! The probes of the service's outer shell: `headers` (security headers on every answer) and `rate_limit`
//! (password guessing is cut off per username).

use rand::Rng;
use serde_json::json;

use super::auth::{request, with_route};
use super::inputs::token_for;
use super::session::{Answer, ProbeError, Req, Session};
use super::{Login, Route, Rule, TokenSpec};

pub(super) async fn headers(
    s: &mut Session<'_>,
    routes: &[Route],
    spec: Option<&TokenSpec>,
    wanted: &[(String, String)],
    absent: &[String],
) -> Result<(), ProbeError> {
    let token = token_for(s, spec)?;
    for route in routes {
        let a = s
            .send(
                "security headers",
                request(route, None).bearer(token.as_deref()),
            )
            .await?;
        for (name, pattern) in wanted {
            let what = match a.header(name) {
                None => format!("the `{name}` header is missing"),
                Some(v) if !crate::checks::http::glob(pattern, v, true) => {
                    format!("the `{name}` header does not have an acceptable value")
                }
                Some(_) => continue,
            };
            return Err(ProbeError::Failed(with_route(&what, route)));
        }
        if let Some(name) = absent.iter().find(|n| a.header(n).is_some()) {
            let what = format!("the answer carries a `{name}` header");
            return Err(ProbeError::Failed(with_route(&what, route)));
        }
    }
    Ok(())
}

pub(super) fn login_req(login: &Login, username: &str, password: &str) -> Req {
    let mut body = json!({});
    body[login.username_field.as_str()] = json!(username);
    body[login.password_field.as_str()] = json!(password);
    Req::new("POST", &login.path).json(&body)
}

/// Whether an answer matches a login rule; a rule without a status takes any 2xx when `success`, else any.
fn matches(rule: &Rule, a: &Answer, success: bool) -> bool {
    let status = match rule.status {
        Some(st) => a.status == st,
        None => !success || a.success(),
    };
    status
        && rule
            .body
            .as_deref()
            .is_none_or(|p| crate::checks::http::glob(p, &a.text(), false))
}

pub(super) async fn rate_limit(
    s: &mut Session<'_>,
    login: &Login,
    attempts: u32,
) -> Result<(), ProbeError> {
    let ok = |a: &Answer| matches(&login.success, a, true);
    let limited = |a: &Answer| matches(&login.limited, a, false);
    let password = s.env_value(&login.password_env)?;
    let a = s
        .send(
            "a correct login",
            login_req(login, &login.username, &password),
        )
        .await?;
    if !ok(&a) {
        return Err(ProbeError::Failed(format!(
            "logging in with correct credentials did not succeed (status {})",
            a.status
        )));
    }
    let wrong = format!("wrong-{:016x}", s.rng.gen::<u64>());
    for n in 1..=attempts + 1 {
        let a = s
            .send(
                &format!("wrong password, attempt {n}"),
                login_req(login, &login.username, &wrong),
            )
            .await?;
        if ok(&a) {
            return Err(ProbeError::Failed(
                "a login with a wrong password succeeded".to_string(),
            ));
        }
        if n <= attempts && limited(&a) {
            s.note("(limited early: allowed, the contract only sets the latest attempt)");
        }
        if n == attempts + 1 && !limited(&a) {
            return Err(ProbeError::Failed(format!(
                "after {attempts} failed logins for one username, the next attempt was not refused as rate-limited (status {})",
                a.status
            )));
        }
    }
    let a = s
        .send(
            "the correct password while limited",
            login_req(login, &login.username, &password),
        )
        .await?;
    if !limited(&a) {
        return Err(ProbeError::Failed(format!(
            "while a username was rate-limited, a login with the correct password was not refused as rate-limited (status {})",
            a.status
        )));
    }
    if let Some((other, env)) = &login.other {
        let password = s.env_value(env)?;
        let a = s
            .send(
                "another username meanwhile",
                login_req(login, other, &password),
            )
            .await?;
        if !ok(&a) {
            return Err(ProbeError::Failed(format!(
                "while one username was rate-limited, another username could not log in (status {})",
                a.status
            )));
        }
    }
    Ok(())
}
