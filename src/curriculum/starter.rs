//! A lab's starter project (`labs/<id>/starter/`): a project folder learners download from the lab page, the API
//! or `gauntlet starter`, that builds and runs as it is and leaves the lab's work marked as TODOs.
//!
//! It is packed on request from exactly that folder, with the same packer (and limits, and ignore rules) as a
//! learner's submission, so nothing else of the lab's folder (the hidden checks) can ever be in it.

use std::path::PathBuf;

use super::Curriculum;
use crate::archive::{self, ArchiveError, ArchiveLimits};
use crate::domain::LabId;

/// The folder name a lab's starter lives in.
pub const FOLDER: &str = "starter";

/// Why a starter cannot be downloaded.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// No such lab, or a lab without a starter.
    #[error("no starter project")]
    NotFound,
    #[error(transparent)]
    Pack(#[from] ArchiveError),
}

/// The starter of lab `id` (as a URL names it) as a `.tar.gz`.
pub async fn for_lab(curriculum: &Curriculum, id: &str) -> Result<Vec<u8>, StarterError> {
    let dir = LabId::parse(id)
        .ok()
        .and_then(|id| curriculum.lab(&id))
        .and_then(|lab| lab.starter.clone())
        .ok_or(StarterError::NotFound)?;
    Ok(archive(dir).await?)
}

/// The starter folder as a `.tar.gz`.
pub async fn archive(dir: PathBuf) -> Result<Vec<u8>, ArchiveError> {
    let packed =
        tokio::task::spawn_blocking(move || archive::pack(&dir, &ArchiveLimits::default())).await;
    packed.unwrap_or_else(|e| {
        Err(ArchiveError::Io {
            context: "pack the starter project",
            source: std::io::Error::other(e.to_string()),
        })
    })
}
