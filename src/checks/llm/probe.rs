//! What every `llm` scenario shares: the client that calls the service, the counterpart's control routes, the
//! check's marker, and the transcript that becomes the instructors' detail.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::upstream::{describe, Call, Upstream};
use super::LlmCheck;
use crate::checks::{CheckContext, Target};

/// How a scenario ended when it did not pass.
#[derive(Debug, thiserror::Error)]
pub(super) enum ProbeError {
    /// The service misbehaved; the text is safe for the learner (no payload, no key, no expected content).
    #[error("{0}")]
    Failed(String),
    /// The check could not be carried out (the counterpart is missing or broken).
    #[error("{0}")]
    Broken(String),
}

pub(super) type Outcome = Result<(), ProbeError>;

/// A failure of the service.
pub(super) fn fail(why: impl Into<String>) -> ProbeError {
    ProbeError::Failed(why.into())
}

/// One answer of the service.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub status: u16,
    /// Every header as `name: value` lines, for the key scan.
    pub headers: String,
    pub body: String,
    pub json: Option<Value>,
}

/// A request and its answer, with the transcript lines it wrote.
pub(super) struct Exchange {
    lines: Vec<String>,
    answer: Result<Answer, ProbeError>,
}

/// A request body.
pub(super) enum Body {
    Json(Value),
    Raw(String),
}

pub(super) struct Probe {
    client: reqwest::Client,
    target: url::Url,
    pub path: String,
    pub usage_path: String,
    pub embed_path: String,
    pub upstream: Upstream,
    /// In every message this check sends; faults and ledger reads are keyed to it.
    pub marker: String,
    /// The run's `LLM_API_KEY`, which no answer may contain.
    pub key: String,
    /// The `LLM_MODEL` the service must ask for.
    pub model: String,
    pub env: std::collections::BTreeMap<String, String>,
    pub transcript: String,
    started: Instant,
}

impl Probe {
    pub fn new(
        check: &LlmCheck,
        ctx: &CheckContext,
        target: &Target,
        marker: String,
    ) -> Result<Probe, String> {
        let control = ctx
            .control
            .as_deref()
            .ok_or("no service control in this grader")?;
        let info = control
            .counterpart(&check.upstream)
            .ok_or_else(|| format!("the lab has no counterpart `{}` running", check.upstream))?;
        let token = info
            .control_token
            .ok_or_else(|| format!("counterpart `{}` has no control token", check.upstream))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let key = ctx.env.get("LLM_API_KEY").cloned().unwrap_or_default();
        if key.is_empty() {
            return Err(
                "the run's environment has no LLM_API_KEY (a `[service] secrets` entry)".into(),
            );
        }
        Ok(Probe {
            upstream: Upstream::new(client.clone(), info.addr, token),
            client,
            target: control
                .base_url()
                .unwrap_or_else(|| target.base_url.clone()),
            path: check.path.clone(),
            usage_path: check.usage_path.clone(),
            embed_path: check.embed_path.clone(),
            marker,
            key,
            model: ctx.env.get("LLM_MODEL").cloned().unwrap_or_default(),
            env: ctx.env.clone(),
            transcript: String::new(),
            started: Instant::now(),
        })
    }

    /// A line of the transcript, stamped with the time since the check began.
    pub fn note(&mut self, line: impl AsRef<str>) {
        let ms = self.started.elapsed().as_millis();
        // The key stays out of the detail even when the service leaks it.
        let line = line.as_ref().replace(&self.key, "<LLM_API_KEY>");
        let _ = writeln!(self.transcript, "[{ms:>6} ms] {line}");
    }

    /// A support message carrying the marker.
    pub fn message(&self, text: &str) -> String {
        format!("{text} (ref {})", self.marker)
    }

    /// `POST {path}` with `{"text": text}`.
    pub async fn triage(&mut self, text: &str, max: Duration) -> Result<Answer, ProbeError> {
        let path = self.path.clone();
        let body = Body::Json(serde_json::json!({ "text": text }));
        self.send("POST", &path, Some(body), max).await
    }

    /// One request to the service; no answer within `max` (or a broken connection) is the service's failure.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Body>,
        max: Duration,
    ) -> Result<Answer, ProbeError> {
        let exchange = self.exchange(method, path, body, max).await;
        self.record(exchange)
    }

    /// `POST {path}` with `{"text": text}`, without touching the transcript, for requests sent side by side;
    /// [`Probe::record`] adds its lines afterwards.
    pub fn triage_detached(
        &self,
        text: &str,
        max: Duration,
    ) -> impl std::future::Future<Output = Exchange> + '_ {
        let body = Body::Json(serde_json::json!({ "text": text }));
        self.exchange("POST", &self.path, Some(body), max)
    }

    /// Writes an exchange's lines to the transcript and gives its answer.
    pub fn record(&mut self, exchange: Exchange) -> Result<Answer, ProbeError> {
        for line in &exchange.lines {
            self.note(line);
        }
        exchange.answer
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
        max: Duration,
    ) -> Exchange {
        let mut lines = Vec::new();
        let answer = self.request(method, path, body, max, &mut lines).await;
        Exchange { lines, answer }
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Body>,
        max: Duration,
        lines: &mut Vec<String>,
    ) -> Result<Answer, ProbeError> {
        let url = self
            .target
            .join(path.trim_start_matches('/'))
            .map_err(|e| {
                ProbeError::Broken(format!("cannot join `{path}` to the service's URL: {e}"))
            })?;
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| ProbeError::Broken(e.to_string()))?;
        let mut req = self.client.request(method.clone(), url).timeout(max);
        let shown = match &body {
            Some(Body::Json(v)) => cut(&v.to_string()),
            Some(Body::Raw(t)) => cut(t),
            None => String::new(),
        };
        req = match body {
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Raw(t)) => req.header("content-type", "application/json").body(t),
            None => req,
        };
        let start = Instant::now();
        lines.push(format!("-> {method} {path} {shown}"));
        let resp = req.send().await;
        let ms = start.elapsed().as_millis() as u64;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                lines.push(format!("<- no answer within {} ms", max.as_millis()));
                return Err(fail(format!("no answer within {} s", max.as_secs())));
            }
            Err(e) => {
                lines.push(format!("<- connection failed after {ms} ms: {e}"));
                return Err(fail("the connection failed before an answer came"));
            }
        };
        let status = resp.status().as_u16();
        let headers: String = resp
            .headers()
            .iter()
            .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let body = resp.text().await.unwrap_or_default();
        let ms = start.elapsed().as_millis() as u64;
        lines.push(format!("<- {status} in {ms} ms: {}", cut(&body)));
        Ok(Answer {
            status,
            headers,
            json: serde_json::from_str(&body).ok(),
            body,
        })
    }

    /// The model's calls for this check's marker.
    pub async fn calls(&mut self) -> Result<Vec<Call>, ProbeError> {
        let calls = self
            .upstream
            .ledger(Some(&self.marker))
            .await
            .map_err(ProbeError::Broken)?;
        self.note(format!("ledger: {} call(s) with the marker", calls.len()));
        Ok(calls)
    }

    /// The ledger of the check's marker for the instructors' detail, or why it could not be read.
    pub async fn ledger_summary(&self) -> String {
        match self.upstream.ledger(Some(&self.marker)).await {
            Ok(calls) => format!(
                "model calls with the marker `{}`: {}\n{}",
                self.marker,
                calls.len(),
                describe(&calls, &self.key)
            ),
            Err(e) => format!("ledger unavailable: {e}"),
        }
    }
}

/// At most 2 KiB of a body for the transcript.
fn cut(text: &str) -> String {
    if text.len() <= 2048 {
        return text.to_string();
    }
    let mut end = 2048;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}
