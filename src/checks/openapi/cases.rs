//! The generated requests of one check: which operations, which bodies, in which order, and what each answer
//! must be.
//!
//! Operations take turns (round-robin) until the check's bound is reached, so a small bound still covers
//! every operation; valid and invalid bodies alternate (see [`build`]), so a small bound still sends both. Every random choice comes from the check's seeded generator, in a fixed order, so a
//! re-graded run sends exactly the same requests. The requests are ordinary `http` steps, run by the `http`
//! kind's runner (deadline, body caps, transcript), with [`CaseObserver`] judging the answers.

use rand::rngs::StdRng;

use super::document::{DocOperation, Document};
use super::generate::Generator;
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
            .map(|t| (t.op.template.text.clone(), t.path.clone()))
            .collect();
        cases.extend(
            methods::requests(doc, &paths, &settings.headers)
                .into_iter()
                .map(|u| Case {
                    label: u.template,
                    want: Want::Unsupported,
                    step: u.step,
                    documented: u.documented,
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
            match fill(op, &[], settings) {
                Some(path) => out.push(Target {
                    op,
                    schema,
                    params,
                    auth: security::of(doc, op),
                    path,
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
                "the document describes no JSON request body and no query or header parameter for {}",
                op.label()
            )));
        }
        let lab_names: Vec<&str> = name.template.params().collect();
        // Every parameter of a listed operation has a value (checked when the check file was loaded).
        let path = fill(op, &lab_names, settings).unwrap_or_default();
        out.push(Target {
            op,
            schema,
            params,
            auth: security::of(doc, op),
            path,
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
/// lab's name at the same position.
fn fill(op: &DocOperation, lab_names: &[&str], settings: &Generate) -> Option<String> {
    let mut path = String::new();
    let mut i = 0;
    for seg in &op.template.segments {
        path.push('/');
        match seg {
            Segment::Literal(l) => path.push_str(l),
            Segment::Param(name) => {
                let by = |n: &str| settings.params.iter().find(|(p, _)| p == n);
                let value = by(name).or_else(|| lab_names.get(i).and_then(|n| by(n)))?;
                path.push_str(&value.1);
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
    let body = match &target.schema {
        Some(pointer) => Some(body(gen, schemas, pointer, want, &label, notes)?),
        None if matches!(want, Want::Refused(k) if k.in_body()) => return None,
        None => None,
    };
    let (path, param_headers) = params::apply(&target.path, &target.params, &values);
    let mut headers = settings.headers.clone();
    for (n, v) in param_headers {
        if !headers.iter().any(|(h, _)| *h == n) {
            headers.push((n, v));
        }
    }
    if let (Some(bad), Some(credential)) = (bad, &target.auth) {
        security::apply(&mut headers, credential, bad);
    }
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
    })
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
    let params = count(|w| matches!(w, Want::Refused(k) if k.in_params()));
    let credentials = count(|w| matches!(w, Want::Refused(k) if k.credentials().is_some()));
    let methods = count(|w| w == Want::Unsupported);
    format!(
        "{} generated requests: {valid} valid, {bodies} with invalid bodies, {params} with invalid \
         parameters, {credentials} with bad credentials, {methods} with methods the document does not give",
        cases.len()
    )
}
