//! Issue 15's staff surface over real HTTP against the real server, on SQLite and PostgreSQL: who may see and
//! manage which cohort, the cohort page's forms (rename, archive, rotate, limits, learners, instructors), account
//! management (reset codes, deactivation, roles), a learner's own password change, and the audit log; then the
//! same operations from the `gauntlet` binary.

mod common;

mod web_admin {
    pub mod access;
    pub mod accounts;
    pub mod cli;
    pub mod cohorts;
    pub mod support;
}

use common::app::Db;

macro_rules! on_both_backends {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { crate::web_admin::$module::$name(super::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { crate::web_admin::$module::$name(super::Db::Postgres).await })*
        }
    };
}

on_both_backends!(
    access::an_instructor_manages_the_cohorts_they_teach_and_no_other,
    access::learners_are_refused_every_staff_page,
    cohorts::a_cohort_is_renamed_rotated_limited_and_archived_from_its_page,
    cohorts::staff_create_cohorts_and_place_learners,
    cohorts::a_cap_holds_when_many_register_at_once,
    accounts::deactivating_ends_sessions_and_tokens_at_once,
    accounts::a_reset_code_works_once_and_expires,
    accounts::a_learner_changes_their_own_password_and_their_other_sessions_end,
    accounts::roles_change_and_the_audit_log_pages,
);
