//! The probes of who may call what: `unauthenticated` (no or broken credentials), `jwt` (forged tokens, and
//! a valid one that must work) and `roles` (a non-admin on admin-only routes).

use super::jwt::{self, Forgery};
use super::session::{ProbeError, Req, Session};
use super::{Admin, Create, Route, TokenSpec};

/// The attacks without a usable token, with what the learner is told when one gets through.
const NO_TOKEN: &[(&str, Option<&str>)] = &[
    (
        "a request without an Authorization header was accepted",
        None,
    ),
    (
        "a request with an empty bearer token was not refused with 401",
        Some("Bearer "),
    ),
    (
        "a bearer token that is not a JWT was not refused with 401",
        Some("Bearer not-a-jwt"),
    ),
    (
        "a malformed JWT was not refused with 401",
        Some("Bearer e30.e30.x"),
    ),
    (
        "an Authorization header of another scheme was not refused with 401",
        Some("Basic YWxpY2U6YWxpY2U="),
    ),
];

/// Builds the request of a route; `{id}` is replaced by `id` when given.
pub(super) fn request(route: &Route, id: Option<&str>) -> Req {
    let path = match id {
        Some(id) => route.path.replace("{id}", id),
        None => route.path.clone(),
    };
    let req = Req::new(&route.method, &path);
    match &route.json {
        Some(v) => req.json(v),
        None => req,
    }
}

pub(super) async fn unauthenticated(
    s: &mut Session<'_>,
    routes: &[Route],
) -> Result<(), ProbeError> {
    for route in routes {
        for (accepted, header) in NO_TOKEN {
            let mut req = request(route, None);
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            let a = s.send(accepted, req).await?;
            if a.status != 401 {
                let what = if a.success() {
                    (*accepted).to_string()
                } else {
                    format!("{accepted} (the status was {})", a.status)
                };
                return Err(ProbeError::Failed(with_route(&what, route)));
            }
        }
    }
    Ok(())
}

pub(super) async fn jwt(
    s: &mut Session<'_>,
    routes: &[Route],
    spec: &TokenSpec,
) -> Result<(), ProbeError> {
    let secret = s.env_value(&spec.secret_env)?;
    let mut through = Vec::new();
    for route in routes {
        let token = jwt::valid(spec, &secret, &mut s.rng);
        let a = s
            .send("a valid token", request(route, None).bearer(Some(&token)))
            .await?;
        if !a.success() {
            return Err(ProbeError::Failed(with_route(
                &format!(
                    "a correctly signed, valid token was refused (status {}); is the signing secret read from the environment?",
                    a.status
                ),
                route,
            )));
        }
        for f in Forgery::ALL.into_iter().filter(|f| f.applies(spec)) {
            let token = jwt::forge(f, spec, &secret, &mut s.rng);
            let a = s
                .send(
                    &format!("forgery {f:?}"),
                    request(route, None).bearer(Some(&token)),
                )
                .await?;
            if a.status != 401 && !through.contains(&f) {
                through.push(f);
            }
        }
    }
    if through.is_empty() {
        return Ok(());
    }
    let what: Vec<&str> = through.iter().map(|f| f.accepted()).collect();
    Err(ProbeError::Failed(format!(
        "{} (expected 401)",
        what.join("; ")
    )))
}

/// The rest of a `roles` probe: who the admin is, what to create first, which statuses refuse.
pub(super) struct Who<'a> {
    pub admin: Option<&'a Admin>,
    pub create: Option<&'a Create>,
    /// 401 and 403 by default: both are correct refusals (many APIs answer 401 to a token lacking a role).
    pub refused: &'a [u16],
}

pub(super) async fn roles(
    s: &mut Session<'_>,
    routes: &[Route],
    spec: &TokenSpec,
    who: &Who<'_>,
) -> Result<(), ProbeError> {
    let secret = s.env_value(&spec.secret_env)?;
    for route in routes {
        let user = jwt::valid(spec, &secret, &mut s.rng);
        let id = match who.create {
            Some(c) => Some(created_id(s, c, &user).await?),
            None => None,
        };
        let a = s
            .send(
                "a non-admin on an admin-only route",
                request(route, id.as_deref()).bearer(Some(&user)),
            )
            .await?;
        if !who.refused.contains(&a.status) {
            let what = if a.success() {
                "a user without the admin role was allowed on an admin-only route".to_string()
            } else {
                let wanted: Vec<String> = who.refused.iter().map(u16::to_string).collect();
                format!(
                    "a user without the admin role on an admin-only route got status {}, not {}",
                    a.status,
                    wanted.join(" or ")
                )
            };
            return Err(ProbeError::Failed(with_route(&what, route)));
        }
        if let Some(admin) = who.admin {
            let spec = TokenSpec {
                subject: admin.subject.clone(),
                role: admin.role.clone(),
                ..spec.clone()
            };
            let token = jwt::valid(&spec, &secret, &mut s.rng);
            let a = s
                .send(
                    "an admin on the admin-only route",
                    request(route, id.as_deref()).bearer(Some(&token)),
                )
                .await?;
            if !a.success() {
                return Err(ProbeError::Failed(with_route(
                    &format!(
                        "an admin was refused on an admin-only route (status {})",
                        a.status
                    ),
                    route,
                )));
            }
        }
    }
    Ok(())
}

/// Creates the resource the admin-only route acts on, as the non-admin user.
async fn created_id(s: &mut Session<'_>, c: &Create, token: &str) -> Result<String, ProbeError> {
    let a = s
        .send(
            "create a resource to act on",
            request(&c.route, None).bearer(Some(token)),
        )
        .await?;
    let json: Option<serde_json::Value> = serde_json::from_slice(&a.body).ok();
    let id = json.as_ref().and_then(|j| j.pointer(&c.id_pointer));
    match (a.success(), id) {
        (true, Some(serde_json::Value::String(id))) => Ok(id.clone()),
        (true, Some(id @ serde_json::Value::Number(_))) => Ok(id.to_string()),
        _ => Err(ProbeError::Failed(format!(
            "creating a resource with a valid user token did not answer 2xx with its id (status {})",
            a.status
        ))),
    }
}

/// The learner's message names the route (it is in the lab's README), never the token.
pub(super) fn with_route(what: &str, route: &Route) -> String {
    let path = route.path.split('?').next().unwrap_or_default();
    format!("{what} on {} {path}", route.method)
}
