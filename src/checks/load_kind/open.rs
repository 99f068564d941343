//! A load check with set-up steps, a mix or an open loop: the steps first (their captures feed the mix), the
//! mix rendered into the generator's requests, and with `count_metric` a scrape of the counter before and
//! after the load.

use super::judge::{self, Counted};
use super::{Judged, LoadCheck, LoadStop};
use crate::checks::http::{self, StepError};
use crate::checks::metrics::scrape::{self, Scrape};
use crate::checks::template::Vars;
use crate::checks::{CheckContext, Target, Verdict};
use crate::loadgen::{self, LoadSpec, MixRequest};

pub(super) async fn run(
    check: &LoadCheck,
    target: &Target,
    ctx: &CheckContext,
    rand: String,
    deadline: tokio::time::Instant,
) -> Judged {
    let client = match http::client() {
        Ok(c) => c,
        Err(e) => return judge::fault(check, &format!("HTTP client: {e}")),
    };
    let mut vars = Vars::new(ctx.seed, rand, &ctx.env);
    let mut setup_transcript = String::new();
    if !check.setup.steps.is_empty() {
        let control = ctx.control.as_deref();
        let done =
            http::run_scenario(&check.setup, &client, target, control, &mut vars, deadline).await;
        setup_transcript = done.transcript;
        match done.result {
            Ok(()) => {}
            Err((n, StepError::Failed(f))) => {
                return Judged {
                    verdict: Verdict::Fail,
                    message: format!(
                        "failed before the load, at set-up step {n} of {}: {f}",
                        done.steps
                    ),
                    detail: setup_transcript,
                }
            }
            Err((_, StepError::Broken(why))) => return judge::fault(check, &why.to_string()),
        }
    }
    let mix = match render_mix(check, &vars) {
        Ok(m) => m,
        Err(why) => return judge::fault(check, &why),
    };
    let url = match target.base_url.join(if check.path.is_empty() {
        "/"
    } else {
        &check.path
    }) {
        Ok(u) => u,
        Err(e) => return judge::fault(check, &format!("cannot build the URL: {e}")),
    };
    let open = check.open.as_ref();
    let metric = open.and_then(|o| o.count_metric.as_ref().map(|m| (o, m)));
    let before = match metric {
        Some((o, _)) => {
            match scrape::fetch(&client, &target.base_url, &o.metrics_path, deadline).await {
                Ok((s, _)) => Some(s),
                Err(e) => {
                    return failed(
                        check,
                        format!("failed before the load: {e}"),
                        setup_transcript,
                    )
                }
            }
        }
        None => None,
    };
    let spec = LoadSpec {
        rate: open.map(|o| o.rate),
        mix,
        drain: std::time::Duration::from_millis(super::parse::DRAIN_MS.unsigned_abs()),
        ..LoadStop::spec(check, url)
    };
    let report = match loadgen::run(&spec).await {
        Ok(r) => r,
        Err(e) => return judge::fault(check, &format!("the load generator could not start: {e}")),
    };
    let counted = match (metric, before) {
        (Some((o, name)), Some(before)) => {
            match scrape::fetch(&client, &target.base_url, &o.metrics_path, deadline).await {
                Ok((after, _)) => Some(Counted {
                    name: name.clone(),
                    grew: growth(&before, &after, name, &o.ignore_routes),
                }),
                Err(e) => {
                    return failed(
                        check,
                        format!("failed after the load: {e}"),
                        setup_transcript,
                    )
                }
            }
        }
        _ => None,
    };
    let mut judged = judge::judge(check, &report, counted.as_ref());
    judged.detail = format!("{setup_transcript}{}", judged.detail);
    judged
}

/// The mix with every `{{variable}}` of its paths and JSON bodies filled.
fn render_mix(check: &LoadCheck, vars: &Vars) -> Result<Vec<MixRequest>, String> {
    check
        .mix
        .iter()
        .map(|m| {
            let path = vars.render(&m.path).map_err(|e| e.to_string())?;
            let (body, headers) = match (&m.json, &m.body) {
                (Some(j), _) => {
                    let j = vars.render_json(j).map_err(|e| e.to_string())?;
                    let ct = ("content-type".to_string(), "application/json".to_string());
                    (Some(j.to_string().into_bytes()), vec![ct])
                }
                (None, Some(b)) => (
                    Some(vars.render(b).map_err(|e| e.to_string())?.into_bytes()),
                    Vec::new(),
                ),
                (None, None) => (None, Vec::new()),
            };
            Ok(MixRequest {
                method: m.method.clone(),
                path,
                headers,
                body,
                weight: m.weight,
            })
        })
        .collect()
}

/// How much the counter grew over every series but the ignored routes.
fn growth(before: &Scrape, after: &Scrape, name: &str, ignore: &[String]) -> f64 {
    let sum = |s: &Scrape| -> f64 {
        s.named(name)
            .filter(|x| !x.labels.get("route").is_some_and(|r| ignore.contains(r)))
            .map(|x| x.value)
            .sum()
    };
    sum(after) - sum(before)
}

fn failed(check: &LoadCheck, why: String, transcript: String) -> Judged {
    let mut j = judge::fault(check, "");
    j.verdict = Verdict::Fail;
    j.message = why;
    j.detail = format!("{transcript}{}", j.detail);
    j
}
