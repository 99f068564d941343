//! The steady mixed traffic sent through the router for the whole swap, and what became of every request.
//!
//! Traffic runs in lanes, each a task with one keep-alive connection to the router and at most one request in
//! flight, pausing `pace` between requests: read lanes cycle through GET paths (health, version, list), write
//! lanes POST a note, slow lanes ask for slow work. Every request is recorded as a [`Sample`] with when it was
//! sent, how long it took and how it ended; a lane told to stop finishes the request it has in flight first,
//! so a request the service accepted is always seen to its end (or to its failure).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::router::{BACKEND, ROUTER_ERROR};

/// Answers are read whole (a cut body is a failure), up to this; more is a failure too, not a memory cost.
const MAX_BODY: usize = 1 << 20;
/// Pause after a failed connection to the router, so that a lane does not spin.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
/// What a failed answer keeps of its body for the detail.
const EXCERPT: usize = 200;

/// What the lanes send.
#[derive(Debug, Clone)]
pub struct Mix {
    /// GET paths the read lanes cycle through.
    pub reads: Vec<String>,
    /// The read path whose JSON answer names the version (`{"version": "blue"}`).
    pub version_path: String,
    /// Where write lanes POST `write_body` (JSON).
    pub write_path: String,
    pub write_body: String,
    /// A GET that takes a while to answer (`/work?ms=800`).
    pub slow_path: String,
    pub read_lanes: usize,
    pub write_lanes: usize,
    pub slow_lanes: usize,
    /// Pause between two requests of one lane.
    pub pace: Duration,
}

/// The three kinds of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Slow,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Slow => "slow",
        }
    }
}

/// One request of the traffic and how it ended.
#[derive(Debug, Clone)]
pub struct Sample {
    pub kind: Kind,
    pub path: Arc<str>,
    /// A request of the version path, whose answer must name the version that served it.
    pub is_version: bool,
    /// When it was sent, from the start of the swap.
    pub sent: Duration,
    pub took: Duration,
    pub outcome: Outcome,
}

impl Sample {
    /// When it ended, from the start of the swap.
    pub fn done(&self) -> Duration {
        self.sent + self.took
    }

    /// Which backend the router sent it to, when known.
    pub fn backend(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Answered { backend, .. } | Outcome::Unreachable { backend, .. } => {
                backend.as_deref()
            }
            Outcome::Cut(_) => None,
        }
    }

    /// A connection error: the request never got a whole answer from the service.
    pub fn is_connection_error(&self) -> bool {
        !matches!(self.outcome, Outcome::Answered { .. })
    }

    /// A whole answer that was not a success.
    pub fn is_failed_answer(&self) -> bool {
        matches!(&self.outcome, Outcome::Answered { status, .. } if !(200..300).contains(status))
    }
}

/// How a request ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A whole answer from the service.
    Answered {
        status: u16,
        /// The backend that served it, from the router's header.
        backend: Option<String>,
        /// For the version path: the `version` its JSON answer named.
        version: Option<String>,
        /// For an answer that was not a success: the start of its body.
        excerpt: Option<String>,
    },
    /// The router's own `502`: the backend refused the connection, closed it or failed mid-request.
    Unreachable {
        backend: Option<String>,
        how: String,
        why: String,
    },
    /// The exchange with the router itself failed, or the answer was cut (the backend died mid-body).
    Cut(String),
}

/// Lanes under way; [`Running::stop`] ends them and hands back every sample.
pub struct Running {
    stop: watch::Sender<bool>,
    lanes: JoinSet<Vec<Sample>>,
}

/// Starts every lane of `mix` against the router at `router`; times are measured from `epoch`.
pub fn start(router: SocketAddr, mix: Arc<Mix>, epoch: Instant) -> Running {
    let (stop, stopped) = watch::channel(false);
    let mut lanes = JoinSet::new();
    let kinds = std::iter::repeat_n(Kind::Read, mix.read_lanes)
        .chain(std::iter::repeat_n(Kind::Write, mix.write_lanes))
        .chain(std::iter::repeat_n(Kind::Slow, mix.slow_lanes));
    for (i, kind) in kinds.enumerate() {
        let lane = Lane {
            kind,
            index: i,
            router,
            mix: Arc::clone(&mix),
            epoch,
        };
        lanes.spawn(lane.run(stopped.clone()));
    }
    Running { stop, lanes }
}

impl Running {
    /// Tells every lane to stop after its request in flight and collects the samples (in the order sent),
    /// waiting at most `wait` for the last answers; also says how many lanes were still waiting then (each a
    /// request the service never answered; their earlier samples are lost with them).
    pub async fn stop(mut self, wait: Duration) -> (Vec<Sample>, usize) {
        let _ = self.stop.send(true);
        let mut samples = Vec::new();
        let deadline = Instant::now() + wait;
        let mut unfinished = 0;
        loop {
            match tokio::time::timeout_at(deadline, self.lanes.join_next()).await {
                Ok(Some(Ok(lane))) => samples.extend(lane),
                // A lane that panicked has lost its samples; count it as one that never finished.
                Ok(Some(Err(_))) => unfinished += 1,
                Ok(None) => break,
                Err(_) => {
                    unfinished += self.lanes.len();
                    break;
                }
            }
        }
        samples.sort_by_key(|s| s.sent);
        (samples, unfinished)
    }
}

struct Lane {
    kind: Kind,
    index: usize,
    router: SocketAddr,
    mix: Arc<Mix>,
    epoch: Instant,
}

impl Lane {
    fn request(&self, n: usize) -> (Arc<str>, Request<Full<Bytes>>) {
        let (method, path, body) = match self.kind {
            Kind::Read => {
                let reads = &self.mix.reads;
                // Each read lane starts at another path, so the paths are mixed at every moment.
                let path = reads
                    .get((n + self.index) % reads.len().max(1))
                    .map_or("/", String::as_str);
                ("GET", path, None)
            }
            Kind::Write => (
                "POST",
                self.mix.write_path.as_str(),
                Some(self.mix.write_body.clone()),
            ),
            Kind::Slow => ("GET", self.mix.slow_path.as_str(), None),
        };
        (Arc::from(path), request(method, self.router, path, body))
    }

    async fn run(self, mut stop: watch::Receiver<bool>) -> Vec<Sample> {
        let mut samples = Vec::new();
        let mut sender: Option<SendRequest<Full<Bytes>>> = None;
        let mut n = 0;
        while !*stop.borrow() {
            let (path, req) = self.request(n);
            let is_version = *path == *self.mix.version_path;
            n += 1;
            let sent = self.epoch.elapsed();
            let started = Instant::now();
            let outcome = match sender.as_mut() {
                Some(s) => exchange(s, req, is_version).await,
                None => match connect(self.router).await {
                    Ok(mut s) => {
                        let o = exchange(&mut s, req, is_version).await;
                        sender = Some(s);
                        o
                    }
                    Err(e) => Outcome::Cut(format!("cannot connect to the router: {e}")),
                },
            };
            if matches!(outcome, Outcome::Cut(_)) {
                // The connection is in an unknown state: start a new one.
                sender = None;
            }
            let failed_to_connect = matches!(outcome, Outcome::Cut(_));
            samples.push(Sample {
                kind: self.kind,
                path,
                is_version,
                sent,
                took: started.elapsed(),
                outcome,
            });
            let pause = if failed_to_connect {
                RECONNECT_PAUSE.max(self.mix.pace)
            } else {
                self.mix.pace
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
        samples
    }
}

fn request(method: &str, to: SocketAddr, path: &str, body: Option<String>) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, to.to_string());
    if body.is_some() {
        builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let body = Full::new(Bytes::from(body.unwrap_or_default()));
    // The parts are all checked before (paths start with `/`, methods are constants); an invalid one is a bug
    // in this module, answered with an empty GET that the transcript would show.
    builder
        .body(body)
        .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
}

/// A keep-alive HTTP/1.1 connection to `to`; its driver runs as its own task and ends with the sender.
pub async fn connect(to: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(to).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request and reads its answer whole.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
    is_version: bool,
) -> Outcome {
    match send(sender, req).await {
        Ok(answer) => classify(answer, is_version),
        Err(e) => Outcome::Cut(e),
    }
}

/// A whole answer: status, headers, body.
#[derive(Debug)]
pub struct Whole {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// Sends `req` on `sender` and reads the whole answer (at most [`MAX_BODY`]).
pub async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<Whole, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("the answer was cut: {e}"))?
        .to_bytes();
    Ok(Whole {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}

/// Sends one request on a fresh connection (`GET` when `body` is `None`, else a JSON `POST`).
pub async fn once(to: SocketAddr, path: &str, body: Option<String>) -> Result<Whole, String> {
    let mut sender = connect(to).await?;
    let method = if body.is_some() { "POST" } else { "GET" };
    send(&mut sender, request(method, to, path, body)).await
}

fn classify(answer: Whole, is_version: bool) -> Outcome {
    let header = |name: &str| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let backend = header(BACKEND);
    if let Some(how) = header(ROUTER_ERROR) {
        return Outcome::Unreachable {
            backend,
            how,
            why: String::from_utf8_lossy(&answer.body).into_owned(),
        };
    }
    let ok = (200..300).contains(&answer.status);
    let version = (ok && is_version)
        .then(|| version_of(&answer.body))
        .flatten();
    let excerpt = (!ok).then(|| excerpt(&answer.body));
    Outcome::Answered {
        status: answer.status,
        backend,
        version,
        excerpt,
    }
}

/// The `version` string of a JSON object, if there is one.
pub fn version_of(body: &[u8]) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    doc.get("version")?.as_str().map(str::to_string)
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(EXCERPT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swap::router::{Backend, Router};
    use crate::checks::swap::testing::{backend, refused};

    fn mix(reads: &[&str], slow: &str) -> Arc<Mix> {
        Arc::new(Mix {
            reads: reads.iter().map(|s| s.to_string()).collect(),
            version_path: "/version".into(),
            write_path: "/echo".into(),
            write_body: r#"{"title":"t"}"#.into(),
            slow_path: slow.into(),
            read_lanes: 1,
            write_lanes: 1,
            slow_lanes: 1,
            pace: Duration::from_millis(10),
        })
    }

    #[tokio::test]
    async fn lanes_mix_their_requests_and_a_stop_waits_for_the_slow_one_in_flight() {
        let router = Router::start(Backend::new("blue", backend("blue").await).unwrap())
            .await
            .unwrap();
        let running = start(
            router.addr(),
            mix(&["/healthz", "/version"], "/work?ms=300"),
            Instant::now(),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (samples, unanswered) = running.stop(Duration::from_secs(2)).await;
        assert_eq!(unanswered, 0);
        let slow: Vec<&Sample> = samples.iter().filter(|s| s.kind == Kind::Slow).collect();
        assert_eq!(slow.len(), 1, "{samples:?}");
        assert!(slow[0].took >= Duration::from_millis(300));
        assert!(matches!(
            slow[0].outcome,
            Outcome::Answered { status: 200, .. }
        ));
        let versions: Vec<Option<&str>> = samples
            .iter()
            .filter(|s| s.is_version)
            .map(|s| match &s.outcome {
                Outcome::Answered { version, .. } => version.as_deref(),
                _ => None,
            })
            .collect();
        assert!(!versions.is_empty() && versions.iter().all(|v| *v == Some("blue")));
        assert!(samples
            .iter()
            .any(|s| s.kind == Kind::Write
                && matches!(s.outcome, Outcome::Answered { status: 201, .. })));
        assert!(samples.iter().all(|s| s.backend() == Some("blue")));
        assert!(samples.windows(2).all(|w| w[0].sent <= w[1].sent));
    }

    #[test]
    fn the_version_is_read_from_a_json_object_with_any_other_fields() {
        assert_eq!(
            version_of(br#"{"version":"blue","commit":"abc"}"#).as_deref(),
            Some("blue")
        );
        assert_eq!(version_of(br#"{"version":1}"#), None);
        assert_eq!(version_of(b"blue"), None);
    }

    #[tokio::test]
    async fn a_stop_gives_up_on_a_request_never_answered() {
        let router = Router::start(Backend::new("blue", backend("blue").await).unwrap())
            .await
            .unwrap();
        let running = start(
            router.addr(),
            mix(&["/version"], "/work?ms=5000"),
            Instant::now(),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (_, unanswered) = running.stop(Duration::from_millis(200)).await;
        assert_eq!(unanswered, 1);
    }

    #[tokio::test]
    async fn error_answers_and_unreachable_backends_are_told_apart() {
        let router = Router::start(Backend::new("blue", backend("blue").await).unwrap())
            .await
            .unwrap();
        let failing = Mix {
            write_lanes: 0,
            slow_lanes: 0,
            ..(*mix(&["/fail"], "/work")).clone()
        };
        let running = start(router.addr(), Arc::new(failing.clone()), Instant::now());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (samples, _) = running.stop(Duration::from_secs(1)).await;
        assert!(samples
            .iter()
            .all(|s| s.is_failed_answer() && !s.is_connection_error()));

        router.route_to(Backend::new("green", refused().await).unwrap());
        let running = start(router.addr(), Arc::new(failing), Instant::now());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (samples, _) = running.stop(Duration::from_secs(1)).await;
        assert!(!samples.is_empty());
        assert!(samples.iter().all(|s| s.is_connection_error()
            && !s.is_failed_answer()
            && s.backend() == Some("green")));
    }
}
