//! Switches that change how the process starts, runs and stops, for the sandbox's own tests.
//!
//! - `TESTSVC_EXIT_AT_START=<code>`: print a line and exit with that code before listening.
//! - `TESTSVC_FORK_BOMB=1`: spawn threads without end before listening, so the process count sits at the
//!   pids limit and the service never answers (what a fork bomb looks like from outside).
//! - `TESTSVC_CPU_SPIN=<n>`: keep n threads busy computing, then serve as usual (a CPU hog that stays up).
//! - `TESTSVC_MEMORY_HOG=1`: allocate and touch memory without end before listening, until the kernel kills it.
//! - `TESTSVC_AFTER_HEALTHY=eat-memory|fork-bomb`: the same, once the checks begin (see `on_request`).
//!
//! What a platform expects of a service's life (lab w05), on by default:
//! - `GET /readyz`: `503` until `READY_DELAY_MS` (default 0) have passed since it listens, `200` then, `503` again
//!   from the moment SIGTERM arrives;
//! - `GET /work?ms=N` (`0..=5000`): answers `{"slept_ms":N}` after N ms; the thread per connection keeps
//!   other requests going;
//! - SIGTERM: not ready at once, every request being answered is finished, the store is saved, exit 0.
//!
//! Their defects (`TESTSVC_DEFECT`): `ready-always` (`/readyz` is `200` while starting and draining),
//! `ready-on-sigterm` (`/readyz` stays `200` after SIGTERM), `drop-in-flight` (exit 0 at SIGTERM, dropping the
//! requests in flight), `exit-nonzero` (drain, then exit 1), `ignore-sigterm` (no handler: as PID 1 the signal
//! is ignored until the platform's SIGKILL), `fixed-port` (listen on 8080 whatever `PORT` says); and for w03
//! `save-on-shutdown` (notes are written to `DATA_DIR` only when SIGTERM arrives, so a SIGKILL loses them).
//!
//! Near misses (`TESTSVC_VARIANT`), lives of unusual make that are still right: `ready-late` (`/readyz` stays
//! `503`, in plain text, [`LATE_READY`] longer than `READY_DELAY_MS` asks, as a service warming a cache does),
//! `refuse-new-on-sigterm` (at SIGTERM the listening socket is shut, so new connections are refused while the
//! requests in flight finish), `linger-after-drain` (after draining, wait [`LINGER`] before exiting 0).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::routes::{defect, variant};

/// Just before the listener is bound: readiness waits `READY_DELAY_MS` from here.
static STARTED: OnceLock<Instant> = OnceLock::new();
/// Set by the SIGTERM handler; read by the drain thread and `/readyz`.
static TERM: AtomicBool = AtomicBool::new(false);
/// Requests read and not yet fully answered.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// How long a drain waits for requests in flight at most before exiting anyway.
const DRAIN_CAP: Duration = Duration::from_secs(30);

/// `ready-late`: how much longer than asked the service stays not ready.
const LATE_READY: Duration = Duration::from_millis(1500);
/// `linger-after-drain`: how long the process stays after its last request before exiting.
const LINGER: Duration = Duration::from_millis(1500);
/// The listening socket, for `refuse-new-on-sigterm` (-1 until bound).
static LISTENER_FD: AtomicI32 = AtomicI32::new(-1);

const SIGTERM: i32 = 15;
const SHUT_RDWR: i32 = 2;

extern "C" {
    /// libc's `signal(2)`; std links libc already, and one handler does not justify a crate.
    fn signal(signum: i32, handler: usize) -> usize;
    /// libc's `shutdown(2)`: on a listening socket it makes the kernel refuse new connections.
    fn shutdown(fd: i32, how: i32) -> i32;
}

extern "C" fn on_term(_: i32) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    TERM.store(true, Ordering::SeqCst);
}

/// Whether SIGTERM has arrived.
pub fn draining() -> bool {
    TERM.load(Ordering::SeqCst)
}

/// Counts a request in flight until dropped (after its answer is written).
pub struct Busy;

pub fn busy() -> Busy {
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    Busy
}

impl Drop for Busy {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The port to listen on: `PORT`, default 8080 (`fixed-port`: always 8080).
pub fn port() -> u16 {
    // `fixed-port` (w05) and `ignore-port` (w01): the default port whatever `PORT` says, as a service that
    // hard-codes it.
    if defect("fixed-port") || defect("ignore-port") {
        return 8080;
    }
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}

/// `GET /readyz`.
pub fn readyz() -> crate::http::Response {
    let delay = std::env::var("READY_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut delay = Duration::from_millis(delay);
    if variant("ready-late") {
        delay += LATE_READY;
    }
    let started = STARTED.get().is_none_or(|t| t.elapsed() >= delay);
    let state = if defect("ready-always") {
        "ready"
    } else if draining() && !defect("ready-on-sigterm") {
        "draining"
    } else if !started {
        "starting"
    } else {
        "ready"
    };
    let status = if state == "ready" { 200 } else { 503 };
    if status == 503 && variant("ready-late") {
        return crate::http::Response::text(503, state);
    }
    crate::http::Response::json(status, format!(r#"{{"status":"{state}"}}"#))
}

/// `GET /work?ms=N`.
pub fn work(query: &str) -> crate::http::Response {
    let ms = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("ms="))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms <= 5000);
    let Some(ms) = ms else {
        return crate::routes::error(400, "bad_request", "ms must be an integer from 0 to 5000");
    };
    std::thread::sleep(Duration::from_millis(ms));
    crate::http::Response::json(200, format!(r#"{{"slept_ms":{ms}}}"#))
}

/// Installs the SIGTERM handler and the thread that drains on it.
fn handle_sigterm() {
    if defect("ignore-sigterm") {
        return;
    }
    // SAFETY: `on_term` only stores to an atomic, which is async-signal-safe.
    unsafe {
        signal(SIGTERM, on_term as extern "C" fn(i32) as usize);
    }
    std::thread::spawn(|| {
        while !draining() {
            std::thread::sleep(Duration::from_millis(5));
        }
        eprintln!(
            "testsvc: SIGTERM: draining {} requests",
            IN_FLIGHT.load(Ordering::SeqCst)
        );
        if defect("drop-in-flight") {
            std::process::exit(0);
        }
        if variant("refuse-new-on-sigterm") {
            let fd = LISTENER_FD.load(Ordering::SeqCst);
            if fd >= 0 {
                // SAFETY: `fd` is the listening socket, open for the life of the process; shutting it only makes
                // `accept` fail from now on, which `http::serve` expects while draining.
                unsafe {
                    shutdown(fd, SHUT_RDWR);
                }
            }
        }
        let began = Instant::now();
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 && began.elapsed() < DRAIN_CAP {
            std::thread::sleep(Duration::from_millis(5));
        }
        crate::notes::save(&crate::notes::store());
        // w11: the spans still queued go to the collector before the exit (`trace-no-flush` drops them).
        if !defect("trace-no-flush") {
            crate::otlp_export::flush();
        }
        eprintln!("testsvc: drained in {} ms", began.elapsed().as_millis());
        if variant("linger-after-drain") {
            std::thread::sleep(LINGER);
        }
        std::process::exit(if defect("exit-nonzero") { 1 } else { 0 });
    });
}

/// Runs before the listener is bound.
pub fn before_listen() {
    STARTED.get_or_init(Instant::now);
    handle_sigterm();
    if let Ok(code) = std::env::var("TESTSVC_EXIT_AT_START") {
        eprintln!("testsvc: exiting at start as asked (code {code})");
        std::process::exit(code.parse().unwrap_or(1));
    }
    if std::env::var_os("TESTSVC_FORK_BOMB").is_some() {
        eprintln!("testsvc: spawning threads without end as asked");
        fork_bomb();
    }
    if let Some(threads) = std::env::var("TESTSVC_CPU_SPIN")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        eprintln!("testsvc: spinning {threads} threads as asked");
        for _ in 0..threads {
            std::thread::spawn(|| {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            });
        }
    }
    if std::env::var_os("TESTSVC_MEMORY_HOG").is_some() {
        eprintln!("testsvc: allocating memory without end as asked");
        memory_hog();
    }
}

pub fn fork_bomb() -> ! {
    loop {
        let spawned = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            });
        if spawned.is_err() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

pub fn memory_hog() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Non-zero bytes so that every page is really touched.
        hoard.push(vec![1u8; 1 << 20]);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Runs once the listener is bound, before serving.
pub fn after_listen(listener: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    LISTENER_FD.store(listener.as_raw_fd(), Ordering::SeqCst);
    crate::deploy::start();
}

/// `TESTSVC_AFTER_HEALTHY=eat-memory|fork-bomb`: the first request for anything but `/healthz` goes wrong
/// before it is answered, as a service that fails once it became healthy and the checks began.
pub fn on_request(path: &str) {
    if path == "/healthz" {
        return;
    }
    match std::env::var("TESTSVC_AFTER_HEALTHY").as_deref() {
        Ok("eat-memory") => memory_hog(),
        Ok("fork-bomb") => {
            std::thread::spawn(|| fork_bomb());
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        _ => {}
    }
}
