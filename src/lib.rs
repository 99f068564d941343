//! Gauntlet: a self-hostable learning platform that grades backend services by building and running them.
//!
//! The binary in `main.rs` only parses the command line and calls into this library, so that integration tests
//! can run the very same server, worker and commands in-process.

pub mod access;
pub mod api;
pub mod archive;
pub mod auth;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod config;
pub mod curriculum;
pub mod diagnostics;
pub mod domain;
pub mod failure_bundle;
pub mod gradebook;
pub mod grading;
pub mod kafka;
pub mod loadgen;
pub mod progress;
pub mod quiz;
pub mod reload;
pub mod risk;
pub mod sandbox;
pub mod schedule;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;
