//! The w10 auth mode, on only when `JWT_SECRET` is set: `POST /login` for the built-in users `admin`
//! (`ADMIN_PASSWORD`), `alice` (`USER_PASSWORD`) and `bob` (`BOB_PASSWORD`, when set), whose passwords are
//! checked against slow hashes in `users.rs`, HS256 bearer tokens checked on the notes routes and `/v1/me`, a
//! login rate limit of 5 failures per username per 60 s, and the security headers on every answer.
//!
//! Defect switches (in `TESTSVC_DEFECT`): `jwt-alg-none` (a token with `alg: none` is accepted unsigned),
//! `jwt-any-key` (signatures are not checked), `jwt-no-exp-check` (`exp` and `nbf` are ignored), `jwt-no-aud`
//! (`aud` and `iss` are ignored), `hardcoded-secret` (signs and verifies with a constant, not `JWT_SECRET`),
//! `weak-jwt-key` (signs and verifies with the tutorial secret `secret`), `no-auth` (requests without a valid token pass as an anonymous user), `no-headers` (no security headers),
//! `no-rate-limit` (logins are never limited). The owner filter of the notes (`notes.rs`) has its own:
//! `no-owner-read` (any user reads any note by id), `no-owner-update` (any user replaces any note) and
//! `no-owner-list` (lists and searches show every user's notes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::http::{Request, Response};
use crate::json::{self, Json};
use crate::routes::{defect, error};

const ISSUER: &str = "gauntlet-notes";
const AUDIENCE: &str = "notes-api";
const LEEWAY: i64 = 30;
const MAX_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);

/// Who is calling.
pub struct Caller {
    pub sub: String,
    pub admin: bool,
}

/// Whether the auth mode is on.
pub fn enabled() -> bool {
    std::env::var_os("JWT_SECRET").is_some()
}

fn secret() -> Vec<u8> {
    if defect("hardcoded-secret") {
        return b"change-me-this-is-the-dev-secret!".to_vec();
    }
    if defect("weak-jwt-key") {
        return b"secret".to_vec();
    }
    std::env::var("JWT_SECRET").unwrap_or_default().into_bytes()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn mac(input: &str) -> Vec<u8> {
    // HMAC takes keys of any length; an empty signature would only make the token invalid.
    Hmac::<Sha256>::new_from_slice(&secret())
        .map(|mut m| {
            m.update(input.as_bytes());
            m.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default()
}

fn unauthorized(message: &str) -> Response {
    error(401, "unauthorized", message).with_header("WWW-Authenticate", "Bearer")
}

/// The caller of a request to a protected route, or the 401 answer.
pub fn authenticate(req: &Request) -> Result<Caller, Response> {
    let verified = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or("a bearer token is required")
        .and_then(verify);
    match verified {
        Ok(c) => Ok(c),
        Err(_) if defect("no-auth") => Ok(Caller {
            sub: "anonymous".into(),
            admin: false,
        }),
        Err(why) => Err(unauthorized(why)),
    }
}

fn decode(part: &str) -> Option<Json> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    json::parse(std::str::from_utf8(&bytes).ok()?)
}

fn text<'a>(claims: &'a Json, key: &str) -> Option<&'a str> {
    match claims.get(key) {
        Some(Json::Str(s)) => Some(s),
        _ => None,
    }
}

fn num(claims: &Json, key: &str) -> Option<i64> {
    match claims.get(key) {
        Some(Json::Num(n)) => Some(*n as i64),
        _ => None,
    }
}

fn verify(token: &str) -> Result<Caller, &'static str> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, sig] = parts[..] else {
        return Err("malformed token");
    };
    let header = decode(h).ok_or("malformed token")?;
    let claims = decode(p).ok_or("malformed token")?;
    let alg = text(&header, "alg").unwrap_or("");
    let unsigned_ok = alg == "none" && defect("jwt-alg-none");
    if !unsigned_ok {
        if alg != "HS256" {
            return Err("unsupported algorithm");
        }
        let given = URL_SAFE_NO_PAD.decode(sig).map_err(|_| "malformed token")?;
        let mut m = Hmac::<Sha256>::new_from_slice(&secret()).map_err(|_| "bad key")?;
        m.update(format!("{h}.{p}").as_bytes());
        if m.verify_slice(&given).is_err() && !defect("jwt-any-key") {
            return Err("bad signature");
        }
    }
    if !defect("jwt-no-exp-check") {
        let t = now();
        match num(&claims, "exp") {
            Some(exp) if exp + LEEWAY > t => {}
            _ => return Err("expired or no expiry"),
        }
        if num(&claims, "nbf").is_some_and(|nbf| nbf - LEEWAY > t) {
            return Err("not valid yet");
        }
    }
    if !defect("jwt-no-aud") {
        let aud_ok = match claims.get("aud") {
            Some(Json::Str(a)) => a == AUDIENCE,
            Some(Json::Arr(all)) => all.iter().any(|a| *a == Json::Str(AUDIENCE.into())),
            _ => false,
        };
        if !aud_ok || text(&claims, "iss") != Some(ISSUER) {
            return Err("wrong audience or issuer");
        }
    }
    let sub = text(&claims, "sub").ok_or("no subject")?;
    let role = text(&claims, "role").ok_or("no role")?;
    Ok(Caller {
        sub: sub.to_string(),
        admin: role == "admin",
    })
}

fn issue(sub: &str, role: &str) -> String {
    let t = now();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = format!(
        r#"{{"sub":{},"role":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","iat":{t},"exp":{}}}"#,
        json::string(sub),
        json::string(role),
        t + 3600
    );
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let sig = URL_SAFE_NO_PAD.encode(mac(&input));
    format!("{input}.{sig}")
}

/// Failed logins per username, oldest first.
static FAILURES: Mutex<Option<HashMap<String, Vec<Instant>>>> = Mutex::new(None);

/// `POST /login`.
pub fn login(req: &Request) -> Response {
    let body = json::parse(&String::from_utf8_lossy(&req.body));
    let (Some(Json::Str(user)), Some(Json::Str(pass))) = (
        body.as_ref().and_then(|b| b.get("username")),
        body.as_ref().and_then(|b| b.get("password")),
    ) else {
        return error(400, "bad_request", "username and password are required");
    };
    let mut guard = FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    let failures = guard
        .get_or_insert_with(HashMap::new)
        .entry(user.clone())
        .or_default();
    failures.retain(|t| t.elapsed() < WINDOW);
    if failures.len() >= MAX_FAILURES && !defect("no-rate-limit") {
        let wait = WINDOW.saturating_sub(failures[0].elapsed()).as_secs() + 1;
        return error(
            429,
            "too_many_requests",
            "too many failed logins; try later",
        )
        .with_header("Retry-After", &wait.to_string());
    }
    // Every attempt costs one password hash, known username or not (`users.rs`).
    let role = crate::users::verify(user, pass);
    crate::users::login_noise();
    let Some(role) = role else {
        failures.push(Instant::now());
        return crate::users::refused_login(user);
    };
    let body = format!(
        r#"{{"access_token":{},"token_type":"Bearer","expires_in":3600}}"#,
        json::string(&issue(user, role))
    );
    Response::json(200, body)
}

/// Adds the security headers of the w10 contract.
pub fn harden(r: Response) -> Response {
    if defect("no-headers") {
        return r.with_header("X-Powered-By", "testsvc/0.1");
    }
    r.with_header("X-Content-Type-Options", "nosniff")
        .with_header(
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        )
        .with_header("Referrer-Policy", "no-referrer")
        .with_header("Cache-Control", "no-store")
}
