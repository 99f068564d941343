//! Switches that change how the process starts, runs and stops, for the sandbox's own tests.
//!
//! - `TESTSVC_EXIT_AT_START=<code>`: print a line and exit with that code before listening.
//! - `TESTSVC_FORK_BOMB=1`: spawn threads without end before listening, so the process count sits at the
//!   pids limit and the service never answers (what a fork bomb looks like from outside).
//! - `TESTSVC_CPU_SPIN=<n>`: keep n threads busy computing, then serve as usual (a CPU hog that stays up).
//! - `TESTSVC_MEMORY_HOG=1`: allocate and touch memory without end before listening, until the kernel kills it.
//! - `TESTSVC_AFTER_HEALTHY=eat-memory|fork-bomb`: the same, once the checks begin (see `on_request`).

/// Runs before the listener is bound.
pub fn before_listen() {
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
pub fn after_listen() {
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
