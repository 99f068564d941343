//! The swap, step by step: blue up and ready, the router and the traffic on blue, a note written to blue,
//! green up, traffic moved to green once it is ready, SIGTERM to blue and its exit, traffic on green, the
//! note read back from green. Every step's time goes into the [`Milestones`], its requests and answers into
//! the detail's notes; the instances are removed whatever happened.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::judge::{self, Record};
use super::router::{Backend, Router};
use super::timeline::{BlueExit, Milestones};
use super::traffic::{self, Mix};
use super::{Judged, SwapCheck, SLOW_WAIT};
use crate::checks::Verdict;
use crate::checks::{Instance, InstanceData, InstanceError, InstanceSpec, ServiceControl, Signal};

/// The move to green waits (at most [`SLOW_WAIT`]) for a slow request forwarded to blue less than this ago.
const FRESH_SLOW: Duration = Duration::from_millis(50);
/// Between two readiness probes.
const READY_POLL: Duration = Duration::from_millis(50);
/// What a path segment must escape (RFC 3986's path characters stay as they are: `n_4` is sent as `n_4`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// What the detail keeps of each instance's own output.
const LOG_CAP: usize = 4 * 1024;

/// Why the swap stopped before its end.
enum Stop {
    /// The learner's service: the text is learner-safe.
    Service(String),
    /// The grader or the engine: the text is for instructors.
    Platform(String),
}

impl From<InstanceError> for Stop {
    fn from(e: InstanceError) -> Stop {
        match e {
            InstanceError::Service(why) => Stop::Service(why),
            InstanceError::Platform(why) => Stop::Platform(why),
        }
    }
}

/// The swap's state, kept for the verdict whatever step it ended at.
struct Swap<'a> {
    check: &'a SwapCheck,
    control: &'a dyn ServiceControl,
    epoch: Instant,
    m: Milestones,
    notes: String,
    instances: Vec<Arc<dyn Instance>>,
    /// The carried note's path and title, once written to blue.
    carried: Option<(String, String)>,
}

pub(super) async fn swap(check: &SwapCheck, control: &dyn ServiceControl, token: &str) -> Judged {
    let mut s = Swap {
        check,
        control,
        epoch: Instant::now(),
        m: Milestones::default(),
        notes: String::new(),
        instances: Vec::new(),
        carried: None,
    };
    let ended = s.blue_then_green(token).await;
    let logs = s.logs_and_remove().await;
    let (samples, unanswered, carried, stop) = match ended {
        Ok(run) => (run.samples, run.unanswered, run.carried, None),
        Err((run, stop)) => (run.samples, run.unanswered, run.carried, Some(stop)),
    };
    match stop {
        Some(Stop::Platform(why)) => {
            let _ = writeln!(s.notes, "platform fault: {why}");
            Judged {
                verdict: Verdict::Error,
                message: String::new(),
                detail: format!("{}\n{logs}", s.notes),
            }
        }
        Some(Stop::Service(why)) if samples.is_empty() => {
            // Nothing was sent: the service never got as far as the swap.
            let _ = writeln!(s.notes, "stopped: {why}");
            Judged {
                verdict: Verdict::Fail,
                message: format!("failed: {why}"),
                detail: format!("{}\n{}\n{logs}", check.describe(), s.notes),
            }
        }
        Some(Stop::Service(why)) => {
            let _ = writeln!(s.notes, "stopped: {why}");
            judge_all(&s, &samples, unanswered, carried, Some(why), logs)
        }
        None => judge_all(&s, &samples, unanswered, carried, None, logs),
    }
}

fn judge_all(
    s: &Swap,
    samples: &[traffic::Sample],
    unanswered: usize,
    carried: Option<Result<(), String>>,
    stopped: Option<String>,
    logs: String,
) -> Judged {
    let notes = format!("{}\n{logs}", s.notes);
    judge::judge(
        s.check,
        &Record {
            samples,
            unanswered,
            milestones: &s.m,
            carried,
            stopped,
            notes: &notes,
        },
    )
}

/// What the traffic produced, also when the swap stopped early.
#[derive(Default)]
struct Ran {
    samples: Vec<traffic::Sample>,
    unanswered: usize,
    carried: Option<Result<(), String>>,
}

impl Swap<'_> {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn note(&mut self, what: impl std::fmt::Display) {
        let at = judge::secs(self.now());
        let _ = writeln!(self.notes, "{at:>7}  {what}");
    }

    async fn blue_then_green(&mut self, token: &str) -> Result<Ran, (Ran, Stop)> {
        let check = self.check;
        let blue = self
            .start(&check.blue)
            .await
            .map_err(|e| (Ran::default(), e))?;
        self.m.blue_ready = Some(self.now());
        let mut blue_backend = Backend::new(&check.blue, blue.1)
            .map_err(|e| (Ran::default(), Stop::Platform(e.to_string())))?;
        if check.slow_lanes > 0 {
            blue_backend = blue_backend.watching(&check.slow_path);
        }
        let router = Router::start(blue_backend.clone())
            .await
            .map_err(|e| (Ran::default(), Stop::Platform(e.to_string())))?;
        self.note(format_args!("router on {} → {}", router.addr(), check.blue));
        let mix = Arc::new(Mix {
            reads: check.reads.clone(),
            version_path: check.version_path.clone(),
            write_path: check.write_path.clone(),
            write_body: check.write_json.clone(),
            slow_path: check.slow_path.clone(),
            read_lanes: check.read_lanes,
            write_lanes: check.write_lanes,
            slow_lanes: check.slow_lanes,
            pace: check.pace,
        });
        let lanes = traffic::start(router.addr(), mix, self.epoch);
        if check.carry_over {
            self.write_carried(router.addr(), token).await;
        }
        tokio::time::sleep(check.before).await;
        let moved = self.green(&router, &blue_backend, &blue.0).await;
        if moved.is_ok() {
            tokio::time::sleep(check.after).await;
        }
        let (samples, unanswered) = lanes.stop(check.grace).await;
        self.m.traffic_stopped = Some(self.now());
        let mut ran = Ran {
            samples,
            unanswered,
            carried: None,
        };
        if let Err(stop) = moved {
            return Err((ran, stop));
        }
        if check.carry_over {
            ran.carried = Some(self.read_carried(router.addr()).await);
        }
        Ok(ran)
    }

    /// Green up and ready, traffic moved to it, SIGTERM to blue and its exit.
    async fn green(
        &mut self,
        router: &Router,
        blue: &Backend,
        blue_instance: &Arc<dyn Instance>,
    ) -> Result<(), Stop> {
        let check = self.check;
        self.m.green_started = Some(self.now());
        let (_, green_addr) = self.start(&check.green).await?;
        let green =
            Backend::new(&check.green, green_addr).map_err(|e| Stop::Platform(e.to_string()))?;
        if check.slow_lanes > 0 {
            // Green is ready; moving traffic just after the router forwarded a slow request to blue puts SIGTERM
            // on blue while that request has most of its time to run, whatever the lanes' rhythm or the load.
            let fresh = blue.watched_fresh(FRESH_SLOW, SLOW_WAIT).await;
            if !fresh {
                self.note("no slow request was sent to blue just before the move");
            }
        }
        router.route_to(green);
        self.m.switched = Some(self.now());
        self.m.in_flight_at_sigterm = blue.in_flight();
        blue_instance.signal(Signal::Term).await?;
        let sigterm = self.now();
        self.m.sigterm = Some(sigterm);
        let in_flight = self.m.in_flight_at_sigterm;
        self.note(format_args!(
            "traffic moved to {}; SIGTERM to {} with {in_flight} requests in flight on it",
            check.green, check.blue
        ));
        let exit = blue_instance.wait_exit(check.grace).await?;
        self.m.blue_exit = Some(match exit {
            Some(e) => BlueExit::Exited {
                code: e.code,
                after: self.now().saturating_sub(sigterm),
            },
            None => BlueExit::StillRunning { grace: check.grace },
        });
        if let Some(e) = exit.filter(|e| e.oom) {
            self.note(format_args!(
                "{} was killed for memory (status {})",
                check.blue, e.code
            ));
        }
        Ok(())
    }

    /// Launches the version `name` on the shared data, and waits until it listens and is ready.
    async fn start(&mut self, name: &str) -> Result<(Arc<dyn Instance>, SocketAddr), Stop> {
        let check = self.check;
        let spec = InstanceSpec::new(name)
            .env(&check.version_env, name)
            .data(InstanceData::Shared);
        let started = Instant::now();
        let instance = self.control.launch(spec).await?;
        self.instances.push(Arc::clone(&instance));
        self.note(format_args!("{name} launched as {}", instance.name()));
        let url = instance
            .wait_listening(check.ready_within)
            .await
            .map_err(|e| match e {
                InstanceError::Service(why) => {
                    Stop::Service(format!("{name} never listened: {why}"))
                }
                other => other.into(),
            })?;
        let addr = socket_addr(&url).ok_or_else(|| {
            Stop::Platform(format!("{name}'s address {url} is not an IP address"))
        })?;
        let left = check.ready_within.saturating_sub(started.elapsed());
        match ready(addr, &check.ready_path, left).await {
            Ok(probes) => {
                self.note(format_args!(
                    "{name} answered 200 on {} after {} probes ({} from launch)",
                    check.ready_path,
                    probes,
                    judge::secs(started.elapsed())
                ));
                Ok((instance, addr))
            }
            Err(last) => {
                self.note(format_args!(
                    "{name} not ready on {} within {} s; last probe: {last}",
                    check.ready_path,
                    check.ready_within.as_secs()
                ));
                Err(Stop::Service(format!(
                    "{name} never answered 200 on {} within {} s",
                    check.ready_path,
                    check.ready_within.as_secs()
                )))
            }
        }
    }

    /// Writes the note that must be found on green later (through the router, so to blue).
    async fn write_carried(&mut self, router: SocketAddr, token: &str) {
        let title = format!("carried over {token}");
        let body = serde_json::json!({ "title": title }).to_string();
        match traffic::once(router, &self.check.write_path, Some(body)).await {
            Ok(w) if (200..300).contains(&w.status) => {
                let path = location(&w).or_else(|| id_path(&self.check.write_path, &w.body));
                self.note(format_args!(
                    "carried note written to {}: {} → {}",
                    self.check.blue,
                    w.status,
                    path.as_deref().unwrap_or("(no Location and no id)")
                ));
                self.carried = path.map(|p| (p, title));
            }
            Ok(w) => self.note(format_args!(
                "carried note not written: status {}",
                w.status
            )),
            Err(e) => self.note(format_args!("carried note not written: {e}")),
        }
    }

    async fn read_carried(&mut self, router: SocketAddr) -> Result<(), String> {
        let green = self.check.green.clone();
        let Some((path, title)) = self.carried.clone() else {
            return Err(format!(
                "a note could not be written to {} before the swap",
                self.check.blue
            ));
        };
        let read = traffic::once(router, &path, None).await;
        let said = match &read {
            Ok(r) => format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
            Err(e) => e.clone(),
        };
        self.note(format_args!(
            "carried note read back from {green}: GET {path} → {said}"
        ));
        match read {
            Ok(r) if r.status == 200 && title_of(&r.body).as_deref() == Some(&title) => Ok(()),
            Ok(r) if r.status == 200 => Err(format!(
                "a note written to {} before {green} started came back changed from {green}",
                self.check.blue
            )),
            Ok(r) => Err(format!(
                "a note written to {} before {green} started was not found on {green} (status {})",
                self.check.blue, r.status
            )),
            Err(_) => Err(format!(
                "a note written to {} before {green} started could not be read from {green}",
                self.check.blue
            )),
        }
    }

    /// The instances' own output for the detail, and their removal.
    async fn logs_and_remove(&mut self) -> String {
        let mut out = String::new();
        for i in std::mem::take(&mut self.instances) {
            match i.logs(LOG_CAP).await {
                Ok(log) => {
                    let _ = writeln!(
                        out,
                        "--- output of {} (last {LOG_CAP} bytes) ---\n{}",
                        i.name(),
                        log.trim_end()
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "--- output of {}: not read: {e}", i.name());
                }
            }
            if let Err(e) = i.remove().await {
                tracing::warn!(instance = %i.name(), error = %e, "could not remove a swap instance; the run's clean-up will");
            }
        }
        out
    }
}

/// Polls `path` on `addr` until it answers 200; the number of probes, or the last answer seen.
async fn ready(addr: SocketAddr, path: &str, within: Duration) -> Result<usize, String> {
    let deadline = Instant::now() + within;
    let mut probes = 0;
    loop {
        probes += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let last = match tokio::time::timeout(left, traffic::once(addr, path, None)).await {
            Ok(Ok(w)) if w.status == 200 => return Ok(probes),
            Ok(Ok(w)) => format!("status {}", w.status),
            Ok(Err(e)) => e,
            Err(_) => "no answer in time".to_string(),
        };
        if Instant::now() + READY_POLL >= deadline {
            return Err(last);
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

fn socket_addr(url: &url::Url) -> Option<SocketAddr> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => std::net::IpAddr::V4(ip),
        url::Host::Ipv6(ip) => std::net::IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    Some(SocketAddr::new(ip, url.port_or_known_default()?))
}

/// The path of a `Location` header (relative, or absolute on any host: only its path is used, so the read
/// stays on the router).
fn location(w: &traffic::Whole) -> Option<String> {
    let value = w.headers.get(hyper::header::LOCATION)?.to_str().ok()?;
    if value.starts_with('/') && !value.starts_with("//") {
        return Some(value.to_string());
    }
    let url = url::Url::parse(value).ok()?;
    Some(match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    })
}

/// `<write_path>/<id>` from a JSON answer's `id`, for a service that sends no `Location`.
fn id_path(write_path: &str, body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = match doc.get("id")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let id = percent_encoding::utf8_percent_encode(&id, SEGMENT);
    Some(format!("{}/{id}", write_path.trim_end_matches('/')))
}

fn title_of(body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get("title")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(location: Option<&str>, body: &str) -> traffic::Whole {
        let mut headers = hyper::HeaderMap::new();
        if let Some(l) = location {
            headers.insert(hyper::header::LOCATION, l.parse().unwrap());
        }
        traffic::Whole {
            status: 201,
            headers,
            body: hyper::body::Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn the_carried_note_is_read_on_the_router_whatever_host_its_location_names() {
        assert_eq!(
            location(&answer(Some("/notes/n_4"), "")).as_deref(),
            Some("/notes/n_4")
        );
        assert_eq!(
            location(&answer(Some("http://10.0.0.9:8080/notes/n_4?x=1"), "")).as_deref(),
            Some("/notes/n_4?x=1")
        );
        // Scheme-relative: not a path of this service, and not a URL either.
        assert_eq!(location(&answer(Some("//elsewhere/notes/1"), "")), None);
        // No Location: the JSON id, encoded.
        let w = answer(None, r#"{"id":"a b"}"#);
        assert_eq!(id_path("/notes/", &w.body).as_deref(), Some("/notes/a%20b"));
        assert_eq!(
            id_path("/notes", br#"{"id":7}"#).as_deref(),
            Some("/notes/7")
        );
        assert_eq!(id_path("/notes", b"{}"), None);
    }

    #[test]
    fn only_ip_addresses_are_backends() {
        let url = url::Url::parse("http://172.18.0.3:8080/").unwrap();
        assert_eq!(socket_addr(&url), Some("172.18.0.3:8080".parse().unwrap()));
        assert_eq!(
            socket_addr(&url::Url::parse("http://service:8080/").unwrap()),
            None
        );
    }
}
