//! From `[check.graphql]` (and the check's `[[check.step]]`s, the REST set-up) to a checked
//! [`GraphqlCheck`], every problem with its line. Every GraphQL document the check will send is parsed here
//! (variables standing in as `0`), so a typo in a query is an authoring error, not a learner's failure.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::abuse::{alias_query, deep_query};
use super::require::requirements;
pub(in crate::checks) use super::source::header_at;
use super::source::{one_line, sdl_offset, stand_in};
use super::{Abuse, Aliases, Batch, Deep, GraphqlCheck, Query, SchemaPart};
use crate::checks::http::parse::{self as http_parse, valid_pointer, RawStep};
use crate::checks::http::HttpScenario;
use crate::checks::load::Source;
use crate::checks::template;
use crate::diagnostics::Diagnostic;

/// Default bound on each abusive request's answer.
const DEFAULT_WITHIN_MS: u64 = 2000;
/// The deepest `deep` query a check may send: below the nesting limits GraphQL parsers commonly have (50 in
/// `graphql-parser`), so that a service without a depth limit is caught by its executor, not its parser.
const MAX_LEVELS: i64 = 40;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::checks) struct RawGraphql {
    path: Option<Spanned<String>>,
    #[serde(default)]
    introspection: bool,
    require: Option<Spanned<String>>,
    sdl: Option<Spanned<String>>,
    /// Not `Spanned`: toml cannot span a table nested this deep (`[[check.graphql.query]]`); lines come from
    /// the fields inside.
    #[serde(default)]
    query: Vec<RawQuery>,
    abuse: Option<RawAbuse>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    query: Spanned<String>,
    variables: Option<Spanned<serde_json::Value>>,
    rest: Option<Spanned<String>>,
    #[serde(default)]
    same: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    null: Vec<Spanned<String>>,
    #[serde(default)]
    capture: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    rest_capture: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAbuse {
    within_ms: Option<Spanned<i64>>,
    deep: Option<Spanned<RawDeep>>,
    aliases: Option<Spanned<RawAliases>>,
    #[serde(default)]
    queries: BTreeMap<Spanned<String>, Spanned<String>>,
    batch: Option<Spanned<RawBatch>>,
    #[serde(default)]
    malformed: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeep {
    root: Spanned<String>,
    field: Spanned<String>,
    levels: Spanned<i64>,
    leaf: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAliases {
    field: Spanned<String>,
    count: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    query: Spanned<String>,
    count: Spanned<i64>,
}

struct Parser<'a, 'b> {
    src: &'a Source<'a>,
    problems: &'b mut Vec<Diagnostic>,
    /// Variables the steps and the queries read so far capture.
    defined: BTreeSet<String>,
}

/// Reads the `[check.graphql]` table and the steps of the check starting at byte `start`; `None` when any
/// problem was found.
pub(in crate::checks) fn check(
    src: &Source,
    start: usize,
    raw: Option<RawGraphql>,
    steps: Vec<Spanned<RawStep>>,
    timeout_secs: i64,
    problems: &mut Vec<Diagnostic>,
) -> Option<GraphqlCheck> {
    let before = problems.len();
    let Some(raw) = raw else {
        problems.push(src.at(start, "a graphql check needs a [check.graphql] table"));
        return None;
    };
    let table_at = header_at(src, start, "[check.graphql");
    let mut defined = BTreeSet::new();
    let steps: Vec<_> = steps
        .into_iter()
        .map(|s| {
            let at = s.span().start;
            http_parse::one_step(src, at, s.into_inner(), &mut defined, false, problems)
        })
        .collect();
    let mut p = Parser {
        src,
        problems,
        defined,
    };
    let path = match &raw.path {
        None => "/graphql".to_string(),
        Some(x) => p.path(x),
    };
    let schema = p.schema_part(&raw);
    let queries: Vec<Query> = raw.query.into_iter().map(|q| p.query(q)).collect();
    let abuse_at = header_at(src, start, "[check.graphql.abuse]");
    let abuse = raw.abuse.map(|a| p.abuse(a, abuse_at, timeout_secs));
    if schema.is_none() && queries.is_empty() && abuse.is_none() {
        p.problem(
            table_at,
            "a graphql check needs something to grade: `introspection = true`, `require`, `sdl`, \
             [[check.graphql.query]] or [check.graphql.abuse]",
        );
    }
    if problems.len() != before {
        return None;
    }
    Some(GraphqlCheck {
        path,
        steps: HttpScenario { steps },
        schema,
        queries,
        abuse: abuse.flatten(),
    })
}

impl Parser<'_, '_> {
    fn problem(&mut self, offset: usize, msg: impl Into<String>) {
        self.problems.push(self.src.at(offset, msg));
    }

    fn path(&mut self, x: &Spanned<String>) -> String {
        let s = x.get_ref();
        if !s.starts_with('/') || s.starts_with("//") {
            self.problem(
                x.span().start,
                format!("path `{s}` must start with a single `/`"),
            );
        }
        s.clone()
    }

    /// Checks the `{{var}}`s of a string found at `offset`.
    fn template(&mut self, offset: usize, s: &str) {
        match template::references(s) {
            Err(e) => self.problem(offset, e.to_string()),
            Ok(names) => {
                for n in names {
                    if !template::is_builtin(&n) && !self.defined.contains(&n) {
                        self.problem(
                            offset,
                            format!("variable `{n}` is not captured by an earlier step or query"),
                        );
                    }
                }
            }
        }
    }

    fn json_template(&mut self, offset: usize, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.template(offset, s),
            serde_json::Value::Array(items) => {
                items.iter().for_each(|i| self.json_template(offset, i))
            }
            serde_json::Value::Object(map) => {
                map.values().for_each(|i| self.json_template(offset, i))
            }
            _ => {}
        }
    }

    /// Checks that a document the check sends parses, its variables standing in as `0`.
    fn document(&mut self, offset: usize, text: &str) {
        self.template(offset, text);
        let stand_in = stand_in(text);
        if let Err(e) = graphql_parser::parse_query::<String>(&stand_in) {
            self.problem(
                offset,
                format!(
                    "the GraphQL document does not parse: {}",
                    one_line(&e.to_string())
                ),
            );
        }
    }

    fn pointer(&mut self, p: &Spanned<String>) -> String {
        if !valid_pointer(p.get_ref()) {
            self.problem(
                p.span().start,
                format!(
                    "`{}` is not a JSON pointer (like `/data/note/id`)",
                    p.get_ref()
                ),
            );
        }
        p.get_ref().clone()
    }

    fn captures(
        &mut self,
        raw: &BTreeMap<Spanned<String>, Spanned<String>>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, pointer) in raw {
            let n = name.get_ref();
            let valid = !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !template::is_builtin(n);
            if !valid {
                self.problem(
                    name.span().start,
                    format!("`{n}` cannot be a variable name (letters, digits and `_`; not seed or rand)"),
                );
            }
            out.push((n.clone(), self.pointer(pointer)));
        }
        out
    }

    fn schema_part(&mut self, raw: &RawGraphql) -> Option<SchemaPart> {
        let require = match &raw.require {
            None => Vec::new(),
            Some(r) => match requirements(r.get_ref()) {
                Ok(req) => req,
                Err(e) => {
                    let at = sdl_offset(self.src.text, r.span().start, &e);
                    self.problem(at, format!("`require` is not usable SDL: {}", one_line(&e)));
                    Vec::new()
                }
            },
        };
        let sdl = raw.sdl.as_ref().map(|s| self.path(s));
        (raw.introspection || raw.require.is_some() || sdl.is_some())
            .then_some(SchemaPart { require, sdl })
    }

    fn query(&mut self, raw: RawQuery) -> Query {
        let at = raw.query.span().start;
        self.document(raw.query.span().start, raw.query.get_ref());
        if let Some(v) = &raw.variables {
            if !v.get_ref().is_object() {
                self.problem(v.span().start, "`variables` must be a table");
            }
            self.json_template(v.span().start, v.get_ref());
        }
        if let Some(r) = &raw.rest {
            let s = r.get_ref();
            if !s.starts_with('/') || s.starts_with("//") || s.starts_with("/{{") {
                self.problem(
                    r.span().start,
                    format!("rest `{s}` must start with a single `/` and a literal path segment"),
                );
            }
        }
        let mut same = Vec::new();
        for (g, r) in &raw.same {
            same.push((self.pointer(g), self.pointer(r)));
        }
        if raw.rest.is_none() && (!same.is_empty() || !raw.rest_capture.is_empty()) {
            self.problem(
                at,
                "`same` and `rest_capture` need `rest`, the REST read to compare with",
            );
        }
        if same.is_empty() && raw.null.is_empty() && raw.capture.is_empty() {
            self.problem(
                at,
                "a query needs `same`, `null` or `capture`: what it checks or keeps",
            );
        }
        let null = raw.null.iter().map(|p| self.pointer(p)).collect();
        let capture = self.captures(&raw.capture);
        // The REST path may use what this query's GraphQL answer captured.
        for (n, _) in &capture {
            self.defined.insert(n.clone());
        }
        if let Some(r) = &raw.rest {
            self.template(r.span().start, r.get_ref());
        }
        let rest_capture = self.captures(&raw.rest_capture);
        for (n, _) in &rest_capture {
            self.defined.insert(n.clone());
        }
        Query {
            query: raw.query.into_inner(),
            variables: raw.variables.map(Spanned::into_inner),
            rest: raw.rest.map(Spanned::into_inner),
            same,
            null,
            capture,
            rest_capture,
        }
    }

    fn count(
        &mut self,
        n: &Spanned<i64>,
        what: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> usize {
        let v = *n.get_ref();
        if !range.contains(&v) {
            self.problem(
                n.span().start,
                format!("{what} must be from {} to {}", range.start(), range.end()),
            );
            return *range.start() as usize;
        }
        v.unsigned_abs() as usize
    }

    /// `at`: where the graphql table starts, for problems of the abuse table as a whole.
    fn abuse(&mut self, raw: RawAbuse, at: usize, timeout_secs: i64) -> Option<Abuse> {
        let within_ms = match &raw.within_ms {
            None => DEFAULT_WITHIN_MS,
            Some(w) => self.count(w, "within_ms", 10..=60_000) as u64,
        };
        let deep = raw.deep.map(|d| {
            let d = d.into_inner();
            let levels = self.count(&d.levels, "levels", 2..=MAX_LEVELS);
            let (root, field, leaf) = (d.root.get_ref(), d.field.get_ref(), d.leaf.get_ref());
            self.document(d.root.span().start, &deep_query(root, field, levels, leaf));
            Deep {
                root: root.clone(),
                field: field.clone(),
                levels,
                leaf: leaf.clone(),
            }
        });
        let aliases = raw.aliases.map(|a| {
            let a = a.into_inner();
            let count = self.count(&a.count, "count", 2..=5000);
            self.document(a.field.span().start, &alias_query(a.field.get_ref(), 2));
            Aliases {
                field: a.field.into_inner(),
                count,
            }
        });
        let mut queries = Vec::new();
        for (name, q) in &raw.queries {
            self.document(q.span().start, q.get_ref());
            queries.push((name.get_ref().clone(), q.get_ref().clone()));
        }
        let batch = raw.batch.map(|b| {
            let b = b.into_inner();
            let count = self.count(&b.count, "count", 2..=1000);
            self.document(b.query.span().start, b.query.get_ref());
            Batch {
                query: b.query.into_inner(),
                count,
            }
        });
        let sent = usize::from(deep.is_some())
            + usize::from(aliases.is_some())
            + queries.len()
            + usize::from(batch.is_some())
            + if raw.malformed { 4 } else { 0 };
        if sent == 0 {
            self.problem(at, "[check.graphql.abuse] needs `deep`, `aliases`, `queries`, `batch` or `malformed = true`");
            return None;
        }
        let worst = sent as u64 * within_ms;
        if worst > timeout_secs.unsigned_abs() * 1000 {
            self.problem(
                at,
                format!(
                    "the {sent} abusive requests may take {worst} ms ({within_ms} ms each), longer than the check's timeout_secs"
                ),
            );
        }
        Some(Abuse {
            within_ms,
            deep,
            aliases,
            queries,
            batch,
            malformed: raw.malformed,
        })
    }
}
