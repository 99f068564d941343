//! One connection's closed loop: connect, then send a request, drain its answer, record, and again; reconnect
//! after any error. Each connection is one task that also drives hyper's connection future itself, so a
//! request costs no wake-up of a second task.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::plan::Plan;
use super::report::Tally;

/// Pause after a failed connect, so that a service that is down is probed, not hammered in a busy loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// Runs one connection until the plan's window ends or its budget is spent.
pub(super) async fn drive(plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::new();
    let end = tokio::time::sleep_until(plan.end.unwrap_or_else(Instant::now));
    tokio::pin!(end);
    let timed = plan.end.is_some();
    loop {
        if plan.spent() {
            break;
        }
        let counted = plan.counts(Instant::now());
        let attempt = tokio::select! {
            biased;
            _ = &mut end, if timed => break,
            c = connect(&plan) => c,
        };
        let (sender, conn) = match attempt {
            Ok(pair) => pair,
            Err(()) => {
                if counted {
                    if !plan.claim() {
                        break;
                    }
                    tally.connect_errors += 1;
                }
                tokio::select! {
                    biased;
                    _ = &mut end, if timed => break,
                    _ = tokio::time::sleep(RECONNECT_PAUSE) => continue,
                }
            }
        };
        match requests(&plan, sender, conn, &mut tally, end.as_mut(), timed).await {
            Next::Reconnect => continue,
            Next::Stop => break,
        }
    }
    tally
}

enum Next {
    Reconnect,
    Stop,
}

pub(super) type Conn = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

pub(super) async fn connect(plan: &Plan) -> Result<(SendRequest<Full<Bytes>>, Conn), ()> {
    let stream = TcpStream::connect(plan.addr).await.map_err(|_| ())?;
    // Requests are small and latency is what is measured: do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    // One buffer, one `write` per request: requests are small, so copying beats a vectored write.
    http1::Builder::new()
        .writev(false)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ())
}

/// Sends requests on one open connection until it fails, closes, or the run ends.
async fn requests(
    plan: &Plan,
    mut sender: SendRequest<Full<Bytes>>,
    conn: Conn,
    tally: &mut Tally,
    mut end: std::pin::Pin<&mut tokio::time::Sleep>,
    timed: bool,
) -> Next {
    tokio::pin!(conn);
    let mut conn_open = true;
    loop {
        // The budget is taken before sending, so that a run of R requests makes the service answer exactly R.
        let counted = plan.counts(Instant::now());
        if counted && !plan.claim() {
            return Next::Stop;
        }
        let exchange = async {
            sender.ready().await?;
            let start = Instant::now();
            let response = sender.send_request(plan.request()).await?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                frame?;
            }
            Ok::<_, hyper::Error>((status, start.elapsed()))
        };
        tokio::pin!(exchange);
        let result = tokio::select! {
            biased;
            r = &mut exchange => r,
            // The connection future ends when the peer closes; the exchange then ends too, since hyper drops
            // its side of the response channels, so it is awaited for its result (possibly an answer).
            _ = &mut conn, if conn_open => {
                conn_open = false;
                tokio::select! {
                    biased;
                    r = &mut exchange => r,
                    _ = &mut end, if timed => return Next::Stop,
                }
            }
            _ = &mut end, if timed => return Next::Stop,
        };
        match result {
            Ok((status, took)) if counted => tally.answer(status, took),
            Ok(_) => {}
            Err(_) => {
                if counted {
                    tally.transport_errors += 1;
                }
                return Next::Reconnect;
            }
        }
        if !conn_open {
            return Next::Reconnect;
        }
    }
}
