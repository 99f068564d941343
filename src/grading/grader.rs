//! A lab's own grader in a run (the `grader` check kind): its image made ready before the checks start (built
//! once per content of `labs/<id>/grader/` and build arguments, then reused from this host), and its one
//! execution per run, started by the first grader check and kept for the others. Shared by grading and
//! `gauntlet prove`.
//!
//! Building happens before the checks' deadline starts, so a first build on a new host never eats a check's
//! time; a build that fails makes every grader check a platform error with the build log for staff.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::archive::{self, ArchiveLimits};
use crate::checks::grader::{GRADER_DIR, RESULTS_CAP, RESULTS_FILE, RESULTS_PATH, SUBMISSION_PATH};
use crate::checks::{CheckKind, CheckSuite, GraderEnd, GraderExecution, GraderRequest};
use crate::curriculum::Lab;
use crate::sandbox::{GraderLaunch, GraderRun, ImageFileError, ImageId, Running, Sandbox};

/// A grader's memory, CPU and processes: a counterpart's defaults (lab_counterpart.rs), enough for a test program.
const MEMORY_BYTES: i64 = 256 << 20;
const NANO_CPUS: i64 = 1_000_000_000;
const PIDS: i64 = 256;
/// The end of the grader's output kept for staff.
const LOG_CAP: usize = 32 * 1024;
/// The end of a failed grader build's log kept for staff.
const BUILD_LOG_CAP: usize = 16 * 1024;

/// A lab's grader, ready to run in this run (or why it is not).
#[derive(Debug)]
pub struct PreparedGrader {
    image: Result<ImageId, String>,
    /// The lab's declared variables (`[env]` in lab.toml).
    env: Vec<(String, String)>,
    /// Its one execution in this run.
    once: tokio::sync::OnceCell<Arc<GraderExecution>>,
}

/// The lab's grader image when its suite has grader checks (`None` otherwise): found on this host by the hash
/// of its folder and build arguments, or built now.
pub async fn prepare(sandbox: &Sandbox, lab: &Lab, suite: &CheckSuite) -> Option<PreparedGrader> {
    if !suite
        .checks
        .iter()
        .any(|c| matches!(c.kind, CheckKind::Grader(_)))
    {
        return None;
    }
    let env = lab
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let image = image(sandbox, lab).await;
    Some(PreparedGrader {
        image,
        env,
        once: tokio::sync::OnceCell::new(),
    })
}

async fn image(sandbox: &Sandbox, lab: &Lab) -> Result<ImageId, String> {
    let dir = lab.dir.join(GRADER_DIR);
    let args = sandbox.grader_build_args().clone();
    let folder = {
        let (dir, args) = (dir.clone(), args.clone());
        tokio::task::spawn_blocking(move || {
            let hash = content_hash(&dir, &args).map_err(|e| e.to_string())?;
            let tar = archive::pack(&dir, &ArchiveLimits::default()).map_err(|e| e.to_string())?;
            Ok::<_, String>((hash, tar))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
    };
    let (hash, tar) = folder.map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut log = String::new();
    let built = sandbox
        .grader_image(
            lab.id.as_str(),
            &hash,
            tar,
            &args,
            Duration::from_secs(lab.timeouts.build_secs.max(1)),
            |line| super::pipeline::push_capped(&mut log, line, BUILD_LOG_CAP),
        )
        .await;
    built
        .map_err(|e| format!("the lab's grader image did not build: {e}\n--- build log ---\n{log}"))
}

/// sha256 over the folder's files (sorted relative paths, each with its length and bytes; links by their target)
/// and the build arguments: what the image is made of, so an unchanged folder is never built twice on a host.
pub fn content_hash(
    dir: &Path,
    args: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    for rel in &files {
        let path = dir.join(rel);
        let meta = std::fs::symlink_metadata(&path)?;
        let bytes = if meta.file_type().is_symlink() {
            std::fs::read_link(&path)?
                .to_string_lossy()
                .into_owned()
                .into_bytes()
        } else {
            std::fs::read(&path)?
        };
        hash.update(rel.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    for (k, v) in args {
        hash.update(format!("\0arg {k}={v}").as_bytes());
    }
    Ok(hex::encode(hash.finalize()))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else {
            out.push(
                path.strip_prefix(root)
                    .map_err(std::io::Error::other)?
                    .to_path_buf(),
            );
        }
    }
    Ok(())
}

impl PreparedGrader {
    /// The grader's image, or why there is none (its build's log included).
    pub fn image(&self) -> Result<&ImageId, &str> {
        self.image.as_ref().map_err(String::as_str)
    }

    /// The run's one execution of the grader: started by the first caller, then the same for every caller.
    pub async fn execution(
        &self,
        sandbox: &Sandbox,
        service: &Running,
        base_url: Option<url::Url>,
        project: Option<PathBuf>,
        request: GraderRequest,
    ) -> Arc<GraderExecution> {
        self.once
            .get_or_init(|| async {
                let image = match &self.image {
                    Ok(image) => image.clone(),
                    Err(why) => return GraderExecution::platform(why.clone()),
                };
                let Some(url) = base_url else {
                    return GraderExecution::platform("the service's address is not known");
                };
                let mut env = vec![
                    (
                        "SERVICE_URL".to_string(),
                        url.as_str().trim_end_matches('/').to_string(),
                    ),
                    ("GAUNTLET_SEED".to_string(), request.seed.to_string()),
                    ("RESULTS_DIR".to_string(), RESULTS_PATH.to_string()),
                    ("SUBMISSION_DIR".to_string(), SUBMISSION_PATH.to_string()),
                ];
                env.extend(self.env.iter().cloned());
                let launch = GraderLaunch {
                    image,
                    env,
                    project,
                    submission_dir: SUBMISSION_PATH.to_string(),
                    results_dir: RESULTS_PATH.to_string(),
                    results_file: RESULTS_FILE.to_string(),
                    results_cap: RESULTS_CAP,
                    budget: request.budget,
                    memory_bytes: MEMORY_BYTES,
                    nano_cpus: NANO_CPUS,
                    pids_limit: PIDS,
                    log_cap: LOG_CAP,
                };
                let ran = sandbox.run_grader(&service.run, &launch).await;
                Arc::new(execution(ran, request.budget))
            })
            .await
            .clone()
    }
}

/// The sandbox's account of the grader's run as the check engine reads it.
fn execution(
    ran: Result<GraderRun, crate::sandbox::SandboxError>,
    budget: Duration,
) -> GraderExecution {
    match ran {
        Err(e) => GraderExecution {
            ended: GraderEnd::Platform(format!("{e:#}")),
            log: String::new(),
        },
        Ok(GraderRun::TimedOut { log }) => GraderExecution {
            ended: GraderEnd::TimedOut { after: budget },
            log,
        },
        Ok(GraderRun::Exited {
            code,
            oom,
            results,
            log,
        }) => {
            let ended = match (code, results) {
                (0, Some(Ok(bytes))) => GraderEnd::Results(bytes),
                (0, Some(Err(ImageFileError::Missing { .. }))) => GraderEnd::NoResults,
                (0, Some(Err(ImageFileError::Platform(e)))) => {
                    GraderEnd::Platform(format!("{e:#}"))
                }
                (0, Some(Err(e))) => GraderEnd::Unreadable(e.to_string()),
                (0, None) => GraderEnd::NoResults,
                (code, _) => GraderEnd::Crashed { code, oom },
            };
            GraderExecution { ended, log }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_hash_follows_files_and_build_arguments() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("file");
        std::fs::create_dir(dir.path().join("src")).expect("src");
        std::fs::write(dir.path().join("src/main.go"), "package main\n").expect("file");
        let none = Default::default();
        let first = content_hash(dir.path(), &none).expect("hash");
        assert_eq!(first, content_hash(dir.path(), &none).expect("hash"));
        std::fs::write(dir.path().join("src/main.go"), "package main // changed\n").expect("file");
        let changed = content_hash(dir.path(), &none).expect("hash");
        assert_ne!(first, changed);
        let args = [("GO_IMAGE".to_string(), "local/go".to_string())].into();
        assert_ne!(changed, content_hash(dir.path(), &args).expect("hash"));
        // A file moved to another name is another folder.
        std::fs::rename(
            dir.path().join("src/main.go"),
            dir.path().join("src/other.go"),
        )
        .expect("mv");
        assert_ne!(changed, content_hash(dir.path(), &none).expect("hash"));
    }
}
