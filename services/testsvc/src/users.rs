//! The w10 built-in users: their salted, deliberately slow password hashes, the login's verification (with a
//! dummy hash for unknown usernames, so that a wrong password and an unknown account take the same time), and
//! the caller's own profile, `GET /v1/me` and `PATCH /v1/me`.
//!
//! Defect switches (in `TESTSVC_DEFECT`): `login-no-dummy-hash` (an unknown username is refused at once, without
//! hashing: the answer's timing tells accounts apart), `login-names-user` (an unknown username is told "no such
//! user"), `mass-assign-role` (`PATCH /v1/me` stores a `role` sent in its body), `profile-hash` (the profile
//! carries the password hash). Near misses (in `TESTSVC_VARIANT`): `login-noise` (every login waits a random
//! 0-20 ms and each refusal carries a fresh `request_id`), `password-changed-at` (the profile carries
//! `password_changed_at`, a name that looks sensitive and is not), `strict-fields` (unknown fields of the
//! profile and of notes are refused with 422 instead of ignored).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::routes::{defect, error, variant};

/// Rounds of SHA-256 per password check: slow on purpose, like a real password hash (tens of milliseconds), so
/// that skipping it for unknown usernames is measurable from outside.
const ROUNDS: u32 = 400_000;
/// A fixed wait added to every password check: real deployments tune their KDF to cost about this much on
/// their own machine, and the wait keeps the cost above the checks' 40 ms margin on a fast CPU too (the
/// rounds alone take about 60 ms here, less on faster machines).
const TUNED_COST: std::time::Duration = std::time::Duration::from_millis(50);

/// A user's stored credentials.
struct Stored {
    role: &'static str,
    salt: [u8; 16],
    hash: [u8; 32],
}

/// The built-in users whose password is set in the environment, hashed once on first use.
fn table() -> &'static HashMap<&'static str, Stored> {
    static TABLE: OnceLock<HashMap<&'static str, Stored>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = HashMap::new();
        for (name, role, env) in [
            ("admin", "admin", "ADMIN_PASSWORD"),
            ("alice", "user", "USER_PASSWORD"),
            // A second user of the same role, only when a run sets its password.
            ("bob", "user", "BOB_PASSWORD"),
        ] {
            let Some(password) = std::env::var(env).ok().filter(|p| !p.is_empty()) else {
                continue;
            };
            let salt = salt_for(name);
            let hash = hash(&salt, &password);
            t.insert(name, Stored { role, salt, hash });
        }
        t
    })
}

/// A per-process salt for `name`: the start time mixed with the name (no randomness crate in this service).
fn salt_for(name: &str) -> [u8; 16] {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(nanos.to_le_bytes())
        .finalize();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    salt
}

fn hash(salt: &[u8], password: &str) -> [u8; 32] {
    let mut h = [0u8; 32];
    h.copy_from_slice(
        &Sha256::new()
            .chain_update(salt)
            .chain_update(password.as_bytes())
            .finalize(),
    );
    for _ in 0..ROUNDS {
        let next = Sha256::digest(h);
        h.copy_from_slice(&next);
    }
    h
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The role of `user` when `password` is theirs. An unknown username costs one check all the same.
pub fn verify(user: &str, password: &str) -> Option<&'static str> {
    let table = table();
    if table.contains_key(user) || !defect("login-no-dummy-hash") {
        std::thread::sleep(TUNED_COST);
    }
    match table.get(user) {
        Some(s) => same(&hash(&s.salt, password), &s.hash).then_some(s.role),
        None => {
            if !defect("login-no-dummy-hash") {
                std::hint::black_box(hash(&[0u8; 16], password));
            }
            None
        }
    }
}

/// Whether `user` is a built-in user who can log in.
pub fn exists(user: &str) -> bool {
    table().contains_key(user)
}

/// `login-noise`: a random wait of 0-20 ms, as a loaded server's timing varies.
pub fn login_noise() {
    if variant("login-noise") {
        std::thread::sleep(std::time::Duration::from_millis(u64::from(noise() % 21)));
    }
}

/// A refused login's body: the same for a wrong password and an unknown account, unless `login-names-user`.
pub fn refused_login(user: &str) -> Response {
    if defect("login-names-user") && !exists(user) {
        return error(401, "no_such_user", "no such user");
    }
    if variant("login-noise") {
        let body = format!(
            r#"{{"error":"invalid_credentials","message":"wrong username or password","request_id":"req-{:08x}"}}"#,
            noise()
        );
        return Response::json(401, body);
    }
    error(401, "invalid_credentials", "wrong username or password")
}

/// A cheap varying number: the clock's nanoseconds.
fn noise() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

/// What a caller has changed on their own profile.
#[derive(Default)]
struct Profile {
    display_name: Option<String>,
    /// Only ever set by the `mass-assign-role` defect.
    role: Option<String>,
}

static PROFILES: Mutex<Option<HashMap<String, Profile>>> = Mutex::new(None);

/// `GET /v1/me` and `PATCH /v1/me` for an authenticated `caller`.
pub fn me(req: &Request, caller: &Caller) -> Response {
    match req.method.as_str() {
        "GET" | "HEAD" => Response::json(200, render(caller)),
        "PATCH" => update(req, caller),
        _ => error(405, "method_not_allowed", "use GET or PATCH on /v1/me"),
    }
}

fn update(req: &Request, caller: &Caller) -> Response {
    let Some(doc @ Json::Obj(_)) = json::parse(&String::from_utf8_lossy(&req.body)) else {
        return error(400, "bad_request", "the body must be a JSON object");
    };
    if let Some(refused) = unknown_fields(&doc, &["display_name"]) {
        return refused;
    }
    let name = match doc.get("display_name") {
        None => None,
        Some(Json::Str(s)) if (1..=100).contains(&s.trim().chars().count()) => {
            Some(s.trim().to_string())
        }
        Some(_) => {
            return Response::json(
                422,
                r#"{"error":"validation_failed","message":"1 fields are invalid","fields":[{"field":"display_name","problem":"1 to 100 characters"}]}"#,
            )
        }
    };
    {
        let mut guard = PROFILES.lock().unwrap_or_else(|e| e.into_inner());
        let p = guard
            .get_or_insert_with(HashMap::new)
            .entry(caller.sub.clone())
            .or_default();
        if name.is_some() {
            p.display_name = name;
        }
        if let (true, Some(Json::Str(role))) = (defect("mass-assign-role"), doc.get("role")) {
            p.role = Some(role.clone());
        }
    }
    Response::json(200, render(caller))
}

/// `strict-fields`: a 422 naming the first field of `doc` not in `known`.
pub fn unknown_fields(doc: &Json, known: &[&str]) -> Option<Response> {
    let Json::Obj(fields) = doc else { return None };
    if !variant("strict-fields") {
        return None;
    }
    let unknown = fields.iter().find(|(k, _)| !known.contains(&k.as_str()))?;
    Some(Response::json(
        422,
        format!(
            r#"{{"error":"validation_failed","message":"unknown field","fields":[{{"field":{},"problem":"not a field of this resource"}}]}}"#,
            json::string(&unknown.0)
        ),
    ))
}

fn render(caller: &Caller) -> String {
    let guard = PROFILES.lock().unwrap_or_else(|e| e.into_inner());
    let p = guard.as_ref().and_then(|m| m.get(&caller.sub));
    let role = p
        .and_then(|p| p.role.clone())
        .unwrap_or_else(|| if caller.admin { "admin" } else { "user" }.to_string());
    let display_name = p
        .and_then(|p| p.display_name.as_deref())
        .map_or("null".to_string(), json::string);
    let mut extra = String::new();
    if variant("password-changed-at") {
        extra.push_str(r#","password_changed_at":"2026-11-01T09:00:00Z""#);
    }
    if defect("profile-hash") {
        if let Some(s) = table().get(caller.sub.as_str()) {
            let hex: String = s.hash.iter().map(|b| format!("{b:02x}")).collect();
            extra.push_str(&format!(r#","password_hash":"{hex}""#));
        }
    }
    format!(
        r#"{{"username":{},"role":{},"display_name":{display_name}{extra}}}"#,
        json::string(&caller.sub),
        json::string(&role),
    )
}

/// Lab w10's notes: with `mass-assign-owner`, the `owner` a client sends on create is stored as sent.
pub fn owner_from_body(req: &Request) -> Option<String> {
    if !defect("mass-assign-owner") {
        return None;
    }
    match json::parse(&String::from_utf8_lossy(&req.body))?.get("owner") {
        Some(Json::Str(o)) => Some(o.clone()),
        _ => None,
    }
}

/// `strict-fields` on a notes body: the 422 for a field other than the client's own.
pub fn strict_note(req: &Request) -> Option<Response> {
    if !variant("strict-fields") {
        return None;
    }
    let doc = json::parse(&String::from_utf8_lossy(&req.body))?;
    unknown_fields(&doc, &["title", "body", "tags"])
}

/// `redos-search`: the search term is first checked against `^(a+)+$` by a backtracking matcher, which takes
/// exponential time on a long run of `a` that does not match. The work is bounded (about 4 s of CPU, then it
/// gives up and lets the request go on) so the container still answers, as a regex engine with a step limit
/// would.
pub fn slow_search_check(q: &str) {
    if !defect("redos-search") {
        return;
    }
    let started = std::time::Instant::now();
    let b = q.as_bytes();
    // Depth-first search over where each `a+` group ends, with an explicit stack (no recursion: long input).
    let mut stack: Vec<(usize, usize)> = vec![(0, 1)];
    let mut steps: u64 = 0;
    while let Some((start, end)) = stack.pop() {
        steps += 1;
        if steps.is_multiple_of(1_000_000) && started.elapsed().as_secs() >= 4 {
            return;
        }
        if end > b.len() || b[end - 1] != b'a' {
            continue;
        }
        if end == b.len() {
            return; // matched
        }
        stack.push((start, end + 1));
        stack.push((end, end + 1));
    }
}
