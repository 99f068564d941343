//! The two phases of a lifecycle check on a fresh instance, recorded as a timeline; judging is `judge.rs`'s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::probe::{self, Answer};
use super::{Expect, LifecycleCheck, READY_DELAY_VAR};
use crate::checks::{Exit, Instance, InstanceSpec, ServiceControl, Signal};

/// Pause between readiness probes while starting: short, since the first 200 is a measured time.
const START_POLL: Duration = Duration::from_millis(50);
/// Pause between readiness probes while draining.
const DRAIN_POLL: Duration = Duration::from_millis(100);
/// Bound on one readiness probe.
const PROBE_BOUND: Duration = Duration::from_secs(1);
/// How long slow requests may take to be written before SIGTERM is sent anyway (and the late ones noted).
const WRITE_CAP: Duration = Duration::from_secs(2);
/// After the last slow request is written, before SIGTERM: time for the service to read them.
const SETTLE: Duration = Duration::from_millis(200);
/// After the platform's SIGKILL, how long the engine may take to report the exit.
const KILL_WAIT: Duration = Duration::from_secs(10);
/// The instance's log kept for the instructor.
const LOG_CAP: usize = 8 * 1024;
/// Where a service that ignores `PORT` usually listens.
const DEFAULT_PORT: u16 = 8080;

/// Everything seen on one instance.
#[derive(Debug, Default)]
pub(super) struct Seen {
    pub instance: String,
    /// A platform fault that stopped the scenario (no verdict on the learner).
    pub fault: Option<String>,
    /// The learner's service could not be started or exited at once (its words).
    pub not_started: Option<String>,
    pub start: Start,
    pub term: Option<Term>,
    pub log: String,
}

/// The start phase: readiness probes from the container's start, in ms since just before it was started.
#[derive(Debug, Default)]
pub(super) struct Start {
    pub probes: Vec<(u64, Answer)>,
    pub listened_ms: Option<u64>,
    pub first_not_ready_ms: Option<u64>,
    pub first_ready_ms: Option<u64>,
    /// The process ended during start-up.
    pub exited: Option<Exit>,
    /// Never listened on its port, but answers on 8080.
    pub on_default_port: bool,
}

/// The SIGTERM phase, in ms since SIGTERM.
#[derive(Debug, Default)]
pub(super) struct Term {
    /// Slow requests not yet written when SIGTERM went anyway.
    pub unwritten: usize,
    pub readiness: Vec<(u64, Answer)>,
    /// Each slow request: when it ended and how.
    pub slow: Vec<(u64, Answer)>,
    /// The exit within the grace period, and when.
    pub exit: Option<(u64, Exit)>,
    /// The exit after the platform's SIGKILL, when there was none within the grace period.
    pub killed: Option<Exit>,
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Starts an instance on `port`, runs the phases `check` needs, removes it.
pub(super) async fn run(check: &LifecycleCheck, control: &dyn ServiceControl, port: u16) -> Seen {
    let mut seen = Seen::default();
    let mut spec = InstanceSpec::new("life").port(port);
    for (name, value) in &check.env {
        spec = spec.env(name, value);
    }
    if let Some(delay) = check.ready_delay {
        spec = spec.env(READY_DELAY_VAR, &delay.as_millis().to_string());
    }
    let t0 = Instant::now();
    let instance = match control.launch(spec).await {
        Ok(i) => i,
        Err(crate::checks::InstanceError::Service(why)) => {
            seen.not_started = Some(why);
            return seen;
        }
        Err(crate::checks::InstanceError::Platform(why)) => {
            seen.fault = Some(why);
            return seen;
        }
    };
    seen.instance = instance.name();
    seen.start = start(check, instance.as_ref(), t0, port).await;
    let needs_term = check.expect.iter().any(|e| e.needs_sigterm());
    if needs_term && seen.start.first_ready_ms.is_some() {
        match term(check, &instance).await {
            Ok(t) => seen.term = Some(t),
            Err(why) => seen.fault = Some(why),
        }
    }
    seen.log = instance.logs(LOG_CAP).await.unwrap_or_default();
    if let Err(e) = instance.remove().await {
        tracing::warn!(instance = %seen.instance, error = %e, "removing a lifecycle instance failed");
    }
    seen
}

/// Polls readiness until the first 200 (or, when only listening is graded, the first answer), the process
/// exits, or `ready_within` passes.
async fn start(check: &LifecycleCheck, instance: &dyn Instance, t0: Instant, port: u16) -> Start {
    let mut s = Start::default();
    let only_listen = check.expect.iter().all(|e| *e == Expect::Listens);
    let mut last_exit_look = Instant::now();
    while t0.elapsed() < check.ready_within {
        let answer = match instance.url() {
            Some(url) => probe::get(&url, &check.ready_path, PROBE_BOUND, None).await,
            None => Answer::Refused,
        };
        let at = ms(t0);
        if !matches!(answer, Answer::Refused) && s.listened_ms.is_none() {
            s.listened_ms = Some(at);
        }
        let ready = answer.is_ready();
        if ready {
            s.first_ready_ms.get_or_insert(at);
        } else if matches!(answer, Answer::Full { .. }) && s.first_ready_ms.is_none() {
            s.first_not_ready_ms.get_or_insert(at);
        }
        let refused = matches!(answer, Answer::Refused);
        s.probes.push((at, answer));
        if ready || (only_listen && s.listened_ms.is_some()) {
            return s;
        }
        if refused && last_exit_look.elapsed() >= Duration::from_millis(500) {
            last_exit_look = Instant::now();
            if let Ok(Some(exit)) = instance.wait_exit(Duration::from_millis(150)).await {
                s.exited = Some(exit);
                return s;
            }
        }
        tokio::time::sleep(START_POLL).await;
    }
    if s.listened_ms.is_none() && port != DEFAULT_PORT {
        if let Some(mut url) = instance.url() {
            if url.set_port(Some(DEFAULT_PORT)).is_ok() {
                let answer = probe::get(&url, &check.ready_path, PROBE_BOUND, None).await;
                s.on_default_port = !matches!(answer, Answer::Refused);
            }
        }
    }
    s
}

/// Sends the slow requests, SIGTERM once they are written, then watches readiness, the answers and the exit.
async fn term(check: &LifecycleCheck, instance: &Arc<dyn Instance>) -> Result<Term, String> {
    let mut t = Term::default();
    let url = instance
        .url()
        .ok_or("the instance has no address before SIGTERM")?;
    let path = format!("{}?ms={}", check.slow_path, check.slow_ms);
    let bound = Duration::from_millis(check.slow_ms) + check.grace + Duration::from_secs(5);
    let mut flags = Vec::new();
    let mut slow = Vec::new();
    let sent_at = Instant::now();
    for _ in 0..check.slow_requests {
        let written = Arc::new(AtomicBool::new(false));
        flags.push(written.clone());
        let (url, path) = (url.clone(), path.clone());
        slow.push(tokio::spawn(async move {
            let answer = probe::get(&url, &path, bound, Some(written)).await;
            (Instant::now(), answer)
        }));
    }
    while flags.iter().any(|f| !f.load(Ordering::SeqCst)) && sent_at.elapsed() < WRITE_CAP {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.unwritten = flags.iter().filter(|f| !f.load(Ordering::SeqCst)).count();
    tokio::time::sleep(SETTLE).await;

    let term_at = Instant::now();
    instance
        .signal(Signal::Term)
        .await
        .map_err(|e| format!("SIGTERM could not be sent: {e}"))?;
    let waiter = {
        let (instance, grace) = (instance.clone(), check.grace);
        tokio::spawn(async move {
            let exit = instance.wait_exit(grace).await;
            (Instant::now(), exit)
        })
    };
    loop {
        let answer = probe::get(&url, &check.ready_path, PROBE_BOUND, None).await;
        t.readiness.push((ms(term_at), answer));
        let all_done = slow.iter().all(|h| h.is_finished());
        if all_done || waiter.is_finished() || term_at.elapsed() >= check.grace {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    for handle in slow {
        let (done, answer) = handle
            .await
            .map_err(|e| format!("a slow request's task failed: {e}"))?;
        let at = u64::try_from(done.saturating_duration_since(term_at).as_millis()).unwrap_or(0);
        t.slow.push((at, answer));
    }
    let (ended, exit) = waiter
        .await
        .map_err(|e| format!("the exit waiter failed: {e}"))?;
    match exit.map_err(|e| e.to_string())? {
        Some(exit) => {
            let at = u64::try_from(ended.saturating_duration_since(term_at).as_millis());
            t.exit = Some((at.unwrap_or(0), exit));
        }
        None => {
            // What a platform does at the end of the grace period.
            instance
                .signal(Signal::Kill)
                .await
                .map_err(|e| format!("SIGKILL could not be sent: {e}"))?;
            t.killed = instance
                .wait_exit(KILL_WAIT)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(t)
}
