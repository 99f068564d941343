//! The check engine's `security` kind, run against `testsvc` in its w10 auth mode as a local process: every
//! probe of the bundled w10 suite passes on the correct service and fails on the defect it exists to catch,
//! with a learner message that names the class of attack and never the secret or a token; malformed security
//! checks are refused with file and line; the same seed gives the same verdicts.

mod common;

#[allow(dead_code)] // shared with checks_http; not every helper is used here
#[path = "checks_http/support.rs"]
mod support;

#[path = "checks_security/auth.rs"]
mod auth;

#[path = "checks_security/differential.rs"]
mod differential;

#[path = "checks_security/fixture.rs"]
mod fixture;

#[path = "checks_security/inputs.rs"]
mod inputs;

#[path = "checks_security/load.rs"]
mod load;

#[path = "checks_security/ownership.rs"]
mod ownership;

#[path = "checks_security/owasp.rs"]
mod owasp;

#[path = "checks_security/owasp_load.rs"]
mod owasp_load;

#[path = "checks_security/rules.rs"]
mod rules;
