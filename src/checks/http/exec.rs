//! Running an http scenario: substitute variables, send each step, match the answer, capture values.
//!
//! The learner's service is untrusted: redirects are not followed (a redirect is an answer to check, not a
//! place to go), no proxy is used, each request gets only the time left of the check's deadline, and at most
//! [`KEEP_BYTES`] of a body are kept in memory.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::burst;
use super::expect::{self, Answer, Failure};
use super::transcript::Transcript;
use super::{Body, CaptureSource, Expect, HttpScenario, Step};
use crate::checks::template::{self, TemplateError, Vars};
use crate::checks::{ServiceControl, Target};

/// The most of a response body read into memory; enough for any sane JSON answer of these labs.
const KEEP_BYTES: usize = 1024 * 1024;

/// How a step ended badly.
#[derive(Debug, thiserror::Error)]
pub(in crate::checks) enum StepError {
    /// The learner's service misbehaved.
    #[error(transparent)]
    Failed(#[from] Failure),
    /// The check itself could not be carried out: a platform fault.
    #[error("the check definition cannot be run: {0}")]
    Broken(String),
}

impl From<TemplateError> for StepError {
    fn from(e: TemplateError) -> Self {
        StepError::Broken(e.to_string())
    }
}

/// What running a scenario produced.
pub(in crate::checks) struct ScenarioResult {
    /// `Err` with the 1-based step that ended the scenario.
    pub result: Result<(), (usize, StepError)>,
    pub steps: usize,
    pub transcript: String,
}

/// The one client of a suite run.
pub(in crate::checks) fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
}

/// Runs every step in order until one fails or the deadline passes.
pub(in crate::checks) async fn run_scenario(
    scenario: &HttpScenario,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    vars: &mut Vars,
    deadline: Instant,
) -> ScenarioResult {
    run_observed(
        scenario,
        client,
        target,
        control,
        vars,
        deadline,
        &mut NoObserver,
    )
    .await
}

/// Sees every answer once the step's own expectations held: the `openapi` kind judges each against the
/// learner's document. `Ok` may carry a line for the transcript; `Err` fails the step.
pub(in crate::checks) trait Observer: Send {
    fn answered(
        &mut self,
        n: usize,
        method: &str,
        url: &url::Url,
        answer: &Answer,
    ) -> Result<Option<String>, Failure>;
}

/// The plain `http` kind: nothing beyond the steps' expectations.
struct NoObserver;

impl Observer for NoObserver {
    fn answered(
        &mut self,
        _: usize,
        _: &str,
        _: &url::Url,
        _: &Answer,
    ) -> Result<Option<String>, Failure> {
        Ok(None)
    }
}

/// [`run_scenario`] with every answer shown to `observer` as well.
pub(in crate::checks) async fn run_observed(
    scenario: &HttpScenario,
    client: &reqwest::Client,
    target: &Target,
    control: Option<&dyn ServiceControl>,
    vars: &mut Vars,
    deadline: Instant,
    observer: &mut dyn Observer,
) -> ScenarioResult {
    let mut t = Transcript::default();
    let of = scenario.steps.len();
    // A restart step may move the service; the steps after it follow.
    let mut target = target.clone();
    for (i, step) in scenario.steps.iter().enumerate() {
        let done = if let Some(mode) = step.restart {
            restart(&mut target, control, mode, i + 1, of, deadline, &mut t).await
        } else if let Some(b) = &step.burst {
            let at = burst::At {
                n: i + 1,
                of,
                deadline,
            };
            burst::run(step, b, at, client, &target, vars, &mut t, observer).await
        } else {
            run_step(
                step,
                i + 1,
                of,
                client,
                &target,
                vars,
                deadline,
                &mut t,
                observer,
            )
            .await
        };
        if let Err(e) = done {
            t.note(&match &e {
                StepError::Failed(f) => format!("FAILED at step {}: {}", i + 1, f.detail()),
                StepError::Broken(why) => format!("ERROR at step {}: {why}", i + 1),
            });
            return ScenarioResult {
                result: Err((i + 1, e)),
                steps: of,
                transcript: t.into_string(),
            };
        }
    }
    t.note("passed");
    ScenarioResult {
        result: Ok(()),
        steps: of,
        transcript: t.into_string(),
    }
}

/// A `restart` step: the service is restarted with its data kept, within the check's deadline.
async fn restart(
    target: &mut Target,
    control: Option<&dyn ServiceControl>,
    mode: crate::checks::RestartMode,
    n: usize,
    of: usize,
    deadline: Instant,
    t: &mut Transcript,
) -> Result<(), StepError> {
    let control = control.ok_or_else(|| {
        StepError::Broken("this check restarts the service, which this grader cannot do".into())
    })?;
    let how = match mode {
        crate::checks::RestartMode::Graceful => "SIGTERM, then SIGKILL after the grace period",
        crate::checks::RestartMode::Kill => "SIGKILL only, no grace",
    };
    t.note(&format!(
        "step {n}/{of}: restart the service ({how}), keeping its data"
    ));
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, control.restart(mode)).await {
        Ok(Ok(url)) => {
            t.note(&format!("healthy again at {url}"));
            target.base_url = url;
            Ok(())
        }
        Ok(Err(why)) => Err(Failure::Restart(why).into()),
        Err(_) => Err(Failure::Timeout {
            after_ms: left.as_millis() as u64,
        }
        .into()),
    }
}

/// A step's request with every variable substituted, ready to send.
pub(in crate::checks) struct Prepared {
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
}

/// Substitutes the variables of a step's request and adds the default content type of its body.
pub(in crate::checks) fn prepare(
    step: &Step,
    target: &Target,
    vars: &Vars,
) -> Result<Prepared, StepError> {
    let path = vars.render(&step.path)?;
    let url = resolve(target, &step.path, &path)?;
    let mut headers: Vec<(String, String)> = step
        .headers
        .iter()
        .map(|(n, v)| Ok((n.clone(), vars.render(v)?)))
        .collect::<Result<_, TemplateError>>()?;
    let body = match &step.body {
        Some(Body::Json(v)) => Some(Body::Json(vars.render_json(v)?)),
        Some(Body::Text(s)) => Some(Body::Text(vars.render(s)?)),
        None => None,
    };
    let default_type = match &body {
        Some(Body::Json(_)) => Some("application/json"),
        Some(Body::Text(_)) => Some("text/plain; charset=utf-8"),
        None => None,
    };
    if let Some(ct) = default_type.filter(|_| !headers.iter().any(|(n, _)| n == "content-type")) {
        headers.push(("content-type".to_string(), ct.to_string()));
    }
    Ok(Prepared { url, headers, body })
}

#[allow(clippy::too_many_arguments)] // one step of one scenario: each argument is a different piece of state
async fn run_step(
    step: &Step,
    n: usize,
    of: usize,
    client: &reqwest::Client,
    target: &Target,
    vars: &mut Vars,
    deadline: Instant,
    t: &mut Transcript,
    observer: &mut dyn Observer,
) -> Result<(), StepError> {
    let Prepared { url, headers, body } = prepare(step, target, vars)?;
    let expect = render_expect(&step.expect, vars)?;
    t.step(n, of, &step.method, url.as_str(), &headers, body.as_ref());
    t.expected(&expect);

    let now = Instant::now();
    let left = deadline.saturating_duration_since(now);
    let cap = expect.max_ms.map(Duration::from_millis);
    let limit = cap.map_or(left, |c| c.min(left));
    if limit.is_zero() {
        return Err(Failure::Timeout { after_ms: 0 }.into());
    }
    let request = build(client, &step.method, url.clone(), &headers, body.as_ref())?.timeout(limit);
    let answer = match send(request).await {
        Ok(a) => a,
        Err(Failure::Timeout { .. }) if cap.is_some_and(|c| c <= left) => {
            return Err(Failure::TooSlow {
                limit_ms: expect.max_ms.unwrap_or(0),
                got_ms: ms(now.elapsed()),
            }
            .into())
        }
        Err(Failure::Timeout { .. }) => {
            return Err(Failure::Timeout {
                after_ms: ms(now.elapsed()),
            }
            .into())
        }
        Err(f) => return Err(f.into()),
    };
    t.answer(&answer);
    let json = expect::check(&expect, &answer)?;
    if let Some(line) = observer.answered(n, &step.method, &url, &answer)? {
        t.note(&line);
    }
    for c in &step.capture {
        let value = match &c.source {
            CaptureSource::JsonPointer(p) => json.as_ref().and_then(|j| j.pointer(p)).cloned(),
            CaptureSource::Header(h) => answer
                .headers
                .iter()
                .find(|(n, _)| n == h)
                .map(|(_, v)| serde_json::Value::String(v.clone())),
        };
        let Some(value) = value else {
            let from = match &c.source {
                CaptureSource::JsonPointer(p) => p.clone(),
                CaptureSource::Header(h) => format!("header:{h}"),
            };
            return Err(Failure::CaptureMissing {
                name: c.name.clone(),
                from,
            }
            .into());
        };
        t.note(&format!(
            "captured {} = {}",
            c.name,
            template::as_text(&value)
        ));
        vars.set(&c.name, value);
    }
    Ok(())
}

pub(super) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The URL of a step: a path joined to the base URL; a path that came from a variable (a captured `Location`)
/// may also be an absolute URL, of which only the path and query are kept, so the request stays on the target.
fn resolve(target: &Target, template: &str, path: &str) -> Result<url::Url, StepError> {
    let from_variable = template.starts_with("{{");
    let path = if path.starts_with('/') {
        path.to_string()
    } else if let Some(u) = url::Url::parse(path)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && from_variable)
    {
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    } else if from_variable {
        return Err(Failure::BadPath {
            value: path.to_string(),
        }
        .into());
    } else {
        return Err(StepError::Broken(format!(
            "path `{path}` does not start with `/`"
        )));
    };
    let url = target
        .base_url
        .join(&path)
        .map_err(|e| StepError::Broken(format!("cannot join `{path}` to the target: {e}")))?;
    // `//host/x` (or `/\host/x`) joins as a URL of another host: the grader calls the learner's service only.
    if url.origin() != target.base_url.origin() {
        return Err(Failure::OffTarget {
            value: path.to_string(),
        }
        .into());
    }
    Ok(url)
}

pub(in crate::checks) fn render_expect(e: &Expect, vars: &Vars) -> Result<Expect, TemplateError> {
    Ok(Expect {
        headers: e
            .headers
            .iter()
            .map(|(n, p)| Ok((n.clone(), vars.render(p)?)))
            .collect::<Result<_, TemplateError>>()?,
        json: e.json.as_ref().map(|j| vars.render_json(j)).transpose()?,
        json_pointer: e
            .json_pointer
            .iter()
            .map(|(p, v)| Ok((p.clone(), vars.render_json(v)?)))
            .collect::<Result<_, TemplateError>>()?,
        json_glob: e
            .json_glob
            .iter()
            .map(|(p, g)| Ok((p.clone(), vars.render(g)?)))
            .collect::<Result<_, TemplateError>>()?,
        ..e.clone()
    })
}

pub(in crate::checks) fn build(
    client: &reqwest::Client,
    method: &str,
    url: url::Url,
    headers: &[(String, String)],
    body: Option<&Body>,
) -> Result<reqwest::RequestBuilder, StepError> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| StepError::Broken(e.to_string()))?;
    let mut map = HeaderMap::new();
    for (n, v) in headers {
        let name = HeaderName::from_bytes(n.as_bytes())
            .map_err(|e| StepError::Broken(format!("header `{n}`: {e}")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|e| StepError::Broken(format!("value of header `{n}`: {e}")))?;
        map.append(name, value);
    }
    let mut request = client.request(method, url);
    match body {
        Some(Body::Json(v)) => request = request.body(v.to_string()),
        Some(Body::Text(s)) => request = request.body(s.clone()),
        None => {}
    }
    Ok(request.headers(map))
}

pub(super) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, Failure> {
    receive(request, KEEP_BYTES).await.map_err(transport)
}

/// Sends a request and reads its answer, keeping at most `keep` bytes of the body; the transport error as it
/// came, for callers that word it themselves (the security probes).
pub(in crate::checks) async fn receive(
    request: reqwest::RequestBuilder,
    keep: usize,
) -> Result<Answer, reqwest::Error> {
    let start = Instant::now();
    let mut response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        let room = keep - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
        truncated,
        elapsed_ms: ms(start.elapsed()),
    })
}

fn transport(e: reqwest::Error) -> Failure {
    let chain = error_chain(&e);
    if e.is_timeout() {
        Failure::Timeout { after_ms: 0 }
    } else if e.is_connect() && refused(&e) {
        Failure::Refused { error: chain }
    } else if e.is_connect() {
        Failure::Unreachable { error: chain }
    } else {
        Failure::Transport { error: chain }
    }
}

fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        cur = err.source();
    }
    false
}

pub(in crate::checks) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}
