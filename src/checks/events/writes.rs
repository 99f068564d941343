//! The `writes` step: a stream of HTTP writes, `concurrency` at a time, each acknowledged (2xx) answer's value
//! collected into a list; with `kill_after`, the service is SIGKILLed and restarted once that many writes were
//! acknowledged, while the other writers keep sending. A write that fails while the service is down is not
//! acknowledged and not retried (the learner's promise covers acknowledged writes only); a write that fails
//! while the service is up fails the check, and so does an acknowledged write slower than `max_ms`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use serde_json::Value;
use tokio::time::Instant;

use super::steps::{Runner, StepEnd};
use super::Writes;
use crate::checks::http::{build, error_chain, prepare, receive, CaptureSource};
use crate::checks::template::Vars;
use crate::checks::{RestartMode, Target};

/// The most of an answer kept: a write's answer is small JSON.
const KEEP: usize = 64 * 1024;
/// Failures listed one by one in the timeline.
const LISTED: usize = 20;

/// One write as it ended.
struct Sent {
    index: usize,
    started: Instant,
    ended: Instant,
    /// The status, or the transport error.
    answer: Result<u16, String>,
    elapsed_ms: u64,
    /// The collected values of an acknowledged write, in `collect` order (`None`: missing from the answer).
    values: Vec<Option<Value>>,
}

impl Sent {
    fn acked(&self) -> bool {
        self.answer.as_ref().is_ok_and(|s| (200..300).contains(s))
    }
}

/// The kill in the middle, as it went.
#[derive(Default)]
struct Kill {
    began: Option<Instant>,
    ended: Option<Instant>,
    error: Option<String>,
}

struct Shared<'a> {
    w: &'a Writes,
    client: &'a reqwest::Client,
    vars: &'a Vars,
    deadline: Instant,
    control: Option<&'a dyn crate::checks::ServiceControl>,
    next: AtomicUsize,
    acked: AtomicUsize,
    url: RwLock<url::Url>,
    sent: Mutex<Vec<Sent>>,
    kill: Mutex<Kill>,
}

pub(super) async fn run(w: &Writes, r: &mut Runner<'_>) -> Result<(), StepEnd> {
    if w.kill_after.is_some() {
        r.control()?;
    }
    let shared = Shared {
        w,
        client: &r.client,
        vars: &r.vars,
        deadline: r.deadline,
        control: r.control,
        next: AtomicUsize::new(0),
        acked: AtomicUsize::new(0),
        url: RwLock::new(r.target.base_url.clone()),
        sent: Mutex::new(Vec::with_capacity(w.count)),
        kill: Mutex::new(Kill::default()),
    };
    let began = Instant::now();
    let workers = (0..w.concurrency).map(|_| worker(&shared));
    let ended: Result<Vec<()>, StepEnd> = futures_util::future::join_all(workers)
        .await
        .into_iter()
        .collect();
    ended?;
    let mut sent = shared
        .sent
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let kill = shared
        .kill
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    r.target.base_url = shared
        .url
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    sent.sort_by_key(|s| s.index);
    report(r, w, &sent, &kill, began);
    judge(r, w, &sent, &kill)
}

/// Sends writes until none is left; the writer that sees the `kill_after`-th acknowledgement restarts the
/// service while the others keep sending.
async fn worker(s: &Shared<'_>) -> Result<(), StepEnd> {
    loop {
        let index = s.next.fetch_add(1, Ordering::SeqCst);
        if index >= s.w.count {
            return Ok(());
        }
        let sent = send(s, index).await?;
        let acked = sent.acked();
        s.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sent);
        if !acked {
            continue;
        }
        let n = s.acked.fetch_add(1, Ordering::SeqCst) + 1;
        if s.w.kill_after == Some(n) {
            kill(s).await;
        }
    }
}

async fn send(s: &Shared<'_>, index: usize) -> Result<Sent, StepEnd> {
    let mut vars = s.vars.clone();
    vars.set("i", Value::from(index));
    let target = Target {
        base_url: s.url.read().unwrap_or_else(PoisonError::into_inner).clone(),
    };
    let broken = |e: crate::checks::http::StepError| StepEnd::Broken(e.to_string());
    let p = prepare(&s.w.step, &target, &vars).map_err(broken)?;
    let left = s.deadline.saturating_duration_since(Instant::now());
    let request = build(
        s.client,
        &s.w.step.method,
        p.url,
        &p.headers,
        p.body.as_ref(),
    )
    .map_err(broken)?
    .timeout(left);
    let started = Instant::now();
    let answer = receive(request, KEEP).await;
    let ended = Instant::now();
    let elapsed_ms = u64::try_from(ended.duration_since(started).as_millis()).unwrap_or(u64::MAX);
    Ok(match answer {
        Ok(a) => {
            let json: Option<Value> = serde_json::from_slice(&a.body).ok();
            let values =
                s.w.collect
                    .iter()
                    .map(|(_, from)| match from {
                        CaptureSource::JsonPointer(p) => {
                            json.as_ref().and_then(|j| j.pointer(p)).cloned()
                        }
                        CaptureSource::Header(h) => a
                            .headers
                            .iter()
                            .find(|(n, _)| n == h)
                            .map(|(_, v)| Value::String(v.clone())),
                    })
                    .collect();
            Sent {
                index,
                started,
                ended,
                answer: Ok(a.status),
                elapsed_ms: a.elapsed_ms,
                values,
            }
        }
        Err(e) => Sent {
            index,
            started,
            ended,
            answer: Err(error_chain(&e)),
            elapsed_ms,
            values: Vec::new(),
        },
    })
}

async fn kill(s: &Shared<'_>) {
    let Some(control) = s.control else { return };
    s.kill.lock().unwrap_or_else(PoisonError::into_inner).began = Some(Instant::now());
    let left = s.deadline.saturating_duration_since(Instant::now());
    let result = tokio::time::timeout(left, control.restart(RestartMode::Kill)).await;
    let mut k = s.kill.lock().unwrap_or_else(PoisonError::into_inner);
    k.ended = Some(Instant::now());
    match result {
        Ok(Ok(url)) => *s.url.write().unwrap_or_else(PoisonError::into_inner) = url,
        Ok(Err(why)) => k.error = Some(why),
        Err(_) => k.error = Some("not healthy again within the check's time limit".into()),
    }
}

/// A failed write is forgiven when it was under way while the service was down.
fn during_kill(sent: &Sent, kill: &Kill) -> bool {
    match kill.began {
        None => false,
        Some(began) => sent.ended >= began && kill.ended.is_none_or(|e| sent.started <= e),
    }
}

fn report(r: &mut Runner<'_>, w: &Writes, sent: &[Sent], kill: &Kill, began: Instant) {
    let acked = sent.iter().filter(|s| s.acked()).count();
    let slowest = sent
        .iter()
        .filter(|s| s.acked())
        .map(|s| s.elapsed_ms)
        .max()
        .unwrap_or(0);
    r.t.event(&format!(
        "{} {}: {} sent, {concurrency} at a time, {acked} acknowledged, slowest acknowledged {slowest} ms, \
         all in {} ms",
        w.step.method,
        w.step.path,
        sent.len(),
        began.elapsed().as_millis(),
        concurrency = w.concurrency,
    ));
    if let Some(k) = kill.began {
        let at = |i: Instant| format!("{} ms", i.duration_since(began).as_millis());
        r.t.event(&format!(
            "killed after {} acknowledged writes at {}, healthy again at {}{}",
            w.kill_after.unwrap_or(0),
            at(k),
            kill.ended.map_or("never".into(), at),
            kill.error
                .as_ref()
                .map_or(String::new(), |e| format!(" ({e})")),
        ));
    }
    let failed: Vec<&Sent> = sent.iter().filter(|s| !s.acked()).collect();
    r.t.records(
        failed
            .iter()
            .take(LISTED)
            .map(|s| {
                format!(
                    "write {} not acknowledged{}: {}",
                    s.index,
                    if during_kill(s, kill) {
                        " (service down)"
                    } else {
                        ""
                    },
                    match &s.answer {
                        Ok(status) => format!("status {status}"),
                        Err(e) => e.clone(),
                    }
                )
            })
            .collect::<Vec<_>>()
            .into_iter(),
    );
}

fn judge(r: &mut Runner<'_>, w: &Writes, sent: &[Sent], kill: &Kill) -> Result<(), StepEnd> {
    if let Some(k) = w.kill_after {
        if kill.began.is_none() {
            let acked = sent.iter().filter(|s| s.acked()).count();
            return Err(StepEnd::Failed(format!(
                "only {acked} of {} writes were acknowledged; the check needed {k} before it kills the service",
                w.count
            )));
        }
        if kill.error.is_some() {
            return Err(StepEnd::Failed(
                "the service did not come back after being killed".into(),
            ));
        }
    }
    if let Some(s) = sent.iter().find(|s| !s.acked() && !during_kill(s, kill)) {
        let what = match &s.answer {
            Ok(status) => format!("status {status}"),
            Err(e) => e.clone(),
        };
        return Err(StepEnd::Failed(format!(
            "write {} ({} {}) was not acknowledged: {what}",
            s.index, w.step.method, w.step.path
        )));
    }
    if let Some(limit) = w.max_ms {
        let slow: Vec<&Sent> = sent
            .iter()
            .filter(|s| s.acked() && s.elapsed_ms > limit)
            .collect();
        if let Some(worst) = slow.iter().map(|s| s.elapsed_ms).max() {
            return Err(StepEnd::Failed(format!(
                "{} of {} acknowledged writes took longer than {limit} ms (the slowest {worst} ms)",
                slow.len(),
                sent.iter().filter(|s| s.acked()).count()
            )));
        }
    }
    for (pos, (name, from)) in w.collect.iter().enumerate() {
        let mut list = Vec::new();
        for s in sent.iter().filter(|s| s.acked()) {
            match s.values.get(pos).cloned().flatten() {
                Some(v) => list.push(v),
                None => {
                    let at = match from {
                        CaptureSource::JsonPointer(p) => p.clone(),
                        CaptureSource::Header(h) => format!("header {h}"),
                    };
                    return Err(StepEnd::Failed(format!(
                        "write {} was acknowledged without {at} in its answer",
                        s.index
                    )));
                }
            }
        }
        // A list another `writes` step started grows: two bursts of writes can be judged as one.
        let whole = r.lists.entry(name.clone()).or_default();
        let before = whole.len();
        whole.extend(list);
        r.t.event(&format!(
            "collected {} values into `{name}` ({} in all)",
            whole.len() - before,
            whole.len()
        ));
        r.vars.set(name, Value::Array(whole.clone()));
    }
    let acked = sent.iter().filter(|s| s.acked()).count();
    r.figures
        .push(format!("{acked} of {} writes acknowledged", w.count));
    Ok(())
}
