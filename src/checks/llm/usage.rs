//! The embeddings cache, and the service's usage report against the model's ledger: every call that got an
//! answer, and the tokens those answers reported, must be what the service counts; the cost must follow from
//! the lab's prices.

use std::time::Duration;

use super::probe::{fail, Body, Outcome, Probe, ProbeError};

/// A cost may be rounded to six decimal places (the contract's minimum).
const COST_TOLERANCE: f64 = 1e-6;

/// A price variable of the run's environment (e.g. `2.50` USD per million tokens).
fn price(p: &Probe, name: &str) -> Result<f64, ProbeError> {
    p.env
        .get(name)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ProbeError::Broken(format!("the run's environment has no numeric {name}")))
}

pub(super) async fn matches_ledger(p: &mut Probe) -> Outcome {
    let usage_path = p.usage_path.clone();
    let a = p
        .send("GET", &usage_path, None, Duration::from_secs(5))
        .await?;
    if a.status != 200 {
        return Err(fail(format!(
            "the usage report was answered {} (expected 200)",
            a.status
        )));
    }
    let calls = p.upstream.ledger(None).await.map_err(ProbeError::Broken)?;
    // Calls the service gave up on never reached it: their usage is not its to count.
    let answered: Vec<_> = calls.iter().filter(|c| c.completed).collect();
    let prompt: u64 = answered
        .iter()
        .filter_map(|c| c.usage)
        .map(|u| u.prompt_tokens)
        .sum();
    let completion: u64 = answered
        .iter()
        .filter_map(|c| c.usage)
        .map(|u| u.completion_tokens)
        .sum();
    p.note(format!(
        "ledger: {} call(s), {} answered, {prompt} prompt and {completion} completion tokens",
        calls.len(),
        answered.len()
    ));
    let Some(v) = a.json.clone() else {
        return Err(fail("the usage report was not JSON"));
    };
    let expected = [
        ("upstream_calls", answered.len() as u64),
        ("prompt_tokens", prompt),
        ("completion_tokens", completion),
    ];
    for (field, want) in expected {
        match v[field].as_u64() {
            Some(got) if got == want => {}
            Some(got) => {
                return Err(fail(format!(
                    "`{field}` was {got}, but the model's own records say {want}"
                )))
            }
            None => return Err(fail(format!("`{field}` was missing or not a whole number"))),
        }
    }
    let cost = prompt as f64 * price(p, "PRICE_PROMPT_PER_MTOK")? / 1e6
        + completion as f64 * price(p, "PRICE_COMPLETION_PER_MTOK")? / 1e6;
    let reported = v["cost_usd"]
        .as_str()
        .and_then(|s| s.trim().parse::<f64>().ok());
    match reported {
        Some(r) if (r - cost).abs() <= COST_TOLERANCE => Ok(()),
        Some(r) => Err(fail(format!(
            "`cost_usd` was {r}, but the model's tokens at the lab's prices cost {cost:.9}"
        ))),
        None => Err(fail("`cost_usd` was missing or not a decimal string")),
    }
}

/// The same text embedded twice (the second with other surrounding whitespace): one embeddings call, equal
/// vectors, `cached` false then true.
pub(super) async fn embeddings_cached(p: &mut Probe) -> Outcome {
    let text = p.message("Where can I download my invoices");
    let path = p.embed_path.clone();
    let max = Duration::from_secs(10);
    let mut vectors = Vec::new();
    for (i, sent) in [text.clone(), format!(" {text}\n")].into_iter().enumerate() {
        let body = Body::Json(serde_json::json!({ "text": sent }));
        let a = p.send("POST", &path, Some(body), max).await?;
        if a.status != 200 {
            return Err(fail(format!(
                "a text to embed was answered {} (expected 200)",
                a.status
            )));
        }
        let v = a.json.unwrap_or_default();
        let numbers = v["embedding"]
            .as_array()
            .filter(|e| !e.is_empty() && e.iter().all(|x| x.is_number()));
        let (Some(numbers), Some(cached)) = (numbers, v["cached"].as_bool()) else {
            return Err(fail(
                "the embedding answer did not hold `embedding` (numbers) and `cached`",
            ));
        };
        if cached != (i == 1) {
            return Err(fail(
                "`cached` was not false on the first embedding and true on the repeat",
            ));
        }
        vectors.push(numbers.clone());
    }
    if vectors[0] != vectors[1] {
        return Err(fail("the repeated text got a different embedding"));
    }
    let calls = p.calls().await?;
    if calls.len() != 1 {
        return Err(fail(format!(
            "a text embedded twice made {} calls to the model (expected 1)",
            calls.len()
        )));
    }
    Ok(())
}
