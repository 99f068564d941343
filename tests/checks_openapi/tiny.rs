//! A small HTTP/1.1 server in the test, for documents and answers testsvc does not give (a YAML document, a
//! wrong content type, a 405 without `Allow`): each request is answered by a handler from its method and
//! path, one connection at a time, `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gauntlet::checks::Target;

/// A request's headers, names in lower case.
pub type Headers = Vec<(String, String)>;

/// An answer: status, headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

/// A running server; stopped when dropped.
pub struct Tiny {
    pub target: Target,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Tiny {
    /// `handler` gets the method, the path (with its query), the headers (lower-case names) and the body.
    pub fn start(handler: impl Fn(&str, &str, &Headers, &str) -> Reply + Send + 'static) -> Tiny {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut length = 0usize;
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((n, v)) = h.split_once(':') {
                        if n.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                let (status, headers, body) = handler(&method, &path, &headers, &body);
                let mut out = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&body);
                let _ = stream.write_all(out.as_bytes());
            }
        });
        Tiny {
            target: crate::support::target(port),
            stop,
            port,
        }
    }
}

impl Drop for Tiny {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag and ends.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A JSON answer.
pub fn json(status: u16, body: &str) -> Reply {
    (
        status,
        vec![("content-type", "application/json".into())],
        body.into(),
    )
}
