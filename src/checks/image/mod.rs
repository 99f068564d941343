//! The `image` kind: the learner's built final image, read through the engine rather than through the service.
//!
//! A platform runs what the image says, so the image is graded as a platform would receive it: who it runs as,
//! how its process starts, what its layers carry (build tools, caches, secrets, even in files a later layer
//! deleted) and how much the learner added above the base image. The engine stays out of this module: the
//! grader hands over [`ImageFacts`] (configuration, history, base) and a `docker save` stream through
//! [`crate::checks::ServiceControl`].
//!
//! - `parse.rs`: the `[check.image]` table (which rules, the size cap), with diagnostics;
//! - `config.rs`: the rules read from the configuration and history (user, entrypoint, secret variables);
//! - `export.rs`: the `docker save` stream walked file by file, layer tars read as nested streams;
//! - `tools.rs`: the documented lists of compilers, package managers and caches per ecosystem;
//! - `secrets.rs`: secret files, key patterns and secret-looking variable names;
//! - `report.rs`: findings, and the two texts of the outcome.

mod config;
mod export;
pub(super) mod parse;
mod report;
mod secrets;
mod tools;

use std::pin::Pin;

use super::ServiceControl;

pub use export::{scan_export, LayerScan, ScanError, SCAN_CAP};
pub use report::Finding;

/// One rule of the `image` kind; a check selects one or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// `USER` is a non-zero numeric uid (`10001`, `10001:10001`).
    NonRootUser,
    /// The entrypoint (or command) is a JSON array, not `/bin/sh -c …`, unless an init runs the shell.
    ExecForm,
    /// No compiler, toolchain or package-manager cache anywhere; no package manager the learner added.
    NoBuildTools,
    /// No secret in any layer's files, in the environment or in the history.
    NoSecrets,
    /// What the learner added above the base image stays under the check's cap.
    AddedSize,
}

impl Rule {
    pub const ALL: [Rule; 5] = [
        Rule::NonRootUser,
        Rule::ExecForm,
        Rule::NoBuildTools,
        Rule::NoSecrets,
        Rule::AddedSize,
    ];

    /// The name in check files.
    pub fn name(self) -> &'static str {
        match self {
            Rule::NonRootUser => "non-root-user",
            Rule::ExecForm => "exec-form",
            Rule::NoBuildTools => "no-build-tools",
            Rule::NoSecrets => "no-secrets",
            Rule::AddedSize => "added-size",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether the rule reads the layers' files (the export), not just the configuration.
    fn reads_layers(self) -> bool {
        matches!(self, Rule::NoBuildTools | Rule::NoSecrets)
    }
}

/// One image check, as written under `[check.image]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCheck {
    /// At least one, each once, in the order of [`Rule::ALL`].
    pub rules: Vec<Rule>,
    /// Bytes the learner may add above the base image; set exactly when `AddedSize` is selected.
    pub max_added_bytes: Option<u64>,
}

/// What the engine says about the built image, oldest history entry first.
#[derive(Debug, Clone, Default)]
pub struct ImageFacts {
    /// `sha256:…`, for the detail.
    pub id: String,
    /// `Config.User`, as written (`""` is root).
    pub user: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `NAME=value` pairs of the final configuration, the base's included.
    pub env: Vec<String>,
    /// Bytes of every layer together.
    pub size: u64,
    /// How many layers the image has (`RootFS.Layers`).
    pub layers: usize,
    pub history: Vec<HistoryEntry>,
    /// The final stage's base image; `None` for `FROM scratch` (everything is the learner's).
    pub base: Option<BaseImage>,
}

/// A base image the learner built on: its layers, history and environment are a prefix of the built image's.
#[derive(Debug, Clone, Default)]
pub struct BaseImage {
    /// A name it is known by (`python:3.12-slim`).
    pub name: String,
    pub layers: usize,
    pub history: usize,
    pub size: u64,
    pub env: Vec<String>,
}

/// One entry of `docker history`.
#[derive(Debug, Clone, Default)]
pub struct HistoryEntry {
    /// The instruction as the builder recorded it (`/bin/sh -c #(nop)  ENV A=b`, `|1 X=y /bin/sh -c make`).
    pub created_by: String,
    pub size: u64,
    /// `ENV`, `USER` and the like add no layer.
    pub empty_layer: bool,
}

impl ImageFacts {
    /// How many of the image's layers come from its base.
    pub fn base_layers(&self) -> usize {
        self.base.as_ref().map_or(0, |b| b.layers)
    }

    /// The history entries the learner's Dockerfile wrote (the final stage's), with their indexes.
    fn learner_history(&self) -> impl Iterator<Item = (usize, &HistoryEntry)> {
        let skip = self.base.as_ref().map_or(0, |b| b.history);
        self.history.iter().enumerate().skip(skip)
    }

    /// The history entry that made layer `layer` (0 = the oldest), for naming it in a finding.
    /// `None` when the history's layer-making entries do not match the layers one for one (the history API
    /// does not say which entries made a layer, so that is judged from their instructions).
    pub fn layer_origin(&self, layer: usize) -> Option<&HistoryEntry> {
        let mut made = self.history.iter().filter(|h| !h.empty_layer);
        if made.clone().count() != self.layers {
            return None;
        }
        made.nth(layer)
    }
}

/// The engine's side of an image check, as the grader provides it.
pub type ExportStream = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

pub(super) use super::judged::Judged;

/// Runs `check` on the run's image.
pub(super) async fn run(check: &ImageCheck, control: Option<&dyn ServiceControl>) -> Judged {
    let Some(control) = control else {
        return Judged::broken("no access to the run's image here".into());
    };
    let facts = match control.image_facts().await {
        Ok(f) => f,
        Err(e) => return Judged::broken(format!("reading the image: {e}")),
    };
    let mut findings = Vec::new();
    for rule in &check.rules {
        findings.extend(config::judge(*rule, check, &facts));
    }
    let mut scanned = None;
    if check.rules.iter().any(|r| r.reads_layers()) {
        let export = match control.export_image().await {
            Ok(s) => s,
            Err(e) => return Judged::broken(format!("exporting the image: {e}")),
        };
        let handle = tokio::runtime::Handle::current();
        let rules = check.rules.clone();
        let base_layers = facts.base_layers();
        let walked = tokio::task::spawn_blocking(move || {
            // Buffered: the tar reader reads header by header, and each read of the bridge is a hop to the runtime.
            let bridge = tokio_util::io::SyncIoBridge::new_with_handle(export, handle);
            scan_export(
                std::io::BufReader::with_capacity(256 * 1024, bridge),
                &rules,
                base_layers,
            )
        })
        .await;
        match walked {
            Ok(Ok(scan)) => {
                findings.extend(scan.findings.iter().cloned());
                scanned = Some(scan);
            }
            Ok(Err(e)) => return Judged::broken(format!("reading the exported image: {e}")),
            Err(e) => return Judged::broken(format!("the image scan stopped: {e}")),
        }
    }
    report::judged(check, &facts, scanned.as_ref(), findings)
}
