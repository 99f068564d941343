//! The cohort gradebook, learner pages, check analytics and their exports over real HTTP against the real
//! server, on SQLite and PostgreSQL: who may read which cohort through every door (page, htmx partial, exports,
//! learner page, analytics), what the matrix says, its sorting and filters, and CSV cells that a spreadsheet
//! would run as formulas. Runs are seeded through the store's own queue (submit, claim, finish), not Docker.

mod common;

mod web_gradebook {
    pub mod access;
    pub mod matrix;
    pub mod seed;
}

use common::app::Db;

macro_rules! on_both_backends {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { crate::web_gradebook::$module::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { crate::web_gradebook::$module::$name(super::Db::Postgres).await })*
        }
    };
}

on_both_backends!(
    access::an_instructor_reads_the_cohorts_they_teach_through_every_door_and_no_other,
    access::learners_are_refused_every_gradebook_door,
    matrix::cells_show_the_best_verdict_attempts_and_flags,
    matrix::the_gradebook_sorts_and_filters_by_query_string,
    matrix::exports_neutralise_formulas_and_list_every_check_of_the_latest_run,
    matrix::check_analytics_give_the_share_failing_and_the_common_message,
    matrix::the_learner_page_draws_the_radar_the_timeline_and_links_every_run,
);
