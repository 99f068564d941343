//! The `user_enumeration` probe (OWASP API2, broken authentication): the login, and any other route the lab
//! names that takes a username (password reset, registration), must answer an existing account with a wrong
//! password exactly as it answers an unknown account: same status, same body, about the same time.
//!
//! The two kinds of request are sent interleaved (known, unknown, known, ...), each unknown one with a fresh
//! random username (so no rate limit or cache is reached on its side), after one discarded warm-up request.
//! Answers are compared field by field, and only fields each group answers consistently count: a request id
//! or timestamp that changes on every answer tells nothing apart and is ignored, while a message that is
//! always "no such user" for one group and always "wrong password" for the other is a leak. The username
//! itself is blanked from each body first.
//!
//! Timing is judged on medians, robust to a loaded host: interleaving spreads any slow spell over both
//! groups, the median ignores up to half of the samples being outliers, and a difference counts only when it
//! is both relative (one median more than [`RATIO`] times the other) and absolute (more than [`MARGIN`]):
//! skipping a password hash for unknown accounts makes the known account's answers several times slower by
//! tens of milliseconds, while scheduling noise on a busy machine is neither.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::time::Instant;

use super::auth::{request, with_route};
use super::inputs::fill;
use super::limits::login_req;
use super::session::{ProbeError, Req, Session};
use super::{Login, Route};

/// How many times slower one group's median must be than the other's.
pub const RATIO: f64 = 3.0;
/// By how much, at least, the medians must differ.
pub const MARGIN: Duration = Duration::from_millis(40);

/// The probe's parameters.
#[derive(Debug, Clone)]
pub struct Enumeration {
    /// The login; `username` is the existing account (sent with a wrong password).
    pub login: Login,
    /// Other routes taking a username in a `{username}` slot (path or JSON).
    pub routes: Vec<Route>,
    /// Requests of each kind per route. Keep it below the lab's login rate limit: every one is a failed login
    /// of the existing account.
    pub samples: u32,
}

/// One answer, reduced to what is compared.
#[derive(Debug, Clone)]
pub(super) struct Observed {
    pub status: u16,
    /// The body, as JSON when it is JSON (else one string), with the username blanked.
    pub body: Value,
    pub elapsed: Duration,
}

pub(super) async fn user_enumeration(
    s: &mut Session<'_>,
    p: &Enumeration,
) -> Result<(), ProbeError> {
    let wrong = format!("wrong-{:016x}", s.rng.gen::<u64>());
    let login_route = Route {
        method: "POST".to_string(),
        path: p.login.path.clone(),
        json: None,
    };
    let login = |user: &str| login_req(&p.login, user, &wrong);
    compare(s, p, &login_route, &login, "the login").await?;
    for route in &p.routes {
        let build = |user: &str| {
            let r = Route {
                path: route.path.replace("{username}", user),
                json: route.json.as_ref().map(|v| fill(v, "{username}", user)),
                ..route.clone()
            };
            request(&r, None)
        };
        compare(s, p, route, &build, "the route").await?;
    }
    Ok(())
}

/// Samples one route for the existing account and for unknown ones, and judges the difference.
async fn compare(
    s: &mut Session<'_>,
    p: &Enumeration,
    route: &Route,
    build: &(dyn Fn(&str) -> Req + Sync),
    what: &str,
) -> Result<(), ProbeError> {
    let known = p.login.username.clone();
    let warm = unknown_name(s);
    observe(s, "warm-up (not counted)", build(&warm), &warm).await?;
    let (mut k, mut u) = (Vec::new(), Vec::new());
    for n in 1..=p.samples {
        k.push(
            observe(
                s,
                &format!("existing account, sample {n}"),
                build(known.as_str()),
                &known,
            )
            .await?,
        );
        let name = unknown_name(s);
        u.push(
            observe(
                s,
                &format!("unknown account, sample {n}"),
                build(&name),
                &name,
            )
            .await?,
        );
    }
    let (mk, mu) = (median(&k), median(&u));
    s.note(&format!(
        "medians: existing account {} ms, unknown account {} ms",
        mk.as_millis(),
        mu.as_millis()
    ));
    if let Some(part) = distinguishing(&k, &u) {
        return Err(ProbeError::Failed(with_route(
            &format!(
                "user enumeration: {what} answers an existing account with a wrong password with a different {part} than an unknown account"
            ),
            route,
        )));
    }
    if apart(mk, mu) {
        return Err(ProbeError::Failed(with_route(
            &format!(
                "user enumeration: {what} takes a different time for an existing account than for an unknown one (median {} ms against {} ms)",
                mk.as_millis(),
                mu.as_millis()
            ),
            route,
        )));
    }
    Ok(())
}

fn unknown_name(s: &mut Session<'_>) -> String {
    format!("gauntlet-{:012x}", s.rng.gen::<u64>() >> 16)
}

async fn observe(
    s: &mut Session<'_>,
    label: &str,
    req: Req,
    username: &str,
) -> Result<Observed, ProbeError> {
    let started = Instant::now();
    let a = s.send(label, req).await?;
    let elapsed = started.elapsed();
    let text = a.text().replace(username, "{username}");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(Observed {
        status: a.status,
        body,
        elapsed,
    })
}

/// The median of the samples' times (the mean of the middle two for an even count).
pub(super) fn median(samples: &[Observed]) -> Duration {
    let mut t: Vec<Duration> = samples.iter().map(|o| o.elapsed).collect();
    t.sort();
    match t.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => t[n / 2],
        n => (t[n / 2 - 1] + t[n / 2]) / 2,
    }
}

/// Whether two medians tell the groups apart: both [`RATIO`] times and [`MARGIN`] apart.
pub(super) fn apart(a: Duration, b: Duration) -> bool {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi.as_secs_f64() > lo.as_secs_f64() * RATIO && hi - lo > MARGIN
}

/// What a field of one group's answers is, across all its samples.
#[derive(Debug, PartialEq)]
enum Field {
    /// The same value in every answer.
    Same(Value),
    /// In every answer, with values that vary (a request id).
    Varies,
    /// In some answers only.
    Sometimes,
}

/// `"status"` or `"body"` when a field is consistent within each group and different between them.
pub(super) fn distinguishing(known: &[Observed], unknown: &[Observed]) -> Option<&'static str> {
    let status = |g: &[Observed]| -> Vec<BTreeMap<String, Value>> {
        g.iter()
            .map(|o| BTreeMap::from([(String::new(), Value::from(o.status))]))
            .collect()
    };
    if differ(&fields(&status(known)), &fields(&status(unknown))) {
        return Some("status");
    }
    let bodies = |g: &[Observed]| -> Vec<BTreeMap<String, Value>> {
        g.iter()
            .map(|o| {
                let mut leaves = BTreeMap::new();
                flatten(&o.body, String::new(), &mut leaves);
                leaves
            })
            .collect()
    };
    differ(&fields(&bodies(known)), &fields(&bodies(unknown))).then_some("body")
}

/// Each pointer of a group's answers and how it behaves across them.
fn fields(answers: &[BTreeMap<String, Value>]) -> BTreeMap<String, Field> {
    let mut out = BTreeMap::new();
    let all: std::collections::BTreeSet<&String> = answers.iter().flat_map(|a| a.keys()).collect();
    for key in all {
        let values: Vec<Option<&Value>> = answers.iter().map(|a| a.get(key)).collect();
        let field = if values.iter().any(Option::is_none) {
            Field::Sometimes
        } else if values.windows(2).all(|w| w[0] == w[1]) {
            Field::Same(values[0].cloned().unwrap_or_default())
        } else {
            Field::Varies
        };
        out.insert(key.clone(), field);
    }
    out
}

/// Whether some pointer is the same within each group but different between them, or always there in one
/// group and never in the other.
fn differ(a: &BTreeMap<String, Field>, b: &BTreeMap<String, Field>) -> bool {
    let always = |f: Option<&Field>| matches!(f, Some(Field::Same(_) | Field::Varies));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().any(|k| match (a.get(k), b.get(k)) {
        (Some(Field::Same(x)), Some(Field::Same(y))) => x != y,
        (x, None) => always(x),
        (None, y) => always(y),
        _ => false,
    })
}

/// The scalar leaves of `v` by JSON pointer (empty objects and arrays are leaves too: shape counts).
fn flatten(v: &Value, at: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, x) in o {
                flatten(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, format!("{at}/{i}"), out);
            }
        }
        other => {
            out.insert(at, other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obs(status: u16, body: Value, ms: u64) -> Observed {
        Observed {
            status,
            body,
            elapsed: Duration::from_millis(ms),
        }
    }

    #[test]
    fn the_same_problem_body_tells_nothing_apart() {
        let b = json!({"error": "invalid_credentials", "message": "wrong username or password"});
        let k = vec![obs(401, b.clone(), 100), obs(401, b.clone(), 110)];
        let u = vec![obs(401, b.clone(), 105), obs(401, b, 98)];
        assert_eq!(distinguishing(&k, &u), None);
    }

    #[test]
    fn a_request_id_that_changes_every_time_is_ignored() {
        let b = |id: &str| json!({"message": "wrong username or password", "request_id": id});
        let k = vec![obs(401, b("r1"), 1), obs(401, b("r2"), 1)];
        let u = vec![obs(401, b("r3"), 1), obs(401, b("r4"), 1)];
        assert_eq!(distinguishing(&k, &u), None);
    }

    #[test]
    fn a_different_status_message_or_field_is_found() {
        let wrong = json!({"message": "wrong password"});
        let none = json!({"message": "no such user"});
        let k = vec![obs(401, wrong.clone(), 1), obs(401, wrong.clone(), 1)];
        let u = vec![obs(401, none.clone(), 1), obs(401, none, 1)];
        assert_eq!(distinguishing(&k, &u), Some("body"));
        let u404 = vec![obs(404, wrong.clone(), 1), obs(404, wrong.clone(), 1)];
        assert_eq!(distinguishing(&k, &u404), Some("status"));
        let extra = json!({"message": "wrong password", "hint": "reset it"});
        let ke = vec![obs(401, extra.clone(), 1), obs(401, extra, 1)];
        assert_eq!(distinguishing(&ke, &k), Some("body"));
        // Plain-text bodies compare as one string.
        let t = |s: &str| Value::String(s.to_string());
        let kt = vec![
            obs(401, t("bad password"), 1),
            obs(401, t("bad password"), 1),
        ];
        let ut = vec![
            obs(401, t("unknown user"), 1),
            obs(401, t("unknown user"), 1),
        ];
        assert_eq!(distinguishing(&kt, &ut), Some("body"));
    }

    #[test]
    fn timing_needs_both_the_ratio_and_the_margin() {
        let ms = Duration::from_millis;
        // A skipped hash: 120 ms against 2 ms.
        assert!(apart(ms(120), ms(2)));
        assert!(apart(ms(2), ms(120)));
        // Three times slower but only by 20 ms: scheduling noise on a loaded host.
        assert!(!apart(ms(30), ms(8)));
        // 60 ms apart but only 1.5 times: both hash, one was slowed down.
        assert!(!apart(ms(180), ms(120)));
    }

    #[test]
    fn the_median_ignores_a_minority_of_outliers() {
        let s: Vec<Observed> = [5, 900, 6, 7, 800]
            .into_iter()
            .map(|ms| obs(401, Value::Null, ms))
            .collect();
        assert_eq!(median(&s), Duration::from_millis(7));
        let even: Vec<Observed> = [10, 20, 30, 1000]
            .into_iter()
            .map(|ms| obs(401, Value::Null, ms))
            .collect();
        assert_eq!(median(&even), Duration::from_millis(25));
    }
}
