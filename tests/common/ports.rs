//! Ports for servers a test starts as separate processes.
//!
//! The usual trick — bind port 0, read the port, close, hand it to the child — races: until the child binds it,
//! the kernel may give the same port to another test's `bind(0)` (two services, one port: the loser exits and
//! its test talks to the winner until the winner is killed) or to an outgoing connection. CI hit exactly that
//! ("connection refused" in a probe that passes alone). Here each test process hands out distinct ports from
//! below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`, 32768-60999 by default on Linux), which
//! the kernel then never picks by itself, and skips any port something already listens on. A host that widens
//! that range to start below 32000 brings the race back, only rarer.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The range handed out; it stays below `net.ipv4.ip_local_port_range`'s default start of 32768.
const FIRST: u32 = 20_000;
const SPAN: u32 = 12_000;

/// A loopback port no other test of this process has been given and nothing listens on now.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Test binaries run one after another; starting each at its own offset keeps them off each other's
    // recently closed ports.
    let start = std::process::id().wrapping_mul(7919) % SPAN;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + n) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + SPAN);
}
