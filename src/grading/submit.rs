//! Accepting a submission: the archive is checked in full (by unpacking it into a scratch folder that is removed
//! right after) before anything is stored or queued, so a rejected upload leaves nothing behind. The schedule is
//! asked first: a week not open to the learner yet takes nothing, and a submission after its lab's due date is
//! taken and marked late (`crate::schedule`). The web form, the API and `gauntlet submit` all come through here.

use crate::archive::{self, ArchiveError, ArchiveLimits};
use crate::curriculum::Curriculum;
use crate::domain::LabId;
use crate::schedule;
use crate::store::{Quota, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("there is no lab `{0}`")]
    UnknownLab(String),
    /// The lab's week is not open to the learner yet (a 403 that says when it opens).
    #[error("{0}")]
    Closed(#[from] crate::schedule::Closed),
    #[error("{0}")]
    Archive(#[from] ArchiveError),
    /// The learner is at the cap on live runs (a 429: try again when one finishes).
    #[error("you already have {0} submission(s) waiting or being graded, the most allowed at once; wait for one to finish, then submit again")]
    TooManyRuns(i64),
    #[error("the upload could not be checked: {0}")]
    Scratch(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SubmitError {
    /// Whether the learner can fix it (a 4xx), as opposed to a fault of ours.
    pub fn is_learner_fault(&self) -> bool {
        match self {
            SubmitError::UnknownLab(_) | SubmitError::Closed(_) | SubmitError::TooManyRuns(_) => {
                true
            }
            SubmitError::Archive(e) => e.is_learner_fault(),
            SubmitError::Scratch(_) | SubmitError::Store(_) => false,
        }
    }
}

/// Checks the archive and queues a run of `lab` for `user_id` within the intake's quota; returns the run's id.
pub async fn accept(
    store: &Store,
    curriculum: &Curriculum,
    intake: &Intake,
    user_id: i64,
    lab: &str,
    bytes: Vec<u8>,
) -> Result<i64, SubmitError> {
    let (limits, scratch) = (&intake.limits, intake.scratch.as_path());
    let id = LabId::parse(lab).map_err(|_| SubmitError::UnknownLab(lab.to_string()))?;
    let week = match curriculum.lab(&id) {
        Some(l) => l.week,
        None => return Err(SubmitError::UnknownLab(lab.to_string())),
    };
    let plan = store.learner_plan(user_id).await?;
    let timing = schedule::admit(&curriculum.course.schedule, &plan, &id, week, store.now())?;
    // The run is graded by the checks it was submitted under, even while workers change course versions.
    let version = curriculum.lab_version(&id).map(|v| v.as_str().to_string());
    // Refused before the archive is unpacked (the store checks again, atomically, when it queues the run).
    if store.live_runs_of(user_id).await? >= intake.quota.max_live_runs {
        return Err(SubmitError::TooManyRuns(intake.quota.max_live_runs));
    }
    std::fs::create_dir_all(scratch).map_err(SubmitError::Scratch)?;
    let dir = tempfile::Builder::new()
        .prefix("upload-")
        .tempdir_in(scratch)
        .map_err(SubmitError::Scratch)?;
    let limits = limits.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let target = dir.path().join("project");
        let result = archive::unpack(&bytes, &target, &limits).map(|_| ());
        drop(dir);
        result.map(|()| bytes)
    })
    .await
    .map_err(|e| SubmitError::Scratch(std::io::Error::other(e)))??;
    let seed = i64::from(rand::random::<u32>());
    match store
        .submit_within(
            user_id,
            id.as_str(),
            &checked,
            seed,
            intake.quota,
            crate::store::RunTerms {
                version: version.as_deref(),
                timing,
            },
        )
        .await
    {
        Ok(run) => Ok(run),
        Err(StoreError::LiveRunCap(cap)) => Err(SubmitError::TooManyRuns(cap)),
        Err(e) => Err(e.into()),
    }
}

/// What the web layer needs to take submissions: the limits, a scratch folder, and a way to wake a worker.
#[derive(Debug, Clone)]
pub struct Intake {
    pub limits: ArchiveLimits,
    pub scratch: std::path::PathBuf,
    pub waker: std::sync::Arc<tokio::sync::Notify>,
    /// Whether this process grades (and so needs the Docker engine to be ready).
    pub local_workers: bool,
    /// The cap on a learner's live runs and how many archives are kept.
    pub quota: Quota,
}

impl Intake {
    /// Tells an idle worker of this process that a run is waiting (workers elsewhere find it by polling).
    pub fn wake(&self) {
        self.waker.notify_one();
    }
}
