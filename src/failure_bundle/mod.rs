//! The failure bundle: one `tar.gz` a member of staff downloads from a run page to reproduce the run on their
//! own machine — a replay script of the checks' HTTP requests (`replay.sh`), the learner's project archive
//! when it is still stored, the build and container logs, every check's transcript and a README.
//!
//! The bundle holds the hidden checks' requests, so only staff who may see the run get it (the web handler
//! asks `crate::access`). What came from the learner or the check files is data in the script, never code:
//! see `script.rs`.

mod script;
mod steps;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

pub use script::quote;
pub use steps::{read as read_transcript, Action, Request};

/// A check's stored result, as the bundle needs it.
pub struct CheckRecord {
    pub check_id: String,
    pub title: String,
    pub verdict: String,
    pub message: String,
    pub duration_ms: i64,
    /// The hidden transcript.
    pub detail: String,
}

/// Everything a bundle is made of.
pub struct BundleInput {
    pub run_id: i64,
    pub lab_id: String,
    pub state: String,
    pub seed: i64,
    pub port: u16,
    pub health: String,
    /// The service's environment in the run.
    pub env: BTreeMap<String, String>,
    pub data_dir: Option<String>,
    /// The submitted archive, unless retention dropped it.
    pub archive: Option<Vec<u8>>,
    pub build_log: String,
    pub container_log: String,
    pub checks: Vec<CheckRecord>,
    /// Seconds since the epoch, the files' modification time (the run's, so one run gives one bundle).
    pub mtime: u64,
}

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot write the bundle: {0}")]
    Write(#[from] std::io::Error),
}

/// The folder every file of the bundle is in.
pub fn folder(run_id: i64) -> String {
    format!("gauntlet-run-{run_id}")
}

/// The bundle as `tar.gz` bytes.
pub fn pack(input: &BundleInput) -> Result<Vec<u8>, BundleError> {
    let project = input.archive.as_ref().map(|a| {
        if a.starts_with(b"PK") {
            "project.zip"
        } else if a.starts_with(&[0x1f, 0x8b]) {
            "project.tar.gz"
        } else {
            "project.tar"
        }
    });
    let replays: Vec<script::CheckReplay> = input
        .checks
        .iter()
        .map(|c| script::CheckReplay {
            check_id: c.check_id.clone(),
            title: c.title.clone(),
            verdict: c.verdict.clone(),
            actions: steps::read(&c.detail),
        })
        .collect();
    let spec = script::ScriptSpec {
        run_id: input.run_id,
        lab_id: &input.lab_id,
        port: input.port,
        health: &input.health,
        env: &input.env,
        data_dir: input.data_dir.as_deref(),
        project,
    };
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let dir = folder(input.run_id);
    let mut add = |name: &str, mode: u32, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(input.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{dir}/{name}"), bytes)
    };
    add("README.md", 0o644, readme(input, project).as_bytes())?;
    add(
        "replay.sh",
        0o755,
        script::write(&spec, &replays).as_bytes(),
    )?;
    if let (Some(name), Some(bytes)) = (project, &input.archive) {
        add(name, 0o644, bytes)?;
    }
    add("build.log", 0o644, input.build_log.as_bytes())?;
    add("container.log", 0o644, input.container_log.as_bytes())?;
    add(
        "transcripts.txt",
        0o644,
        transcripts(&input.checks).as_bytes(),
    )?;
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    Ok(gz.finish()?)
}

/// Every check's verdict, message and transcript, one after another.
fn transcripts(checks: &[CheckRecord]) -> String {
    let mut s = String::new();
    for c in checks {
        let _ = writeln!(
            s,
            "==== {} · {} · {} ({} ms)\n{}\n\n{}\n",
            c.check_id, c.title, c.verdict, c.duration_ms, c.message, c.detail
        );
    }
    s
}

fn readme(input: &BundleInput, project: Option<&str>) -> String {
    let project_line = match project {
        Some(name) => format!("- `{name}`: the project the learner submitted, exactly as uploaded."),
        None => "- The project archive is no longer stored on the server (only the newest submissions are \
                 kept), so `replay.sh` needs the URL of a service you start yourself."
            .to_string(),
    };
    format!(
        "# Failure bundle of Gauntlet run {run}\n\n\
         Lab `{lab}`, ended `{state}`, seed {seed}. **Staff only**: this holds the lab's hidden checks' \
         requests; do not pass it to learners.\n\n\
         ## What is here\n\n\
         - `replay.sh`: sends every HTTP request the checks sent, in order, with curl, and prints each answer \
         beside what the check expected and what the grader recorded.\n\
         {project_line}\n\
         - `build.log`, `container.log`: the image build's output and the service's own output in the run.\n\
         - `transcripts.txt`: each check's verdict, message and full transcript.\n\n\
         ## Replaying\n\n\
         ```sh\n\
         ./replay.sh                      # builds the project with docker, runs it on 127.0.0.1:{port}, replays, removes it\n\
         ./replay.sh http://127.0.0.1:8000  # replays against a service you already run\n\
         ```\n\n\
         The container gets the run's environment (`PORT={port}`, `GAUNTLET_SEED`, the run's secrets, the lab's \
         `[env]`), so answers that depend on them match the run. **The project is the learner's: its Dockerfile \
         runs on your machine when `replay.sh` builds it (with your engine's network, as the grader's build \
         network allowed), so read it first, or run the service yourself somewhere apart and pass its URL.** \
         The container runs with no capabilities, no privilege gain, 1 GiB of memory and 512 processes, but \
         not on the grader's isolated network, and the lab's counterparts (a broker, a model upstream) are not \
         started. Downloading this bundle is written to the audit log. Requests a check generated at random were sent as recorded; values the \
         check captured from earlier answers (ids, tokens) are the run's, so a replay may differ where the \
         service hands out new ones. A check that restarted the service restarts the container at the same \
         point. Bodies longer than 2 KiB were stored cut, and are replayed cut.\n\n\
         Everything taken from the checks or the service is a single-quoted word in the script: reading it \
         before running it is still wise.\n",
        run = input.run_id,
        lab = input.lab_id,
        state = input.state,
        seed = input.seed,
        port = input.port,
    )
}
