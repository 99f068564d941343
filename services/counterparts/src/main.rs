//! `gauntlet-counterparts`: the containers Gauntlet's labs run beside a learner's service, built from this
//! repository into one static binary and one FROM-scratch image (`scripts/build-counterparts`), since nothing can
//! be pulled where Gauntlet grades. The first argument names the counterpart:
//!
//! - `model-upstream`: a deterministic OpenAI-compatible model with faults on cue and a ledger (week 12);
//! - `otlp-receiver`: an OTLP/HTTP trace receiver that keeps what it was sent (week 11).
//!
//! Each listens on `PORT` (default 8000). What the service may call is open on the run network; what steers or
//! reads a counterpart (its `/_gauntlet/...` control routes) needs the run's `GAUNTLET_CONTROL_TOKEN`, which only
//! the grader knows (see `control.rs`).

mod control;
mod model_upstream;
mod otlp_receiver;

use std::process::ExitCode;

const USAGE: &str =
    "usage: gauntlet-counterparts <model-upstream|otlp-receiver>  (listens on PORT, default 8000)";

fn main() -> ExitCode {
    let which = std::env::args().nth(1).unwrap_or_default();
    let port = match std::env::var("PORT") {
        Ok(p) => match p.parse::<u16>() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("PORT must be a port number, not `{p}`");
                return ExitCode::from(2);
            }
        },
        Err(_) => 8000,
    };
    let Some(router) = counterpart(&which) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    serve(router, port)
}

/// The counterpart named `which` as a router; each is a module of its own.
fn counterpart(which: &str) -> Option<axum::Router> {
    match which {
        "model-upstream" => Some(model_upstream::router()),
        "otlp-receiver" => Some(otlp_receiver::router()),
        _ => None,
    }
}

/// Serves `router` on `0.0.0.0:port` until SIGTERM or Ctrl-C.
fn serve(router: axum::Router, port: u16) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("0.0.0.0", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on port {port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("listening on 0.0.0.0:{port}");
        let shutdown = async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return std::future::pending().await,
                };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        };
        match axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("server error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
