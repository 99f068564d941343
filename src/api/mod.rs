//! The JSON API, version 1 (`/api/v1/…`), used by `gauntlet submit`. Authenticated by a personal token
//! (`Authorization: Bearer gnt_…`); documented in `docs/api.md`. Responses never carry hidden check detail.

mod auth;
mod error;
mod regrades;
mod v1;

pub use auth::ApiUser;
pub use error::ApiError;

use actix_web::web;

/// Registers `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/labs", web::get().to(v1::labs))
            .route("/labs/{lab}/submissions", web::post().to(v1::submit))
            .route("/labs/{lab}/starter.tar.gz", web::get().to(v1::starter))
            .route(
                "/labs/{lab}/starters/{file}",
                web::get().to(v1::named_starter),
            )
            .route("/runs/{id}", web::get().to(v1::run))
            .route("/runs/{id}/events", web::get().to(v1::events))
            .route("/cohorts/{id}/regrades", web::post().to(regrades::start))
            .route(
                "/cohorts/{id}/regrades/{batch}",
                web::get().to(regrades::show),
            )
            .default_service(web::to(v1::not_found)),
    );
}
