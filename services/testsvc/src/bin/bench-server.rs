//! `bench-server`: the cheapest HTTP/1.1 server std can make, for `scripts/bench-loadgen`.
//!
//! It answers every request with the same canned 200 and never parses beyond finding the end of each request
//! head, so that on a 2-core machine as much CPU as possible is left to the load generators being compared
//! (`wrk` and `gauntlet load`). One thread per connection, blocking I/O, no allocation per request; pipelined
//! requests are answered with one write. Requests with a body are not supported (the benchmark sends GETs).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench-server: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(2);
        }
    };
    eprintln!("bench-server: listening on 127.0.0.1:{port}");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream));
    }
}

fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 16 * 1024];
    let mut out = Vec::with_capacity(RESPONSE.len() * 16);
    // Bytes of a request head seen at the end of the last read, to find a `\r\n\r\n` split across reads.
    let mut tail = 0u32;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        out.clear();
        for &b in &buf[..n] {
            tail = (tail << 8) | u32::from(b);
            if tail == 0x0d0a_0d0a {
                out.extend_from_slice(RESPONSE);
            }
        }
        if !out.is_empty() && stream.write_all(&out).is_err() {
            return;
        }
    }
}
