//! One connection's share of an open-loop schedule, as `wrk2` runs it: connection `index` of `of` owns the
//! requests due at `start + (index + k·of) / rate`. It sends each when it is due, or at once when the previous
//! answer came late, and measures every latency from the moment the request was due, so time the service made
//! it wait counts. Each connection has at most one request in flight, so `of` bounds what is outstanding and a
//! stalled service cannot make the generator grow; what a stall kept from being sent by the end of the drain
//! is counted as dropped, with the wait it had already suffered.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::time::Instant;

use super::conn::{connect, Conn};
use super::plan::Plan;
use super::report::Tally;

/// Runs connection `index` of `of` through the schedule, then the drain.
pub(super) async fn drive(plan: Arc<Plan>, index: u64, of: u64) -> Tally {
    let mut tally = Tally::new();
    let (Some(rate), Some(end)) = (plan.rate, plan.end) else {
        return tally;
    };
    let cutoff = end + plan.drain;
    let due = |k: u64| plan.start + Duration::from_secs_f64((index + k * of) as f64 / rate);
    let mut open: Option<(hyper::client::conn::http1::SendRequest<_>, _)> = None;
    let mut k = 0u64;
    loop {
        let at = due(k);
        if at >= end {
            break;
        }
        let counted = plan.counts(at);
        if Instant::now() >= cutoff {
            // Due in the window, never sent: the connection was held until the drain ran out.
            let left = (0..)
                .map(|j| due(k + j))
                .take_while(|t| *t < end)
                .filter(|t| plan.counts(*t))
                .count();
            for j in 0..left as u64 {
                tally.dropped += 1;
                tally.wait(cutoff.saturating_duration_since(due(k + j)));
            }
            break;
        }
        tokio::time::sleep_until(at).await;
        if open.is_none() {
            match tokio::time::timeout_at(cutoff, connect(&plan)).await {
                Ok(Ok((sender, conn))) => open = Some((sender, Box::pin(conn))),
                _ => {
                    if counted {
                        tally.connect_errors += 1;
                    } else {
                        tally.warm_unanswered += 1;
                    }
                    k += 1;
                    continue;
                }
            }
        }
        let n = index + k * of;
        let (result, closed) = {
            let Some((sender, conn)) = open.as_mut() else {
                continue;
            };
            let exchange = async {
                sender.ready().await?;
                let response = sender.send_request(plan.request_at(n)).await?;
                let status = response.status().as_u16();
                let mut body = response.into_body();
                while let Some(frame) = body.frame().await {
                    frame?;
                }
                Ok::<_, hyper::Error>(status)
            };
            tokio::pin!(exchange);
            let mut closed = false;
            let result = tokio::select! {
                biased;
                r = &mut exchange => Some(r),
                // The peer closed: an answer it sent first still arrives through the exchange.
                _ = drive_conn(conn) => {
                    closed = true;
                    tokio::select! {
                        biased;
                        r = &mut exchange => Some(r),
                        _ = tokio::time::sleep_until(cutoff) => None,
                    }
                }
                _ = tokio::time::sleep_until(cutoff) => None,
            };
            (result, closed)
        };
        let Some(result) = result else {
            if counted {
                tally.timeouts += 1;
                tally.wait(cutoff.saturating_duration_since(at));
            } else {
                tally.warm_unanswered += 1;
            }
            // The drain is over: the loop's next turn counts what is still due as dropped.
            k += 1;
            continue;
        };
        if closed {
            open = None;
        }
        match result {
            Ok(status) if counted => tally.answer(status, at.elapsed()),
            Ok(_) => tally.warm_answered += 1,
            Err(_) => {
                if counted {
                    tally.transport_errors += 1;
                } else {
                    tally.warm_unanswered += 1;
                }
                open = None;
            }
        }
        k += 1;
    }
    tally
}

/// Polls the connection (its reads and writes happen there) until it ends.
async fn drive_conn(conn: &mut std::pin::Pin<Box<Conn>>) {
    let _ = conn.as_mut().await;
}
