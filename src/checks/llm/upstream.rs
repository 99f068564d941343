//! The model upstream's control routes as a check uses them: arm a fault for the check's marker, clear the
//! faults, read the ledger. Every request carries the run's control token (`CounterpartInfo::control_token`),
//! which the learner's service never sees, so it can neither arm faults nor read the ledger.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

/// One call the model received, as its ledger reports it (`services/counterparts`, `ledger.rs`).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Call {
    pub seq: u64,
    pub at_ms: u64,
    pub endpoint: String,
    pub model: String,
    pub status: u16,
    pub usage: Option<Usage>,
    pub authorization: String,
    pub fault: Option<String>,
    pub completed: bool,
    pub content: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub(super) struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Deserialize)]
struct LedgerAnswer {
    calls: Vec<Call>,
}

/// The counterpart, reached from the grader.
pub(super) struct Upstream {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// Control requests are small and local: a counterpart slower than this is broken.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

impl Upstream {
    pub fn new(client: reqwest::Client, addr: std::net::SocketAddr, token: String) -> Upstream {
        Upstream {
            client,
            base: format!("http://{addr}"),
            token,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
        let resp = req
            .bearer_auth(&self.token)
            .timeout(CONTROL_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("model upstream control: {e}"))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(format!("model upstream control answered {}", resp.status()))
        }
    }

    /// Arms `fault` (the counterpart's `Fault` JSON) for chat calls whose prompt contains `marker`, `times`
    /// times (every time with `None`).
    pub async fn arm(&self, marker: &str, times: Option<u32>, fault: Value) -> Result<(), String> {
        let rule = json!({"contains": marker, "times": times, "endpoint": "chat", "fault": fault});
        let url = format!("{}/_gauntlet/faults", self.base);
        self.send(self.client.post(url).json(&rule))
            .await
            .map(|_| ())
    }

    pub async fn clear(&self) -> Result<(), String> {
        let url = format!("{}/_gauntlet/faults", self.base);
        self.send(self.client.delete(url)).await.map(|_| ())
    }

    /// The calls whose prompt contains `marker` (every call with `None`), in arrival order.
    pub async fn ledger(&self, marker: Option<&str>) -> Result<Vec<Call>, String> {
        let mut url = reqwest::Url::parse(&format!("{}/_gauntlet/ledger", self.base))
            .map_err(|e| e.to_string())?;
        if let Some(m) = marker {
            url.query_pairs_mut().append_pair("contains", m);
        }
        let resp = self.send(self.client.get(url)).await?;
        let answer: LedgerAnswer = resp
            .json()
            .await
            .map_err(|e| format!("model upstream ledger: {e}"))?;
        Ok(answer.calls)
    }
}

/// One line per call for the instructors' detail; the `Authorization` received is shown only as whether it was
/// the run's key.
pub(super) fn describe(calls: &[Call], key: &str) -> String {
    let mut out = String::new();
    for c in calls {
        let usage = c
            .usage
            .map(|u| format!("{}+{} tokens", u.prompt_tokens, u.completion_tokens))
            .unwrap_or_else(|| "no usage".into());
        let auth = if c.authorization == format!("Bearer {key}") {
            "the run's key"
        } else {
            "NOT the run's key"
        };
        out.push_str(&format!(
            "  #{} at {} ms: {} model `{}` -> {} ({usage}){}{}, {auth}\n",
            c.seq,
            c.at_ms,
            c.endpoint,
            c.model,
            c.status,
            c.fault
                .as_ref()
                .map(|f| format!(", fault {f}"))
                .unwrap_or_default(),
            if c.completed { "" } else { ", caller gave up" },
        ));
    }
    out
}
