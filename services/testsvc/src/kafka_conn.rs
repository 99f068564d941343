//! One blocking connection to a Kafka-protocol broker: framing, correlation ids and version negotiation.
//!
//! The codec is the `kafka-protocol` crate's; this file only frames requests (size, header, body), reads the
//! answer and picks, per API, the highest version both sides speak up to a cap. The caps keep to versions whose
//! fields `kafka.rs` fills: the newest versions of Fetch, Produce and OffsetCommit address topics by id
//! instead of by name, and OffsetFetch v8+ batches groups.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

use crate::kafka::KafkaError;

/// The largest answer accepted: a fetch is bounded by its `max_bytes`, this only stops a garbage length.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// An open connection and the versions the broker offered.
pub struct Conn {
    stream: TcpStream,
    correlation: i32,
    /// api key -> (min, max) offered by the broker.
    offered: HashMap<i16, (i16, i16)>,
}

impl Conn {
    /// Connects to `bootstrap` (`host:port`, a comma-separated list: the first that answers) and asks the
    /// broker which versions it speaks. `timeout` bounds the connect and every later read and write, so a
    /// paused or vanished broker turns into an error instead of a hang.
    pub fn connect(bootstrap: &str, timeout: Duration) -> Result<Conn, KafkaError> {
        let mut last = KafkaError::Connect(format!("no address in `{bootstrap}`"));
        for one in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match open(one, timeout) {
                Ok(stream) => {
                    let mut conn = Conn {
                        stream,
                        correlation: 0,
                        offered: HashMap::new(),
                    };
                    conn.negotiate()?;
                    return Ok(conn);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn negotiate(&mut self) -> Result<(), KafkaError> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("testsvc"))
            .with_client_software_version(StrBytes::from_static_str("0.1.0"));
        let resp = self.call_at(&req, 3)?;
        if resp.error_code != 0 {
            return Err(KafkaError::broker("ApiVersions", resp.error_code));
        }
        self.offered = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(())
    }

    /// The version to use for request `R`: the highest both speak, at most `cap`.
    pub fn version<R: Request>(&self, cap: i16) -> Result<i16, KafkaError> {
        let name = api_name(R::KEY);
        let (bmin, bmax) = *self
            .offered
            .get(&R::KEY)
            .ok_or_else(|| KafkaError::Protocol(format!("the broker does not offer {name}")))?;
        let v = cap.min(bmax).min(R::VERSIONS.max);
        if v < bmin.max(R::VERSIONS.min) {
            return Err(KafkaError::Protocol(format!(
                "no common version of {name}: broker {bmin}..{bmax}, client up to {cap}"
            )));
        }
        Ok(v)
    }

    /// Sends `req` at the highest common version up to `cap` and decodes the answer.
    pub fn call<R: Request>(&mut self, req: &R, cap: i16) -> Result<R::Response, KafkaError> {
        let v = self.version::<R>(cap)?;
        self.call_at(req, v)
    }

    fn call_at<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, KafkaError> {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("testsvc")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .and_then(|_| req.encode(&mut body, version))
            .map_err(|e| KafkaError::Protocol(format!("encoding {}: {e}", api_name(R::KEY))))?;
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).map_err(KafkaError::io)?;

        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).map_err(KafkaError::io)?;
        let len = i32::from_be_bytes(len);
        if len < 4 || len as usize > MAX_FRAME {
            return Err(KafkaError::Protocol(format!("answer of {len} bytes")));
        }
        let mut answer = vec![0u8; len as usize];
        self.stream
            .read_exact(&mut answer)
            .map_err(KafkaError::io)?;
        let mut buf = Bytes::from(answer);
        let decoded = kafka_protocol::messages::ResponseHeader::decode(
            &mut buf,
            <R::Response as HeaderVersion>::header_version(version),
        )
        .and_then(|h| Ok((h, R::Response::decode(&mut buf, version)?)));
        let (h, resp) = decoded
            .map_err(|e| KafkaError::Protocol(format!("decoding {}: {e}", api_name(R::KEY))))?;
        if h.correlation_id != self.correlation {
            return Err(KafkaError::Protocol(format!(
                "answer to request {} while waiting for {}",
                h.correlation_id, self.correlation
            )));
        }
        Ok(resp)
    }
}

fn open(addr: &str, timeout: Duration) -> Result<TcpStream, KafkaError> {
    let addrs: Vec<SocketAddr> = resolve(addr)?;
    let mut last = KafkaError::Connect(format!("`{addr}` resolves to no address"));
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout)).map_err(KafkaError::io)?;
                s.set_write_timeout(Some(timeout)).map_err(KafkaError::io)?;
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = KafkaError::Connect(format!("{addr} ({a}): {e}")),
        }
    }
    Err(last)
}

/// `host:port` to addresses through the system resolver (`getaddrinfo`). No resolver of our own is needed in
/// the static build run `FROM scratch`: since glibc 2.34 the `files` and `dns` lookups are part of libc itself
/// (no `libnss_*.so` to load), so it reads the `/etc/hosts` and `/etc/resolv.conf` Docker mounts and asks the
/// embedded DNS (127.0.0.11). Checked with glibc 2.36: a static binary in a scratch container on a user-defined
/// network resolves another container's network alias (`kafka`) and fails cleanly on an unknown name.
fn resolve(addr: &str) -> Result<Vec<SocketAddr>, KafkaError> {
    addr.to_socket_addrs()
        .map(|a| a.collect())
        .map_err(|e| KafkaError::Connect(format!("cannot resolve `{addr}`: {e}")))
}

fn api_name(key: i16) -> String {
    match ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(_) => format!("api {key}"),
    }
}
