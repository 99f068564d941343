//! The advertised-name mapping: a broker on a run's network advertises itself as `<name>:9092`, a name only
//! that network resolves, so a client on the grader's host that bootstraps at the broker's address is told
//! to reconnect to a name it cannot resolve. rdkafka 0.39 has no hook to rewrite those addresses (librdkafka's
//! `resolve_cb` is not exposed), so the grader talks to the broker through this loopback proxy: it forwards
//! every byte both ways and rewrites only the broker addresses in the answers that carry them (Metadata,
//! FindCoordinator, DescribeCluster) to its own, so every connection the client opens comes back through it.
//!
//! One proxy stands for one broker (a lab's broker is a single tansu); a cluster would need one per broker.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, DescribeClusterResponse, FindCoordinatorResponse, MetadataResponse, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The largest frame forwarded; the grader's own records are small, a fetch answer at most a few MiB.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// A running proxy; it stops, with every connection through it, when dropped.
pub struct Proxy {
    /// Where clients connect (loopback, a port of the kernel's choosing).
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on loopback for clients of the broker at `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // The accept task owns the connection tasks, so aborting it ends them too.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((client, _)) = accepted else { continue };
                        connections.spawn(async move {
                            if let Ok(broker) = TcpStream::connect(upstream).await {
                                relay(client, broker, addr).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(Proxy { addr, task })
    }
}

/// Requests whose answers name brokers, by correlation id: their API key and version.
type Pending = Arc<Mutex<HashMap<i32, (ApiKey, i16)>>>;

async fn relay(client: TcpStream, broker: TcpStream, me: SocketAddr) {
    let _ = client.set_nodelay(true);
    let _ = broker.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut broker_read, mut broker_write) = broker.into_split();
    let pending: Pending = Arc::default();
    let requests = {
        let pending = Arc::clone(&pending);
        async move {
            while let Ok(frame) = read_frame(&mut client_read).await {
                note_request(&frame, &pending);
                if write_frame(&mut broker_write, &frame).await.is_err() {
                    break;
                }
            }
            let _ = broker_write.shutdown().await;
        }
    };
    let answers = async move {
        while let Ok(frame) = read_frame(&mut broker_read).await {
            let frame = rewrite(frame, &pending, me);
            if write_frame(&mut client_write, &frame).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(requests, answers);
}

/// Every request header starts with the API key, its version and the correlation id, whatever its version.
fn note_request(frame: &[u8], pending: &Pending) {
    let [k0, k1, v0, v1, c0, c1, c2, c3, ..] = *frame else {
        return;
    };
    let Ok(key) = ApiKey::try_from(i16::from_be_bytes([k0, k1])) else {
        return;
    };
    if matches!(
        key,
        ApiKey::Metadata | ApiKey::FindCoordinator | ApiKey::DescribeCluster
    ) {
        let version = i16::from_be_bytes([v0, v1]);
        let correlation = i32::from_be_bytes([c0, c1, c2, c3]);
        pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(correlation, (key, version));
    }
}

/// The answer with every broker address replaced by the proxy's, or as it came when it names none (or cannot
/// be decoded, which the client will then report itself).
fn rewrite(frame: Bytes, pending: &Pending, me: SocketAddr) -> Bytes {
    let Some(correlation) = frame
        .get(..4)
        .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    else {
        return frame;
    };
    let Some((key, version)) = pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&correlation)
    else {
        return frame;
    };
    rewritten(&frame, key, version, me).unwrap_or(frame)
}

fn rewritten(frame: &Bytes, key: ApiKey, version: i16, me: SocketAddr) -> Option<Bytes> {
    let header_version = key.response_header_version(version);
    let mut buf = frame.clone();
    let header = ResponseHeader::decode(&mut buf, header_version).ok()?;
    let host = || StrBytes::from_string(me.ip().to_string());
    let port = i32::from(me.port());
    let mut out = BytesMut::new();
    header.encode(&mut out, header_version).ok()?;
    match key {
        ApiKey::Metadata => {
            let mut m = MetadataResponse::decode(&mut buf, version).ok()?;
            for b in &mut m.brokers {
                (b.host, b.port) = (host(), port);
            }
            m.encode(&mut out, version).ok()?;
        }
        ApiKey::FindCoordinator => {
            let mut m = FindCoordinatorResponse::decode(&mut buf, version).ok()?;
            if version < 4 {
                (m.host, m.port) = (host(), port);
            }
            for c in &mut m.coordinators {
                (c.host, c.port) = (host(), port);
            }
            m.encode(&mut out, version).ok()?;
        }
        ApiKey::DescribeCluster => {
            let mut m = DescribeClusterResponse::decode(&mut buf, version).ok()?;
            for b in &mut m.brokers {
                (b.host, b.port) = (host(), port);
            }
            m.encode(&mut out, version).ok()?;
        }
        _ => return None,
    }
    Some(out.freeze())
}

async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> io::Result<Bytes> {
    let len = usize::try_from(r.read_i32().await?)
        .ok()
        .filter(|l| *l <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad Kafka frame length"))?;
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Bytes::from(body))
}

async fn write_frame(w: &mut (impl AsyncWrite + Unpin), frame: &[u8]) -> io::Result<()> {
    let len = i32::try_from(frame.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too long"))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(frame).await
}
