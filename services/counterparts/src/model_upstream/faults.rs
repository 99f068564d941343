//! Faults on cue: a check arms a rule (`POST /_gauntlet/faults`) and the next matching calls misbehave. Rules
//! are keyed to a marker the check puts in its prompt (`contains`), so the check's own traffic meets them and
//! nothing else does; a rule without `contains` applies to every call.

use serde::{Deserialize, Serialize};

/// What a matched call does instead of (or before) answering normally.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answers `status` with an OpenAI-style error body, and `Retry-After` when given (e.g. 429, 500, 503).
    Status {
        status: u16,
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Waits `delay_ms`, then answers normally (a delay past the caller's deadline is a hang).
    Slow { delay_ms: u64 },
    /// Answers 200 with a body that is not JSON.
    Malformed,
    /// Starts a 200 answer and breaks the connection off mid-body: the caller never gets a whole answer, so
    /// the call counts as unanswered in the ledger (like one the caller gave up on).
    Dropped,
    /// Answers 200 with content that breaks the triage contract (priority 9, an extra field).
    InvalidContent,
    /// Answers 200 with the content cut short and `finish_reason: "length"`.
    Truncated,
}

impl Fault {
    /// A short name for the ledger.
    pub fn name(&self) -> String {
        match self {
            Fault::Status { status, .. } => format!("status {status}"),
            Fault::Slow { delay_ms } => format!("slow {delay_ms} ms"),
            Fault::Malformed => "malformed".into(),
            Fault::Dropped => "dropped".into(),
            Fault::InvalidContent => "invalid content".into(),
            Fault::Truncated => "truncated".into(),
        }
    }
}

/// One armed rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rule {
    /// Only prompts containing this text (any message); every prompt when absent.
    #[serde(default)]
    pub contains: Option<String>,
    /// How many matching calls it applies to; every one when absent.
    #[serde(default)]
    pub times: Option<u32>,
    /// Restricts the rule to one endpoint (`chat` or `embeddings`); both when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    pub fault: Fault,
}

/// The armed rules, first armed first matched.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
}

impl Faults {
    pub fn arm(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault for a call to `endpoint` with `prompt`, using up one of its rule's `times`.
    pub fn take(&mut self, endpoint: &str, prompt: &str) -> Option<Fault> {
        let i = self.rules.iter().position(|r| {
            r.times != Some(0)
                && r.endpoint.as_deref().is_none_or(|e| e == endpoint)
                && r.contains.as_deref().is_none_or(|c| prompt.contains(c))
        })?;
        let rule = &mut self.rules[i];
        if let Some(n) = rule.times.as_mut() {
            *n -= 1;
        }
        let fault = rule.fault.clone();
        if rule.times == Some(0) {
            self.rules.remove(i);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(contains: Option<&str>, times: Option<u32>) -> Rule {
        Rule {
            contains: contains.map(str::to_string),
            times,
            endpoint: None,
            fault: Fault::Malformed,
        }
    }

    #[test]
    fn a_rule_applies_its_times_to_matching_prompts_only() {
        let mut f = Faults::default();
        f.arm(rule(Some("m-1"), Some(2)));
        assert_eq!(f.take("chat", "other"), None);
        assert_eq!(f.take("chat", "x m-1 y"), Some(Fault::Malformed));
        assert_eq!(f.take("chat", "m-1"), Some(Fault::Malformed));
        assert_eq!(f.take("chat", "m-1"), None);
    }

    #[test]
    fn a_rule_without_times_stays_until_cleared() {
        let mut f = Faults::default();
        f.arm(rule(None, None));
        for _ in 0..5 {
            assert!(f.take("embeddings", "anything").is_some());
        }
        f.clear();
        assert_eq!(f.take("chat", "anything"), None);
    }

    #[test]
    fn rules_are_read_from_the_checks_json() {
        let r: Rule = serde_json::from_str(
            r#"{"contains":"m","times":1,"fault":{"kind":"status","status":429,"retry_after_secs":1}}"#,
        )
        .unwrap();
        assert_eq!(
            r.fault,
            Fault::Status {
                status: 429,
                retry_after_secs: Some(1)
            }
        );
    }
}
