//! Scenarios with faults on cue: an error is not cached, 429s and 5xx are retried after a wait (a 429's
//! `Retry-After` honoured), and a model slower than any deadline still gets the client an answer in time.

use std::time::Duration;

use serde_json::json;

use super::probe::{fail, Outcome, Probe, ProbeError};
use super::upstream::Call;

/// A request that retries through two faults: `Retry-After: 1` twice plus the service's own work.
const RETRY_MAX: Duration = Duration::from_secs(12);
/// The contract's deadline (15 s) and some slack: a later answer, or none, is a hang.
const SLOW_MAX: Duration = Duration::from_secs(20);
/// The shortest wait the contract allows before a retry after a 5xx.
const MIN_BACKOFF_MS: u64 = 100;
/// Clocks and scheduling: a retry this much early still honours `Retry-After`.
const SLACK_MS: u64 = 100;

/// An upstream 500 gives the client an error; once the model recovers, the same message is answered, fresh.
pub(super) async fn failures_not_cached(p: &mut Probe) -> Outcome {
    p.upstream
        .arm(&p.marker, None, json!({"kind": "status", "status": 500}))
        .await
        .map_err(ProbeError::Broken)?;
    let text = p.message("Error 500 when I upload a profile picture");
    let first = p.triage(&text, SLOW_MAX).await?;
    if !(500..=599).contains(&first.status) {
        return Err(fail(format!(
            "a message the model kept failing was answered {} (expected 503 or 504)",
            first.status
        )));
    }
    p.upstream.clear().await.map_err(ProbeError::Broken)?;
    p.note("faults cleared: the model answers again");
    let second = p.triage(&text, RETRY_MAX).await?;
    if second.status != 200 {
        return Err(fail(format!(
            "after the model recovered, the same message was answered {} (expected 200): was the failure cached?",
            second.status
        )));
    }
    if second.json.as_ref().and_then(|v| v["cached"].as_bool()) != Some(false) {
        return Err(fail(
            "the first good answer after a failure was not `cached: false`",
        ));
    }
    Ok(())
}

/// Gaps in ms between consecutive calls.
fn gaps(calls: &[Call]) -> Vec<u64> {
    calls
        .windows(2)
        .map(|w| w[1].at_ms.saturating_sub(w[0].at_ms))
        .collect()
}

/// Two 429s with `Retry-After: 1`, then a good answer: 200, each retry at least a second after its 429.
pub(super) async fn retries_429(p: &mut Probe) -> Outcome {
    let fault = json!({"kind": "status", "status": 429, "retry_after_secs": 1});
    p.upstream
        .arm(&p.marker, Some(2), fault)
        .await
        .map_err(ProbeError::Broken)?;
    let a = p
        .triage(&p.message("Is there a student discount?"), RETRY_MAX)
        .await?;
    let calls = p.calls().await?;
    if a.status != 200 {
        return Err(fail(format!(
            "two 429s from the model ended in {} after {} call(s) (expected 200 after retrying)",
            a.status,
            calls.len()
        )));
    }
    if calls.len() < 3 {
        return Err(fail("the answer came without retrying the model after 429"));
    }
    let g = gaps(&calls[..3]);
    p.note(format!("gaps after each 429: {g:?} ms"));
    if let Some(short) = g.iter().find(|g| **g + SLACK_MS < 1000) {
        return Err(fail(format!(
            "a retry came {short} ms after a 429 that said `Retry-After: 1`"
        )));
    }
    Ok(())
}

/// A 500 and a 503, then a good answer: 200, each retry after a wait of at least 100 ms.
pub(super) async fn retries_5xx(p: &mut Probe) -> Outcome {
    for status in [500, 503] {
        p.upstream
            .arm(
                &p.marker,
                Some(1),
                json!({"kind": "status", "status": status}),
            )
            .await
            .map_err(ProbeError::Broken)?;
    }
    let a = p
        .triage(&p.message("The invoice PDF is blank"), RETRY_MAX)
        .await?;
    let calls = p.calls().await?;
    if a.status != 200 {
        return Err(fail(format!(
            "a 500 then a 503 from the model ended in {} after {} call(s) (expected 200 after retrying)",
            a.status,
            calls.len()
        )));
    }
    if calls.len() < 3 {
        return Err(fail("the answer came without retrying the model after 5xx"));
    }
    let g = gaps(&calls[..3]);
    p.note(format!("gaps after each 5xx: {g:?} ms"));
    if let Some(short) = g.iter().find(|g| **g < MIN_BACKOFF_MS) {
        return Err(fail(format!(
            "a retry came {short} ms after a 5xx (expected a backoff of at least {MIN_BACKOFF_MS} ms)"
        )));
    }
    Ok(())
}

/// An answer that is not a whole JSON answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Broken {
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200, then the connection breaks off mid-body.
    Dropped,
}

impl Broken {
    fn fault(self) -> serde_json::Value {
        match self {
            Broken::Malformed => json!({"kind": "malformed"}),
            Broken::Dropped => json!({"kind": "dropped"}),
        }
    }

    fn said(self) -> &'static str {
        match self {
            Broken::Malformed => "an answer whose body was not JSON",
            Broken::Dropped => "a connection broken off mid-answer",
        }
    }
}

/// One broken answer, then good ones: the client still gets 200, from a second call. Retrying like a 5xx and
/// (for a malformed body) spending the repair attempt on it are both right; giving up at once is not.
pub(super) async fn retries_broken(p: &mut Probe, broken: Broken) -> Outcome {
    p.upstream
        .arm(&p.marker, Some(1), broken.fault())
        .await
        .map_err(ProbeError::Broken)?;
    let text = match broken {
        Broken::Malformed => p.message("The export button does nothing"),
        Broken::Dropped => p.message("My password reset link expired"),
    };
    let a = p.triage(&text, RETRY_MAX).await?;
    let calls = p.calls().await?;
    if a.status != 200 {
        return Err(fail(format!(
            "{} from the model ended in {} after {} call(s) (expected 200 after calling again)",
            broken.said(),
            a.status,
            calls.len()
        )));
    }
    if calls.len() < 2 {
        return Err(fail(format!(
            "the answer came without calling the model again after {}",
            broken.said()
        )));
    }
    Ok(())
}

/// A model that takes a minute: the client still gets 503 or 504 within 20 s.
pub(super) async fn slow_upstream(p: &mut Probe) -> Outcome {
    p.upstream
        .arm(
            &p.marker,
            None,
            json!({"kind": "slow", "delay_ms": 120_000}),
        )
        .await
        .map_err(ProbeError::Broken)?;
    let a = p
        .triage(&p.message("The search never finishes"), SLOW_MAX)
        .await?;
    if a.status != 503 && a.status != 504 {
        return Err(fail(format!(
            "a message the model answered far too slowly was answered {} (expected 503 or 504)",
            a.status
        )));
    }
    Ok(())
}
