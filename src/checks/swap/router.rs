//! Gauntlet's own router for the swap: a small HTTP/1.1 reverse proxy on 127.0.0.1, in the grader's process,
//! standing where a platform's load balancer stands in a real blue-green release.
//!
//! Each request is sent to the backend that is current **when it arrives**; [`Router::route_to`] changes that
//! for new requests only, so a request already on its way to blue finishes on blue (on its own connection, from
//! the pool of connections to blue). The router hides nothing of the learner's: it never retries a request a
//! backend received (the pool only resends one that a stale idle connection never delivered), so whatever a
//! backend does to a request (a refused connection, a reset, a cut body) reaches the traffic as it happened. Its own answers say so: a backend it could not reach or that failed before answering becomes a
//! `502` marked with [`ROUTER_ERROR`], and every answer, the router's own included, carries [`BACKEND`] naming the backend that served it
//! (replacing any such header the backend sent, so a service cannot claim to be the other version).
//!
//! Connections to backends are pooled (hyper-util's client), as a proxy keeps them alive; a backend counts the
//! requests it has in flight, answer bodies included, for the detail ("3 slow requests were in flight on blue
//! when it got SIGTERM"). A backend may also watch one request target (the swap's slow request): the router
//! notes when such a request was last forwarded to it, so the swap can send SIGTERM while one surely is on blue.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Names the backend that served an answer.
pub const BACKEND: &str = "x-gauntlet-backend";
/// Set on the router's own `502` when the backend could not be reached or failed mid-request; its value says
/// how (`connect`, `closed`, `other`).
pub const ROUTER_ERROR: &str = "x-gauntlet-router-error";

/// Headers of one hop only (RFC 9110 §7.6.1): never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
];

/// Why the router could not start.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("`{0}` is not a valid backend name for a header")]
    Name(String),
}

/// A service the router can send requests to.
#[derive(Clone, Debug)]
pub struct Backend {
    name: Arc<str>,
    header: HeaderValue,
    addr: SocketAddr,
    in_flight: Arc<AtomicUsize>,
    watch: Option<Arc<Watch>>,
}

/// One request target a backend watches: how many such requests are on it and when the last one was forwarded.
#[derive(Debug)]
struct Watch {
    target: String,
    epoch: Instant,
    /// Milliseconds after `epoch` plus one when the last watched request was forwarded; 0 for never.
    forwarded: AtomicU64,
    in_flight: Arc<AtomicUsize>,
}

impl Backend {
    /// `name` is what [`BACKEND`] says for its answers (e.g. `blue`).
    pub fn new(name: &str, addr: SocketAddr) -> Result<Backend, RouterError> {
        let header =
            HeaderValue::from_str(name).map_err(|_| RouterError::Name(name.to_string()))?;
        Ok(Backend {
            name: name.into(),
            header,
            addr,
            in_flight: Arc::new(AtomicUsize::new(0)),
            watch: None,
        })
    }

    /// Also watches requests whose target (path and query) is exactly `target`; see [`Backend::watched_fresh`].
    pub fn watching(mut self, target: &str) -> Backend {
        self.watch = Some(Arc::new(Watch {
            target: target.to_string(),
            epoch: Instant::now(),
            forwarded: AtomicU64::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }));
        self
    }

    /// Waits, at most `limit`, until a watched request was forwarded to this backend less than `fresh` ago and
    /// is still unanswered, so it surely is in flight a moment later; whether one was. The router counts a
    /// request when it forwards it, not when a client sends it, so a request still on its way to the router
    /// (late under load) never counts as being on this backend.
    pub async fn watched_fresh(&self, fresh: Duration, limit: Duration) -> bool {
        let Some(watch) = &self.watch else {
            return false;
        };
        let deadline = Instant::now() + limit;
        let fresh_ms = u64::try_from(fresh.as_millis()).unwrap_or(u64::MAX);
        loop {
            let forwarded = watch.forwarded.load(Ordering::SeqCst);
            let now = u64::try_from(watch.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            if forwarded > 0
                && now.saturating_sub(forwarded - 1) < fresh_ms
                && watch.in_flight.load(Ordering::SeqCst) > 0
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests sent to this backend whose answer has not been passed on in full yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// What the connection tasks share.
struct Shared {
    current: RwLock<Backend>,
    client: Client<HttpConnector, Incoming>,
}

impl Shared {
    fn current(&self) -> Backend {
        match self.current.read() {
            Ok(b) => b.clone(),
            // A panic while switching cannot leave a half-written `Backend`: the value is replaced whole.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// A running router; dropping it stops it (its listener and every connection it serves).
pub struct Router {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Router {
    /// Listens on a free port of 127.0.0.1 and sends every request to `first` until told otherwise.
    pub async fn start(first: Backend) -> Result<Router, RouterError> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(RouterError::Bind)?;
        let addr = listener.local_addr().map_err(RouterError::Bind)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let shared = Arc::new(Shared {
            current: RwLock::new(first),
            client,
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Router {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients send their requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The backend new requests go to.
    pub fn current(&self) -> Backend {
        self.shared.current()
    }

    /// Sends every request that arrives from now on to `backend`; requests already forwarded stay where they
    /// are.
    pub fn route_to(&self, backend: Backend) {
        match self.shared.current.write() {
            Ok(mut b) => *b = backend,
            Err(poisoned) => *poisoned.into_inner() = backend,
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        // The accept task owns the connection tasks (a `JoinSet`), so they end with it.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(forward(&shared, req).await) }
                    });
                    // A client that goes away mid-request is the client's business; nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow over a long swap.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

type Answer = Response<BoxBody<Bytes, hyper::Error>>;

async fn forward(shared: &Shared, req: Request<Incoming>) -> Answer {
    let backend = shared.current();
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let guard = InFlight::enter(&backend, &path);
    parts.uri = match format!("http://{}{path}", backend.addr).parse() {
        Ok(uri) => uri,
        Err(_) => {
            return router_error(
                &backend,
                "other",
                "the request target could not be forwarded",
            )
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    let answer = shared
        .client
        .request(Request::from_parts(parts, body))
        .await;
    match answer {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            parts
                .headers
                .insert(HeaderName::from_static(BACKEND), backend.header.clone());
            let body = Tracked {
                inner: body,
                _guard: guard,
            };
            Response::from_parts(parts, body.boxed())
        }
        Err(e) => {
            let how = if e.is_connect() {
                "connect"
            } else if is_closed(&e) {
                "closed"
            } else {
                "other"
            };
            router_error(&backend, how, &error_chain(&e))
        }
    }
}

fn strip_hop_by_hop(headers: &mut hyper::HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|n| n.trim().to_ascii_lowercase()))
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

/// Whether the backend closed or reset the connection (as opposed to refusing it).
fn is_closed(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return h.is_incomplete_message() || h.is_closed() || h.is_canceled();
        }
        source = s.source();
    }
    false
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn router_error(backend: &Backend, how: &'static str, why: &str) -> Answer {
    let body = Full::new(Bytes::from(why.to_string()))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(
        HeaderName::from_static(ROUTER_ERROR),
        HeaderValue::from_static(how),
    );
    response
        .headers_mut()
        .insert(HeaderName::from_static(BACKEND), backend.header.clone());
    response
}

/// Counts a request in its backend's in-flight number (and its watch's, for the watched target) until its answer
/// has been passed on (or dropped).
struct InFlight(Vec<Arc<AtomicUsize>>);

impl InFlight {
    fn enter(backend: &Backend, target: &str) -> InFlight {
        let mut counters = vec![Arc::clone(&backend.in_flight)];
        if let Some(watch) = backend.watch.as_ref().filter(|w| w.target == target) {
            counters.push(Arc::clone(&watch.in_flight));
            let ms = u64::try_from(watch.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
            watch.forwarded.store(ms + 1, Ordering::SeqCst);
        }
        for c in &counters {
            c.fetch_add(1, Ordering::SeqCst);
        }
        InFlight(counters)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for c in &self.0 {
            c.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// An answer's body that keeps its request counted in flight until the body is done with.
struct Tracked {
    inner: Incoming,
    _guard: InFlight,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::swap::testing::{backend, refused, slams_the_door};
    use crate::checks::swap::traffic;

    fn header<'a>(w: &'a traffic::Whole, name: &str) -> Option<&'a str> {
        w.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn new_requests_go_to_the_new_backend_while_one_in_flight_finishes_on_the_old() {
        let blue = Backend::new("blue", backend("blue").await).unwrap();
        let green = Backend::new("green", backend("green").await).unwrap();
        let router = Router::start(blue.clone()).await.unwrap();
        let addr = router.addr();
        let slow = tokio::spawn(async move { traffic::once(addr, "/work?ms=400", None).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(blue.in_flight(), 1);
        router.route_to(green.clone());
        let fast = traffic::once(addr, "/version", None).await.unwrap();
        assert_eq!(header(&fast, BACKEND), Some("green"));
        assert_eq!(traffic::version_of(&fast.body).as_deref(), Some("green"));
        let slow = slow.await.unwrap().unwrap();
        assert_eq!(slow.status, 200);
        assert_eq!(header(&slow, BACKEND), Some("blue"));
        assert_eq!(&slow.body[..], b"done by blue");
        assert_eq!((blue.in_flight(), green.in_flight()), (0, 0));
    }

    #[tokio::test]
    async fn a_watched_request_counts_once_forwarded_and_only_while_unanswered() {
        let blue = Backend::new("blue", backend("blue").await)
            .unwrap()
            .watching("/work?ms=300");
        let router = Router::start(blue.clone()).await.unwrap();
        let addr = router.addr();
        let fresh = Duration::from_millis(20);
        // Fast requests and other targets are not watched.
        traffic::once(addr, "/version", None).await.unwrap();
        traffic::once(addr, "/work?ms=10", None).await.unwrap();
        assert!(!blue.watched_fresh(fresh, Duration::from_millis(100)).await);

        let slow = tokio::spawn(async move {
            let sent = Instant::now();
            let w = traffic::once(addr, "/work?ms=300", None).await.unwrap();
            (sent, w, Instant::now())
        });
        assert!(blue.watched_fresh(fresh, Duration::from_secs(2)).await);
        let seen = Instant::now();
        assert_eq!(blue.in_flight(), 1);
        let (sent, answer, done) = slow.await.unwrap();
        assert_eq!(header(&answer, BACKEND), Some("blue"));
        // Seen on its way: it had most of its 300 ms to go.
        assert!(seen >= sent && done >= seen + Duration::from_millis(200));
        // Answered, it no longer counts, however fresh the window.
        assert!(
            !blue
                .watched_fresh(Duration::from_secs(60), Duration::from_millis(50))
                .await
        );
        // A backend that watches nothing never waits successfully.
        let plain = Backend::new("green", backend("green").await).unwrap();
        assert!(
            !plain
                .watched_fresh(Duration::from_secs(60), Duration::ZERO)
                .await
        );
    }

    #[tokio::test]
    async fn a_backend_that_refuses_or_drops_the_connection_is_a_marked_502() {
        let router = Router::start(Backend::new("blue", refused().await).unwrap())
            .await
            .unwrap();
        let w = traffic::once(router.addr(), "/healthz", None)
            .await
            .unwrap();
        assert_eq!(w.status, 502);
        assert_eq!(header(&w, ROUTER_ERROR), Some("connect"));
        assert_eq!(header(&w, BACKEND), Some("blue"));

        router.route_to(Backend::new("green", slams_the_door().await).unwrap());
        let w = traffic::once(router.addr(), "/healthz", None)
            .await
            .unwrap();
        assert_eq!(w.status, 502);
        assert_eq!(header(&w, ROUTER_ERROR), Some("closed"));
    }

    #[tokio::test]
    async fn a_backend_cannot_claim_to_be_another() {
        let blue = Backend::new("blue", backend("blue").await).unwrap();
        let router = Router::start(blue).await.unwrap();
        // The test backend answers `/claim` with `x-gauntlet-backend: green`.
        let w = traffic::once(router.addr(), "/claim", None).await.unwrap();
        let names: Vec<&str> = w
            .headers
            .get_all(BACKEND)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(names, ["blue"]);
    }

    #[tokio::test]
    async fn bodies_and_methods_are_forwarded_unchanged() {
        let router = Router::start(Backend::new("blue", backend("blue").await).unwrap())
            .await
            .unwrap();
        let w = traffic::once(router.addr(), "/echo?x=1", Some(r#"{"title":"a"}"#.into()))
            .await
            .unwrap();
        assert_eq!(w.status, 201);
        assert_eq!(&w.body[..], br#"POST /echo?x=1 {"title":"a"}"#);
    }
}
