//! From `[check.openapi]` and the check's `[[check.step]]`s to an [`OpenApiCheck`], every problem with its line.
//!
//! The steps are the `http` kind's own (parsed by `http/parse.rs`); this file adds the document path, the
//! required operations and the generation settings, whose `{{var}}`s must be captured by those steps.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::{Generate, OpenApiCheck, OperationName, DEFAULT_CASES, MAX_CASES};
use crate::checks::http::parse::{self as http_parse, RawStep};
use crate::checks::load::Source;
use crate::checks::template;
use crate::diagnostics::Diagnostic;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawOpenApi {
    /// Path of the document (JSON or YAML) on the service; `/openapi.json` when not given.
    document: Option<Spanned<String>>,
    #[serde(default)]
    require: Vec<Spanned<String>>,
    generate: Option<Spanned<RawGenerate>>,
    /// Unjudged steps run first (`[[check.openapi.setup]]`), in the http kind's step format.
    #[serde(default)]
    setup: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGenerate {
    #[serde(default)]
    operations: Vec<Spanned<String>>,
    cases: Option<Spanned<i64>>,
    #[serde(default)]
    params: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    query: BTreeMap<Spanned<String>, Spanned<String>>,
    invalid: Option<bool>,
    unsupported_methods: Option<bool>,
}

/// Reads one openapi check that starts at byte `start`; `None` when any problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<Spanned<RawOpenApi>>,
    steps: Vec<Spanned<RawStep>>,
    problems: &mut Vec<Diagnostic>,
) -> Option<OpenApiCheck> {
    let Some(raw) = raw.map(Spanned::into_inner) else {
        problems.push(src.at(
            start,
            "an openapi check needs a [check.openapi] table (`document`, `require`, `generate`)",
        ));
        return None;
    };
    let before = problems.len();
    let mut p = Parser {
        src,
        problems,
        needs: Vec::new(),
    };
    let document = match &raw.document {
        None => "/openapi.json".to_string(),
        Some(d) => {
            let path = d.get_ref().trim().to_string();
            if !path.starts_with('/') || path.contains("{{") {
                p.problem(
                    d.span().start,
                    format!("document path `{path}` must start with `/` (and hold no variables)"),
                );
            }
            path
        }
    };
    let require = raw.require.iter().filter_map(|r| p.operation(r)).collect();
    let setup_start = raw.setup.first().map_or(start, |s| s.span().start);
    let setup = if raw.setup.is_empty() {
        None
    } else {
        http_parse::scenario(src, setup_start, raw.setup, p.problems)
    };
    let captures = |s: &Option<crate::checks::http::HttpScenario>| -> BTreeSet<String> {
        s.iter()
            .flat_map(|s| s.steps.iter().flat_map(|st| st.capture.iter()))
            .map(|c| c.name.clone())
            .collect()
    };
    let mut captured = captures(&setup);
    let scenario = if steps.is_empty() {
        None
    } else {
        http_parse::scenario_after(src, start, steps, captured.clone(), p.problems)
    };
    captured.extend(captures(&scenario));
    let generate = raw.generate.map(|g| p.generate(g, &captured));
    let needs = std::mem::take(&mut p.needs);
    (p.problems.len() == before).then_some(OpenApiCheck {
        document,
        require,
        setup,
        scenario,
        generate,
        needs,
    })
}

struct Parser<'a, 'b> {
    src: &'a Source<'a>,
    problems: &'b mut Vec<Diagnostic>,
    /// Variables of `generate` captured by no step of this check, with their lines.
    needs: Vec<(String, usize)>,
}

impl Parser<'_, '_> {
    fn problem(&mut self, offset: usize, msg: impl Into<String>) {
        self.problems.push(self.src.at(offset, msg));
    }

    fn operation(&mut self, raw: &Spanned<String>) -> Option<OperationName> {
        OperationName::parse(raw.get_ref())
            .map_err(|e| self.problem(raw.span().start, e.to_string()))
            .ok()
    }

    /// The `{{var}}`s of a string must be built-ins or captured by the check's setup or steps, or else by a
    /// check it depends on (noted in `needs`, checked once every check is read).
    fn template(&mut self, offset: usize, s: &str, captured: &BTreeSet<String>) {
        match template::references(s) {
            Err(e) => self.problem(offset, e.to_string()),
            Ok(names) => {
                for n in names {
                    if !template::is_builtin(&n) && !captured.contains(&n) {
                        let line = self.src.line(offset);
                        self.needs.push((n, line));
                    }
                }
            }
        }
    }

    fn generate(&mut self, raw: Spanned<RawGenerate>, captured: &BTreeSet<String>) -> Generate {
        let raw = raw.into_inner();
        let cases = match &raw.cases {
            None => DEFAULT_CASES,
            Some(n) => match usize::try_from(*n.get_ref()) {
                Ok(n) if (1..=MAX_CASES).contains(&n) => n,
                _ => {
                    self.problem(
                        n.span().start,
                        format!("cases must be between 1 and {MAX_CASES}"),
                    );
                    DEFAULT_CASES
                }
            },
        };
        let mut params = Vec::new();
        for (name, value) in &raw.params {
            let n = name.get_ref().trim();
            if n.is_empty() || n.contains(['{', '}', '/']) {
                self.problem(
                    name.span().start,
                    format!("`{n}` is not a path parameter name"),
                );
            }
            self.template(value.span().start, value.get_ref(), captured);
            params.push((n.to_string(), value.get_ref().clone()));
        }
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            let n = name.get_ref();
            if reqwest::header::HeaderName::from_bytes(n.as_bytes()).is_err() {
                self.problem(
                    name.span().start,
                    format!("`{n}` is not a valid header name"),
                );
            }
            self.template(value.span().start, value.get_ref(), captured);
            headers.push((n.to_ascii_lowercase(), value.get_ref().clone()));
        }
        let mut query = Vec::new();
        for (name, value) in &raw.query {
            let n = name.get_ref();
            if n.is_empty()
                || n.contains(['&', '=', '#', '{', '}'])
                || n.chars().any(char::is_whitespace)
            {
                self.problem(
                    name.span().start,
                    format!("`{n}` is not a query parameter name"),
                );
            }
            self.template(value.span().start, value.get_ref(), captured);
            query.push((n.clone(), value.get_ref().clone()));
        }
        let mut operations = Vec::new();
        for raw_op in &raw.operations {
            let Some(op) = self.operation(raw_op) else {
                continue;
            };
            for name in op.template.params() {
                if !params.iter().any(|(p, _)| p == name) {
                    self.problem(
                        raw_op.span().start,
                        format!(
                            "no value for path parameter `{name}` of `{op}`: give it in `params`"
                        ),
                    );
                }
            }
            operations.push(op);
        }
        Generate {
            operations,
            cases,
            params,
            headers,
            query,
            invalid: raw.invalid.unwrap_or(true),
            unsupported_methods: raw.unsupported_methods.unwrap_or(false),
        }
    }
}
