//! Sending a probe's requests within the check's deadline and keeping the instructor's transcript.
//!
//! The learner's service is untrusted: the suite's client follows no redirect and uses no proxy, each request
//! gets only the time left, and at most [`KEEP_BYTES`] of an answer are kept.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rand::rngs::StdRng;
use tokio::time::Instant;

use crate::checks::{http, Target};

/// The most of a body a probe reads; enough to look for leaks in any sane error page.
const KEEP_BYTES: usize = 256 * 1024;
/// How much of each body the transcript keeps.
const SHOWN_BYTES: usize = 1024;

/// How a probe ended badly.
#[derive(Debug, thiserror::Error)]
pub(in crate::checks) enum ProbeError {
    /// The service let an attack through or misbehaved; the text is safe to show the learner.
    #[error("{0}")]
    Failed(String),
    /// The probe could not be carried out (no secret in the run's environment, a bad route): a platform fault.
    #[error("the check cannot be run: {0}")]
    Broken(String),
}

/// A request to send.
pub(super) struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Req {
        Req {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn bearer(self, token: Option<&str>) -> Req {
        match token {
            Some(t) => self.header("authorization", &format!("Bearer {t}")),
            None => self,
        }
    }

    pub fn json(mut self, v: &serde_json::Value) -> Req {
        self.body = Some(("application/json".into(), v.to_string().into_bytes()));
        self
    }

    pub fn raw(mut self, content_type: &str, body: &[u8]) -> Req {
        self.body = Some((content_type.into(), body.to_vec()));
        self
    }
}

/// An answer, headers with lower-case names.
pub(super) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The state of one probe run.
pub(super) struct Session<'a> {
    client: &'a reqwest::Client,
    target: &'a Target,
    pub env: &'a BTreeMap<String, String>,
    pub rng: StdRng,
    deadline: Instant,
    transcript: String,
}

impl<'a> Session<'a> {
    pub fn new(
        client: &'a reqwest::Client,
        target: &'a Target,
        env: &'a BTreeMap<String, String>,
        rng: StdRng,
        deadline: Instant,
    ) -> Session<'a> {
        Session {
            client,
            target,
            env,
            rng,
            deadline,
            transcript: String::new(),
        }
    }

    pub fn note(&mut self, line: &str) {
        let _ = writeln!(self.transcript, "{line}");
    }

    pub fn into_transcript(self) -> String {
        self.transcript
    }

    /// A value of the run's environment, or a platform fault naming the variable.
    pub fn env_value(&self, name: &str) -> Result<String, ProbeError> {
        self.env
            .get(name)
            .cloned()
            .ok_or_else(|| ProbeError::Broken(format!("the run's environment has no `{name}`")))
    }

    /// Sends `req`, labelled in the transcript with what the request tries (`attack`).
    pub async fn send(&mut self, attack: &str, req: Req) -> Result<Answer, ProbeError> {
        self.send_within(attack, req, None).await
    }

    /// Like [`Session::send`], waiting at most `cap` for this answer (and never past the deadline): for probes
    /// that bound each answer's time and must not spend the whole check on one slow request.
    pub async fn send_within(
        &mut self,
        attack: &str,
        req: Req,
        cap: Option<std::time::Duration>,
    ) -> Result<Answer, ProbeError> {
        let url = self.target.base_url.join(&req.path).map_err(|e| {
            ProbeError::Broken(format!("cannot join `{}` to the target: {e}", req.path))
        })?;
        let _ = writeln!(self.transcript, "── {attack}: {} {url}", req.method);
        for (n, v) in &req.headers {
            let _ = writeln!(self.transcript, "> {n}: {v}");
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| ProbeError::Broken(format!("method `{}`: {e}", req.method)))?;
        let mut builder = self.client.request(method, url);
        for (n, v) in &req.headers {
            builder = builder.header(n.as_str(), v.as_str());
        }
        if let Some((ct, body)) = req.body {
            self.body(">", &body);
            builder = builder.header("content-type", ct).body(body);
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        let left = cap.map_or(left, |c| c.min(left));
        if left.is_zero() {
            return Err(ProbeError::Failed(
                "no answer within the time limit".to_string(),
            ));
        }
        let answer = match http::receive(builder.timeout(left), KEEP_BYTES).await {
            Ok(a) => Answer {
                status: a.status,
                headers: a.headers,
                body: a.body,
            },
            Err(e) => {
                let _ = writeln!(self.transcript, "< no answer: {}", http::error_chain(&e));
                let why = if e.is_timeout() {
                    "no answer within the time limit"
                } else {
                    "the service did not answer (connection refused or reset)"
                };
                return Err(ProbeError::Failed(why.to_string()));
            }
        };
        let _ = writeln!(self.transcript, "< {}", answer.status);
        for (n, v) in &answer.headers {
            let _ = writeln!(self.transcript, "< {n}: {v}");
        }
        self.body("<", &answer.body);
        Ok(answer)
    }

    fn body(&mut self, prefix: &str, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN_BYTES)]);
        for line in shown.lines() {
            let _ = writeln!(self.transcript, "{prefix} {line}");
        }
        if bytes.len() > SHOWN_BYTES {
            let _ = writeln!(self.transcript, "{prefix} … ({} bytes in all)", bytes.len());
        }
    }
}
