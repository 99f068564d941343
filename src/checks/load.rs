//! Reading a lab's check files and refusing bad ones with every problem pinned to a file and a line.
//!
//! The raw TOML shapes keep `Spanned` values wherever a later rule may need to point at a line; the checked
//! [`CheckDef`]s carry none of that. Fields shared by every kind are checked here, kind-specific ones by the
//! kind's own parser (`http/parse.rs`), and cross-file rules (duplicate ids, dependencies) once every file is
//! read, so an author sees the whole batch of problems at once.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::events::parse::{self as events_parse, RawEvents};
use super::grader::parse::{self as grader_parse, RawGrader};
use super::graphql::parse::{self as graphql_parse, RawGraphql};
use super::http::parse::{self as http_parse, RawStep};
use super::image::parse::{self as image_parse, RawImage};
use super::include::{self, IncludeDecl, RawInclude};
use super::lifecycle::parse::{self as lifecycle_parse, RawLifecycle};
use super::llm::parse::{self as llm_parse, RawLlm};
use super::load_kind::parse::{self as load_parse, RawLoad};
use super::manifests::parse::{self as manifests_parse, RawManifests};
use super::metrics::parse::{self as metrics_parse, RawMetrics};
use super::openapi::parse::{self as openapi_parse, RawOpenApi};
use super::security::parse::{self as security_parse, RawSecurity};
use super::swap::parse::{self as swap_parse, RawSwap};
use super::tracing::parse::{self as tracing_parse, RawTracing};
use super::{graph, CheckDef, CheckKind, CheckSuite};
use crate::diagnostics::{line_of, Diagnostic};

/// Default deadline of a whole check.
const DEFAULT_TIMEOUT_SECS: i64 = 10;

/// The text of one check file, to turn byte offsets into diagnostics.
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    pub fn at(&self, offset: usize, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::at_offset(self.path, self.text, offset, msg)
    }

    /// Byte offset of the line where `key = ...` is written in the table starting at `start` (up to the next
    /// `[[...]]`), or `start`: for fields whose serde span is lost by `flatten` (the security kind's fields,
    /// and serde's unknown-field error, which then spans the whole check).
    pub fn key_offset(&self, start: usize, key: &str) -> usize {
        let mut offset = start;
        for line in self.text[start.min(self.text.len())..].split_inclusive('\n') {
            let t = line.trim_start();
            if t.starts_with("[[") && offset > start {
                break;
            }
            let bare = t.strip_prefix(key);
            let quoted = t
                .strip_prefix('"')
                .and_then(|r| r.strip_prefix(key))
                .and_then(|r| r.strip_prefix('"'));
            if let Some(rest) = bare.or(quoted) {
                if rest.trim_start().starts_with('=') {
                    return offset + (line.len() - t.len());
                }
            }
            offset += line.len();
        }
        start
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    check: Vec<Spanned<RawCheck>>,
    /// Checks of an earlier lab re-run here (`include.rs`).
    #[serde(default)]
    include: Vec<Spanned<RawInclude>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: Spanned<String>,
    kind: Spanned<String>,
    title: Spanned<String>,
    #[serde(default)]
    hint: String,
    pillar: Spanned<String>,
    weight: Option<Spanned<f64>>,
    #[serde(default = "default_required")]
    required: bool,
    #[serde(default)]
    depends_on: Vec<Spanned<String>>,
    timeout_secs: Option<Spanned<i64>>,
    /// The steps of an `http` check (and of an `openapi` check's scenario).
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    /// The request and limits of a `load` check.
    load: Option<Spanned<RawLoad>>,
    /// The document, operations and generation of an `openapi` check.
    openapi: Option<Spanned<RawOpenApi>>,
    /// The scenario of a `lifecycle` check.
    lifecycle: Option<Spanned<RawLifecycle>>,
    /// The versions, traffic and waits of a `swap` check.
    swap: Option<Spanned<RawSwap>>,
    /// The rules of an `image` check.
    image: Option<Spanned<RawImage>>,
    /// The rule and source of a `manifests` check.
    manifests: Option<Spanned<RawManifests>>,
    /// The broker and steps of an `events` check.
    events: Option<Spanned<RawEvents>>,
    /// The scenario of an `llm` check.
    llm: Option<Spanned<RawLlm>>,
    /// The receiver, rules and requests of a `tracing` check.
    tracing: Option<Spanned<RawTracing>>,
    /// The exposition, routes and rules of a `metrics` check.
    metrics: Option<Spanned<RawMetrics>>,
    /// Which test of the lab's grader a `grader` check reports. Not `Spanned`: beside the flattened security
    /// fields a dotted `grader.test = …` cannot be read with a span, so problems point at the check.
    grader: Option<RawGrader>,
    /// The endpoint, schema, queries and abuse of a `graphql` check. Not `Spanned`: toml cannot span a table
    /// that only its sub-tables declare (`[[check.graphql.query]]` alone); its parser finds the header's line.
    graphql: Option<RawGraphql>,
    /// The probe fields of a `security` check, beside the shared ones as check authors expect them.
    #[serde(flatten)]
    security: RawSecurity,
}

fn default_required() -> bool {
    true
}

/// A check as read, with where it came from for the cross-file rules; `def` is `None` when the check has
/// problems of its own, but its id and dependencies still take part in the cross-file rules.
pub(super) struct Loaded {
    pub def: Option<CheckDef>,
    pub id: String,
    pub depends_on: Vec<String>,
    pub path: PathBuf,
    pub id_line: usize,
    pub dep_lines: Vec<usize>,
}

/// One lab's own check files as read: its checks in file order, and its `[[include]]`s, each knowing how many
/// checks were read before the end of its file (where the checks it brings go).
#[derive(Default)]
pub(super) struct LabFiles {
    pub loaded: Vec<Loaded>,
    pub includes: Vec<IncludeDecl>,
}

impl CheckSuite {
    /// Reads every `lab_dir/checks/*.toml` (sorted by name); `Ok` with no checks when there is no checks folder.
    ///
    /// On error, every problem found in every file, each with its file and line.
    pub fn load(lab_dir: &Path, known_pillars: &[String]) -> Result<CheckSuite, Vec<Diagnostic>> {
        let mut problems = Vec::new();
        let Some(files) = read_lab(lab_dir, known_pillars, &mut problems) else {
            return Ok(CheckSuite::default());
        };
        let loaded = include::resolve(lab_dir, files, known_pillars, &mut problems);
        cross_file_rules(&loaded, &mut problems);
        grader_parse::lab_rules(lab_dir, &loaded, &mut problems);
        problems.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        if problems.is_empty() {
            let mut checks: Vec<CheckDef> = loaded.into_iter().filter_map(|l| l.def).collect();
            super::grader::declare_all(&mut checks);
            Ok(CheckSuite { checks })
        } else {
            Err(problems)
        }
    }
}

/// Reads every `lab_dir/checks/*.toml` (sorted by name) without resolving includes; `None` when there is no
/// checks folder.
pub(super) fn read_lab(
    lab_dir: &Path,
    known_pillars: &[String],
    problems: &mut Vec<Diagnostic>,
) -> Option<LabFiles> {
    let dir = lab_dir.join("checks");
    if !dir.exists() {
        return None;
    }
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect(),
        Err(e) => {
            problems.push(Diagnostic::new(
                &dir,
                None,
                format!("cannot read the checks folder: {e}"),
            ));
            return Some(LabFiles::default());
        }
    };
    files.sort();
    let mut out = LabFiles::default();
    for path in &files {
        load_file(path, known_pillars, &mut out, problems);
    }
    Some(out)
}

impl CheckSuite {
    /// Reads one check file's `text` as `load` reads each file of a lab, with the cross-file rules applied to
    /// that file alone. For callers that hold the text rather than a lab folder (the fuzz target): its
    /// `[[include]]`s are read and checked for shape, but not resolved, since that needs the labs folder.
    pub fn parse_file(
        path: &Path,
        text: &str,
        known_pillars: &[String],
    ) -> Result<CheckSuite, Vec<Diagnostic>> {
        let (mut files, mut problems) = (LabFiles::default(), Vec::new());
        load_text(path, text, known_pillars, &mut files, &mut problems);
        cross_file_rules(&files.loaded, &mut problems);
        if problems.is_empty() {
            let mut checks: Vec<CheckDef> =
                files.loaded.into_iter().filter_map(|l| l.def).collect();
            super::grader::declare_all(&mut checks);
            Ok(CheckSuite { checks })
        } else {
            Err(problems)
        }
    }
}

fn load_file(
    path: &Path,
    known_pillars: &[String],
    files: &mut LabFiles,
    problems: &mut Vec<Diagnostic>,
) {
    match std::fs::read_to_string(path) {
        Ok(text) => load_text(path, &text, known_pillars, files, problems),
        Err(e) => problems.push(Diagnostic::new(
            path,
            None,
            format!("cannot read check file: {e}"),
        )),
    }
}

fn load_text(
    path: &Path,
    text: &str,
    known_pillars: &[String],
    files: &mut LabFiles,
    problems: &mut Vec<Diagnostic>,
) {
    let src = Source { path, text };
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let mut at = e.span().map_or(0, |s| s.start);
            // Through `flatten`, serde reports an unknown key with the span of its whole `[[check]]`.
            if let Some(key) = e
                .message()
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
            {
                at = src.key_offset(at, key);
            }
            problems.push(src.at(at, e.message().trim()));
            return;
        }
    };
    for check in raw.check {
        let start = check.span().start;
        files.loaded.push(check_def(
            &src,
            start,
            check.into_inner(),
            known_pillars,
            problems,
        ));
    }
    let at = files.loaded.len();
    for inc in raw.include {
        if let Some(decl) = include::declaration(&src, inc, at, known_pillars, problems) {
            files.includes.push(decl);
        }
    }
}

fn check_def(
    src: &Source,
    start: usize,
    raw: RawCheck,
    known_pillars: &[String],
    problems: &mut Vec<Diagnostic>,
) -> Loaded {
    let before = problems.len();
    let id = raw.id.get_ref().trim().to_string();
    if crate::domain::LabId::parse(&id).is_err() {
        problems.push(src.at(
            raw.id.span().start,
            format!(
                "`{id}` is not a valid check id (lower-case letters, digits and single hyphens)"
            ),
        ));
    }
    if raw.title.get_ref().trim().is_empty() {
        problems.push(src.at(raw.title.span().start, "a check needs a title"));
    }
    let pillar = raw.pillar.get_ref().trim().to_string();
    if !known_pillars.contains(&pillar) {
        problems.push(src.at(
            raw.pillar.span().start,
            format!(
                "unknown pillar `{pillar}` (known: {})",
                known_pillars.join(", ")
            ),
        ));
    }
    let weight = match &raw.weight {
        None => 1.0,
        Some(w) if w.get_ref().is_finite() && *w.get_ref() > 0.0 => *w.get_ref(),
        Some(w) => {
            problems.push(src.at(w.span().start, "weight must be a positive number"));
            1.0
        }
    };
    let timeout_secs = match &raw.timeout_secs {
        None => DEFAULT_TIMEOUT_SECS,
        Some(t) if *t.get_ref() > 0 && *t.get_ref() <= 3600 => *t.get_ref(),
        Some(t) => {
            problems.push(src.at(
                t.span().start,
                "timeout_secs must be between 1 and 3600 seconds",
            ));
            DEFAULT_TIMEOUT_SECS
        }
    };
    if let Some(o) = raw
        .openapi
        .as_ref()
        .filter(|_| raw.kind.get_ref() != "openapi")
    {
        problems.push(src.at(
            o.span().start,
            "[check.openapi] belongs to `openapi` checks",
        ));
    }
    if let Some(l) = raw
        .lifecycle
        .as_ref()
        .filter(|_| raw.kind.get_ref() != "lifecycle")
    {
        problems.push(src.at(
            l.span().start,
            "[check.lifecycle] belongs to `lifecycle` checks",
        ));
    }
    if let Some(s) = raw.swap.as_ref().filter(|_| raw.kind.get_ref() != "swap") {
        problems.push(src.at(s.span().start, "[check.swap] belongs to `swap` checks"));
    }
    if let Some(i) = raw.image.as_ref().filter(|_| raw.kind.get_ref() != "image") {
        problems.push(src.at(i.span().start, "[check.image] belongs to `image` checks"));
    }
    if let Some(m) = raw
        .manifests
        .as_ref()
        .filter(|_| raw.kind.get_ref() != "manifests")
    {
        problems.push(src.at(
            m.span().start,
            "[check.manifests] belongs to `manifests` checks",
        ));
    }
    if let Some(e) = raw
        .events
        .as_ref()
        .filter(|_| raw.kind.get_ref() != "events")
    {
        problems.push(src.at(e.span().start, "[check.events] belongs to `events` checks"));
    }
    if let Some(l) = raw.llm.as_ref().filter(|_| raw.kind.get_ref() != "llm") {
        problems.push(src.at(l.span().start, "[check.llm] belongs to `llm` checks"));
    }
    if let Some(t) = raw
        .tracing
        .as_ref()
        .filter(|_| raw.kind.get_ref() != "tracing")
    {
        problems.push(src.at(
            t.span().start,
            "[check.tracing] belongs to `tracing` checks",
        ));
    }
    if let Some(m) = raw
        .metrics
        .as_ref()
        .filter(|_| raw.kind.get_ref() != "metrics")
    {
        problems.push(src.at(
            m.span().start,
            "[check.metrics] belongs to `metrics` checks",
        ));
    }
    if raw.grader.is_some() && raw.kind.get_ref() != "grader" {
        problems.push(src.at(
            src.key_offset(start, "grader.test"),
            "[check.grader] belongs to `grader` checks",
        ));
    }
    if raw.graphql.is_some() && raw.kind.get_ref() != "graphql" {
        let at = graphql_parse::header_at(src, start, "[check.graphql");
        problems.push(src.at(at, "[check.graphql] belongs to `graphql` checks"));
    }
    /// The kinds this loader knows, for the unknown-kind message and the checks below.
    const KINDS: [&str; 14] = [
        "events",
        "grader",
        "graphql",
        "http",
        "image",
        "lifecycle",
        "llm",
        "load",
        "manifests",
        "metrics",
        "openapi",
        "security",
        "swap",
        "tracing",
    ];
    let kind_name = raw.kind.get_ref().as_str();
    // `[check.load]` and the security probe's fields belong to their own kinds only.
    if KINDS.contains(&kind_name) {
        if let Some(l) = raw.load.as_ref().filter(|_| kind_name != "load") {
            problems.push(src.at(l.span().start, "[check.load] belongs to `load` checks"));
        }
        if kind_name != "security" {
            security_parse::reject_on_other_kind(src, start, kind_name, &raw.security, problems);
        }
    }
    let has_steps = !raw.step.is_empty();
    let kind = match kind_name {
        "http" => http_parse::scenario(src, start, raw.step, problems).map(CheckKind::Http),
        "load" => load_parse::check(src, start, raw.load, raw.step, timeout_secs, problems)
            .map(|c| CheckKind::Load(Box::new(c))),
        "security" => security_parse::probe(src, start, has_steps, raw.security, problems)
            .map(|p| CheckKind::Security(Box::new(p))),
        "openapi" => openapi_parse::check(src, start, raw.openapi, raw.step, problems)
            .map(|c| CheckKind::OpenApi(Box::new(c))),
        "lifecycle" => {
            lifecycle_parse::check(src, start, raw.lifecycle, has_steps, timeout_secs, problems)
                .map(|c| CheckKind::Lifecycle(Box::new(c)))
        }
        "swap" => swap_parse::check(src, start, raw.swap, has_steps, timeout_secs, problems)
            .map(|c| CheckKind::Swap(Box::new(c))),
        "image" => {
            image_parse::check(src, start, raw.image, has_steps, problems).map(CheckKind::Image)
        }
        "manifests" => manifests_parse::check(src, start, raw.manifests, has_steps, problems)
            .map(CheckKind::Manifests),
        "events" => events_parse::check(src, start, raw.events, has_steps, problems)
            .map(|c| CheckKind::Events(Box::new(c))),
        "llm" => llm_parse::check(src, start, raw.llm, has_steps, problems).map(CheckKind::Llm),
        "tracing" => {
            tracing_parse::check(src, start, raw.tracing, has_steps, timeout_secs, problems)
                .map(|c| CheckKind::Tracing(Box::new(c)))
        }
        "metrics" => metrics_parse::check(src, start, raw.metrics, raw.step, problems)
            .map(|c| CheckKind::Metrics(Box::new(c))),
        "grader" => grader_parse::check(src, start, &id, raw.grader, has_steps, problems)
            .map(CheckKind::Grader),
        "graphql" => {
            graphql_parse::check(src, start, raw.graphql, raw.step, timeout_secs, problems)
                .map(|c| CheckKind::Graphql(Box::new(c)))
        }
        other => {
            problems.push(src.at(
                raw.kind.span().start,
                format!("unknown check kind `{other}` (known: {})", KINDS.join(", ")),
            ));
            None
        }
    };
    let depends_on: Vec<String> = raw
        .depends_on
        .iter()
        .map(|d| d.get_ref().trim().to_string())
        .collect();
    let def = kind
        .filter(|_| problems.len() == before)
        .map(|kind| CheckDef {
            id: id.clone(),
            title: raw.title.get_ref().trim().to_string(),
            hint: raw.hint.trim().to_string(),
            pillar,
            weight,
            required: raw.required,
            depends_on: depends_on.clone(),
            timeout: Duration::from_secs(timeout_secs.unsigned_abs()),
            kind,
        });
    Loaded {
        def,
        id,
        depends_on,
        path: src.path.to_path_buf(),
        id_line: src.line(raw.id.span().start),
        dep_lines: raw
            .depends_on
            .iter()
            .map(|d| src.line(d.span().start))
            .collect(),
    }
}

/// Rules that need every file: unique ids, dependencies that exist and do not loop.
fn cross_file_rules(loaded: &[Loaded], problems: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Loaded> = HashMap::new();
    for l in loaded {
        if let Some(f) = first.get(l.id.as_str()) {
            problems.push(Diagnostic::new(
                &l.path,
                Some(l.id_line),
                format!(
                    "duplicate check id `{}` (first defined at {}:{})",
                    l.id,
                    f.path.display(),
                    f.id_line
                ),
            ));
        } else {
            first.insert(&l.id, l);
        }
    }
    let ids: Vec<&str> = loaded.iter().map(|l| l.id.as_str()).collect();
    let edges = graph::edges(&ids, loaded.iter().map(|l| l.depends_on.as_slice()));
    for (i, l) in loaded.iter().enumerate() {
        for (pos, dep) in l.depends_on.iter().enumerate() {
            if !ids.contains(&dep.as_str()) {
                problems.push(Diagnostic::new(
                    &l.path,
                    Some(l.dep_lines[pos]),
                    format!("`{}` depends on unknown check `{dep}`", ids[i]),
                ));
            }
        }
    }
    captures_of_dependencies(loaded, problems);
    for (i, pos) in graph::cycle_edges(&edges) {
        let l = &loaded[i];
        problems.push(Diagnostic::new(
            &l.path,
            Some(l.dep_lines[pos]),
            format!(
                "`{}` depending on `{}` forms a cycle",
                l.id, l.depends_on[pos]
            ),
        ));
    }
}

/// Every variable an openapi check's `generate` uses without capturing it must be captured by an openapi
/// check it depends on, directly or through others (those run first, and their captures are passed on).
fn captures_of_dependencies(loaded: &[Loaded], problems: &mut Vec<Diagnostic>) {
    fn openapi(l: &Loaded) -> Option<&super::OpenApiCheck> {
        match l.def.as_ref().map(|d| &d.kind) {
            Some(CheckKind::OpenApi(c)) => Some(c.as_ref()),
            _ => None,
        }
    }
    for l in loaded {
        let Some(check) = openapi(l) else { continue };
        if check.needs.is_empty() {
            continue;
        }
        let mut available = BTreeSet::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut queue: Vec<&str> = l.depends_on.iter().map(String::as_str).collect();
        while let Some(id) = queue.pop() {
            if !seen.insert(id) {
                continue;
            }
            for dep in loaded.iter().filter(|d| d.id == id) {
                if let Some(c) = openapi(dep) {
                    available.extend(c.captures());
                }
                queue.extend(dep.depends_on.iter().map(String::as_str));
            }
        }
        for (name, line) in &check.needs {
            if !available.contains(name) {
                problems.push(Diagnostic::new(
                    &l.path,
                    Some(*line),
                    format!(
                        "variable `{name}` is not captured by the check's setup or steps, nor by an openapi \
                         check it depends on"
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_parses_alone_with_its_problems_at_their_lines() {
        let pillars = vec!["language".to_string()];
        let path = Path::new("checks/a.toml");
        let good = "[[check]]\nid = \"health\"\nkind = \"http\"\ntitle = \"Up\"\npillar = \"language\"\n\n\
                    [[check.step]]\npath = \"/healthz\"\nexpect.status = 200\n";
        let suite = CheckSuite::parse_file(path, good, &pillars).expect("valid");
        assert_eq!(suite.checks.len(), 1);
        let twice = format!("{good}\n{good}");
        let problems = CheckSuite::parse_file(path, &twice, &pillars).expect_err("duplicate id");
        assert!(
            problems
                .iter()
                .any(|p| p.line == Some(12) && p.message.contains("health")),
            "{problems:?}"
        );
    }
}
