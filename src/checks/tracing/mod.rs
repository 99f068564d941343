//! The `tracing` kind: the learner's service continues W3C trace context and exports its spans over OTLP to the
//! collector the lab runs beside it (Gauntlet's `otlp-receiver` counterpart, `services/counterparts`).
//!
//! The check sends the service requests in up to three phases — with a fresh valid `traceparent`, without one,
//! with invalid ones — then polls the receiver (bounded) for the spans that started while each phase ran, and
//! judges them by rule: the caller's trace and parent, the kind SERVER, the HTTP attributes, `service.name`, new
//! traces for requests without (valid) context. The learner reads what was missing; the instructor reads the
//! requests sent and the received span tree.
//!
//! - `parse.rs`: the `[check.tracing]` table, with diagnostics;
//! - `receiver.rs`: the receiver's control route (`/_gauntlet/spans`) and the span shape it serves;
//! - `traffic.rs`: the phases' requests and their `traceparent` headers;
//! - `pace.rs`: before a check that stops the service, waiting for an export so the requests follow one;
//! - `judge.rs`: the rules over what arrived;
//! - `tree.rs`: the received spans as an indented tree, for the detail.

mod judge;
mod pace;
pub(super) mod parse;
mod receiver;
mod traffic;
mod tree;

use std::fmt::Write;
use std::time::Duration;

use rand::rngs::StdRng;
use tokio::time::Instant;

use super::judged::Judged;
use super::template::Vars;
use super::{CheckContext, Target, Verdict};
pub use receiver::ReceivedSpan;

/// What a tracing check requires; a check selects one or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A request with a valid `traceparent` gets a span in that trace whose parent is the header's span id.
    ContinuesTrace,
    /// That span's kind is SERVER.
    ServerKind,
    /// That span has the method, route and status attributes (new or old semantic-convention names).
    HttpAttributes,
    /// The spans' resource has `service.name` equal to the check's `service_name`.
    ServiceName,
    /// Requests without `traceparent` each start a new trace (root spans, one trace per request).
    NewTraceWithout,
    /// Requests with an invalid `traceparent` each start a new trace rather than continuing it.
    NewTraceOnInvalid,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::ContinuesTrace,
        Rule::ServerKind,
        Rule::HttpAttributes,
        Rule::ServiceName,
        Rule::NewTraceWithout,
        Rule::NewTraceOnInvalid,
    ];

    /// The name in check files.
    pub fn name(self) -> &'static str {
        match self {
            Rule::ContinuesTrace => "continues-trace",
            Rule::ServerKind => "server-kind",
            Rule::HttpAttributes => "http-attributes",
            Rule::ServiceName => "service-name",
            Rule::NewTraceWithout => "new-trace-without-traceparent",
            Rule::NewTraceOnInvalid => "new-trace-on-invalid-traceparent",
        }
    }

    /// The phase whose spans the rule judges.
    fn phase(self) -> Phase {
        match self {
            Rule::NewTraceWithout => Phase::Without,
            Rule::NewTraceOnInvalid => Phase::Invalid,
            _ => Phase::Traced,
        }
    }
}

/// A round of requests, each sent with the same kind of trace context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// A fresh, valid `traceparent` per request.
    Traced,
    /// No `traceparent`.
    Without,
    /// An invalid `traceparent` per request (see `traffic::INVALID`).
    Invalid,
}

impl Phase {
    fn describe(self) -> &'static str {
        match self {
            Phase::Traced => "with a valid traceparent",
            Phase::Without => "without traceparent",
            Phase::Invalid => "with an invalid traceparent",
        }
    }
}

/// One request a phase sends.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedRequest {
    pub method: String,
    /// Joined to the service's base URL; may use `{{rand}}` and `{{env.NAME}}`.
    pub path: String,
    /// A JSON body (sent as `application/json`); may use variables.
    pub body: Option<String>,
    /// The `http.route` the span must carry (`http-attributes`); `None`: any non-empty route.
    pub route: Option<String>,
}

/// One tracing check, as written under `[check.tracing]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingCheck {
    /// The lab's `[[counterpart]]` running `otlp-receiver`.
    pub counterpart: String,
    /// At least one, each once, in the order of [`Rule::ALL`].
    pub rules: Vec<Rule>,
    pub requests: Vec<TracedRequest>,
    /// The expected `service.name` (a template, usually `{{env.OTEL_SERVICE_NAME}}`); set exactly with
    /// `service-name`.
    pub service_name: Option<String>,
    /// How long each phase waits for its spans at most: an SDK's default batch delay is 5 s.
    pub wait: Duration,
    /// The service gets SIGTERM right after the requests (then starts again): spans still in its exporter's
    /// queue must be flushed before it exits, since no later export of that process will come.
    pub stop_after_requests: bool,
}

/// How long the check keeps re-reading after the spans it waits for have arrived, when they do not pass yet: a
/// service may export a child before its parent, in separate batches.
const SETTLE: Duration = Duration::from_millis(1500);
/// Between two reads of the receiver.
const POLL: Duration = Duration::from_millis(200);

/// Runs `check` against the service at `target`, within `deadline`.
pub(super) async fn run(
    check: &TracingCheck,
    ctx: &CheckContext,
    target: &Target,
    rand: String,
    mut rng: StdRng,
    timeout: Duration,
) -> Judged {
    let deadline = Instant::now() + timeout.saturating_sub(Duration::from_millis(500));
    let Some(info) = ctx
        .control
        .as_deref()
        .and_then(|c| c.counterpart(&check.counterpart))
    else {
        return Judged::broken(format!(
            "the lab has no counterpart `{}` in this run (the OTLP receiver)",
            check.counterpart
        ));
    };
    let Some(token) = info.control_token.clone() else {
        return Judged::broken(format!("counterpart `{}` has no control token", info.name));
    };
    let vars = Vars::new(ctx.seed, rand, &ctx.env);
    let expected_name = match check.service_name.as_deref().map(|s| vars.render(s)) {
        Some(Ok(name)) => Some(name),
        Some(Err(e)) => return Judged::broken(format!("service_name: {e}")),
        None => None,
    };
    let client = match super::http::client() {
        Ok(c) => c,
        Err(e) => return Judged::broken(format!("HTTP client: {e}")),
    };
    let receiver = receiver::Receiver::new(&client, info.addr, &token);
    let mut phases: Vec<Phase> = check.rules.iter().map(|r| r.phase()).collect();
    phases.dedup();
    let mut findings = Vec::new();
    let mut detail = String::new();
    let _ = writeln!(
        detail,
        "rules: {}; receiver `{}` at {}",
        check
            .rules
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", "),
        info.name,
        info.addr
    );
    if check.stop_after_requests {
        let until = deadline.min(Instant::now() + check.wait);
        match pace::pace(&receiver, check, &client, target, &vars, &mut rng, until).await {
            Ok(paced) => {
                let _ = writeln!(detail, "pacing: {}", paced.describe());
            }
            Err(e) => return Judged::broken(format!("{detail}\npacing: {e}")),
        }
    }
    for phase in phases {
        if let Err(e) = receiver.clear().await {
            return Judged::broken(format!("{detail}\nclearing the receiver: {e}"));
        }
        let sent =
            match traffic::send(phase, check, &client, target, &vars, &mut rng, deadline).await {
                Ok(sent) => sent,
                Err(e) => return Judged::broken(format!("{detail}\n{e}")),
            };
        if check.stop_after_requests {
            match stop_and_start(ctx, deadline).await {
                Ok(note) => detail.push_str(&note),
                Err(Stop::Broken(why)) => return Judged::broken(format!("{detail}\n{why}")),
                Err(Stop::Failed(why)) => {
                    return Judged {
                        verdict: Verdict::Fail,
                        message: format!("failed: {why}"),
                        detail: format!("{detail}\n{why}"),
                    }
                }
            }
        }
        let rules: Vec<Rule> = check
            .rules
            .iter()
            .copied()
            .filter(|r| r.phase() == phase)
            .collect();
        let wait_until = deadline.min(Instant::now() + check.wait);
        let seen = match wait_for(
            &receiver,
            &sent,
            &rules,
            expected_name.as_deref(),
            wait_until,
        )
        .await
        {
            Ok(seen) => seen,
            Err(e) => return Judged::broken(format!("{detail}\nreading the receiver: {e}")),
        };
        let _ = writeln!(detail, "\n== requests {} ==", phase.describe());
        detail.push_str(&traffic::transcript(&sent));
        let _ = writeln!(
            detail,
            "-- {} spans started while they ran (waited {} ms); receiver ledger: {}",
            seen.spans.len(),
            seen.waited.as_millis(),
            seen.ledger
        );
        detail.push_str(&tree::render(&seen.spans, &sent));
        findings.extend(seen.findings);
    }
    conclude(findings, detail)
}

enum Stop {
    /// Gauntlet could not restart the service (no control, an engine fault).
    Broken(String),
    /// The service did not come back, or not in time.
    Failed(String),
}

/// SIGTERM, the grace period, and a start again: the spans of the requests just sent must have left the old
/// process by the time it exited. Returns a line for the detail.
async fn stop_and_start(ctx: &CheckContext, deadline: Instant) -> Result<String, Stop> {
    let control = ctx.control.as_deref().ok_or_else(|| {
        Stop::Broken("this check stops the service, which this grader cannot do".into())
    })?;
    let began = Instant::now();
    let left = deadline.saturating_duration_since(began);
    match tokio::time::timeout(left, control.restart(super::RestartMode::Graceful)).await {
        Ok(Ok(url)) => Ok(format!(
            "\nSIGTERM right after the requests; exited and healthy again at {url} after {} ms\n",
            began.elapsed().as_millis()
        )),
        Ok(Err(why)) => Err(Stop::Failed(format!(
            "after SIGTERM the service did not start again: {why}"
        ))),
        Err(_) => Err(Stop::Failed(format!(
            "after SIGTERM the service was not healthy again within {} s",
            left.as_secs()
        ))),
    }
}

/// What a phase found once it stopped waiting.
struct Seen {
    spans: Vec<ReceivedSpan>,
    findings: Vec<judge::Finding>,
    waited: Duration,
    ledger: String,
}

/// Polls the receiver until the phase's spans pass, or have arrived and had [`SETTLE`] to complete, or
/// `until` passes.
async fn wait_for(
    receiver: &receiver::Receiver<'_>,
    sent: &traffic::Sent,
    rules: &[Rule],
    service_name: Option<&str>,
    until: Instant,
) -> Result<Seen, receiver::ReceiverError> {
    let began = Instant::now();
    let mut arrived_at: Option<Instant> = None;
    loop {
        let snapshot = receiver.spans(sent.since_unix_nano).await?;
        let findings = judge::judge(rules, sent, &snapshot.spans, service_name);
        let now = Instant::now();
        if judge::arrived(sent, &snapshot.spans) {
            arrived_at.get_or_insert(now);
        }
        let settled = arrived_at.is_some_and(|t| now >= t + SETTLE);
        if findings.is_empty() || settled || now + POLL > until {
            return Ok(Seen {
                spans: snapshot.spans,
                findings,
                waited: now - began,
                ledger: snapshot.ledger.to_string(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

fn conclude(findings: Vec<judge::Finding>, detail: String) -> Judged {
    let Some(first) = findings.first() else {
        return Judged {
            verdict: Verdict::Pass,
            message: "passed".into(),
            detail,
        };
    };
    let mut message = format!("failed: {}: {}", first.rule.name(), first.what);
    if findings.len() > 1 {
        let _ = write!(message, " (and {} more)", findings.len() - 1);
    }
    let mut detail = detail;
    detail.push_str("\nfindings:\n");
    for f in &findings {
        let _ = writeln!(detail, "- [{}] {}", f.rule.name(), f.what);
    }
    Judged {
        verdict: Verdict::Fail,
        message,
        detail,
    }
}
