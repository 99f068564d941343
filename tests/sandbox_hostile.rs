//! The hostile-service suite: services written by the tests (`testsvc` with `TESTSVC_HOSTILE`, `FROM scratch`)
//! do from inside the sandbox what a hostile submission would, on the real engine, and each attempt must fail
//! or be named truthfully.
//!
//! - `network.rs`: the service reaches nothing but its own run network: not the host on any address, not
//!   another run.
//! - `faults.rs`: services that exit, name a missing command, or run out of memory or processes after they
//!   became healthy, graded end to end: the verdict names the cause.
//! - `resources.rs`: a service that fills its disk or prints without end.
//! - `user.rs`: it runs as Gauntlet's non-root user with an open-files limit, and can still write its data
//!   folder.

mod common;
mod sandbox_hostile {
    pub mod faults;
    pub mod network;
    pub mod resources;
    pub mod user;
}
