//! Switches that change how the process starts, runs and stops, for the sandbox's own tests.
//!
//! - `TESTSVC_EXIT_AT_START=<code>`: print a line and exit with that code before listening.

/// Runs before the listener is bound.
pub fn before_listen() {
    if let Ok(code) = std::env::var("TESTSVC_EXIT_AT_START") {
        eprintln!("testsvc: exiting at start as asked (code {code})");
        std::process::exit(code.parse().unwrap_or(1));
    }
}

/// Runs once the listener is bound, before serving.
pub fn after_listen() {}
