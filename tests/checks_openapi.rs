//! The check engine's `openapi` kind, run against `testsvc` as a local process: each part of the fixture lab
//! (a valid document with the required operations, a scenario whose answers match the document, requests
//! generated from it) passes on the correct service and fails on the defect it exists to catch, with a
//! learner message that names the document's places and never a generated input; the same seed sends the
//! same requests; malformed openapi checks are refused with file and line.

mod common;

#[allow(dead_code)] // shared with checks_http; not every helper is used here
#[path = "checks_http/support.rs"]
mod support;

#[path = "checks_openapi/fixture.rs"]
mod fixture;

#[path = "checks_openapi/document.rs"]
mod document;

#[path = "checks_openapi/responses.rs"]
mod responses;

#[path = "checks_openapi/generated.rs"]
mod generated;

#[path = "checks_openapi/load.rs"]
mod load;

#[path = "checks_openapi/tiny.rs"]
mod tiny;

#[path = "checks_openapi/media.rs"]
mod media;

#[path = "checks_openapi/secured.rs"]
mod secured;

#[path = "checks_openapi/strings.rs"]
mod strings;

#[path = "checks_openapi/paths.rs"]
mod paths;

#[path = "checks_openapi/schemes.rs"]
mod schemes;

#[path = "checks_openapi/setup.rs"]
mod setup;
