//! Who may see whose work: the one rule the run pages, their live streams, re-grades and the API all ask.
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
