//! Before a check that stops the service: one request, then a wait until the service has exported something, so
//! that the check's own requests fall at the start of the exporter's batch delay rather than anywhere in it.
//!
//! An SDK's batch exporter sends on a timer (5 s by default). Without this, a service that never flushes on
//! shutdown would still pass whenever the timer happened to fire between the requests and the SIGTERM — a
//! pass by luck, one run in twenty. Right after an export, the next one is a whole delay away, and the requests
//! and the SIGTERM take a few hundred milliseconds.

use std::time::Duration;

use rand::rngs::StdRng;
use tokio::time::Instant;

use super::receiver::{Receiver, ReceiverError};
use super::{traffic, Phase, TracingCheck};
use crate::checks::template::Vars;
use crate::checks::Target;

/// Between two reads of the receiver while waiting for the export: short, since the check's requests should
/// follow the export closely.
const POLL: Duration = Duration::from_millis(50);

/// What pacing found, for the detail.
pub(super) enum Paced {
    /// Something was exported this long after the pacing request was sent.
    Exported(Duration),
    /// Nothing arrived within the wait: the check goes on, and judges what does (or does not) arrive.
    Nothing(Duration),
}

impl Paced {
    pub fn describe(&self) -> String {
        match self {
            Paced::Exported(after) => format!(
                "a first request's span arrived {} ms after it was sent; the check's requests follow that export at once",
                after.as_millis()
            ),
            Paced::Nothing(after) => format!(
                "nothing was exported within {} s of a first request; the check goes on",
                after.as_secs()
            ),
        }
    }
}

/// Sends the check's first request once (with a valid `traceparent`), and waits until any span reaches the
/// receiver, or `until`.
pub(super) async fn pace(
    receiver: &Receiver<'_>,
    check: &TracingCheck,
    client: &reqwest::Client,
    target: &Target,
    vars: &Vars,
    rng: &mut StdRng,
    until: Instant,
) -> Result<Paced, String> {
    receiver
        .clear()
        .await
        .map_err(|e: ReceiverError| format!("clearing the receiver: {e}"))?;
    let first = TracingCheck {
        requests: check.requests.iter().take(1).cloned().collect(),
        ..check.clone()
    };
    let began = Instant::now();
    let sent = traffic::send(Phase::Traced, &first, client, target, vars, rng, until).await?;
    loop {
        let snapshot = receiver
            .spans(sent.since_unix_nano)
            .await
            .map_err(|e| format!("reading the receiver: {e}"))?;
        if !snapshot.spans.is_empty() {
            return Ok(Paced::Exported(began.elapsed()));
        }
        if Instant::now() + POLL > until {
            return Ok(Paced::Nothing(began.elapsed()));
        }
        tokio::time::sleep(POLL).await;
    }
}
