//! The web layer under hostile input, over real HTTP: metrics that a client cannot grow, redirects that stay on
//! this site, live events a build log cannot forge, sign-in limits that stop guessing without locking people
//! out, uploads refused before they are read, and run secrets a learner cannot compute.

mod common;

#[path = "web_security/metrics.rs"]
mod metrics;

#[path = "web_security/redirect.rs"]
mod redirect;

#[path = "web_security/live.rs"]
mod live;

#[path = "web_security/secrets.rs"]
mod secrets;

#[path = "web_security/upload.rs"]
mod upload;

#[path = "web_security/signin.rs"]
mod signin;
