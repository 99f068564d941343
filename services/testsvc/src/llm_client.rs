//! The w12 reference's model client: one HTTP/1.1 `POST` to the OpenAI-compatible upstream at `LLM_BASE_URL`,
//! bounded by a deadline (connect, write and every read), so that a slow upstream costs a timeout, not a hang.
//! Hand-written like the rest of testsvc's HTTP, to keep the static build dependency-light.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// An upstream answer, as far as the reference reads it.
pub struct Reply {
    pub status: u16,
    /// `Retry-After` in seconds, when sent.
    pub retry_after: Option<u64>,
    pub body: String,
}

/// Why no answer came.
#[derive(Debug)]
pub enum CallError {
    /// The deadline passed first.
    Timeout,
    /// The connection failed or was dropped.
    Io(String),
}

/// `host:port` and the path prefix of a base URL such as `http://llm:8000/v1`.
fn split_base(base: &str) -> Option<(String, String)> {
    let rest = base.strip_prefix("http://")?;
    let (host, prefix) = match rest.split_once('/') {
        Some((h, p)) => match p.trim_end_matches('/') {
            "" => (h.to_string(), String::new()),
            p => (h.to_string(), format!("/{p}")),
        },
        None => (rest.to_string(), String::new()),
    };
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:80")
    };
    Some((host, prefix))
}

/// POSTs `body` to `{base}{path}` with the key; `deadline: None` waits as long as the upstream takes (the
/// `llm-hang` defect).
pub fn post(
    base: &str,
    path: &str,
    key: &str,
    body: &str,
    deadline: Option<Instant>,
) -> Result<Reply, CallError> {
    let (host, prefix) =
        split_base(base).ok_or_else(|| CallError::Io(format!("bad base URL {base}")))?;
    let left = || -> Result<Option<Duration>, CallError> {
        match deadline {
            None => Ok(None),
            Some(d) => d
                .checked_duration_since(Instant::now())
                .filter(|l| !l.is_zero())
                .map(Some)
                .ok_or(CallError::Timeout),
        }
    };
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => CallError::Timeout,
        _ => CallError::Io(e.to_string()),
    };
    let addr = host
        .to_socket_addrs()
        .map_err(io)?
        .next()
        .ok_or_else(|| CallError::Io(format!("{host} does not resolve")))?;
    let mut stream = match left()? {
        Some(l) => TcpStream::connect_timeout(&addr, l).map_err(io)?,
        None => TcpStream::connect(addr).map_err(io)?,
    };
    let request = format!(
        "POST {prefix}{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.set_write_timeout(left()?).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        stream.set_read_timeout(left()?).map_err(io)?;
        match stream.read(&mut buf).map_err(io)? {
            0 => break,
            n => raw.extend_from_slice(&buf[..n]),
        }
    }
    parse(&String::from_utf8_lossy(&raw))
}

fn parse(raw: &str) -> Result<Reply, CallError> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| CallError::Io("the connection closed mid-answer".into()))?;
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| CallError::Io("not an HTTP answer".into()))?;
    let retry_after = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("retry-after")
            .then(|| value.trim().parse().ok())
            .flatten()
    });
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_ascii_lowercase())
        })
    };
    let cut = || CallError::Io("the connection closed mid-answer".into());
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(body).ok_or_else(cut)?
    } else {
        match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(n) if body.len() < n => return Err(cut()),
            Some(n) => body[..n].to_string(),
            None => body.to_string(),
        }
    };
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// A chunked body's data, or `None` when it stops before its last (empty) chunk: an answer cut off.
fn dechunk(mut rest: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix("\r\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_splits_into_host_and_prefix() {
        assert_eq!(
            split_base("http://llm:8000/v1"),
            Some(("llm:8000".into(), "/v1".into()))
        );
        assert_eq!(
            split_base("http://10.0.0.2/"),
            Some(("10.0.0.2:80".into(), String::new()))
        );
        assert!(split_base("https://x").is_none());
    }

    #[test]
    fn a_chunked_answer_is_read_whole_and_a_cut_one_is_an_error() {
        let whole = parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n");
        assert_eq!(whole.unwrap().body, "{\"a\":1}");
        let cut = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n");
        assert!(matches!(cut, Err(CallError::Io(_))));
        let short = parse("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}");
        assert!(matches!(short, Err(CallError::Io(_))));
    }

    #[test]
    fn an_answer_gives_its_status_and_retry_after() {
        let r = parse("HTTP/1.1 429 Too Many Requests\r\nretry-after: 2\r\n\r\n{}").unwrap();
        assert_eq!(
            (r.status, r.retry_after, r.body.as_str()),
            (429, Some(2), "{}")
        );
    }
}
