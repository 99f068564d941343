//! One openapi check, phase by phase: fetch the document, validate it, find the required operations, run the
//! scenario against it, send the generated requests. The first phase that fails ends the check (the
//! generated requests all run, and every failure among them is reported); the transcript has a section per
//! phase that ran.

use rand::rngs::StdRng;
use tokio::time::Instant;

use super::cases;
use super::document::Document;
use super::failures;
use super::observe::CaseObserver;
use super::responses::Responses;
use super::validate::{self, DocumentError};
use super::OpenApiCheck;
use crate::checks::http::{self, Failure, HttpScenario, Observer, StepError};
use crate::checks::template::Vars;
use crate::checks::{ServiceControl, Target};

/// How many of the document's problems the learner's message lists; the transcript has them all.
const SHOWN_PROBLEMS: usize = 3;

/// The most of one problem the learner's message shows: a schema error can quote a large value of the
/// learner's document.
const SHOWN_PROBLEM_CHARS: usize = 300;

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// How an openapi check ended badly.
#[derive(Debug, thiserror::Error)]
pub(in crate::checks) enum OpenApiError {
    /// The learner's service or document is at fault: the learner-safe reason.
    #[error("{0}")]
    Failed(String),
    /// The check could not be carried out: a platform fault.
    #[error("{0}")]
    Broken(String),
}

/// What running one openapi check produced.
pub(in crate::checks) struct Done {
    pub result: Result<(), OpenApiError>,
    pub transcript: String,
    /// The variables its setup and steps captured (and those it was handed), for the checks that depend on it.
    pub captured: std::collections::BTreeMap<String, serde_json::Value>,
}

/// What the check needs from the run besides its definition.
pub(in crate::checks) struct Run<'a> {
    pub client: &'a reqwest::Client,
    pub target: &'a Target,
    pub control: Option<&'a dyn ServiceControl>,
    /// The check's variables (built-ins; the scenario's captures are added as it runs).
    pub vars: Vars,
    /// The check's seeded generator, for the generated requests.
    pub rng: StdRng,
    pub deadline: Instant,
}

/// Runs the check's phases in order.
pub(in crate::checks) async fn run(check: &OpenApiCheck, mut r: Run<'_>) -> Done {
    let mut transcript = String::new();
    let result = phases(check, &mut r, &mut transcript).await;
    transcript.push_str(match &result {
        Ok(()) => "passed\n",
        Err(OpenApiError::Failed(_)) => "FAILED\n",
        Err(OpenApiError::Broken(_)) => "ERROR\n",
    });
    Done {
        result,
        transcript,
        captured: r.vars.captured(),
    }
}

async fn phases(check: &OpenApiCheck, r: &mut Run<'_>, t: &mut String) -> Result<(), OpenApiError> {
    let doc = fetch(check, r, t).await?;
    require(check, &doc, t)?;
    if let Some(setup) = &check.setup {
        t.push_str("══ setup: not judged against the document\n");
        let done = http::run_scenario(
            setup,
            r.client,
            r.target,
            r.control,
            &mut r.vars,
            r.deadline,
        )
        .await;
        t.push_str(&done.transcript);
        match done.result {
            Ok(()) => {}
            Err((n, StepError::Failed(f))) => {
                return Err(OpenApiError::Failed(format!(
                    "failed at setup step {n} of {}: {f}",
                    done.steps
                )))
            }
            Err((_, StepError::Broken(why))) => return Err(OpenApiError::Broken(why)),
        }
    }
    if let Some(scenario) = &check.scenario {
        t.push_str("══ scenario: every answer must match the document\n");
        let mut observer = Responses::new(&doc, r.target);
        observed(scenario, r, &mut observer, t, |n, of, f| {
            format!("failed at step {n} of {of}: {f}")
        })
        .await?;
    }
    if let Some(settings) = &check.generate {
        t.push_str("══ generated requests\n");
        let mut notes = Vec::new();
        let cases = cases::build(&doc, settings, &mut r.rng, &mut notes)
            .map_err(|e| OpenApiError::Failed(format!("failed: {e}")))?;
        for n in &notes {
            t.push_str(&format!("{n}\n"));
        }
        t.push_str(&format!("{}\n", cases::summary(&cases)));
        if cases.is_empty() {
            return Err(OpenApiError::Failed(
                "failed: the document describes no JSON request body or query parameter to generate requests from"
                    .into(),
            ));
        }
        let mut observer = CaseObserver::new(&cases, Responses::new(&doc, r.target));
        let scenario = cases::scenario(&cases);
        let ran = observed(&scenario, r, &mut observer, t, |_, _, f| {
            format!("failed: {f}")
        })
        .await;
        let failures = observer.failures;
        if !failures.is_empty() {
            t.push_str(&failures::grouped(&failures));
        }
        // A request that got no answer at all ends the run; what failed before it is still reported.
        ran?;
        if let Some(message) = failures::message(&failures, cases.len()) {
            return Err(OpenApiError::Failed(message));
        }
    }
    Ok(())
}

/// Runs steps with `observer` judging every answer, the transcript going to `t`; a failing step becomes the
/// learner's message through `describe(step, of, failure)`.
async fn observed(
    scenario: &HttpScenario,
    r: &mut Run<'_>,
    observer: &mut dyn Observer,
    t: &mut String,
    describe: impl Fn(usize, usize, &Failure) -> String,
) -> Result<(), OpenApiError> {
    let done = http::run_observed(
        scenario,
        r.client,
        r.target,
        r.control,
        &mut r.vars,
        r.deadline,
        observer,
    )
    .await;
    t.push_str(&done.transcript);
    match done.result {
        Ok(()) => Ok(()),
        Err((n, StepError::Failed(f))) => Err(OpenApiError::Failed(describe(n, done.steps, &f))),
        Err((_, StepError::Broken(why))) => Err(OpenApiError::Broken(why)),
    }
}

/// Fetches the document and validates it.
async fn fetch(
    check: &OpenApiCheck,
    r: &mut Run<'_>,
    t: &mut String,
) -> Result<Document, OpenApiError> {
    let raw = super::fetch::document(&check.document, r, t).await?;
    match validate::document(raw) {
        Ok(doc) => {
            t.push_str(&format!(
                "valid OpenAPI {:?} document with {} operations\n",
                doc.version,
                doc.operations.len()
            ));
            Ok(doc)
        }
        Err(DocumentError::Invalid(problems)) => {
            for p in &problems {
                t.push_str(&format!("problem {p}\n"));
            }
            let shown: Vec<String> = problems
                .iter()
                .take(SHOWN_PROBLEMS)
                .map(|p| shorten(&p.to_string(), SHOWN_PROBLEM_CHARS))
                .collect();
            let more = match problems.len().saturating_sub(SHOWN_PROBLEMS) {
                0 => String::new(),
                n => format!(" (and {n} more)"),
            };
            Err(OpenApiError::Failed(format!(
                "failed: the OpenAPI document is not valid: {}{more}",
                shown.join("; ")
            )))
        }
        Err(DocumentError::Internal(why)) => Err(OpenApiError::Broken(why)),
    }
}

/// Every operation the check lists must be documented.
fn require(check: &OpenApiCheck, doc: &Document, t: &mut String) -> Result<(), OpenApiError> {
    if check.require.is_empty() {
        return Ok(());
    }
    let missing: Vec<String> = check
        .require
        .iter()
        .filter(|name| doc.operation(name).is_none())
        .map(ToString::to_string)
        .collect();
    t.push_str(&format!(
        "══ required operations: {} listed, {} missing\n",
        check.require.len(),
        missing.len()
    ));
    if missing.is_empty() {
        return Ok(());
    }
    let (what, list) = match missing.as_slice() {
        [one] => ("operation", one.clone()),
        many => ("operations", many.join(", ")),
    };
    Err(OpenApiError::Failed(format!(
        "failed: the OpenAPI document does not describe the {what} {list}"
    )))
}

#[cfg(test)]
mod tests {
    use super::shorten;

    #[test]
    fn long_problems_are_cut_at_a_character_boundary() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("ééééé", 3), "ééé…");
    }
}
