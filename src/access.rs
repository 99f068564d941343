//! Who may see whose work and who may manage what: the rules the run pages, their live streams, re-grades, the
//! API and the staff pages (cohorts, accounts, audit log) all ask, in one place.
//!
//! A learner sees their own runs; an admin sees every run; an instructor sees the runs of the learners in the
//! cohorts they teach (`cohort_staff`), and nobody else's, so that one bootcamp's instructors never read another
//! cohort's submissions, logs or hidden check detail on a shared server. Whoever may not see a run is told it
//! does not exist (404), so run ids reveal nothing.

use crate::domain::Role;
use crate::store::{Store, StoreError};

/// Someone asking to see a learner's work.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub id: i64,
    pub role: Role,
}

/// Whether `viewer` may see the work (runs, logs, results) of the learner `owner_id`.
pub async fn may_see_work_of(
    store: &Store,
    viewer: Viewer,
    owner_id: i64,
) -> Result<bool, StoreError> {
    if viewer.id == owner_id {
        return Ok(true);
    }
    match viewer.role {
        Role::Admin => Ok(true),
        Role::Instructor => store.teaches(viewer.id, owner_id).await,
        Role::Learner => Ok(false),
    }
}

/// Whether `viewer` may manage the cohort `cohort_id`: rename or archive it, rotate its code and set its limits,
/// add learners and instructors. Admins manage every cohort, instructors the ones they teach. Pages answer 404
/// to anyone else, as for runs, so cohort ids reveal nothing.
pub async fn may_manage_cohort(
    store: &Store,
    viewer: Viewer,
    cohort_id: i64,
) -> Result<bool, StoreError> {
    match viewer.role {
        Role::Admin => Ok(true),
        Role::Instructor => store.teaches_cohort(viewer.id, cohort_id).await,
        Role::Learner => Ok(false),
    }
}

/// Whether `viewer` may read a cohort's work as a whole: its gradebook, its learners' pages, its check analytics
/// and their exports. The same people who manage it (its instructors and the admins), asked separately so the two
/// can part if a read-only teaching assistant ever appears.
pub async fn may_read_cohort_work(
    store: &Store,
    viewer: Viewer,
    cohort_id: i64,
) -> Result<bool, StoreError> {
    may_manage_cohort(store, viewer, cohort_id).await
}

/// Whether `viewer` may put the learner `email` into the cohort `to`: they manage `to`, and the learner is in no
/// cohort yet or in one they manage too (an instructor cannot pull a learner out of someone else's cohort).
pub async fn may_place_learner(
    store: &Store,
    viewer: Viewer,
    email: &str,
    to: i64,
) -> Result<bool, StoreError> {
    if !may_manage_cohort(store, viewer, to).await? {
        return Ok(false);
    }
    match store.cohort_of(email).await? {
        Some(from) => may_manage_cohort(store, viewer, from).await,
        None => Ok(true),
    }
}

/// Staff pages (the staff home, the cohort list) are for admins and instructors.
pub fn is_staff(viewer: Viewer) -> bool {
    viewer.role.is_staff()
}

/// Accounts (listing them, resets, roles, deactivation) and the audit log are for admins only.
pub fn may_manage_accounts(viewer: Viewer) -> bool {
    viewer.role == Role::Admin
}

/// Reloading the curriculum (and reading its files' problems) is for admins only: it changes the course for
/// every cohort at once.
pub fn may_reload_curriculum(viewer: Viewer) -> bool {
    viewer.role == Role::Admin
}

/// Whether `viewer` may re-grade a lab for a whole cohort: the same people who read the cohort's work (its
/// instructors and the admins).
pub async fn may_regrade_cohort(
    store: &Store,
    viewer: Viewer,
    cohort_id: i64,
) -> Result<bool, StoreError> {
    may_read_cohort_work(store, viewer, cohort_id).await
}

/// Whether `viewer` may change the role of, or deactivate, the account `target_id`: an admin, and not on their
/// own account, so the last admin cannot lock everyone out by a slip.
pub fn may_change_account(viewer: Viewer, target_id: i64) -> bool {
    may_manage_accounts(viewer) && viewer.id != target_id
}
