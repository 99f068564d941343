//! From the TOML of a `[check.tracing]` table to a checked [`TracingCheck`], every problem with its line:
//!
//! ```toml
//! [check.tracing]
//! counterpart = "otel"                          # the lab's [[counterpart]] running `otlp-receiver`
//! rules = ["continues-trace", "server-kind"]    # one or more of the names in `Rule::ALL`
//! service_name = "{{env.OTEL_SERVICE_NAME}}"    # only, and then required, with "service-name"
//! wait_secs = 8                                 # per phase, default 8
//! stop_after_requests = true                    # optional: SIGTERM (and a restart) right after the requests
//! [[check.tracing.request]]                     # one or more, sent in order in each phase
//! method = "POST"                               # default GET
//! path = "/v1/notes"
//! body = '{"title": "t {{rand}}"}'              # optional JSON
//! route = "/v1/notes"                           # optional: the http.route the span must carry
//! ```

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Rule, TracedRequest, TracingCheck};
use crate::checks::load::Source;
use crate::diagnostics::Diagnostic;

const DEFAULT_WAIT_SECS: i64 = 8;
const MAX_WAIT_SECS: i64 = 60;
/// Enough for a mix of routes and statuses; the invalid phase sends at least one request per invalid form.
const MAX_REQUESTS: usize = 20;
/// What `stop_after_requests` adds to the time a check needs: a grace period and a start-up.
const STOP_SECS: i64 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawTracing {
    counterpart: Spanned<String>,
    rules: Spanned<Vec<Spanned<String>>>,
    service_name: Option<Spanned<String>>,
    wait_secs: Option<Spanned<i64>>,
    stop_after_requests: Option<Spanned<bool>>,
    #[serde(default)]
    request: Vec<Spanned<RawRequest>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    method: Option<Spanned<String>>,
    path: Spanned<String>,
    body: Option<Spanned<String>>,
    route: Option<Spanned<String>>,
}

/// Reads the `[check.tracing]` table of the check starting at byte `start`, whose whole deadline is
/// `timeout_secs`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawTracing>>,
    has_steps: bool,
    timeout_secs: i64,
    problems: &mut Vec<Diagnostic>,
) -> Option<TracingCheck> {
    let before = problems.len();
    if has_steps {
        problems.push(src.at(
            start,
            "a tracing check has no [[check.step]]; list its requests under [[check.tracing.request]]",
        ));
    }
    let Some(raw) = raw else {
        problems.push(src.at(
            start,
            "a tracing check needs a [check.tracing] table with `counterpart`, `rules` and requests",
        ));
        return None;
    };
    let table_at = raw.span().start;
    let raw = raw.into_inner();
    let mut p = |at: usize, msg: String| problems.push(src.at(at, msg));
    let counterpart = raw.counterpart.get_ref().trim().to_string();
    if counterpart.is_empty() {
        p(
            raw.counterpart.span().start,
            "`counterpart` names the lab's OTLP receiver".into(),
        );
    }
    let mut rules = Vec::new();
    if raw.rules.get_ref().is_empty() {
        p(
            raw.rules.span().start,
            "`rules` names at least one rule".into(),
        );
    }
    for name in raw.rules.get_ref() {
        match Rule::ALL.iter().find(|r| r.name() == name.get_ref().trim()) {
            Some(rule) if rules.contains(rule) => p(
                name.span().start,
                format!("rule `{}` is named twice", rule.name()),
            ),
            Some(rule) => rules.push(*rule),
            None => p(
                name.span().start,
                format!(
                    "unknown tracing rule `{}` (known: {})",
                    name.get_ref(),
                    Rule::ALL.map(Rule::name).join(", ")
                ),
            ),
        }
    }
    rules.sort();
    let service_name = match (&raw.service_name, rules.contains(&Rule::ServiceName)) {
        (Some(s), true) if !s.get_ref().trim().is_empty() => Some(s.get_ref().clone()),
        (Some(s), true) => {
            p(s.span().start, "`service_name` may not be empty".into());
            None
        }
        (Some(s), false) => {
            p(
                s.span().start,
                "`service_name` belongs with the `service-name` rule".into(),
            );
            None
        }
        (None, true) => {
            p(
                table_at,
                "the `service-name` rule needs `service_name`, e.g. \"{{env.OTEL_SERVICE_NAME}}\""
                    .into(),
            );
            None
        }
        (None, false) => None,
    };
    let wait_secs = match &raw.wait_secs {
        None => DEFAULT_WAIT_SECS,
        Some(w) if (1..=MAX_WAIT_SECS).contains(w.get_ref()) => *w.get_ref(),
        Some(w) => {
            p(
                w.span().start,
                format!("`wait_secs` must be from 1 to {MAX_WAIT_SECS}"),
            );
            DEFAULT_WAIT_SECS
        }
    };
    let mut phases: Vec<_> = rules.iter().map(|r| r.phase()).collect();
    phases.dedup();
    let stop = raw
        .stop_after_requests
        .as_ref()
        .is_some_and(|s| *s.get_ref());
    if let Some(s) = raw
        .stop_after_requests
        .as_ref()
        .filter(|_| stop && phases.len() > 1)
    {
        p(
            s.span().start,
            "`stop_after_requests` stops the service after one phase: its rules must all judge requests sent with the same kind of traceparent".into(),
        );
    }
    // A graceful stop may take the service's whole grace period, and the start after it its start-up; before
    // it, one more wait for an export to pace the requests by (`pace.rs`).
    let waits = phases.len().max(1) as i64 + i64::from(stop);
    let needed = wait_secs * waits + 2 + if stop { STOP_SECS } else { 0 };
    if timeout_secs < needed {
        let at = raw.wait_secs.as_ref().map_or(table_at, |w| w.span().start);
        p(
            at,
            format!(
                "{} phase(s){} waiting up to {wait_secs} s each need `timeout_secs` of at least {needed} (it is {timeout_secs})",
                phases.len(),
                if stop { ", a wait to pace the stop, the stop and the start" } else { "" }
            ),
        );
    }
    if raw.request.is_empty() {
        p(
            table_at,
            "a tracing check needs at least one [[check.tracing.request]]".into(),
        );
    }
    if raw.request.len() > MAX_REQUESTS {
        p(
            table_at,
            format!("at most {MAX_REQUESTS} requests per tracing check"),
        );
    }
    let requests: Vec<TracedRequest> = raw
        .request
        .into_iter()
        .map(|r| request(r.into_inner(), &mut p))
        .collect();
    (problems.len() == before).then(|| TracingCheck {
        counterpart,
        rules,
        requests,
        service_name,
        wait: Duration::from_secs(wait_secs.unsigned_abs()),
        stop_after_requests: stop,
    })
}

fn request(raw: RawRequest, p: &mut impl FnMut(usize, String)) -> TracedRequest {
    let method = match &raw.method {
        Some(m) => {
            let up = m.get_ref().trim().to_ascii_uppercase();
            if up.is_empty() || !up.bytes().all(|b| b.is_ascii_uppercase()) {
                p(
                    m.span().start,
                    format!("`{}` is not an HTTP method", m.get_ref()),
                );
            }
            up
        }
        None => "GET".to_string(),
    };
    if !raw.path.get_ref().starts_with('/') {
        p(raw.path.span().start, "`path` starts with `/`".into());
    }
    if let Some(b) = &raw.body {
        // A body with variables is checked once rendered, at run time.
        if !b.get_ref().contains("{{")
            && serde_json::from_str::<serde_json::Value>(b.get_ref()).is_err()
        {
            p(
                b.span().start,
                "`body` is sent as application/json, and this is not JSON".into(),
            );
        }
    }
    if let Some(r) = &raw.route {
        if !r.get_ref().starts_with('/') {
            p(
                r.span().start,
                "`route` is a route template starting with `/`".into(),
            );
        }
    }
    TracedRequest {
        method,
        path: raw.path.into_inner(),
        body: raw.body.map(Spanned::into_inner),
        route: raw.route.map(Spanned::into_inner),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::checks::{CheckKind, CheckSuite};

    const HEAD: &str = "[[check]]\nid = \"t\"\nkind = \"tracing\"\ntitle = \"T\"\npillar = \"performance\"\ntimeout_secs = 15\n\n";

    fn parse(body: &str) -> Result<CheckSuite, Vec<crate::diagnostics::Diagnostic>> {
        CheckSuite::parse_file(
            Path::new("checks/t.toml"),
            &format!("{HEAD}{body}"),
            &["performance".to_string()],
        )
    }

    /// The one problem `body` has: its line and message.
    fn problem(body: &str) -> (usize, String) {
        let found = parse(body).expect_err("a problem");
        assert_eq!(found.len(), 1, "{found:?}");
        (found[0].line.unwrap_or(0), found[0].message.clone())
    }

    #[test]
    fn a_check_with_rules_and_requests_parses() {
        let suite = parse(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"service-name\", \"continues-trace\"]\n\
             service_name = \"{{env.OTEL_SERVICE_NAME}}\"\n\n[[check.tracing.request]]\nmethod = \"post\"\n\
             path = \"/v1/notes\"\nbody = '{\"title\": \"t\"}'\nroute = \"/v1/notes\"\n",
        )
        .expect("valid");
        let CheckKind::Tracing(check) = &suite.checks[0].kind else {
            panic!("a tracing check")
        };
        assert_eq!(
            check.rules,
            vec![super::Rule::ContinuesTrace, super::Rule::ServiceName]
        );
        assert_eq!(check.requests[0].method, "POST");
        assert_eq!(check.wait.as_secs(), 8);
    }

    #[test]
    fn mistakes_are_reported_at_their_line() {
        let req = "\n[[check.tracing.request]]\npath = \"/v1/notes\"\n";
        let (line, msg) = problem(&format!(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"continues\"]\n{req}"
        ));
        assert_eq!(line, 10);
        assert!(msg.contains("unknown tracing rule `continues`"), "{msg}");
        let (line, msg) = problem(&format!(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"service-name\"]\n{req}"
        ));
        assert!((8..=9).contains(&line), "{line}");
        assert!(msg.contains("needs `service_name`"), "{msg}");
        let (line, msg) = problem(&format!(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"server-kind\"]\nwait_secs = 14\n{req}"
        ));
        assert_eq!(line, 11);
        assert!(msg.contains("`timeout_secs` of at least 16"), "{msg}");
        let (line, msg) = problem(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"server-kind\"]\n\n[[check.tracing.request]]\npath = \"v1\"\n",
        );
        assert_eq!(line, 13);
        assert!(msg.contains("starts with `/`"), "{msg}");
        let (_, msg) =
            problem("[check.tracing]\ncounterpart = \"otel\"\nrules = [\"server-kind\"]\n");
        assert!(
            msg.contains("at least one [[check.tracing.request]]"),
            "{msg}"
        );
    }

    #[test]
    fn a_stop_after_requests_needs_one_phase_and_the_time_to_restart() {
        let req = "\n[[check.tracing.request]]\npath = \"/v1/notes\"\n";
        // 15 s is less than 8 s of pacing + 8 s of waiting + 2 + 20 for the stop and the start.
        let (line, msg) = problem(&format!(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"continues-trace\"]\nstop_after_requests = true\n{req}"
        ));
        assert_eq!(line, 8);
        assert!(msg.contains("`timeout_secs` of at least 38"), "{msg}");
        let found = parse(&format!(
            "[check.tracing]\ncounterpart = \"otel\"\nrules = [\"continues-trace\", \"new-trace-without-traceparent\"]\nstop_after_requests = true\n{req}"
        ))
        .expect_err("two phases");
        assert!(
            found
                .iter()
                .any(|d| d.line == Some(11)
                    && d.message.contains("stops the service after one phase")),
            "{found:?}"
        );
    }
}
