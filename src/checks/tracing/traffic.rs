//! The requests of a phase: each check's request list sent in order, with a fresh `traceparent` drawn from the
//! check's seeded generator (so a replayed run sends the same ids), none, or one of the invalid forms that the
//! W3C Trace Context specification says a receiver must ignore.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::Rng;
use tokio::time::Instant;

use super::{Phase, TracedRequest, TracingCheck};
use crate::checks::template::Vars;
use crate::checks::Target;

/// The invalid `traceparent` forms, by what makes each invalid; `{t}` and `{p}` are a fresh trace and span id.
pub(super) const INVALID: [(&str, &str); 4] = [
    ("version ff", "ff-{t}-{p}-01"),
    (
        "all-zero trace id",
        "00-00000000000000000000000000000000-{p}-01",
    ),
    ("all-zero parent id", "00-{t}-0000000000000000-01"),
    ("trace id not hex", "00-{x}-{p}-01"),
];

/// How far before the first request a span may start and still be the phase's: none can, but clocks are read
/// on both sides of a socket.
const SLACK_NANOS: u64 = 50_000_000;

/// One request as sent.
#[derive(Debug, Clone)]
pub(super) struct SentRequest {
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    /// The header sent, if any.
    pub traceparent: Option<String>,
    /// What the header named (lowercase hex), also for invalid ones, so a continued invalid trace is recognised.
    pub trace_id: Option<String>,
    pub parent_id: Option<String>,
    /// Why the header is invalid (`Phase::Invalid`).
    pub invalid: Option<&'static str>,
    pub status: u16,
}

/// A phase as sent.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub phase: Phase,
    /// Spans that started before this are not the phase's.
    pub since_unix_nano: u64,
    pub requests: Vec<SentRequest>,
}

fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn hex(rng: &mut StdRng, bytes: usize) -> String {
    loop {
        let id: String = (0..bytes)
            .map(|_| format!("{:02x}", rng.gen::<u8>()))
            .collect();
        if id.bytes().any(|b| b != b'0') {
            return id;
        }
    }
}

/// Sends the phase's requests (the invalid phase sends one per invalid form, cycling through the list).
pub(super) async fn send(
    phase: Phase,
    check: &TracingCheck,
    client: &reqwest::Client,
    target: &Target,
    vars: &Vars,
    rng: &mut StdRng,
    deadline: Instant,
) -> Result<Sent, String> {
    let since_unix_nano = now_unix_nano().saturating_sub(SLACK_NANOS);
    let count = match phase {
        Phase::Invalid => check.requests.len().max(INVALID.len()),
        _ => check.requests.len(),
    };
    let mut requests = Vec::new();
    for i in 0..count {
        let req = &check.requests[i % check.requests.len()];
        let (t, p) = (hex(rng, 16), hex(rng, 8));
        let (traceparent, trace_id, parent_id, invalid) = match phase {
            Phase::Traced => (Some(format!("00-{t}-{p}-01")), Some(t), Some(p), None),
            Phase::Without => (None, None, None, None),
            Phase::Invalid => {
                let (why, form) = INVALID[i % INVALID.len()];
                let header = form
                    .replace("{t}", &t)
                    .replace("{p}", &p)
                    .replace("{x}", &format!("zz{}", &t[2..]));
                let named = header.split('-').collect::<Vec<_>>();
                (
                    Some(header.clone()),
                    named.get(1).map(|s| s.to_string()),
                    named.get(2).map(|s| s.to_string()),
                    Some(why),
                )
            }
        };
        let status = call(client, target, vars, req, traceparent.as_deref(), deadline).await?;
        requests.push(SentRequest {
            method: req.method.clone(),
            path: vars.render(&req.path).unwrap_or_else(|_| req.path.clone()),
            route: req.route.clone(),
            traceparent,
            trace_id,
            parent_id,
            invalid,
            status,
        });
    }
    Ok(Sent {
        phase,
        since_unix_nano,
        requests,
    })
}

/// Sends one request; a service that does not answer is still judged by its spans, so a failed request is
/// recorded with status 0 rather than ending the check.
async fn call(
    client: &reqwest::Client,
    target: &Target,
    vars: &Vars,
    req: &TracedRequest,
    traceparent: Option<&str>,
    deadline: Instant,
) -> Result<u16, String> {
    let path = vars.render(&req.path).map_err(|e| format!("path: {e}"))?;
    let url = target
        .base_url
        .join(path.trim_start_matches('/'))
        .map_err(|e| format!("path `{path}`: {e}"))?;
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| format!("method `{}`: {e}", req.method))?;
    let mut builder = client.request(method, url).timeout(
        deadline
            .saturating_duration_since(Instant::now())
            .min(std::time::Duration::from_secs(5)),
    );
    if let Some(tp) = traceparent {
        builder = builder.header("traceparent", tp);
    }
    if let Some(body) = &req.body {
        let body = vars.render(body).map_err(|e| format!("body: {e}"))?;
        builder = builder
            .header("content-type", "application/json")
            .body(body);
    }
    Ok(match builder.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let _ = res.bytes().await;
            status
        }
        Err(_) => 0,
    })
}

/// The requests as the instructor reads them.
pub(super) fn transcript(sent: &Sent) -> String {
    let mut out = String::new();
    for r in &sent.requests {
        let status = match r.status {
            0 => "no answer".to_string(),
            s => s.to_string(),
        };
        let header = match (&r.traceparent, r.invalid) {
            (Some(h), Some(why)) => format!("traceparent {h} ({why})"),
            (Some(h), None) => format!("traceparent {h}"),
            (None, _) => "no traceparent".to_string(),
        };
        let _ = writeln!(out, "→ {} {} with {header} → {status}", r.method, r.path);
    }
    out
}
