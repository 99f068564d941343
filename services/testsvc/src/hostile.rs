//! `TESTSVC_HOSTILE=1`: routes that do what a hostile submission would, from inside the sandbox, so the
//! sandbox's own tests can show each attempt fails (or is named truthfully when it ends the service).
//!
//! - `GET /hostile/connect?to=ADDR[&scope=IFACE]`: one TCP connect (1.5 s budget) to `ADDR` (`ip:port`,
//!   `[ipv6]:port` or `host:port`, a name resolved by the system's resolver; `scope` names the interface of a
//!   link-local IPv6 address) and how it went: `connected`, `refused`, `timeout`, `unreachable` or `error: …`.
//!   A refusal means the packet reached a host.
//! - `GET /hostile/whoami`: the process's user and group ids and its open-files limit.
//! - `POST /hostile/write?path=P`: writes the body to `P`.
//! - `POST /hostile/fill?path=P`: writes 1 MiB blocks to `P` until the disk refuses; says how much it wrote.
//! - `POST /hostile/print?mb=N`: prints N MiB of lines to its standard output.
//! - `POST /hostile/eat-memory`, `POST /hostile/fork-bomb`: answer 202, then allocate memory or spawn threads
//!   without end, as a service that goes wrong after it became healthy.

use std::net::{SocketAddr, SocketAddrV6, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::http::{Request, Response};
use crate::json;

/// Whether the hostile routes are switched on.
pub fn enabled() -> bool {
    std::env::var_os("TESTSVC_HOSTILE").is_some()
}

/// Answers a `/hostile/…` request, or `None` for any other path.
pub fn handle(req: &Request) -> Option<Response> {
    let response = match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/hostile/connect") => connect(req),
        ("GET", "/hostile/whoami") => whoami(),
        ("POST", "/hostile/write") => write(req),
        ("POST", "/hostile/fill") => fill(req),
        ("POST", "/hostile/print") => print(req),
        ("POST", "/hostile/eat-memory") => {
            std::thread::spawn(|| crate::lifecycle::memory_hog());
            Response::json(202, "{}")
        }
        ("POST", "/hostile/fork-bomb") => {
            std::thread::spawn(|| crate::lifecycle::fork_bomb());
            Response::json(202, "{}")
        }
        _ => return None,
    };
    Some(response)
}

/// The query parameter `name`, percent-decoded.
fn param(req: &Request, name: &str) -> Option<String> {
    req.query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn connect(req: &Request) -> Response {
    let Some(to) = param(req, "to") else {
        return Response::json(400, r#"{"error":"to= is required"}"#);
    };
    let addr = match to.parse::<SocketAddr>() {
        Ok(SocketAddr::V6(v6)) => match param(req, "scope") {
            Some(iface) => SocketAddr::V6(SocketAddrV6::new(
                *v6.ip(),
                v6.port(),
                0,
                interface_index(&iface),
            )),
            None => SocketAddr::V6(v6),
        },
        Ok(addr) => addr,
        // A host name (a counterpart's alias on the run network): resolved as the service would.
        Err(e) => match to.to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(addr)) => addr,
            Ok(None) => {
                return Response::json(
                    200,
                    format!(r#"{{"to":{},"result":"unresolved"}}"#, json::string(&to)),
                )
            }
            Err(resolve) => {
                return Response::json(
                    400,
                    format!(
                        r#"{{"error":{}}}"#,
                        json::string(&format!("{e}; {resolve}"))
                    ),
                )
            }
        },
    };
    let result = match TcpStream::connect_timeout(&addr, Duration::from_millis(1500)) {
        Ok(_) => "connected".to_string(),
        Err(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "refused".to_string(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "timeout".to_string(),
            std::io::ErrorKind::NetworkUnreachable | std::io::ErrorKind::HostUnreachable => {
                "unreachable".to_string()
            }
            _ => format!("error: {e}"),
        },
    };
    Response::json(
        200,
        format!(
            r#"{{"to":{},"result":{}}}"#,
            json::string(&to),
            json::string(&result)
        ),
    )
}

fn interface_index(name: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn whoami() -> Response {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let first_id = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(-1);
    Response::json(
        200,
        format!(
            r#"{{"uid":{},"gid":{},"nofile":{nofile}}}"#,
            first_id("Uid:"),
            first_id("Gid:")
        ),
    )
}

fn write(req: &Request) -> Response {
    let Some(path) = param(req, "path") else {
        return Response::json(400, r#"{"error":"path= is required"}"#);
    };
    match std::fs::write(&path, &req.body) {
        Ok(()) => Response::json(201, "{}"),
        Err(e) => Response::json(
            500,
            format!(r#"{{"error":{}}}"#, json::string(&e.to_string())),
        ),
    }
}

fn fill(req: &Request) -> Response {
    use std::io::Write;
    let Some(path) = param(req, "path") else {
        return Response::json(400, r#"{"error":"path= is required"}"#);
    };
    let block = vec![b'x'; 1 << 20];
    let mut written: u64 = 0;
    let error = match std::fs::File::create(&path) {
        Ok(mut file) => loop {
            match file.write_all(&block).and_then(|()| file.flush()) {
                Ok(()) => written += block.len() as u64,
                Err(e) => break e.to_string(),
            }
        },
        Err(e) => e.to_string(),
    };
    Response::json(
        200,
        format!(
            r#"{{"written":{written},"error":{}}}"#,
            json::string(&error)
        ),
    )
}

fn print(req: &Request) -> Response {
    use std::io::Write;
    let mb: usize = param(req, "mb").and_then(|n| n.parse().ok()).unwrap_or(1);
    let line = format!("{}\n", "y".repeat(1023));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for _ in 0..mb * 1024 {
        if out.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    let _ = out.flush();
    Response::json(200, "{}")
}
