//! Scenarios about what the service answers: the typed answer itself, inputs it must refuse without calling
//! the model, model output it must never pass on, the cache (sequential and concurrent duplicates), and the key.

use std::time::Duration;

use serde_json::{json, Value};

use super::probe::{fail, Answer, Body, Outcome, Probe, ProbeError};

/// A normal answer comes well within this; retries are the fault scenarios' business.
const ANSWER_MAX: Duration = Duration::from_secs(10);
const CATEGORIES: [&str; 4] = ["bug", "feature", "question", "other"];

/// The triage fields of an answer, if it follows the contract (`cached` a boolean).
fn triage_fields(a: &Answer) -> Result<(String, i64, String, bool), ProbeError> {
    let bad = || {
        fail("the answer did not follow the triage schema (category, priority, summary, cached)")
    };
    let v = a.json.as_ref().ok_or_else(bad)?;
    let category = v["category"].as_str().filter(|c| CATEGORIES.contains(c));
    let priority = v["priority"].as_i64().filter(|p| (1..=4).contains(p));
    let summary = v["summary"]
        .as_str()
        .filter(|s| (1..=200).contains(&s.chars().count()));
    match (category, priority, summary, v["cached"].as_bool()) {
        (Some(c), Some(p), Some(s), Some(cached)) => Ok((c.into(), p, s.into(), cached)),
        _ => Err(bad()),
    }
}

fn expect_status(a: &Answer, status: u16, what: &str) -> Outcome {
    if a.status == status {
        Ok(())
    } else {
        Err(fail(format!(
            "{what} was answered {} (expected {status})",
            a.status
        )))
    }
}

/// A valid message gets a typed answer equal to what the model said, from one call with the run's model
/// and key.
pub(super) async fn typed_answer(p: &mut Probe) -> Outcome {
    let text = p.message("The export crashes after the latest update and I lose my work");
    let a = p.triage(&text, ANSWER_MAX).await?;
    expect_status(&a, 200, "a valid message")?;
    let (category, priority, summary, cached) = triage_fields(&a)?;
    if cached {
        return Err(fail("a first message was reported `cached: true`"));
    }
    let calls = p.calls().await?;
    if calls.len() != 1 {
        return Err(fail(format!(
            "one message made {} calls to the model (expected 1)",
            calls.len()
        )));
    }
    let call = &calls[0];
    if call.authorization != format!("Bearer {}", p.key) {
        return Err(fail(
            "the model was called without `Authorization: Bearer` and the LLM_API_KEY",
        ));
    }
    if call.model != p.model {
        return Err(fail(
            "the model was called with a `model` other than LLM_MODEL",
        ));
    }
    let said: Value = call
        .content
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .ok_or_else(|| ProbeError::Broken("the ledger holds no content for the call".into()))?;
    if said["category"] != category || said["priority"] != priority || said["summary"] != summary {
        return Err(fail(
            "the answer's fields differ from what the model answered",
        ));
    }
    Ok(())
}

/// Malformed and rule-breaking bodies are refused with 400 or 422, and none reaches the model.
pub(super) async fn rejects_invalid_input(p: &mut Probe) -> Outcome {
    let before = p
        .upstream
        .ledger(None)
        .await
        .map_err(ProbeError::Broken)?
        .len();
    let long = p.message(&"x".repeat(4001));
    let cases: [(&str, Body, u16); 5] = [
        (
            "a body that is not JSON",
            Body::Raw(format!("{{\"text\": \"{}", p.marker)),
            400,
        ),
        (
            "a `text` that is not a string",
            Body::Json(json!({"text": 42})),
            400,
        ),
        (
            "a body without `text`",
            Body::Json(json!({"message": p.marker})),
            400,
        ),
        (
            "a blank `text`",
            Body::Json(json!({"text": "  \n\t "})),
            422,
        ),
        (
            "a `text` over 4000 characters",
            Body::Json(json!({"text": long})),
            422,
        ),
    ];
    let path = p.path.clone();
    for (what, body, status) in cases {
        let a = p.send("POST", &path, Some(body), ANSWER_MAX).await?;
        expect_status(&a, status, what)?;
    }
    let after = p
        .upstream
        .ledger(None)
        .await
        .map_err(ProbeError::Broken)?
        .len();
    p.note(format!("ledger: {before} call(s) before, {after} after"));
    if after != before {
        return Err(fail(format!(
            "invalid inputs made {} call(s) to the model (expected none)",
            after - before
        )));
    }
    Ok(())
}

/// Model output that breaks the contract (out of range, extra field) or was cut short (`finish_reason:
/// length`) is never answered as a result: 502 after at most one repair attempt.
pub(super) async fn invalid_output(p: &mut Probe) -> Outcome {
    let cases = [
        (
            "invalid_content",
            "out-of-range output",
            "Please add an export to PDF",
        ),
        (
            "truncated",
            "truncated output",
            "How do I change my email address?",
        ),
    ];
    for (i, (fault, what, text)) in cases.into_iter().enumerate() {
        let marker = format!("{}-{i}", p.marker);
        p.upstream
            .arm(&marker, None, json!({ "kind": fault }))
            .await
            .map_err(ProbeError::Broken)?;
        let a = p
            .triage(&format!("{text} (ref {marker})"), ANSWER_MAX)
            .await?;
        expect_status(
            &a,
            502,
            &format!("a message whose model output stayed {what}"),
        )?;
        let calls = p
            .upstream
            .ledger(Some(&marker))
            .await
            .map_err(ProbeError::Broken)?;
        p.note(format!("ledger: {} call(s) for {what}", calls.len()));
        if calls.len() > 2 {
            return Err(fail(format!(
                "{what} led to {} model calls (at most 2: one repair attempt)",
                calls.len()
            )));
        }
    }
    Ok(())
}

/// The same text twice (the second with other surrounding whitespace): one model call, the second answer
/// `cached: true` with the same fields.
pub(super) async fn repeated_prompt_cached(p: &mut Probe) -> Outcome {
    let text = p.message("The login page says my password is wrong but it is not");
    let first = p.triage(&text, ANSWER_MAX).await?;
    expect_status(&first, 200, "a valid message")?;
    let second = p.triage(&format!("  {text}\n"), ANSWER_MAX).await?;
    expect_status(&second, 200, "the same message again")?;
    let (c1, p1, s1, cached1) = triage_fields(&first)?;
    let (c2, p2, s2, cached2) = triage_fields(&second)?;
    if (c1, p1, s1) != (c2, p2, s2) {
        return Err(fail("the repeated message got a different answer"));
    }
    let calls = p.calls().await?.len();
    if calls != 1 {
        return Err(fail(format!(
            "a message sent twice made {calls} calls to the model (expected 1)"
        )));
    }
    if cached1 || !cached2 {
        return Err(fail(
            "`cached` was not false on the first answer and true on the repeat",
        ));
    }
    Ok(())
}

/// Five identical messages at once, while the model takes a second: one model call, five equal answers.
pub(super) async fn concurrent_prompts(p: &mut Probe) -> Outcome {
    p.upstream
        .arm(
            &p.marker,
            Some(1),
            json!({"kind": "slow", "delay_ms": 1000}),
        )
        .await
        .map_err(ProbeError::Broken)?;
    let text = p.message("Would like a dark mode for the dashboard");
    let mut probes = Vec::new();
    for _ in 0..5 {
        probes.push(p.triage_detached(&text, ANSWER_MAX));
    }
    let answers = futures_util::future::join_all(probes).await;
    let mut seen = Vec::new();
    for a in answers {
        let a = p.record(a)?;
        expect_status(&a, 200, "one of five identical concurrent messages")?;
        let (c, pr, s, _) = triage_fields(&a)?;
        seen.push((c, pr, s));
    }
    if seen.windows(2).any(|w| w[0] != w[1]) {
        return Err(fail("identical concurrent messages got different answers"));
    }
    let calls = p.calls().await?.len();
    if calls != 1 {
        return Err(fail(format!(
            "five identical concurrent messages made {calls} calls to the model (expected 1)"
        )));
    }
    Ok(())
}

/// No answer (a success, a refused input, an upstream error, the usage report) contains the API key.
pub(super) async fn key_never_echoed(p: &mut Probe) -> Outcome {
    p.upstream
        .arm(&p.marker, None, json!({"kind": "status", "status": 401}))
        .await
        .map_err(ProbeError::Broken)?;
    let mut answers = Vec::new();
    answers.push(
        p.triage(&p.message("Why was I charged twice?"), ANSWER_MAX)
            .await?,
    );
    let path = p.path.clone();
    let raw = Body::Raw("{\"text\":".into());
    answers.push(p.send("POST", &path, Some(raw), ANSWER_MAX).await?);
    // A success too, under another marker (the fault above answers every call with this check's).
    let other: String = p.marker.chars().rev().collect();
    answers.push(
        p.triage(&format!("Thanks, all good now (ref {other})"), ANSWER_MAX)
            .await?,
    );
    let usage = p.usage_path.clone();
    answers.push(p.send("GET", &usage, None, ANSWER_MAX).await?);
    for a in &answers {
        if a.body.contains(&p.key) || a.headers.contains(&p.key) {
            return Err(fail(format!(
                "an answer with status {} contained the LLM_API_KEY",
                a.status
            )));
        }
    }
    Ok(())
}
