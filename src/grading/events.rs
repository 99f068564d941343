//! What a run reports while it goes: the live page and the CLI show these, in order, and the store keeps them so
//! that a reload replays everything so far.

use serde::{Deserialize, Serialize};

use crate::checks::CheckOutcome;
use crate::domain::RunState;

/// One event of a run. Each has a `kind` (stored in its own column) and a JSON payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run moved to a new state.
    State { state: RunState },
    /// A line of the image build's output.
    Log { line: String },
    /// A check began.
    CheckStarted { check_id: String, title: String },
    /// A check ended. The outcome's hidden `detail` is never stored in an event: events are learner-visible.
    CheckFinished {
        check_id: String,
        title: String,
        verdict: crate::checks::Verdict,
        message: String,
        duration_ms: u64,
    },
}

impl RunEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            RunEvent::State { .. } => "state",
            RunEvent::Log { .. } => "log",
            RunEvent::CheckStarted { .. } => "check_started",
            RunEvent::CheckFinished { .. } => "check_finished",
        }
    }

    /// The learner-safe view of a finished check.
    pub fn finished(outcome: &CheckOutcome) -> RunEvent {
        RunEvent::CheckFinished {
            check_id: outcome.check_id.clone(),
            title: outcome.title.clone(),
            verdict: outcome.verdict,
            message: outcome.message.clone(),
            duration_ms: outcome.duration_ms,
        }
    }

    /// The payload stored beside the kind.
    pub fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}
