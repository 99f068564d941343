//! `gauntlet starter --lab LAB [--name NAME] [DIR]`: downloads one of a lab's starter projects (the default one,
//! or the one `--name` names) and unpacks it into a new folder.
//!
//! The download is unpacked with the same checks as an upload (no `..`, no links, size limits), into a folder
//! that must be new or empty, so it can never overwrite a learner's work.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::Remote;
use crate::archive::{self, ArchiveLimits};
use crate::curriculum::starter;

pub async fn run(
    target: &Remote,
    lab: &str,
    name: Option<&str>,
    dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    if let Some(bad) = name.filter(|n| !starter::valid_name(n) && *n != starter::DEFAULT) {
        bail!(
            "`{bad}` is not a starter name: starters are named with lowercase letters, digits and `-` (e.g. `rust`)"
        );
    }
    let dir = dir.unwrap_or_else(|| match name {
        Some(n) if n != starter::DEFAULT => PathBuf::from(format!("{lab}-{n}")),
        _ => PathBuf::from(lab),
    });
    let base = target.base();
    let client = target.client()?;
    let url = match name {
        Some(n) => format!("{base}/api/v1/labs/{lab}/starters/{n}.tar.gz"),
        None => format!("{base}/api/v1/labs/{lab}/starter.tar.gz"),
    };
    let res = client
        .get(url)
        .bearer_auth(&target.token)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = res.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        match name {
            Some(n) => bail!(
                "lab `{lab}` has no starter named `{n}` on {base} (or there is no such lab): its page lists the starters it offers"
            ),
            None => bail!("lab `{lab}` has no starter project on {base} (or there is no such lab)"),
        }
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
