//! Helpers shared by the integration tests: fixtures built in the test, real servers on random ports.
#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod builds;
pub mod fixture;
pub mod grading;
pub mod ports;
pub mod postgres;
pub mod project;
pub mod proof;
pub mod sandbox;
pub mod server;
pub mod starter;
pub mod testsvc;
