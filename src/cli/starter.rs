//! `gauntlet starter --lab LAB [DIR]`: downloads a lab's starter project and unpacks it into a new folder.
//!
//! The download is unpacked with the same checks as an upload (no `..`, no links, size limits), into a folder
//! that must be new or empty, so it can never overwrite a learner's work.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::Remote;
use crate::archive::{self, ArchiveLimits};

pub async fn run(target: &Remote, lab: &str, dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = dir.unwrap_or_else(|| PathBuf::from(lab));
    let base = target.base();
    let client = target.client()?;
    let res = client
        .get(format!("{base}/api/v1/labs/{lab}/starter.tar.gz"))
        .bearer_auth(&target.token)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        bail!("lab `{lab}` has no starter project on {base} (or there is no such lab)");
    }
    if !status.is_success() {
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no explanation given");
        bail!("the server refused ({status}): {message}");
    }
    let bytes = res.bytes().await.context("the download was interrupted")?;
    let unpacked = archive::unpack(&bytes, &dir, &ArchiveLimits::default())
        .with_context(|| format!("cannot unpack the starter into {}", dir.display()))?;
    println!(
        "Unpacked the starter of {lab} into {} ({} files).",
        dir.display(),
        unpacked.files
    );
    println!(
        "Next: read its README, then `gauntlet submit --lab {lab} {}`.",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
