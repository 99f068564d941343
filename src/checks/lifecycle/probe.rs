//! HTTP for the lifecycle kind: one request per fresh connection (a pooled connection would hide a closed
//! listener or a dropped request), the answer read in full within a bound, and, for slow requests, a signal
//! once the request has been written to the socket, so SIGTERM is sent only when every request is in flight.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bodies past this are not the answers the lifecycle routes give; reading stops there.
const BODY_CAP: usize = 64 * 1024;

/// How one request went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// A whole answer: status and body as framed by the service.
    Full { status: u16, body: String },
    /// No connection: nothing listens on the port (or the process is gone).
    Refused,
    /// Connected, then no whole answer: closed early, cut mid-body, or not within the bound.
    Broken(String),
}

impl Answer {
    /// `HTTP 503`, `refused`, `broken (…)`: for timelines.
    pub fn label(&self) -> String {
        match self {
            Answer::Full { status, .. } => format!("HTTP {status}"),
            Answer::Refused => "refused".to_string(),
            Answer::Broken(why) => format!("no whole answer ({why})"),
        }
    }

    /// Ready as a platform reads a probe: an answer from 200 to 399.
    pub fn is_ready(&self) -> bool {
        matches!(self, Answer::Full { status, .. } if (200..400).contains(status))
    }
}

/// `GET path_and_query` on a fresh connection to `addr`, with `Connection: close`; `written` is set once the
/// request's bytes are on the socket.
pub(super) async fn get(
    base: &url::Url,
    path_and_query: &str,
    bound: Duration,
    written: Option<Arc<AtomicBool>>,
) -> Answer {
    let Some(host) = base.host_str() else {
        return Answer::Broken("no host in the instance's URL".into());
    };
    let port = base.port_or_known_default().unwrap_or(80);
    let authority = format!("{host}:{port}");
    let attempt = async {
        let stream = match TcpStream::connect(authority.as_str()).await {
            Ok(s) => s,
            Err(_) => return Answer::Refused,
        };
        let io = TokioIo::new(Watched {
            inner: stream,
            written: written.unwrap_or_default(),
        });
        let (mut sender, connection) = match hyper::client::conn::http1::handshake(io).await {
            Ok(pair) => pair,
            Err(e) => return Answer::Broken(e.to_string()),
        };
        let connection = tokio::spawn(connection);
        let request = hyper::Request::get(path_and_query)
            .header(hyper::header::HOST, authority.as_str())
            .header(hyper::header::CONNECTION, "close")
            .body(Empty::<Bytes>::new());
        let request = match request {
            Ok(r) => r,
            Err(e) => return Answer::Broken(format!("bad request {path_and_query:?}: {e}")),
        };
        let answer = match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                match Limited::new(response.into_body(), BODY_CAP).collect().await {
                    Ok(body) => Answer::Full {
                        status,
                        body: String::from_utf8_lossy(&body.to_bytes()).into_owned(),
                    },
                    Err(e) => Answer::Broken(format!("HTTP {status}, body cut: {e}")),
                }
            }
            Err(e) => Answer::Broken(if e.is_incomplete_message() {
                "the connection was closed before an answer".to_string()
            } else {
                e.to_string()
            }),
        };
        connection.abort();
        answer
    };
    tokio::time::timeout(bound, attempt)
        .await
        .unwrap_or_else(|_| Answer::Broken(format!("no answer within {} ms", bound.as_millis())))
}

/// A TCP stream that notes when anything was written to it.
struct Watched {
    inner: TcpStream,
    written: Arc<AtomicBool>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.written.store(true, Ordering::SeqCst);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
