//! The OTLP receiver as the check reads it: `GET /_gauntlet/spans?since=<unix nanos>` with the run's control
//! token, answering the spans it kept, flattened (`services/counterparts/src/otlp_receiver/flatten.rs` writes
//! this shape), and its ledger.

use std::net::SocketAddr;

use serde::Deserialize;
use serde_json::{Map, Value};

/// One span as the receiver flattened it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    #[serde(default)]
    pub parent_span_id: String,
    #[serde(default)]
    pub name: String,
    /// `SERVER`, `CLIENT`, `INTERNAL`, ...
    pub kind: String,
    #[serde(default)]
    pub start_time_unix_nano: u64,
    #[serde(default)]
    pub end_time_unix_nano: u64,
    pub service_name: Option<String>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// `json` or `protobuf`.
    #[serde(default)]
    pub encoding: String,
}

impl ReceivedSpan {
    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_empty()
    }

    /// The first of `keys` the span has, as text (a number as its digits).
    pub fn attribute(&self, keys: &[&str]) -> Option<(String, String)> {
        keys.iter().find_map(|k| {
            let text = match self.attributes.get(*k)? {
                Value::String(s) => s.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some((k.to_string(), text))
        })
    }
}

/// What the receiver answered.
#[derive(Debug, Deserialize)]
pub(super) struct Snapshot {
    pub spans: Vec<ReceivedSpan>,
    #[serde(default)]
    pub ledger: Value,
}

/// The receiver could not be read: a platform fault, never the learner's.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReceiverError {
    #[error("/_gauntlet/spans: {0}")]
    Request(#[from] reqwest::Error),
    #[error("/_gauntlet/spans answered {0}")]
    Status(reqwest::StatusCode),
}

/// The receiver of one run.
pub(super) struct Receiver<'a> {
    client: &'a reqwest::Client,
    base: String,
    token: &'a str,
}

impl<'a> Receiver<'a> {
    pub fn new(client: &'a reqwest::Client, addr: SocketAddr, token: &'a str) -> Receiver<'a> {
        Receiver {
            client,
            base: format!("http://{addr}"),
            token,
        }
    }

    /// Forgets every span kept so far: what earlier checks (or a load test) left must not fill the receiver.
    pub async fn clear(&self) -> Result<(), ReceiverError> {
        self.control(self.client.delete(format!("{}/_gauntlet/spans", self.base)))
            .await?;
        Ok(())
    }

    /// The spans that started at or after `since` (Unix nanoseconds).
    pub async fn spans(&self, since: u64) -> Result<Snapshot, ReceiverError> {
        let res = self
            .control(
                self.client
                    .get(format!("{}/_gauntlet/spans?since={since}", self.base)),
            )
            .await?;
        Ok(res.json().await?)
    }

    /// Sends a control request with the run's token and a bound on its time; any status but success is an error.
    async fn control(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ReceiverError> {
        let res = request
            .bearer_auth(self.token)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(ReceiverError::Status(res.status()));
        }
        Ok(res)
    }
}
