//! A lab's public side: `labs/<id>/lab.toml` (metadata, service contract, limits) and `README.md` (the
//! instructions learners read). Hidden checks live beside them in `checks/` and are never read here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::lab_build::RawBuild;
pub use super::lab_build::{BuildSpec, ReportPath};
use super::lab_counterpart::RawCounterpart;
pub use super::lab_counterpart::{CounterpartSpec, TopicSpec};
use super::markdown::{self, TocEntry};
use crate::diagnostics::Diagnostic;
use crate::domain::{LabId, PillarId, Week};

/// A lab as learners and the grader see it.
#[derive(Debug, Clone)]
pub struct Lab {
    pub id: LabId,
    pub title: String,
    pub week: Week,
    pub summary: String,
    /// Pillars the lab counts toward, with their weights.
    pub pillars: Vec<(PillarId, f64)>,
    pub service: ServiceSpec,
    pub limits: Limits,
    pub timeouts: Timeouts,
    pub build: BuildSpec,
    /// Containers the grader starts beside the service on the run network, in `lab.toml`'s order.
    pub counterparts: Vec<CounterpartSpec>,
    /// Fixed, non-secret values of the service's environment (`[env]` in lab.toml), known to the checks as
    /// `{{env.NAME}}` like the secrets; a check may refer only to names the run's environment will hold.
    pub env: BTreeMap<String, String>,
    pub readme_html: String,
    pub toc: Vec<TocEntry>,
    /// The lab's folder.
    pub dir: PathBuf,
    /// The lab's starter projects (`<dir>/starter/` first, then `<dir>/starters/<name>/` by name), each
    /// holding a Dockerfile; empty when it offers none.
    pub starters: Vec<super::starter::Starter>,
    /// Whether the lab has hidden checks (a `.toml` file under `checks/`; only their presence is read here).
    /// A lab without them is built and started but not scored, and does not count toward progress.
    pub graded: bool,
}

/// How Gauntlet reaches the learner's service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_health")]
    pub health: String,
    /// Environment variables that get a fresh random secret for each run (e.g. `JWT_SECRET`,
    /// `ADMIN_PASSWORD`), which the checks know too: a service that hard-codes its signing key fails them.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Where a persistent volume is mounted in the container (also given as `DATA_DIR`), for labs whose checks
    /// restart the service and expect its data back.
    #[serde(default)]
    pub data_dir: Option<String>,
    /// Who the service runs as: Gauntlet's non-root user (the default), or the image's own `USER` for a lab
    /// that grades what the image declares.
    #[serde(default)]
    pub run_as: RunAs,
}

/// The user a lab's service runs as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunAs {
    /// uid and gid 10001, whatever the image says (`sandbox::User::DEFAULT`).
    #[default]
    Gauntlet,
    /// The image's `USER` (root when it declares none).
    Image,
}

/// Resources the learner's container may use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "default_memory", deserialize_with = "positive_u64")]
    pub memory_mb: u64,
    #[serde(default = "default_cpus", deserialize_with = "positive_cpus")]
    pub cpus: f64,
    #[serde(default = "default_pids", deserialize_with = "positive_i64")]
    pub pids: i64,
    /// Open files per process (soft and hard limit).
    #[serde(default = "default_nofile", deserialize_with = "positive_u64")]
    pub nofile: u64,
}

// Docker reads 0 (and for pids, -1) as "no limit": a limit in lab.toml must be a real one.
const UNLIMITED: &str = "must be greater than 0 (Docker would read 0 as no limit at all)";

fn positive_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(serde::de::Error::custom(UNLIMITED)),
        n => Ok(n),
    }
}

fn positive_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match i64::deserialize(d)? {
        n if n > 0 => Ok(n),
        _ => Err(serde::de::Error::custom(UNLIMITED)),
    }
}

fn positive_cpus<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match f64::deserialize(d)? {
        // Below a millicore the engine refuses the container anyway.
        n if n.is_finite() && n >= 0.001 => Ok(n),
        _ => Err(serde::de::Error::custom(
            "must be at least 0.001 (a thousandth of a core); 0 would mean no limit",
        )),
    }
}

/// Deadlines of a run's stages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default = "default_build")]
    pub build_secs: u64,
    #[serde(default = "default_start")]
    pub start_secs: u64,
    #[serde(default = "default_checks")]
    pub checks_secs: u64,
}

fn default_port() -> u16 {
    8080
}
fn default_health() -> String {
    "/healthz".into()
}
fn default_memory() -> u64 {
    256
}
fn default_cpus() -> f64 {
    1.0
}
fn default_pids() -> i64 {
    128
}
fn default_nofile() -> u64 {
    4096
}
fn default_build() -> u64 {
    300
}
fn default_start() -> u64 {
    20
}
fn default_checks() -> u64 {
    120
}

impl Default for ServiceSpec {
    fn default() -> Self {
        ServiceSpec {
            port: default_port(),
            health: default_health(),
            secrets: Vec::new(),
            data_dir: None,
            run_as: RunAs::default(),
        }
    }
}
impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: default_memory(),
            cpus: default_cpus(),
            pids: default_pids(),
            nofile: default_nofile(),
        }
    }
}
impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            build_secs: default_build(),
            start_secs: default_start(),
            checks_secs: default_checks(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLab {
    title: String,
    week: Spanned<i64>,
    #[serde(default)]
    summary: String,
    pillars: Spanned<BTreeMap<Spanned<String>, f64>>,
    #[serde(default)]
    service: ServiceSpec,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    timeouts: Timeouts,
    #[serde(default)]
    build: RawBuild,
    #[serde(default)]
    counterpart: Vec<RawCounterpart>,
    #[serde(default)]
    env: BTreeMap<Spanned<String>, String>,
    /// The language each starter's download is labelled with, by starter name (`default` is `starter/`).
    #[serde(default)]
    starters: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// A lab as parsed, with the lines that cross-references must check later.
pub(super) struct Parsed {
    pub lab: Lab,
    pub week_line: usize,
    pub pillar_lines: Vec<(PillarId, usize)>,
}

/// Parses a lab folder whose name is `id`; problems go to `problems`.
pub(super) fn parse(dir: &Path, id: LabId, problems: &mut Vec<Diagnostic>) -> Option<Parsed> {
    let toml_path = dir.join("lab.toml");
    let text = match std::fs::read_to_string(&toml_path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Diagnostic::new(
                &toml_path,
                None,
                format!("cannot read the lab's lab.toml: {e}"),
            ));
            return None;
        }
    };
    let at = |offset: usize, msg: String| Diagnostic::at_offset(&toml_path, &text, offset, msg);
    let raw: RawLab = match toml::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            problems.push(at(e.span().map_or(0, |s| s.start), e.message().to_string()));
            return None;
        }
    };
    let build = raw
        .build
        .resolve(|offset, message| problems.push(at(offset, message)));
    let counterparts = super::lab_counterpart::resolve(
        raw.counterpart,
        &super::lab_counterpart::Reserved {
            secrets: &raw.service.secrets,
        },
        |offset, message| problems.push(at(offset, message)),
    );
    let reserved = super::lab_counterpart::Reserved {
        secrets: &raw.service.secrets,
    };
    let mut env = BTreeMap::new();
    for (name, value) in &raw.env {
        let why = if !env_name(name.get_ref()) {
            Some("names are upper-case letters, digits and `_`, not starting with a digit")
        } else {
            reserved.why(name.get_ref())
        };
        match why {
            Some(why) => problems.push(at(
                name.span().start,
                format!("[env] cannot set `{}`: {why}", name.get_ref()),
            )),
            None => {
                env.insert(name.get_ref().clone(), value.clone());
            }
        }
    }
    let week_line = crate::diagnostics::line_of(&text, raw.week.span().start);
    let week = match Week::parse(*raw.week.get_ref()) {
        Ok(w) => w,
        Err(e) => {
            problems.push(at(raw.week.span().start, e.to_string()));
            return None;
        }
    };
    let mut pillar_lines = Vec::new();
    let mut pillars = Vec::new();
    if raw.pillars.get_ref().is_empty() {
        problems.push(at(
            raw.pillars.span().start,
            "the lab counts toward no pillar".into(),
        ));
    }
    for (name, weight) in raw.pillars.get_ref() {
        let line = crate::diagnostics::line_of(&text, name.span().start);
        match PillarId::parse(name.get_ref()) {
            Ok(_) if !(weight.is_finite() && *weight > 0.0) => problems.push(Diagnostic::new(
                &toml_path,
                Some(line),
                format!(
                    "the weight of pillar `{}` must be a positive number",
                    name.get_ref()
                ),
            )),
            Ok(p) => {
                pillar_lines.push((p.clone(), line));
                pillars.push((p, *weight));
            }
            Err(e) => problems.push(Diagnostic::new(&toml_path, Some(line), e.to_string())),
        }
    }
    if !raw.service.health.starts_with('/') {
        problems.push(Diagnostic::new(
            &toml_path,
            None,
            format!(
                "[service] health must be a path starting with `/`, not `{}`",
                raw.service.health
            ),
        ));
    }
    let readme_path = dir.join("README.md");
    let readme = match std::fs::read_to_string(&readme_path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Diagnostic::new(
                &readme_path,
                None,
                format!("every lab needs public instructions in README.md: {e}"),
            ));
            String::new()
        }
    };
    let rendered = markdown::render(&readme);
    let graded = std::fs::read_dir(dir.join("checks")).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
    });
    let starters = super::starter::resolve(dir, &raw.starters, &toml_path, &text, problems);
    Some(Parsed {
        lab: Lab {
            id,
            title: raw.title.trim().to_string(),
            week,
            summary: raw.summary.trim().to_string(),
            pillars,
            service: raw.service,
            limits: raw.limits,
            timeouts: raw.timeouts,
            build,
            counterparts,
            env,
            readme_html: rendered.html,
            toc: rendered.toc,
            dir: dir.to_path_buf(),
            starters,
            graded,
        },
        week_line,
        pillar_lines,
    })
}

/// Whether `name` is a plain environment variable name.
fn env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl Lab {
    /// The names the service's (and so the checks') environment holds in every run: what Gauntlet sets, the
    /// secrets, the counterparts' values and `[env]`. `validate` refuses a `{{env.NAME}}` outside them, which
    /// would otherwise end the check in `error` at run time while the run could still pass.
    pub fn env_names(&self) -> std::collections::BTreeSet<String> {
        let mut names: std::collections::BTreeSet<String> = ["PORT", "GAUNTLET_SEED"]
            .into_iter()
            .map(str::to_string)
            .collect();
        if self.service.data_dir.is_some() {
            names.insert("DATA_DIR".into());
        }
        names.extend(self.service.secrets.iter().cloned());
        for c in &self.counterparts {
            names.extend(c.service_env().map(|(k, _)| k));
        }
        names.extend(self.env.keys().cloned());
        names
    }

    /// Loads one lab folder on its own (for `gauntlet grade`, which needs no course); its id is the folder's name.
    pub fn load(dir: &Path) -> Result<Lab, Vec<Diagnostic>> {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_default();
        let id = LabId::parse(&name).map_err(|e| {
            vec![Diagnostic::new(
                dir,
                None,
                format!("a lab's folder name is its id: {e}"),
            )]
        })?;
        let mut problems = Vec::new();
        match parse(dir, id, &mut problems) {
            Some(parsed) if problems.is_empty() => Ok(parsed.lab),
            _ => Err(problems),
        }
    }
}
