//! A burst step (`[check.step.burst]`): the same request sent many times at once, for race conditions that no
//! sequence of single requests can show (lost updates, two winners of one conditional write, duplicate ids).
//!
//! Every copy is rendered first, in order (so `{{i}}` numbers them and a seeded run replays exactly), then all
//! are sent together, each on its own connection. Each answer must meet the step's `expect`; then the answers
//! are judged together: how many got each status, and which values must differ between them.

use std::collections::BTreeMap;

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::exec::{build, ms, prepare, render_expect, send, Observer, StepError};
use super::expect::{self, Failure};
use super::transcript::Transcript;
use super::{Burst, CaptureSource, Step};
use crate::checks::template::Vars;
use crate::checks::Target;

/// Where the step stands in its scenario and when the check must end.
pub(super) struct At {
    pub n: usize,
    pub of: usize,
    pub deadline: Instant,
}

/// Sends the burst and judges its answers.
#[allow(clippy::too_many_arguments)] // one step of one scenario: each argument is a different piece of state
pub(super) async fn run(
    step: &Step,
    burst: &Burst,
    at: At,
    client: &reqwest::Client,
    target: &Target,
    vars: &Vars,
    t: &mut Transcript,
    observer: &mut dyn Observer,
) -> Result<(), StepError> {
    let mut requests = Vec::with_capacity(burst.count);
    let mut urls = Vec::with_capacity(burst.count);
    // Each copy's expectations, with its own `{{i}}` (e.g. `json = { title = "writer {{i}}" }`).
    let mut expects = Vec::with_capacity(burst.count);
    for i in 0..burst.count {
        let mut copy = vars.clone();
        copy.set("i", Value::from(i));
        let p = prepare(step, target, &copy)?;
        expects.push(render_expect(&step.expect, &copy)?);
        if i == 0 {
            t.step(
                at.n,
                at.of,
                &step.method,
                p.url.as_str(),
                &p.headers,
                p.body.as_ref(),
            );
            t.note(&format!(
                "sent {} times at once ({{{{i}}}} = 0 to {}; the first copy is shown)",
                burst.count,
                burst.count - 1
            ));
        }
        requests.push(build(
            client,
            &step.method,
            p.url.clone(),
            &p.headers,
            p.body.as_ref(),
        )?);
        urls.push(p.url);
    }
    if let Some(first) = expects.first() {
        t.expected(first);
    }

    let started = Instant::now();
    let left = at.deadline.saturating_duration_since(started);
    if left.is_zero() {
        return Err(Failure::Timeout { after_ms: 0 }.into());
    }
    // `max_ms` cuts each request there, as in a single step; the check's deadline bounds them all.
    let cap = step.expect.max_ms.map(Duration::from_millis);
    let limit = cap.map_or(left, |c| c.min(left));
    let sent = requests.into_iter().map(|r| async move {
        match send(r.timeout(limit)).await {
            Err(Failure::Timeout { .. }) if cap.is_some_and(|c| c <= left) => {
                Err(Failure::TooSlow {
                    limit_ms: ms(limit),
                    got_ms: ms(started.elapsed()),
                })
            }
            Err(Failure::Timeout { .. }) => Err(Failure::Timeout {
                after_ms: ms(started.elapsed()),
            }),
            other => other,
        }
    });
    let answers = futures_util::future::join_all(sent).await;
    t.note(&format!(
        "all answers in after {} ms",
        ms(started.elapsed())
    ));

    let mut tally: BTreeMap<u16, usize> = BTreeMap::new();
    let mut values: Vec<Vec<Value>> = vec![Vec::new(); burst.distinct.len()];
    for (i, answer) in answers.into_iter().enumerate() {
        let in_burst = |f: Failure| Failure::InBurst {
            index: i,
            of: burst.count,
            inner: Box::new(f),
        };
        let answer = answer.map_err(in_burst)?;
        let count = tally.entry(answer.status).or_default();
        *count += 1;
        if *count == 1 {
            t.note(&format!(
                "first answer with status {} (copy {i}):",
                answer.status
            ));
            t.answer(&answer);
        }
        let json = expect::check(&expects[i], &answer).map_err(in_burst)?;
        if let Some(line) = observer
            .answered(at.n, &step.method, &urls[i], &answer)
            .map_err(in_burst)?
        {
            t.note(&line);
        }
        for (source, seen) in burst.distinct.iter().zip(values.iter_mut()) {
            let value = extract(source, json.as_ref(), &answer.headers).ok_or_else(|| {
                in_burst(Failure::CaptureMissing {
                    name: "distinct".to_string(),
                    from: source_text(source),
                })
            })?;
            seen.push(value);
        }
    }
    let summary = tally
        .iter()
        .map(|(s, n)| format!("{s} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    t.note(&format!("statuses: {summary}"));

    for (status, want) in &burst.status_counts {
        let got = tally.get(status).copied().unwrap_or(0);
        if got != *want {
            return Err(Failure::BurstCount {
                status: *status,
                want: *want,
                got,
                of: burst.count,
                summary,
            }
            .into());
        }
    }
    for (source, seen) in burst.distinct.iter().zip(&values) {
        if let Some(value) = first_repeat(seen) {
            return Err(Failure::NotDistinct {
                from: source_text(source),
                value: value.to_string(),
                of: burst.count,
            }
            .into());
        }
    }
    Ok(())
}

fn extract(
    source: &CaptureSource,
    json: Option<&Value>,
    headers: &[(String, String)],
) -> Option<Value> {
    match source {
        CaptureSource::JsonPointer(p) => json.and_then(|j| j.pointer(p)).cloned(),
        CaptureSource::Header(h) => headers
            .iter()
            .find(|(n, _)| n == h)
            .map(|(_, v)| Value::String(v.clone())),
    }
}

fn source_text(source: &CaptureSource) -> String {
    match source {
        CaptureSource::JsonPointer(p) => p.clone(),
        CaptureSource::Header(h) => format!("header:{h}"),
    }
}

/// The first value that occurs twice.
fn first_repeat(values: &[Value]) -> Option<&Value> {
    values
        .iter()
        .enumerate()
        .find(|(i, v)| values[..*i].contains(v))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_repeated_value() {
        let v: Vec<Value> = ["a", "b", "c", "b", "a"]
            .iter()
            .map(|s| Value::from(*s))
            .collect();
        assert_eq!(first_repeat(&v), Some(&Value::from("b")));
        assert_eq!(first_repeat(&v[..3]), None);
    }
}
