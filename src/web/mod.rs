//! The browser-facing pages and the operational endpoints. Handlers are thin: parse the request, call the
//! library, render a template.

mod account;
mod admin;
mod analytics;
pub mod assets;
mod client;
mod cohort_actions;
mod cohort_schedule;
mod cohorts;
mod course;
mod csrf;
mod curriculum_admin;
mod error;
mod gradebook;
pub mod health;
mod layout;
mod learner;
mod observe;
mod password;
mod profile;
mod queue;
mod quiz;
mod redirect;
mod regrade;
pub(crate) mod regrade_batch;
mod run_bundle;
mod run_staff;
pub mod runs;
mod session;
pub mod sse;
mod upload;
mod users;

use std::sync::Arc;

use actix_web::cookie::Key;
use actix_web::web;

pub use course::{starter_download, starter_name};
pub use error::WebError;
pub use layout::Layout;
pub use session::{CurrentUser, MaybeUser};

use crate::auth::ratelimit::LoginLimiter;
use crate::clock::SharedClock;
use crate::curriculum::{Curriculum, SharedCurriculum};
use crate::store::Store;
use crate::telemetry::Metrics;

/// What every handler can reach.
pub struct AppState {
    pub store: Store,
    /// Swapped whole on reload, so a request always sees one consistent course.
    pub curriculum: SharedCurriculum,
    /// Reloads `curriculum` from its folders (the admin button; SIGHUP shares it).
    pub reloader: Arc<crate::reload::Reloader>,
    pub limiter: LoginLimiter,
    /// Proxies whose `X-Forwarded-For` names the client, for the limiter.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Signs the session and CSRF cookies.
    pub key: Key,
    pub secure_cookies: bool,
    pub metrics: Metrics,
    /// Where `/metrics` is served and whether it wants a token.
    pub metrics_access: crate::config::MetricsSettings,
    pub clock: SharedClock,
    pub asset_version: String,
    /// Limits, scratch folder and worker wake-up for submissions.
    pub grading: crate::grading::submit::Intake,
}

impl AppState {
    /// The curriculum as it is now.
    pub fn curriculum(&self) -> Arc<Curriculum> {
        crate::curriculum::current(&self.curriculum)
    }
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/favicon.ico", web::get().to(assets::favicon))
        .route("/login", web::get().to(account::login_form))
        .route("/login", web::post().to(account::login))
        .route("/register", web::get().to(account::register_form))
        .route("/register", web::post().to(account::register))
        .route("/logout", web::post().to(account::logout))
        .route("/", web::get().to(course::map))
        .route("/weeks/{week}", web::get().to(course::week))
        .route("/weeks/{week}/quiz", web::post().to(quiz::submit))
        .route(
            "/weeks/{week}/quiz/attempts/{id}",
            web::get().to(quiz::attempt),
        )
        .route("/labs/{lab}", web::get().to(course::lab))
        .route("/labs/{lab}/starter.tar.gz", web::get().to(course::starter))
        .route(
            "/labs/{lab}/starters/{file}",
            web::get().to(course::named_starter),
        )
        .route("/labs/{lab}/runs", web::get().to(course::lab_runs))
        .route("/labs/{lab}/submissions", web::post().to(runs::submit))
        .route("/runs/{id}", web::get().to(runs::page))
        .route("/runs/{id}/stream", web::get().to(runs::stream))
        .route("/runs/{id}/regrade", web::post().to(regrade::start))
        .route(
            "/runs/{id}/bundle.tar.gz",
            web::get().to(run_bundle::download),
        )
        .route("/profile", web::get().to(profile::page))
        .route("/profile/tokens", web::post().to(profile::create_token))
        .route(
            "/profile/tokens/{id}/revoke",
            web::post().to(profile::revoke_token),
        )
        .configure(staff_routes)
        .configure(crate::api::routes)
        .default_service(web::to(not_found));
}

/// The staff pages (cohorts, accounts, audit log) and the password forms.
fn staff_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/profile/password", web::post().to(password::change))
        .route("/reset", web::get().to(password::form))
        .route("/reset", web::post().to(password::reset))
        .route("/admin", web::get().to(admin::home))
        .route("/admin/audit", web::get().to(admin::audit))
        .route("/admin/queue", web::get().to(queue::page))
        .route("/admin/curriculum", web::get().to(curriculum_admin::page))
        .route(
            "/admin/curriculum/reload",
            web::post().to(curriculum_admin::reload),
        )
        .route("/cohorts", web::get().to(cohorts::list))
        .route("/cohorts", web::post().to(cohort_actions::create))
        .route("/cohorts/{id}", web::get().to(cohorts::page))
        .configure(gradebook_routes)
        .route(
            "/cohorts/{id}/rename",
            web::post().to(cohort_actions::rename),
        )
        .route(
            "/cohorts/{id}/archive",
            web::post().to(cohort_actions::archive),
        )
        .route(
            "/cohorts/{id}/rotate",
            web::post().to(cohort_actions::rotate),
        )
        .route(
            "/cohorts/{id}/limits",
            web::post().to(cohort_actions::limits),
        )
        .route(
            "/cohorts/{id}/learners",
            web::post().to(cohort_actions::place_learner),
        )
        .route(
            "/cohorts/{id}/instructors",
            web::post().to(cohort_actions::add_instructor),
        )
        .route(
            "/cohorts/{id}/instructors/remove",
            web::post().to(cohort_actions::remove_instructor),
        )
        .route(
            "/cohorts/{id}/schedule/start",
            web::post().to(cohort_schedule::start),
        )
        .route(
            "/cohorts/{id}/schedule/date",
            web::post().to(cohort_schedule::date),
        )
        .route(
            "/cohorts/{id}/schedule/early",
            web::post().to(cohort_schedule::early),
        )
        .route("/users", web::get().to(users::list))
        .route("/users/{id}/reset", web::post().to(users::reset))
        .route("/users/{id}/deactivate", web::post().to(users::deactivate))
        .route("/users/{id}/activate", web::post().to(users::activate))
        .route("/users/{id}/role", web::post().to(users::set_role));
}

/// The gradebook, its exports, learner pages and check analytics (issue 15).
fn gradebook_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cohorts/{id}/gradebook", web::get().to(gradebook::page))
        .route(
            "/cohorts/{id}/gradebook.{format}",
            web::get().to(gradebook::export_matrix),
        )
        .route(
            "/cohorts/{id}/checks.{format}",
            web::get().to(gradebook::export_checks),
        )
        .route(
            "/cohorts/{id}/learners/{user}",
            web::get().to(learner::page),
        )
        .route(
            "/cohorts/{id}/labs/{lab}/analytics",
            web::get().to(analytics::cohort),
        )
        .route("/labs/{lab}/analytics", web::get().to(analytics::everyone))
        .route("/cohorts/{id}/regrades", web::get().to(regrade_batch::list))
        .route(
            "/cohorts/{id}/regrades",
            web::post().to(regrade_batch::start),
        )
        .route(
            "/cohorts/{id}/regrades/{batch}",
            web::get().to(regrade_batch::page),
        )
        .route(
            "/cohorts/{id}/regrades/{batch}/progress",
            web::get().to(regrade_batch::progress),
        );
}

async fn not_found() -> Result<actix_web::HttpResponse, WebError> {
    Err(WebError::NotFound)
}

pub(crate) use csrf::{csrf_cookie, CsrfToken};
pub(crate) use observe::observe;
