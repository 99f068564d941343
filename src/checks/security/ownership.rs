//! The `ownership` probe: object-level authorisation (OWASP API1, "BOLA" or IDOR). Two users of the same role,
//! each with a token minted with the run's secret; the owner creates a resource, then the other user tries to
//! read, replace and delete it by id and to list and search for it. Each attempt on the resource must be
//! refused as if it did not exist (404) or as forbidden (403), no list or search may show another user's data,
//! and the owner must afterwards read their resource exactly as before.
//!
//! The owner's resource holds a random marker, so a leak is seen in any answer, on any page of a list; with
//! `owner_field`, any item of a list that names another owner is a leak too, which catches a list without an
//! owner filter even when the marked resource is on a later page. The other user also creates a resource of
//! their own first: seeing one's own data is no leak (a near miss the probe must let pass).

use rand::Rng;
use serde_json::Value;

use super::auth::{request, with_route};
use super::inputs::fill;
use super::jwt;
use super::session::{Answer, ProbeError, Session};
use super::weak_key::signed_in;
use super::{Create, Login, Route, TokenSpec};

/// What the other user's attempts may be answered with.
const REFUSED: [u16; 2] = [403, 404];

/// The probe's parameters.
#[derive(Debug, Clone)]
pub struct Ownership {
    /// The owner's token claims (`subject` is the owner), when the probe mints the tokens.
    pub token: Option<TokenSpec>,
    /// The other user's subject, of the same role (with `login`, the other username).
    pub other_subject: String,
    /// Both users sign in through the service's own login instead (`username` the owner, `other` the other
    /// user), with the token at this JSON pointer of the answer: for APIs whose secret the grader cannot know.
    pub login: Option<(Login, String)>,
    /// How a resource is created; `{marker}` in its JSON is replaced with a random marker.
    pub create: Create,
    /// Routes on one resource (`{id}`), tried by the other user; the first `GET` is how its owner reads it.
    pub owner_only: Vec<Route>,
    /// Lists and searches (`{marker}` in the path is the owner's marker), tried by the other user.
    pub listings: Vec<Route>,
    /// A field of listed items that names their owner, when the API has one.
    pub owner_field: Option<String>,
}

impl Ownership {
    /// The route the owner reads their resource with: the first `GET` of `owner_only` (the parser requires
    /// one).
    fn read_route(&self) -> Option<&Route> {
        self.owner_only.iter().find(|r| r.method == "GET")
    }
}

/// The past participle the learner reads for what the other user managed to do.
fn done(method: &str) -> &'static str {
    match method {
        "GET" | "HEAD" => "read",
        "PUT" => "replaced",
        "PATCH" => "changed",
        "DELETE" => "deleted",
        _ => "acted on",
    }
}

/// The owner's and the other user's tokens: signed in through the service's login, or minted.
async fn tokens(s: &mut Session<'_>, p: &Ownership) -> Result<(String, String), ProbeError> {
    if let Some((login, pointer)) = &p.login {
        let owner = signed_in(s, login, &login.username, &login.password_env, pointer).await?;
        let (name, env) = login
            .other
            .clone()
            .ok_or_else(|| ProbeError::Broken("the login names no other user".to_string()))?;
        let other = signed_in(s, login, &name, &env, pointer).await?;
        return Ok((owner, other));
    }
    let spec = p
        .token
        .as_ref()
        .ok_or_else(|| ProbeError::Broken("neither token fields nor a login".to_string()))?;
    let secret = s.env_value(&spec.secret_env)?;
    let owner = jwt::valid(spec, &secret, &mut s.rng);
    let other_spec = TokenSpec {
        subject: p.other_subject.clone(),
        ..spec.clone()
    };
    Ok((owner, jwt::valid(&other_spec, &secret, &mut s.rng)))
}

pub(super) async fn ownership(s: &mut Session<'_>, p: &Ownership) -> Result<(), ProbeError> {
    let (owner, other) = tokens(s, p).await?;
    let mine = marker(s);
    let theirs = marker(s);
    let id = create(s, &p.create, &owner, &mine, "the owner creates a resource").await?;
    create(
        s,
        &p.create,
        &other,
        &theirs,
        "the other user creates their own",
    )
    .await?;
    let read = p
        .read_route()
        .ok_or_else(|| ProbeError::Broken("no GET route to read the resource with".into()))?;
    let before = s
        .send(
            "the owner reads it",
            request(read, Some(&id)).bearer(Some(&owner)),
        )
        .await?;
    if !before.success() {
        return Err(ProbeError::Failed(with_route(
            &format!(
                "the owner of a resource could not read it (status {})",
                before.status
            ),
            read,
        )));
    }
    for route in &p.owner_only {
        let attempt = Route {
            json: route.json.as_ref().map(|v| fill(v, "{marker}", &theirs)),
            ..route.clone()
        };
        let a = s
            .send(
                "the other user on the owner's resource",
                request(&attempt, Some(&id)).bearer(Some(&other)),
            )
            .await?;
        if let Some(why) = refused_badly(&a, &mine, route) {
            return Err(ProbeError::Failed(why));
        }
    }
    for route in &p.listings {
        let search = Route {
            path: route.path.replace("{marker}", &mine),
            ..route.clone()
        };
        let a = s
            .send(
                "the other user lists or searches",
                request(&search, None).bearer(Some(&other)),
            )
            .await?;
        if let Some(why) = listing_leak(&a, &mine, &p.other_subject, p.owner_field.as_deref()) {
            return Err(ProbeError::Failed(with_route(&why, route)));
        }
    }
    let after = s
        .send(
            "the owner reads it again",
            request(read, Some(&id)).bearer(Some(&owner)),
        )
        .await?;
    unchanged(&before, &after, &theirs).map_err(|why| ProbeError::Failed(with_route(&why, read)))
}

/// A random value to recognise a resource by in any answer.
pub(super) fn marker(s: &mut Session<'_>) -> String {
    format!("gauntlet-{:016x}", s.rng.gen::<u64>())
}

/// Creates a resource holding `marker` with `token`; its id.
pub(super) async fn create(
    s: &mut Session<'_>,
    c: &Create,
    token: &str,
    marker: &str,
    what: &str,
) -> Result<String, ProbeError> {
    let route = Route {
        json: c.route.json.as_ref().map(|v| fill(v, "{marker}", marker)),
        ..c.route.clone()
    };
    let a = s
        .send(what, request(&route, None).bearer(Some(token)))
        .await?;
    let json: Option<Value> = serde_json::from_slice(&a.body).ok();
    match (a.success(), json.as_ref().and_then(|j| j.pointer(&c.id_pointer))) {
        (true, Some(Value::String(id))) => Ok(id.clone()),
        (true, Some(id @ Value::Number(_))) => Ok(id.to_string()),
        _ => Err(ProbeError::Failed(format!(
            "creating a resource with a valid user token did not answer 2xx with its id (status {})",
            a.status
        ))),
    }
}

/// What is wrong with the answer to another user's attempt on the owner's resource, for the learner.
fn refused_badly(a: &Answer, mine: &str, route: &Route) -> Option<String> {
    let what = if a.success() {
        format!(
            "another user's resource could be {} (status {})",
            done(&route.method),
            a.status
        )
    } else if !REFUSED.contains(&a.status) {
        format!(
            "another user's attempt on a resource got status {}, not 403 or 404",
            a.status
        )
    } else if a.text().contains(mine) {
        format!(
            "refusing another user (status {}) still showed them the resource",
            a.status
        )
    } else {
        return None;
    };
    Some(with_route(&what, route))
}

/// What a list or search shows the other user that it must not, for the learner.
fn listing_leak(a: &Answer, mine: &str, viewer: &str, owner_field: Option<&str>) -> Option<String> {
    if !a.success() {
        return Some(format!(
            "a user's list or search was not answered 2xx (status {})",
            a.status
        ));
    }
    if a.text().contains(mine) {
        return Some("a user's list or search shows another user's resource".to_string());
    }
    let json: Option<Value> = serde_json::from_slice(&a.body).ok();
    let foreign = owner_field
        .zip(json.as_ref())
        .is_some_and(|(field, j)| names_other_owner(j, field, viewer));
    foreign.then(|| "a user's list or search shows resources of other owners".to_string())
}

/// Whether any object in `v` has `field` set to a string other than `viewer`.
fn names_other_owner(v: &Value, field: &str, viewer: &str) -> bool {
    match v {
        Value::Object(o) => {
            matches!(o.get(field), Some(Value::String(owner)) if owner != viewer)
                || o.values().any(|x| names_other_owner(x, field, viewer))
        }
        Value::Array(a) => a.iter().any(|x| names_other_owner(x, field, viewer)),
        _ => false,
    }
}

/// The owner's second read matches the first: the other user's attempts changed and removed nothing.
fn unchanged(before: &Answer, after: &Answer, theirs: &str) -> Result<(), String> {
    if !after.success() {
        return Err(format!(
            "after another user's attempts, the owner could no longer read their resource (status {})",
            after.status
        ));
    }
    let same = match (
        serde_json::from_slice::<Value>(&before.body),
        serde_json::from_slice::<Value>(&after.body),
    ) {
        (Ok(b), Ok(a)) => a == b,
        _ => before.body == after.body,
    };
    if same && !after.text().contains(theirs) {
        Ok(())
    } else {
        Err("another user's refused attempts still changed the owner's resource".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn route(method: &str) -> Route {
        Route {
            method: method.to_string(),
            path: "/v1/notes/{id}".to_string(),
            json: None,
        }
    }

    #[test]
    fn not_found_and_forbidden_are_both_refusals() {
        for status in [403, 404] {
            let a = answer(status, r#"{"title":"not found"}"#);
            assert_eq!(refused_badly(&a, "gauntlet-1", &route("GET")), None);
        }
    }

    #[test]
    fn a_success_names_the_operation_and_never_the_payload() {
        let a = answer(200, r#"{"title":"gauntlet-1","owner":"alice"}"#);
        let why = refused_badly(&a, "gauntlet-1", &route("PUT")).expect("a leak");
        assert_eq!(
            why,
            "another user's resource could be replaced (status 200) on PUT /v1/notes/{id}"
        );
        assert!(!why.contains("gauntlet-1"));
        let why = refused_badly(&a, "gauntlet-1", &route("GET")).expect("a leak");
        assert!(why.contains("could be read"), "{why}");
    }

    #[test]
    fn other_statuses_and_refusals_that_show_the_data_fail() {
        let a = answer(500, "oops");
        let why = refused_badly(&a, "gauntlet-1", &route("DELETE")).expect("wrong status");
        assert!(why.contains("status 500, not 403 or 404"), "{why}");
        let a = answer(404, r#"{"detail":"gauntlet-1 is not yours"}"#);
        let why = refused_badly(&a, "gauntlet-1", &route("GET")).expect("shown");
        assert!(why.contains("still showed them"), "{why}");
    }

    #[test]
    fn a_list_of_the_viewers_own_notes_passes() {
        let own = answer(
            200,
            r#"{"items":[{"id":"n_2","title":"gauntlet-2","owner":"bob"}],"next_cursor":null}"#,
        );
        assert_eq!(listing_leak(&own, "gauntlet-1", "bob", Some("owner")), None);
        let empty = answer(200, r#"{"items":[],"next_cursor":null}"#);
        assert_eq!(
            listing_leak(&empty, "gauntlet-1", "bob", Some("owner")),
            None
        );
    }

    #[test]
    fn a_list_with_the_marker_or_another_owner_leaks() {
        let marked = answer(200, r#"[{"title":"gauntlet-1"}]"#);
        assert!(listing_leak(&marked, "gauntlet-1", "bob", None).is_some());
        let foreign = answer(
            200,
            r#"{"items":[{"title":"x","owner":"bob"},{"title":"y","owner":"alice"}]}"#,
        );
        let why = listing_leak(&foreign, "gauntlet-1", "bob", Some("owner")).expect("a leak");
        assert!(why.contains("other owners"), "{why}");
        // Without `owner_field`, only the marker counts.
        assert_eq!(listing_leak(&foreign, "gauntlet-1", "bob", None), None);
        let refused = answer(400, "{}");
        assert!(listing_leak(&refused, "gauntlet-1", "bob", None).is_some());
    }

    #[test]
    fn the_owners_resource_must_read_the_same_afterwards() {
        let before = answer(200, r#"{"id":"n_1","title":"gauntlet-1","version":1}"#);
        let reordered = answer(200, r#"{"version":1,"title":"gauntlet-1","id":"n_1"}"#);
        assert_eq!(unchanged(&before, &reordered, "gauntlet-2"), Ok(()));
        let changed = answer(200, r#"{"id":"n_1","title":"gauntlet-2","version":2}"#);
        assert!(unchanged(&before, &changed, "gauntlet-2").is_err());
        let gone = answer(404, "{}");
        let why = unchanged(&before, &gone, "gauntlet-2").expect_err("deleted");
        assert!(why.contains("could no longer read"), "{why}");
    }
}
