//! Curriculum reload without a restart: load and validate the course's files again and swap the new course in
//! whole, or keep the live one and say what is wrong, file by file and line by line.
//!
//! Two triggers share [`Reloader::reload`]: `SIGHUP` to `gauntlet serve` and the admins' button on
//! `/admin/curriculum`. One reload runs at a time. A valid tree replaces the live course in one write of the
//! shared pointer, so every request and every worker's next claim sees either the old course or the new one,
//! never a mixture. Lab versions come with the new course (they are computed as it loads), so workers grade runs
//! submitted from then on under the new files.
//!
//! **Runs already queued.** A run records the version of its lab it was submitted under, and workers claim only
//! runs of the versions they hold. After a reload this server no longer holds the replaced files, so runs still
//! waiting under a replaced version of a lab move to its new version (they are graded by the course as it now
//! is, which is what the reload asked for); runs being graded at that moment finish under the files their
//! attempt already read. Waiting runs of a lab the new course no longer has end at once as a platform error.

use std::sync::{Arc, Mutex};

use crate::curriculum::{Curriculum, SharedCurriculum};
use crate::diagnostics::Diagnostic;
use crate::store::{Actor, Store, StoreError, VersionChange};

/// Who loaded the live course, and when (Unix milliseconds).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub at: i64,
    pub by: String,
}

/// A reload that was refused, with every problem found.
#[derive(Debug, Clone)]
pub struct Failed {
    pub at: i64,
    pub by: String,
    pub problems: Vec<Diagnostic>,
}

/// What the admin page shows about reloads since the server started.
#[derive(Debug, Clone)]
pub struct ReloadStatus {
    pub loaded: Loaded,
    /// The last refused attempt, if any (it may be older than the live course).
    pub failed: Option<Failed>,
}

/// What one reload did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The new course is live.
    Replaced {
        course_version: String,
        changed_labs: Vec<String>,
        runs_moved: u64,
    },
    /// The files have problems; the old course stays live.
    Kept { problems: Vec<Diagnostic> },
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the course could not be loaded: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Reloads the course held in `shared`, from the folders it was loaded from.
pub struct Reloader {
    shared: SharedCurriculum,
    status: Mutex<ReloadStatus>,
    /// One reload at a time: two at once could swap in the older tree last.
    serial: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// `at`: when the live course was loaded (at start-up, by the operator who started the server).
    pub fn new(shared: SharedCurriculum, at: i64) -> Arc<Reloader> {
        Arc::new(Reloader {
            shared,
            status: Mutex::new(ReloadStatus {
                loaded: Loaded {
                    at,
                    by: "server start".to_string(),
                },
                failed: None,
            }),
            serial: tokio::sync::Mutex::new(()),
        })
    }

    pub fn status(&self) -> ReloadStatus {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_status(&self, change: impl FnOnce(&mut ReloadStatus)) {
        match self.status.lock() {
            Ok(mut s) => change(&mut s),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }

    /// Loads and validates the course's files again; swaps the new course in whole, or keeps the live one and
    /// returns the problems. Both outcomes are audited under `by`.
    pub async fn reload(&self, store: &Store, by: &Actor) -> Result<Outcome, ReloadError> {
        let _one = self.serial.lock().await;
        let old = crate::curriculum::current(&self.shared);
        let (dir, labs) = (old.curriculum_dir.clone(), old.labs_dir.clone());
        // Reading and hashing every file blocks; keep it off the async workers.
        let loaded = tokio::task::spawn_blocking(move || Curriculum::load(&dir, &labs)).await?;
        let now = store.now();
        let new = match loaded {
            Ok(new) => new,
            Err(problems) => {
                let lines: Vec<String> = problems.iter().map(|d| d.to_string()).collect();
                store.record_failed_reload(by, &lines).await?;
                self.set_status(|s| {
                    s.failed = Some(Failed {
                        at: now,
                        by: by.name.clone(),
                        problems: problems.clone(),
                    })
                });
                tracing::warn!(problems = problems.len(), by = %by.name, "curriculum reload refused; the old course stays live");
                return Ok(Outcome::Kept { problems });
            }
        };
        let changes = version_changes(&old, &new);
        let course_version = new.course_version.to_string();
        {
            let mut live = match self.shared.write() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *live = Arc::new(new);
        }
        self.set_status(|s| {
            s.loaded = Loaded {
                at: now,
                by: by.name.clone(),
            }
        });
        let runs_moved = store.record_reload(by, &course_version, &changes).await?;
        let changed_labs: Vec<String> = changes.into_iter().map(|c| c.lab_id).collect();
        tracing::info!(version = %course_version, changed = ?changed_labs, runs_moved, by = %by.name, "curriculum reloaded");
        Ok(Outcome::Replaced {
            course_version,
            changed_labs,
            runs_moved,
        })
    }
}

/// The labs whose version differs between two courses (added, removed or changed), in id order.
fn version_changes(old: &Curriculum, new: &Curriculum) -> Vec<VersionChange> {
    let mut ids: Vec<_> = old.versions.keys().chain(new.versions.keys()).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| {
            let (a, b) = (old.versions.get(id), new.versions.get(id));
            (a != b).then(|| VersionChange {
                lab_id: id.to_string(),
                old: a.map(|v| v.to_string()),
                new: b.map(|v| v.to_string()),
            })
        })
        .collect()
}

/// Reloads on every `SIGHUP` until the process ends (Unix only), logging the outcome.
#[cfg(unix)]
pub fn on_sighup(
    reloader: Arc<Reloader>,
    store: Store,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        let by = Actor {
            id: None,
            name: "SIGHUP".to_string(),
        };
        while hangups.recv().await.is_some() {
            match reloader.reload(&store, &by).await {
                Ok(Outcome::Kept { problems }) => {
                    for p in problems {
                        tracing::warn!(problem = %p, "curriculum reload refused");
                    }
                }
                Ok(Outcome::Replaced { .. }) => {}
                Err(e) => tracing::error!(error = %e, "curriculum reload failed"),
            }
        }
    }))
}
