//! `testsvc`: the HTTP service Gauntlet's own tests build into `FROM scratch` images.
//!
//! It is deliberately dependency-light (std only for the server) so that a static build is quick and the image
//! tiny. Behaviour is switched by environment variables, one defect at a time, so that a test can show that a
//! check passes on the correct service and fails on exactly the defect it exists to catch.
//!
//! - `lifecycle.rs`: switches that change how the process starts and stops (exit at start, never healthy, ...).
//! - `routes.rs`: the HTTP routes and their defect switches.
//! - `notes.rs`: the in-memory notes resource of labs w01-w02; `json.rs`: just enough JSON for it.
//! - `openapi.rs`: `GET /openapi.json`, the OpenAPI 3.1 description of the notes API.
//! - `manifests.rs`: `GET /manifests`, the Kubernetes YAML of lab w06 (`manifests.yaml`), one rule broken per
//!   `manifests-*` defect.
//! - `metrics.rs`: lab w11's `GET /metrics`, every request counted by route template and status.
//! - `auth.rs`: the w10 auth mode (login, HS256 tokens, rate limit, security headers), on with `JWT_SECRET`;
//!   `users.rs`: its users' password hashes and their own profile (`/v1/me`).
//! - `races.rs`: the w04 concurrency defects; `selftest.rs`: `testsvc self-test`, the reference's own tests
//!   that the w04 Dockerfile's `test` stage runs.
//! - `plant.rs`: `testsvc plant`/`unplant`, build steps that write the files the w05 image mutants need.
//! - `hostile.rs`: with `TESTSVC_HOSTILE`, what a hostile submission does from inside the sandbox.
//! - `deploy.rs`: the w06 release behaviours (`/version`, a store that opens after start).
//! - `consumer.rs`: the w07 Kafka consumer (`accounts.rs`: its events and state; `kafka.rs`,
//!   `kafka_conn.rs`, `kafka_murmur.rs`: the Kafka client).
//! - `outbox.rs`, `relay.rs`: the w08 transactional outbox of the notes and the relay that publishes it to
//!   Kafka, on with `GAUNTLET_LAB=w08-outbox` and `KAFKA_BOOTSTRAP_SERVERS`.
//! - `triage.rs`, `triage_model.rs`, `embed.rs`, `llm_client.rs`: the w12 typed LLM endpoint (cache, single-flight,
//!   retries, usage report) over the model upstream at `LLM_BASE_URL`, on with `GAUNTLET_LAB=w12-llm`.
//! - `tracing.rs`, `otlp_export.rs`, `otlp_proto.rs`: the w11 server spans (W3C trace context) and their OTLP
//!   export (JSON, or protobuf with `trace-protobuf`; gzip-compressed with `trace-gzip`).
//! - `graphql.rs`, `graphql_exec.rs`, `graphql_limits.rs`, `graphql_introspect.rs`, `graphql_types.rs`: lab w09's `POST /graphql` over the notes store (its
//!   schema in `graphql_schema.graphql`, parsed with `graphql-parser`), with depth, alias and list limits.
//! - `http.rs`: a minimal HTTP/1.1 server with keep-alive, one thread per connection.

mod accounts;
mod auth;
mod consumer;
mod contract;
mod deploy;
mod embed;
mod etag;
mod graphql;
mod graphql_exec;
mod graphql_introspect;
mod graphql_limits;
#[cfg(test)]
mod graphql_tests;
mod graphql_types;
mod hostile;
mod http;
mod json;
mod kafka;
mod kafka_conn;
mod kafka_murmur;
mod kafka_producer;
mod kafka_records;
mod kafka_types;
mod lifecycle;
mod llm_client;
mod manifests;
mod metrics;
mod notes;
mod openapi;
mod otlp_export;
mod otlp_proto;
mod outbox;
mod plant;
mod races;
mod relay;
mod routes;
mod selftest;
mod tracing;
mod triage;
mod triage_model;
mod users;

use std::net::TcpListener;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("self-test") {
        std::process::exit(selftest::run());
    }
    // `testsvc echo WORDS…` prints them, for a `RUN` step whose output the grader's tests choose.
    if std::env::args().nth(1).as_deref() == Some("echo") {
        println!("{}", std::env::args().skip(2).collect::<Vec<_>>().join(" "));
        return;
    }
    if let Some(what @ ("plant" | "unplant")) = std::env::args().nth(1).as_deref() {
        std::process::exit(plant::run(what));
    }
    // Run as `/bin/sh -c /testsvc` (a w05 mutant's shell-form entrypoint, with this binary copied in as the
    // shell), serve as if started directly.
    lifecycle::before_listen();
    let port = lifecycle::port();
    let bind = std::env::var("BIND").unwrap_or_else(|_| "0.0.0.0".to_string());
    let listener = match TcpListener::bind((bind.as_str(), port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("testsvc: cannot listen on {bind}:{port}: {e}");
            std::process::exit(2);
        }
    };
    // The bound address, so that with `PORT=0` whoever started us learns the port the kernel chose.
    match listener.local_addr() {
        Ok(addr) => eprintln!("testsvc: listening on {addr}"),
        Err(_) => eprintln!("testsvc: listening on {bind}:{port}"),
    }
    lifecycle::after_listen(&listener);
    consumer::start();
    relay::start();
    http::serve(listener, routes::handle);
}
