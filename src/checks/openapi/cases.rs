//! The generated requests of one check: which operations, which bodies, in which order, and what each answer
//! must be.
//!
//! Operations take turns (round-robin) until the check's bound is reached, so a small bound still covers
//! every operation; valid and invalid bodies alternate (see [`build`]), so a small bound still sends both. Every random choice comes from the check's seeded generator, in a fixed order, so a
//! re-graded run sends exactly the same requests. The requests are ordinary `http` steps, run by the `http`
//! kind's runner (deadline, body caps, transcript), with [`CaseObserver`] judging the answers.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::Value;

use super::document::{DocOperation, Document};
use super::generate::{self, primary_type, uint, Generator, MAX_STRING};
use super::methods;
use super::mutate::{self, Broken, Invalid};
use super::operation::Segment;
use super::params::{self, In, Param};
use super::schemas::Schemas;
use super::security::{self, Credential};
use super::Generate;
use crate::checks::http::{Body, Expect, HttpScenario, Step};

/// What a generated request's answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A documented status, never a 5xx; the answer must match the document.
    Valid,
    /// A 4xx (documented, matching the document), never a 5xx nor a success.
    Refused(Invalid),
    /// A method the document does not give for the path: 405 with an `Allow` of the documented ones
    /// (`methods.rs`).
    Unsupported,
}

/// One generated request, with the operation's name for messages.
#[derive(Debug, Clone)]
pub struct Case {
    pub label: String,
    pub want: Want,
    pub step: Step,
    /// For [`Want::Unsupported`]: the methods the document gives for the path.
    pub documented: Vec<String>,
    /// For a valid body whose string property is exactly `maxLength` characters beyond ASCII: the case just
    /// before it, the same body with that property in ASCII letters. Accepting that one and refusing this
    /// one means the service counts the length in bytes or UTF-16 units, not characters.
    pub twin: Option<Twin>,
}

/// The ASCII twin of a case (see [`Case::twin`]).
#[derive(Debug, Clone)]
pub struct Twin {
    /// Index of the twin among the cases.
    pub case: usize,
    /// The property at its limit, as the document names it.
    pub property: String,
}

/// An operation requests are generated for: where its body schema is and how its path is filled.
struct Target<'d> {
    op: &'d DocOperation,
    /// Its JSON request body's schema, if it has one.
    schema: Option<String>,
    /// Its query and header parameters.
    params: Vec<Param>,
    /// Where its credential goes, when it is secured.
    auth: Option<Credential>,
    path: String,
    /// The lab's names of its path parameters, in order (a listed operation's), for `fill`.
    lab_names: Vec<String>,
}

/// Why no cases could be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CasesError {
    /// The learner's document lacks what the lab asks to generate for (a learner-safe sentence).
    #[error("{0}")]
    Missing(String),
}

/// Builds the cases, noting in `notes` what was skipped and why.
pub fn build(
    doc: &Document,
    settings: &Generate,
    rng: &mut StdRng,
    notes: &mut Vec<String>,
) -> Result<Vec<Case>, CasesError> {
    let targets = targets(doc, settings, notes)?;
    let mut schemas = Schemas::default();
    let mut gen = Generator::new(doc, rng);
    // Valid and invalid requests alternate, per operation from one round to the next and between
    // operations within a round, so any bound sends both. Each operation cycles through the kinds of invalid
    // body its schema can break; a kind that yields nothing is dropped for that operation.
    let mut breakable: Vec<Vec<Invalid>> = vec![
        if settings.invalid {
            Invalid::ALL.to_vec()
        } else {
            Vec::new()
        };
        targets.len()
    ];
    let mut next_kind = vec![0usize; targets.len()];
    let mut exhausted = vec![false; targets.len()];
    let mut twinned = vec![false; targets.len()];
    let mut cases = Vec::new();
    let mut round = 0usize;
    'rounds: while exhausted.iter().any(|e| !e) {
        for (t, target) in targets.iter().enumerate() {
            if cases.len() >= settings.cases {
                break 'rounds;
            }
            if exhausted[t] {
                continue;
            }
            let mut made = None;
            // Once per operation, on a valid turn after its first and with room for two requests: a body at a
            // length limit in ASCII, then the same beyond ASCII.
            if round > 0
                && (round + t).is_multiple_of(2)
                && !twinned[t]
                && cases.len() + 2 <= settings.cases
            {
                twinned[t] = true;
                if let Some([ascii, mut wide]) =
                    twins(&mut gen, &mut schemas, target, settings, notes)
                {
                    if let Some(twin) = wide.twin.as_mut() {
                        twin.case = cases.len();
                    }
                    cases.push(ascii);
                    cases.push(wide);
                    continue;
                }
            }
            if (round + t) % 2 == 1 {
                while made.is_none() && !breakable[t].is_empty() {
                    let i = next_kind[t] % breakable[t].len();
                    let kind = breakable[t][i];
                    made = one(
                        &mut gen,
                        &mut schemas,
                        target,
                        Want::Refused(kind),
                        settings,
                        notes,
                    );
                    if made.is_some() {
                        next_kind[t] = i + 1;
                    } else {
                        breakable[t].remove(i);
                    }
                }
            }
            if made.is_none() {
                made = one(&mut gen, &mut schemas, target, Want::Valid, settings, notes);
            }
            match made {
                Some(case) => cases.push(case),
                None => exhausted[t] = true,
            }
        }
        round += 1;
    }
    if settings.unsupported_methods {
        let paths: Vec<(String, String)> = targets
            .iter()
            .map(|t| {
                let path = with_query(t.path.clone(), &settings.query);
                (t.op.template.text.clone(), path)
            })
            .collect();
        cases.extend(
            methods::requests(doc, &paths, &settings.headers)
                .into_iter()
                .map(|u| Case {
                    label: u.template,
                    want: Want::Unsupported,
                    step: u.step,
                    documented: u.documented,
                    twin: None,
                }),
        );
    }
    Ok(cases)
}

/// The operations to generate for, each with its body schema and filled path.
fn targets<'d>(
    doc: &'d Document,
    settings: &Generate,
    notes: &mut Vec<String>,
) -> Result<Vec<Target<'d>>, CasesError> {
    let mut out = Vec::new();
    if settings.operations.is_empty() {
        for op in &doc.operations {
            let schema = body_schema(doc, op);
            let params = params::of(doc, op);
            // By default: what has a body or a query to generate (header parameters alone are not enough).
            if schema.is_none() && !params.iter().any(|p| p.at == In::Query) {
                continue;
            }
            match fill(op, &[], settings, None) {
                Some(path) => out.push(Target {
                    op,
                    schema,
                    params,
                    auth: security::of(doc, op),
                    path,
                    lab_names: Vec::new(),
                }),
                None => notes.push(format!(
                    "skipped {}: no value for one of its path parameters in `params`",
                    op.label()
                )),
            }
        }
        return Ok(out);
    }
    for name in &settings.operations {
        let Some(op) = doc.operation(name) else {
            return Err(CasesError::Missing(format!(
                "the document does not describe the operation {name}"
            )));
        };
        let schema = body_schema(doc, op);
        let params = params::of(doc, op);
        if schema.is_none() && params.is_empty() {
            return Err(CasesError::Missing(format!(
                "the document describes no JSON request body and no parameter for {}",
                op.label()
            )));
        }
        let lab_names: Vec<&str> = name.template.params().collect();
        // Every parameter of a listed operation has a value (checked when the check file was loaded).
        let path = fill(op, &lab_names, settings, None).unwrap_or_default();
        out.push(Target {
            op,
            schema,
            params,
            auth: security::of(doc, op),
            path,
            lab_names: lab_names.into_iter().map(str::to_string).collect(),
        });
    }
    Ok(out)
}

/// The pointer to the schema of an operation's JSON request body.
fn body_schema(doc: &Document, op: &DocOperation) -> Option<String> {
    let (body, _) = doc.resolved(&format!("{}/requestBody", op.pointer))?;
    doc.json_schema_of(&body)
}

/// The request path for `op`: each parameter from `params` by the document's name or, failing that, by the
/// lab's name at the same position; the parameter `instead` names (by the document's name) gets its value.
fn fill(
    op: &DocOperation,
    lab_names: &[&str],
    settings: &Generate,
    instead: Option<(&str, &str)>,
) -> Option<String> {
    let mut path = String::new();
    let mut i = 0;
    for seg in &op.template.segments {
        path.push('/');
        match seg {
            Segment::Literal(l) => path.push_str(l),
            Segment::Param(name) => {
                let by = |n: &str| settings.params.iter().find(|(p, _)| p == n);
                match instead {
                    Some((broken, value)) if broken == name => path.push_str(value),
                    _ => {
                        let value = by(name).or_else(|| lab_names.get(i).and_then(|n| by(n)))?;
                        path.push_str(&value.1);
                    }
                }
                i += 1;
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    Some(path)
}

/// One case of `want` for `target`, or `None` when the document gives nothing for it.
fn one(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    target: &Target<'_>,
    want: Want,
    settings: &Generate,
    notes: &mut Vec<String>,
) -> Option<Case> {
    made(gen, schemas, target, want, None, settings, notes)
}

/// One case of `want` for `target` with the body `given`, or one drawn from the schema when `None`.
fn made(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    target: &Target<'_>,
    want: Want,
    given: Option<Body>,
    settings: &Generate,
    notes: &mut Vec<String>,
) -> Option<Case> {
    let label = target.op.label();
    let bad = match want {
        Want::Refused(kind) => kind.credentials(),
        Want::Valid | Want::Unsupported => None,
    };
    if bad.is_some() && target.auth.is_none() {
        return None;
    }
    let Some(values) = params::valid(gen, schemas, &target.params) else {
        notes.push(format!(
            "skipped {label}: no valid value for a required parameter could be built from its schema"
        ));
        return None;
    };
    let values = match want {
        Want::Refused(kind) if kind.in_params() => {
            params::invalid(gen, schemas, &target.params, &values, kind)?
        }
        _ => values,
    };
    let body = match (&target.schema, given) {
        (_, Some(given)) => Some(given),
        (Some(pointer), None) => Some(body(gen, schemas, pointer, want, &label, notes)?),
        (None, None) if matches!(want, Want::Refused(k) if k.in_body()) => return None,
        (None, None) => None,
    };
    let path = match want {
        Want::Refused(kind) if kind.in_path() => {
            let (name, segment) = params::path_invalid(gen, schemas, &target.params, kind)?;
            let lab_names: Vec<&str> = target.lab_names.iter().map(String::as_str).collect();
            fill(target.op, &lab_names, settings, Some((&name, &segment)))?
        }
        _ => target.path.clone(),
    };
    let (path, param_headers) = params::apply(&path, &target.params, &values);
    let mut headers = settings.headers.clone();
    for (n, v) in param_headers {
        if !headers.iter().any(|(h, _)| *h == n) {
            headers.push((n, v));
        }
    }
    let mut query = settings.query.clone();
    if let (Some(bad), Some(credential)) = (bad, &target.auth) {
        security::apply(&mut headers, &mut query, credential, bad);
    }
    let path = with_query(path, &query);
    if body.is_some() && !headers.iter().any(|(n, _)| n == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Some(Case {
        label,
        want,
        step: Step {
            method: target.op.method.clone(),
            path,
            headers,
            body,
            expect: Expect::default(),
            capture: Vec::new(),
            restart: None,
            burst: None,
        },
        documented: Vec::new(),
        twin: None,
    })
}

/// Two valid requests for `target` whose bodies differ in one string property of the body (one with a
/// `maxLength` a generated value can reach, no `format`, `enum` or `pattern` of its own): exactly that many
/// ASCII letters, then exactly that many characters beyond ASCII, mostly beyond the Basic Multilingual
/// Plane, sent with every such character escaped (surrogate pairs). `None` when the body has no such
/// property, or either body misses the compiled schema.
fn twins(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    target: &Target<'_>,
    settings: &Generate,
    notes: &mut Vec<String>,
) -> Option<[Case; 2]> {
    let pointer = target.schema.as_ref()?;
    let compiled = schemas.get(gen.doc, pointer).ok()?.clone();
    let schema = gen.doc.raw.pointer(pointer)?.clone();
    let view = mutate::object_view(gen.doc, &schema);
    let mut limited: Vec<(String, usize)> = view
        .properties
        .iter()
        .filter_map(|(name, p)| {
            let s = p.as_object()?;
            let plain = primary_type(s) == "string"
                && !["format", "enum", "const", "pattern"]
                    .iter()
                    .any(|k| s.contains_key(*k));
            let max = uint(s, "maxLength").filter(|m| (1..=MAX_STRING).contains(m))?;
            plain.then(|| (name.clone(), max))
        })
        .collect();
    if limited.is_empty() {
        return None;
    }
    limited.shuffle(gen.rng);
    let valid = (0..8).find_map(|_| {
        gen.value(&schema)
            .filter(|v| compiled.is_valid(v) && !v.to_string().contains("{{"))
    })?;
    for (name, max) in limited {
        let ascii = mutate::with(&valid, &name, Some(Value::String(gen.word(max, max))))?;
        let wide = mutate::with(&valid, &name, Some(Value::String(gen.wide(max))))?;
        if !compiled.is_valid(&ascii) || !compiled.is_valid(&wide) {
            continue;
        }
        let first = made(
            gen,
            schemas,
            target,
            Want::Valid,
            Some(Body::Json(ascii)),
            settings,
            notes,
        )?;
        let text = Body::Text(generate::escaped_json(&wide));
        let mut second = made(
            gen,
            schemas,
            target,
            Want::Valid,
            Some(text),
            settings,
            notes,
        )?;
        second.twin = Some(Twin {
            case: 0,
            property: name,
        });
        return Some([first, second]);
    }
    None
}

/// `path` with the lab's query parameters added: names form-encoded, values as written, since they may hold
/// `{{var}}`s that are filled when the request is sent (`{{var|url}}` encodes a captured value).
fn with_query(path: String, query: &[(String, String)]) -> String {
    let mut out = path;
    for (n, v) in query {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.extend(url::form_urlencoded::byte_serialize(n.as_bytes()));
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A body for `want` from the schema at `pointer`: valid, or broken by the want's (body) kind.
fn body(
    gen: &mut Generator<'_, '_>,
    schemas: &mut Schemas,
    pointer: &str,
    want: Want,
    label: &str,
    notes: &mut Vec<String>,
) -> Option<Body> {
    let compiled = match schemas.get(gen.doc, pointer) {
        Ok(c) => c.clone(),
        Err(e) => {
            notes.push(format!("skipped {label}: {e}"));
            return None;
        }
    };
    let schema = gen.doc.raw.pointer(pointer)?.clone();
    // A few tries: the generator does not know every keyword, the compiled schema does.
    let valid = (0..8).find_map(|_| {
        gen.value(&schema)
            .filter(|v| compiled.is_valid(v) && !v.to_string().contains("{{"))
    });
    let Some(valid) = valid else {
        notes.push(format!(
            "skipped {label}: no valid body could be built from its schema"
        ));
        return None;
    };
    let broken = |b: Broken| match b {
        Broken::Json(v) => Body::Json(v),
        Broken::Text(t) => Body::Text(t),
    };
    Some(match want {
        Want::Refused(kind) if kind.in_body() => {
            broken(mutate::invalid(gen, &schema, &compiled, &valid, kind)?)
        }
        // A bad credential goes with a body that breaks the schema when one can be made, so a service that
        // validates before it knows the caller (a 422 instead of a 401) shows.
        Want::Refused(kind) if kind.credentials().is_some() => {
            [Invalid::MissingRequired, Invalid::WrongType]
                .into_iter()
                .find_map(|k| mutate::invalid(gen, &schema, &compiled, &valid, k))
                .map_or(Body::Json(valid), broken)
        }
        _ => Body::Json(valid),
    })
}

/// The cases as a scenario for the `http` runner.
pub fn scenario(cases: &[Case]) -> HttpScenario {
    HttpScenario {
        steps: cases.iter().map(|c| c.step.clone()).collect(),
    }
}

/// The generated cases' kinds, for the transcript's summary.
pub fn summary(cases: &[Case]) -> String {
    let count = |f: fn(Want) -> bool| cases.iter().filter(|c| f(c.want)).count();
    let valid = count(|w| w == Want::Valid);
    let bodies = count(|w| matches!(w, Want::Refused(k) if k.in_body()));
    let params = count(|w| matches!(w, Want::Refused(k) if k.in_params() || k.in_path()));
    let credentials = count(|w| matches!(w, Want::Refused(k) if k.credentials().is_some()));
    let methods = count(|w| w == Want::Unsupported);
    format!(
        "{} generated requests: {valid} valid, {bodies} with invalid bodies, {params} with invalid \
         parameters, {credentials} with bad credentials, {methods} with methods the document does not give",
        cases.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::openapi::document::Version;
    use crate::checks::openapi::OperationName;
    use rand::SeedableRng;
    use serde_json::json;

    fn settings(op: &str, cases: usize) -> Generate {
        Generate {
            operations: vec![OperationName::parse(op).expect("an operation")],
            cases,
            params: vec![("id".into(), "7".into())],
            headers: Vec::new(),
            query: Vec::new(),
            invalid: true,
            unsupported_methods: false,
        }
    }

    fn cases_for(doc: serde_json::Value, op: &str, n: usize) -> Vec<Case> {
        let d = Document::new(doc, Version::V31);
        let mut rng = StdRng::seed_from_u64(5);
        build(&d, &settings(op, n), &mut rng, &mut Vec::new()).expect("cases")
    }

    #[test]
    fn path_parameters_are_broken_one_segment_at_a_time() {
        let cases = cases_for(
            json!({"openapi": "3.1.0", "paths": {"/things/{thingId}": {
                "parameters": [{"name": "thingId", "in": "path", "required": true,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
                "get": {"responses": {}}}}}),
            "GET /things/{id}",
            16,
        );
        let path = |k: Invalid| {
            cases
                .iter()
                .find(|c| c.want == Want::Refused(k))
                .map(|c| c.step.path.clone())
                .unwrap_or_else(|| panic!("no {k:?} case"))
        };
        assert_eq!(path(Invalid::PathWrongType), "/things/abc");
        assert_eq!(path(Invalid::PathPastLimit), "/things/1001");
        assert_eq!(path(Invalid::PathEmpty), "/things/");
        assert_eq!(path(Invalid::PathLong).len(), "/things/".len() + MAX_STRING);
        // Valid requests keep the lab's value.
        assert!(cases
            .iter()
            .filter(|c| c.want == Want::Valid)
            .all(|c| c.step.path == "/things/7"));
    }

    #[test]
    fn a_body_at_max_length_beyond_ascii_follows_its_ascii_twin() {
        let cases = cases_for(
            json!({"openapi": "3.1.0", "paths": {"/notes": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["title"],
                    "properties": {"title": {"type": "string", "maxLength": 4}}}}}},
                "responses": {}}}}}),
            "POST /notes",
            12,
        );
        let (i, wide) = cases
            .iter()
            .enumerate()
            .find(|(_, c)| c.twin.is_some())
            .expect("a twin");
        let twin = wide.twin.as_ref().expect("twin");
        assert_eq!((twin.case, twin.property.as_str()), (i - 1, "title"));
        let Some(Body::Json(ascii)) = &cases[i - 1].step.body else {
            panic!("the ASCII twin is JSON");
        };
        let title = ascii["title"].as_str().expect("title");
        assert!(title.len() == 4 && title.is_ascii(), "{title}");
        let Some(Body::Text(text)) = &wide.step.body else {
            panic!("the wide twin is escaped text");
        };
        assert!(text.is_ascii() && text.contains(r"\ud8"), "{text}");
        let v: Value = serde_json::from_str(text).expect("JSON");
        let title = v["title"].as_str().expect("title");
        assert_eq!(title.chars().count(), 4);
        assert!(title.len() > 4, "{title}");
        assert_eq!(wide.want, Want::Valid);
    }

    #[test]
    fn a_query_key_credential_is_broken_in_the_query_and_the_lab_s_kept_elsewhere() {
        let d = Document::new(
            json!({"openapi": "3.1.0",
                "components": {"securitySchemes": {"k": {"type": "apiKey", "in": "query", "name": "key"}}},
                "security": [{"k": []}],
                "paths": {"/notes": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"title": {"type": "string"}}}}}},
                "responses": {}}}}}),
            Version::V31,
        );
        let mut s = settings("POST /notes", 40);
        s.query = vec![("key".into(), "{{key}}".into())];
        let mut rng = StdRng::seed_from_u64(5);
        let cases = build(&d, &s, &mut rng, &mut Vec::new()).expect("cases");
        let path = |k: Invalid| {
            cases
                .iter()
                .find(|c| c.want == Want::Refused(k))
                .map(|c| c.step.path.clone())
                .unwrap_or_else(|| panic!("no {k:?} case"))
        };
        assert_eq!(path(Invalid::NoCredentials), "/notes");
        assert_eq!(path(Invalid::BadCredentials), "/notes?key=not-a-credential");
        assert!(path(Invalid::ExpiredCredentials).starts_with("/notes?key=eyJ"));
        assert!(cases
            .iter()
            .filter(|c| c.want == Want::Valid)
            .all(|c| c.step.path == "/notes?key={{key}}"));
    }
}
