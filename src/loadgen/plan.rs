//! The spec checked once and turned into what every connection shares: the resolved address, the request
//! template, the time window and the request budget.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, HOST};
use hyper::{Method, Request, Uri};
use tokio::time::Instant;

use super::{LoadError, LoadSpec, MAX_CONNECTIONS};

/// One request as sent, built once.
struct Template {
    method: Method,
    /// Origin-form (`/path?query`): HTTP/1.1 servers expect it, and it avoids an absolute URI per request.
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// Read-only during the run except for the request budget.
pub(super) struct Plan {
    pub addr: SocketAddr,
    templates: Vec<Template>,
    /// Indexes into `templates`, each repeated by its weight: request `n` of a run is `cycle[n % len]`.
    cycle: Vec<usize>,
    /// When the open loop's schedule starts (warm-up included).
    pub start: Instant,
    /// Open loop: requests due per second over every connection.
    pub rate: Option<f64>,
    /// Open loop: how long past `end` due and in-flight requests may still take.
    pub drain: std::time::Duration,
    /// Requests started before this instant are sent but not counted.
    pub warm_end: Instant,
    /// No request starts after this instant, and requests still in flight then are abandoned uncounted.
    pub end: Option<Instant>,
    /// Counted requests allowed, and how many were claimed so far (claims past the limit are refused).
    budget: Option<(u64, AtomicU64)>,
}

impl Plan {
    pub async fn new(spec: &LoadSpec) -> Result<Plan, LoadError> {
        if spec.connections == 0 || spec.connections > MAX_CONNECTIONS {
            return Err(LoadError::Connections(spec.connections));
        }
        if spec.duration.is_none() && spec.requests.is_none() {
            return Err(LoadError::NoStop);
        }
        let url = &spec.url;
        if url.scheme() != "http" {
            return Err(LoadError::UnsupportedScheme(url.scheme().to_string()));
        }
        let host = url.host_str().ok_or(LoadError::NoHost)?;
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = resolve(host, port).await?;
        if let Some(rate) = spec.rate {
            if spec.duration.is_none() || !(0.1..=100_000.0).contains(&rate) {
                return Err(LoadError::OpenLoop);
            }
        }
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let mut templates = Vec::new();
        let mut cycle = Vec::new();
        if spec.mix.is_empty() {
            let path_and_query = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            let body = spec.body.clone().unwrap_or_default();
            templates.push(template(
                &spec.method,
                &path_and_query,
                &authority,
                &spec.headers,
                body,
            )?);
            cycle.push(0);
        }
        for (i, m) in spec.mix.iter().enumerate() {
            let body = m.body.clone().unwrap_or_default();
            templates.push(template(&m.method, &m.path, &authority, &m.headers, body)?);
            cycle.extend(std::iter::repeat_n(i, m.weight.max(1) as usize));
        }
        let start = Instant::now();
        let warm_end = start + spec.warmup;
        Ok(Plan {
            addr,
            templates,
            cycle,
            start,
            rate: spec.rate,
            drain: spec.drain,
            warm_end,
            end: spec.duration.map(|d| warm_end + d),
            budget: spec.requests.map(|r| (r, AtomicU64::new(0))),
        })
    }

    /// A fresh first request of the cycle (hyper consumes requests, so each send needs its own).
    pub fn request(&self) -> Request<Full<Bytes>> {
        self.request_at(0)
    }

    /// A fresh request `n` of the cycle.
    pub fn request_at(&self, n: u64) -> Request<Full<Bytes>> {
        let i = self.cycle[(n % self.cycle.len() as u64) as usize];
        let t = &self.templates[i];
        let mut req = Request::new(Full::new(t.body.clone()));
        *req.method_mut() = t.method.clone();
        *req.uri_mut() = t.uri.clone();
        *req.headers_mut() = t.headers.clone();
        req
    }

    /// Whether a request (or connection attempt) starting at `now` is counted.
    pub fn counts(&self, now: Instant) -> bool {
        now >= self.warm_end
    }

    /// Takes one counted request from the budget; `false` once the budget is spent.
    pub fn claim(&self) -> bool {
        match &self.budget {
            None => true,
            Some((limit, claimed)) => claimed.fetch_add(1, Ordering::Relaxed) < *limit,
        }
    }

    /// Whether the budget is spent, without taking from it.
    pub fn spent(&self) -> bool {
        match &self.budget {
            None => false,
            Some((limit, claimed)) => claimed.load(Ordering::Relaxed) >= *limit,
        }
    }
}

fn template(
    method: &str,
    path_and_query: &str,
    authority: &str,
    extra: &[(String, String)],
    body: Vec<u8>,
) -> Result<Template, LoadError> {
    let invalid = |e: &dyn std::fmt::Display| LoadError::InvalidRequest(e.to_string());
    let method =
        Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|e| invalid(&e))?;
    let uri: Uri = path_and_query.parse().map_err(|e| invalid(&e))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        HOST,
        HeaderValue::from_str(authority).map_err(|e| invalid(&e))?,
    );
    for (name, value) in extra {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?;
        let value = HeaderValue::from_str(value).map_err(|e| invalid(&e))?;
        headers.insert(name, value);
    }
    Ok(Template {
        method,
        uri,
        headers,
        body: Bytes::from(body),
    })
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, LoadError> {
    let failed = |reason: String| LoadError::Resolve {
        host: host.to_string(),
        reason,
    };
    // `url` keeps IPv6 literals bracketed; the resolver wants them bare.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| failed(e.to_string()))?
        .next()
        .ok_or_else(|| failed("no address".to_string()))
}
