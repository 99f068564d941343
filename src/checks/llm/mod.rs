//! The `llm` kind: a service that wraps a language model, judged through Gauntlet's model upstream (the lab's
//! `model-upstream` counterpart, `services/counterparts`). Each check runs one named scenario: it sends the
//! service messages carrying a marker of its own, arms faults on cue for that marker (429s, 5xx, a slow or
//! invalid answer) through the counterpart's control routes, and judges the service's answers against the
//! counterpart's ledger of what it was really asked (calls, tokens, retry gaps).
//!
//! - `parse.rs`: `[check.llm]` to [`LlmCheck`], every problem with a line;
//! - `upstream.rs`: the counterpart's control routes (faults, ledger) with the run's control token;
//! - `probe.rs`: what every scenario shares (the service client, the transcript, failures);
//! - `answers.rs`: answers, input and output validation, the cache, single-flight, the key;
//! - `faults.rs`: failures not cached, retries after 429, 5xx and broken answers, a slow upstream;
//! - `usage.rs`: the embeddings cache, and the service's usage report against the ledger.

mod answers;
mod faults;
pub(super) mod parse;
mod probe;
mod upstream;
mod usage;

use super::judged::Judged;
use super::{CheckContext, Target, Verdict};
use faults::Broken;
use probe::{Probe, ProbeError};

/// One `llm` check.
#[derive(Debug, Clone)]
pub struct LlmCheck {
    pub scenario: Scenario,
    /// The name of the model upstream counterpart in `lab.toml`.
    pub upstream: String,
    /// The service's typed endpoint (`POST`, `{"text": ...}`).
    pub path: String,
    /// The service's usage report (`GET`).
    pub usage_path: String,
    /// The service's embeddings endpoint (`POST`, `{"text": ...}`).
    pub embed_path: String,
}

/// The behaviours a check can judge, one per check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    TypedAnswer,
    RejectsInvalidInput,
    InvalidOutputNeverReturned,
    RepeatedPromptCached,
    ConcurrentPromptsShareACall,
    FailuresNotCached,
    Retries429,
    Retries5xx,
    RetriesMalformedAnswer,
    RetriesDroppedConnection,
    SlowUpstreamBounded,
    KeyNeverEchoed,
    EmbeddingsCached,
    UsageMatchesLedger,
}

impl Scenario {
    pub const ALL: [Scenario; 14] = [
        Scenario::TypedAnswer,
        Scenario::RejectsInvalidInput,
        Scenario::InvalidOutputNeverReturned,
        Scenario::RepeatedPromptCached,
        Scenario::ConcurrentPromptsShareACall,
        Scenario::FailuresNotCached,
        Scenario::Retries429,
        Scenario::Retries5xx,
        Scenario::RetriesMalformedAnswer,
        Scenario::RetriesDroppedConnection,
        Scenario::SlowUpstreamBounded,
        Scenario::KeyNeverEchoed,
        Scenario::EmbeddingsCached,
        Scenario::UsageMatchesLedger,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::TypedAnswer => "typed-answer",
            Scenario::RejectsInvalidInput => "rejects-invalid-input",
            Scenario::InvalidOutputNeverReturned => "invalid-output-never-returned",
            Scenario::RepeatedPromptCached => "repeated-prompt-cached",
            Scenario::ConcurrentPromptsShareACall => "concurrent-prompts-share-a-call",
            Scenario::FailuresNotCached => "failures-not-cached",
            Scenario::Retries429 => "retries-429",
            Scenario::Retries5xx => "retries-5xx",
            Scenario::RetriesMalformedAnswer => "retries-malformed-answer",
            Scenario::RetriesDroppedConnection => "retries-dropped-connection",
            Scenario::SlowUpstreamBounded => "slow-upstream-bounded",
            Scenario::KeyNeverEchoed => "key-never-echoed",
            Scenario::EmbeddingsCached => "embeddings-cached",
            Scenario::UsageMatchesLedger => "usage-matches-ledger",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Runs `check` against the service at `target`; `marker` (drawn from the run's seed and the check's id) goes in
/// every message the check sends, so that its faults and ledger entries are its own.
pub(super) async fn run(
    check: &LlmCheck,
    ctx: &CheckContext,
    target: &Target,
    marker: String,
) -> Judged {
    let mut probe = match Probe::new(check, ctx, target, marker) {
        Ok(p) => p,
        Err(e) => return Judged::broken(e),
    };
    let result = match check.scenario {
        Scenario::TypedAnswer => answers::typed_answer(&mut probe).await,
        Scenario::RejectsInvalidInput => answers::rejects_invalid_input(&mut probe).await,
        Scenario::InvalidOutputNeverReturned => answers::invalid_output(&mut probe).await,
        Scenario::RepeatedPromptCached => answers::repeated_prompt_cached(&mut probe).await,
        Scenario::ConcurrentPromptsShareACall => answers::concurrent_prompts(&mut probe).await,
        Scenario::KeyNeverEchoed => answers::key_never_echoed(&mut probe).await,
        Scenario::FailuresNotCached => faults::failures_not_cached(&mut probe).await,
        Scenario::Retries429 => faults::retries_429(&mut probe).await,
        Scenario::Retries5xx => faults::retries_5xx(&mut probe).await,
        Scenario::RetriesMalformedAnswer => {
            faults::retries_broken(&mut probe, Broken::Malformed).await
        }
        Scenario::RetriesDroppedConnection => {
            faults::retries_broken(&mut probe, Broken::Dropped).await
        }
        Scenario::SlowUpstreamBounded => faults::slow_upstream(&mut probe).await,
        Scenario::EmbeddingsCached => usage::embeddings_cached(&mut probe).await,
        Scenario::UsageMatchesLedger => usage::matches_ledger(&mut probe).await,
    };
    // Whatever the scenario armed is disarmed, so the next check meets a healthy model.
    let cleared = probe.upstream.clear().await;
    let summary = probe.ledger_summary().await;
    let detail = format!("{}\n{summary}", probe.transcript);
    match (result, cleared) {
        (Err(ProbeError::Broken(why)), _) | (Ok(()), Err(why)) => {
            Judged::broken(format!("{why}\n{detail}"))
        }
        (Ok(()), Ok(())) => Judged {
            verdict: Verdict::Pass,
            message: "passed".into(),
            detail,
        },
        (Err(ProbeError::Failed(why)), _) => Judged {
            verdict: Verdict::Fail,
            message: format!("failed: {why}"),
            detail,
        },
    }
}
