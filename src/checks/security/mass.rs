//! The `mass_assignment` probe (OWASP API3, "broken object property level authorisation"): a signed-in user
//! sends the lab's create and update bodies with one extra privileged field each (`role`, `owner`, `id`,
//! `is_admin`, ...), then reads the object and their own profile back through the service. Refusing the body
//! (4xx) and silently ignoring the field are both right; the field must never stick.
//!
//! Each field goes in a request of its own, so a service that refuses one unknown field cannot hide that it
//! stores another. Each write is first sent plain (only the client's own fields) and must succeed, so a
//! service that refuses every write cannot pass by refusing the attacks. A value holding `{marker}` gets a
//! fresh random marker per request: reading it back is proof it was stored, never a coincidence. Fixed values
//! (`role = "admin"`, `is_admin = true`) count on the profile only when they were not already there before.

use serde_json::{Map, Value};

use super::auth::{request, with_route};
use super::inputs::fill;
use super::ownership::{create, marker};
use super::session::{Answer, ProbeError, Session};
use super::signin::{self, SignIn};
use super::{Create, Route};

/// The probe's parameters.
#[derive(Debug, Clone)]
pub struct MassAssignment {
    pub who: SignIn,
    /// The create and update requests to smuggle fields into.
    pub writes: Vec<Write>,
    /// The privileged fields, each with the value the probe tries to set (`{marker}`: a random marker).
    pub privileged: Vec<(String, Value)>,
    /// A resource created first; its id fills `{id}` in the writes' paths.
    pub create: Option<Create>,
    /// Path of the user's own profile, read before and after every attempt.
    pub profile: Option<String>,
}

/// One write and where its object is read back.
#[derive(Debug, Clone)]
pub struct Write {
    /// The request; its JSON must be an object (the probe adds one field to it).
    pub route: Route,
    /// Path that reads the object back; `{id}` is the written object's id.
    pub read: String,
    /// Where the id is in the write's answer, for writes whose own path has no `{id}`.
    pub id_pointer: String,
}

/// The privileged fields tried when a check names none.
pub fn default_privileged() -> Vec<(String, Value)> {
    [
        ("role", Value::from("admin")),
        ("owner", Value::from("{marker}")),
        ("owner_id", Value::from("{marker}")),
        ("user_id", Value::from("{marker}")),
        ("id", Value::from("{marker}")),
        ("admin", Value::from(true)),
        ("is_admin", Value::from(true)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub(super) async fn mass_assignment(
    s: &mut Session<'_>,
    p: &MassAssignment,
) -> Result<(), ProbeError> {
    let token = signin::token(s, &p.who).await?;
    let profile_before = match &p.profile {
        Some(path) => Some(read_profile(s, path, &token).await?),
        None => None,
    };
    let base_id = match &p.create {
        Some(c) => {
            let m = marker(s);
            Some(create(s, c, &token, &m, "the user creates a resource to update").await?)
        }
        None => None,
    };
    for w in &p.writes {
        let plain = body_of(s, &w.route, None);
        let a = s
            .send(
                "the plain write",
                with_body(&w.route, base_id.as_deref(), &plain).bearer(Some(&token)),
            )
            .await?;
        if !a.success() {
            return Err(ProbeError::Failed(with_route(
                &format!(
                    "a write with only the client's own fields was not accepted (status {})",
                    a.status
                ),
                &w.route,
            )));
        }
        for (field, value) in &p.privileged {
            let value = fill(value, "{marker}", &marker(s));
            let body = body_of(s, &w.route, Some((field, &value)));
            let label = format!("a write with the extra field `{field}`");
            let a = s
                .send(
                    &label,
                    with_body(&w.route, base_id.as_deref(), &body).bearer(Some(&token)),
                )
                .await?;
            if a.status >= 500 {
                return Err(ProbeError::Failed(with_route(
                    &format!(
                        "a body with an extra field was answered with a server error (status {})",
                        a.status
                    ),
                    &w.route,
                )));
            }
            if a.success() {
                read_back(
                    s,
                    w,
                    base_id.as_deref(),
                    &a,
                    &token,
                    (field.as_str(), &value),
                )
                .await?;
            }
            if let (Some(path), Some(before)) = (&p.profile, &profile_before) {
                let after = read_profile(s, path, &token).await?;
                if stuck(&after, field, &value) && !stuck(before, field, &value) {
                    return Err(ProbeError::Failed(with_route(
                        "mass assignment: a privileged field sent in a body changed the user's own profile",
                        &w.route,
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The write's JSON object with `extra` added; `{marker}` in the lab's own fields gets a fresh marker.
fn body_of(s: &mut Session<'_>, route: &Route, extra: Option<(&String, &Value)>) -> Value {
    let mut obj = match route.json.as_ref().map(|v| fill(v, "{marker}", &marker(s))) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    if let Some((k, v)) = extra {
        obj.insert(k.clone(), v.clone());
    }
    Value::Object(obj)
}

fn with_body(route: &Route, id: Option<&str>, body: &Value) -> super::session::Req {
    let r = Route {
        json: Some(body.clone()),
        ..route.clone()
    };
    request(&r, id)
}

/// Reads the written object back; a field that stuck, or an object its writer can no longer read, fails.
async fn read_back(
    s: &mut Session<'_>,
    w: &Write,
    base_id: Option<&str>,
    written: &Answer,
    token: &str,
    (field, value): (&str, &Value),
) -> Result<(), ProbeError> {
    let id = if w.route.path.contains("{id}") {
        base_id.map(str::to_string)
    } else {
        serde_json::from_slice::<Value>(&written.body)
            .ok()
            .and_then(|j| j.pointer(&w.id_pointer).cloned())
            .and_then(|v| match v {
                Value::String(s) => Some(s),
                n @ Value::Number(_) => Some(n.to_string()),
                _ => None,
            })
    };
    if w.read.contains("{id}") && id.is_none() {
        return Err(ProbeError::Failed(with_route(
            "a write answered 2xx without the id of what it wrote",
            &w.route,
        )));
    }
    let path = w.read.replace("{id}", id.as_deref().unwrap_or_default());
    let a = s
        .send(
            "reading it back",
            super::session::Req::new("GET", &path).bearer(Some(token)),
        )
        .await?;
    if !a.success() {
        return Err(ProbeError::Failed(with_route(
            &format!(
                "mass assignment: after a write with a privileged field, its writer could no longer read the object (status {})",
                a.status
            ),
            &w.route,
        )));
    }
    // A read-back that cannot be read (not JSON, or cut at 256 KiB) cannot show the field did not stick.
    let Ok(json) = serde_json::from_slice::<Value>(&a.body) else {
        return Err(ProbeError::Failed(with_route(
            "mass assignment: the object read back could not be checked (it is not JSON, or longer than 256 KiB)",
            &w.route,
        )));
    };
    if stuck(&json, field, value) {
        return Err(ProbeError::Failed(with_route(
            "mass assignment: a privileged field sent in the body was stored",
            &w.route,
        )));
    }
    Ok(())
}

async fn read_profile(s: &mut Session<'_>, path: &str, token: &str) -> Result<Value, ProbeError> {
    let a = s
        .send(
            "the user reads their own profile",
            super::session::Req::new("GET", path).bearer(Some(token)),
        )
        .await?;
    match serde_json::from_slice::<Value>(&a.body) {
        Ok(v) if a.success() => Ok(v),
        _ => Err(ProbeError::Failed(format!(
            "the user's own profile did not answer 2xx with JSON (status {}) on GET {path}",
            a.status
        ))),
    }
}

/// Whether `field` holds `value` anywhere in `v` (at any depth: some APIs wrap objects in an envelope).
fn stuck(v: &Value, field: &str, value: &Value) -> bool {
    match v {
        Value::Object(o) => {
            o.get(field) == Some(value) || o.values().any(|x| stuck(x, field, value))
        }
        Value::Array(a) => a.iter().any(|x| stuck(x, field, value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_sticks_only_with_the_value_sent() {
        let note = json!({"id": "n_1", "title": "t", "owner": "alice"});
        assert!(!stuck(&note, "owner", &json!("gauntlet-1")));
        let taken = json!({"data": {"id": "n_1", "owner": "gauntlet-1"}});
        assert!(stuck(&taken, "owner", &json!("gauntlet-1")));
        let profile = json!({"username": "alice", "role": "user", "is_admin": false});
        assert!(!stuck(&profile, "role", &json!("admin")));
        assert!(!stuck(&profile, "is_admin", &json!(true)));
        assert!(stuck(&json!({"role": "admin"}), "role", &json!("admin")));
    }

    #[test]
    fn the_default_fields_cover_roles_owners_and_ids() {
        let names: Vec<String> = default_privileged().into_iter().map(|(k, _)| k).collect();
        for f in ["role", "owner", "owner_id", "id", "admin", "is_admin"] {
            assert!(names.iter().any(|n| n == f), "{f}");
        }
    }
}
