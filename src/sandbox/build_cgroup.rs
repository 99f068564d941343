//! A process limit for a build's steps, which the build API cannot set: Gauntlet makes a cgroup with
//! `pids.max` for the build and hands it to the engine as the steps' cgroup parent, so every step container
//! is created beneath it and all of them together stay under the limit (`RLIMIT_NPROC` would not bind root,
//! the user of most build steps).
//!
//! This needs what the engine here has: cgroup v1 with the `cgroupfs` driver, on this host, and Gauntlet
//! allowed to write `/sys/fs/cgroup/pids` (root). bollard's build options have no `cgroupparent`, so the
//! parameter is added to the build request's query by a request modifier on a client used for that build only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::run::RunLabel;

/// Where the per-build cgroups are made, under each controller's hierarchy.
const PARENT: &str = "gauntlet-build";

/// One build's cgroup; [`BuildCgroup::remove`] takes it away (and the engine's per-controller copies).
#[derive(Debug)]
pub(crate) struct BuildCgroup {
    /// The cgroup v1 mount root (`/sys/fs/cgroup`).
    root: PathBuf,
    /// `gauntlet-build/<run>-<nonce>`, the same under every controller.
    name: String,
}

impl BuildCgroup {
    /// Makes the cgroup under `root/pids` with `pids` as its limit.
    pub(crate) fn create(root: &Path, run: &RunLabel, pids: i64) -> std::io::Result<BuildCgroup> {
        let name = format!("{PARENT}/{run}-{:08x}", rand::random::<u32>());
        let dir = root.join("pids").join(&name);
        std::fs::create_dir_all(&dir)?;
        let cgroup = BuildCgroup {
            root: root.to_path_buf(),
            name,
        };
        std::fs::write(dir.join("pids.max"), pids.to_string())?;
        Ok(cgroup)
    }

    /// The value of the build's `cgroupparent`: the path from each hierarchy's root.
    pub(crate) fn parent(&self) -> String {
        format!("/{}", self.name)
    }

    /// Whether the build's steps reached the limit: the most processes and threads they ever held together
    /// (`pids.peak`) is the limit. (`pids.events` counts in the step's own cgroup on cgroup v1, which the
    /// engine has removed by now.)
    pub(crate) fn hit_limit(&self) -> bool {
        let dir = self.root.join("pids").join(&self.name);
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file))
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
        };
        matches!((read("pids.peak"), read("pids.max")), (Some(peak), Some(max)) if peak >= max)
    }

    /// Removes the cgroup under every controller once the build's containers are gone (a cancelled build's
    /// step may take a moment to be removed, so a busy cgroup is retried for a few seconds).
    pub(crate) async fn remove(self) {
        let Ok(controllers) = std::fs::read_dir(&self.root) else {
            return;
        };
        let dirs: Vec<PathBuf> = controllers
            .flatten()
            .map(|c| c.path().join(&self.name))
            .filter(|d| d.is_dir())
            .collect();
        for dir in dirs {
            let mut tries = 0;
            while let Err(e) = std::fs::remove_dir(&dir) {
                tries += 1;
                if e.kind() == std::io::ErrorKind::NotFound {
                    break;
                }
                if tries > 25 {
                    tracing::warn!(cgroup = %dir.display(), error = %e, "a build's cgroup is left behind");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Removes the empty cgroups of `run`'s builds under every controller (`gauntlet-build/<run>-<8 hex>`), left
/// when a build was interrupted; one still holding a process stays (the kernel refuses to remove it).
pub(crate) fn remove_leftovers(root: &Path, run: &RunLabel) {
    let Ok(controllers) = std::fs::read_dir(root) else {
        return;
    };
    let prefix = format!("{run}-");
    for controller in controllers.flatten() {
        let Ok(builds) = std::fs::read_dir(controller.path().join(PARENT)) else {
            continue;
        };
        for build in builds.flatten() {
            let name = build.file_name().to_string_lossy().to_string();
            let ours = name
                .strip_prefix(&prefix)
                .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_hexdigit()));
            if ours && build.path().is_dir() {
                let _ = std::fs::remove_dir(build.path());
            }
        }
    }
}

/// `uri` with `cgroupparent=<parent>` added to its query.
pub(crate) fn with_cgroup_parent(uri: &str, parent: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(parent, percent_encoding::NON_ALPHANUMERIC);
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}cgroupparent={encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_a_run_are_removed_and_no_others() {
        let root = tempfile::tempdir().expect("temp dir");
        let run = RunLabel::parse("abc-1").expect("run id");
        for controller in ["pids", "memory"] {
            for name in [
                "abc-1-0123abcd",
                "abc-12-0123abcd",
                "abc-1-0123abcd-x",
                "other-0123abcd",
            ] {
                std::fs::create_dir_all(root.path().join(controller).join(PARENT).join(name))
                    .expect("mkdir");
            }
        }
        remove_leftovers(root.path(), &run);
        for controller in ["pids", "memory"] {
            let mut left: Vec<String> =
                std::fs::read_dir(root.path().join(controller).join(PARENT))
                    .expect("dir")
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect();
            left.sort();
            assert_eq!(
                left,
                ["abc-1-0123abcd-x", "abc-12-0123abcd", "other-0123abcd"]
            );
        }
    }

    #[test]
    fn the_cgroup_parent_is_added_to_the_query() {
        assert_eq!(
            with_cgroup_parent("/v1.41/build?t=x&rm=true", "/gauntlet-build/r-1"),
            "/v1.41/build?t=x&rm=true&cgroupparent=%2Fgauntlet%2Dbuild%2Fr%2D1"
        );
        assert_eq!(
            with_cgroup_parent("/build", "/a"),
            "/build?cgroupparent=%2Fa"
        );
    }
}
