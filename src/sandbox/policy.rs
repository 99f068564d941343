//! What a build may read and how big its inputs and output may be: the operator's side of a build, set once
//! for the whole platform (the lab's side, memory and network, is `BuildLimits`).
//!
//! The images a Dockerfile names are judged here by name; `admit.rs` adds what only the engine knows (whether
//! an image exists only locally, and its `ONBUILD` triggers).

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::reference::{is_image_id, ImageRef};
use super::run::IMAGE_REPO;

/// Repositories Gauntlet itself writes images to (the runs' images; the benchmark scripts' images), which no
/// build may read whatever the allow-list says: they hold other learners' submissions.
/// Gauntlet's own repositories: runs' images, benchmark images, and labs' graders (a learner's build that could
/// read a grader's image could read its tests).
const RESERVED: [&str; 3] = [IMAGE_REPO, "gauntlet-bench", super::grader::GRADER_REPO];

/// The build policy; `Default` is what an operator gets without settings.
#[derive(Debug, Clone)]
pub struct BuildPolicy {
    /// The operator's allow-list of base images, compiled; `None`: any image that is not local-only.
    allowed: Option<(Vec<String>, GlobSet)>,
    /// The build context as sent to the engine, uncompressed.
    pub max_context_bytes: u64,
    /// The Dockerfile; the engine parses it whole, in memory.
    pub max_dockerfile_bytes: u64,
    /// Build output forwarded to the caller; after it, lines are read and dropped (the kept tail still moves).
    pub max_output_bytes: usize,
    /// The cgroup v1 mount root under which each build gets a pids-limited cgroup parent (`build_cgroup.rs`);
    /// `None`: builds have no process limit.
    pub pids_cgroup: Option<std::path::PathBuf>,
}

/// `/sys/fs/cgroup` when it holds a cgroup v1 `pids` hierarchy and the engine is this host's (its local
/// socket): the only case where a cgroup made here can hold the engine's containers.
fn detect_pids_cgroup() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let local =
        std::env::var("DOCKER_HOST").map_or(true, |h| h.is_empty() || h.starts_with("unix://"));
    (local && root.join("pids").is_dir()).then(|| root.to_path_buf())
}

impl Default for BuildPolicy {
    fn default() -> Self {
        BuildPolicy {
            allowed: None,
            max_context_bytes: 50 << 20,
            max_dockerfile_bytes: 1 << 20,
            max_output_bytes: 2 << 20,
            pids_cgroup: detect_pids_cgroup(),
        }
    }
}

/// An allow-list entry that is not a pattern.
#[derive(Debug, thiserror::Error)]
#[error("`{pattern}` is not a valid base image pattern: {message}")]
pub struct BadPattern {
    pub pattern: String,
    pub message: String,
}

impl BuildPolicy {
    /// The default policy with `patterns` as the allow-list of base images (`debian:*`, `python:3.12-slim`,
    /// `gauntlet-base/*`; `*` matches any text, `/` and `:` included). An empty list keeps the default rule.
    pub fn with_allowed_bases(mut self, patterns: &[String]) -> Result<Self, BadPattern> {
        if patterns.is_empty() {
            self.allowed = None;
            return Ok(self);
        }
        let mut set = GlobSetBuilder::new();
        for p in patterns {
            let glob = Glob::new(p.trim()).map_err(|e| BadPattern {
                pattern: p.clone(),
                message: e.kind().to_string(),
            })?;
            set.add(glob);
        }
        let set = set.build().map_err(|e| BadPattern {
            pattern: patterns.join(","),
            message: e.to_string(),
        })?;
        self.allowed = Some((patterns.to_vec(), set));
        Ok(self)
    }

    /// The allow-list, or `None` for the default rule.
    pub fn allowed_bases(&self) -> Option<&[String]> {
        self.allowed.as_ref().map(|(p, _)| p.as_slice())
    }

    /// Judges an image by its name alone: `Err` with the reason (for the learner) when it is refused whatever
    /// the engine holds.
    pub(crate) fn judge_name(&self, name: &str) -> Result<ImageRef, String> {
        if is_image_id(name) {
            return Err(
                "names an image by its id, which is not allowed: name a base image by repository and tag"
                    .into(),
            );
        }
        let image = ImageRef::parse(name).map_err(|e| e.to_string())?;
        if is_reserved(&image) {
            return Err(format!(
                "is an image of Gauntlet's own (`{}/…` holds other runs' images); a build may not read it",
                RESERVED[0]
            ));
        }
        if let Some((patterns, set)) = &self.allowed {
            if !set.is_match(image.familiar()) && !set.is_match(image.full()) {
                return Err(format!(
                    "is not among the base images this platform allows ({})",
                    patterns.join(", ")
                ));
            }
        }
        Ok(image)
    }

    /// Whether images that exist only on the engine (no registry digest) may be read: only when the operator
    /// listed them, i.e. when an allow-list is set.
    pub(crate) fn allows_local_only(&self) -> bool {
        self.allowed.is_some()
    }
}

/// Whether the image is in one of Gauntlet's own repositories (on Docker Hub's default name space, which is
/// where the engine files local names such as `gauntlet-run/x`).
pub(crate) fn is_reserved(image: &ImageRef) -> bool {
    let path = image.path.strip_prefix("library/").unwrap_or(&image.path);
    let first = path.split('/').next().unwrap_or_default();
    image.domain == "docker.io"
        && (first == RESERVED[0] || first.starts_with(RESERVED[1]) || first == RESERVED[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(patterns: &[&str]) -> BuildPolicy {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        BuildPolicy::default()
            .with_allowed_bases(&patterns)
            .expect("valid patterns")
    }

    #[test]
    fn gauntlets_own_images_are_refused_however_they_are_written() {
        let everything = allow(&["*"]);
        for name in [
            "gauntlet-run/abc-12",
            "gauntlet-run/abc-12:latest",
            "docker.io/gauntlet-run/abc-12",
            "index.docker.io/gauntlet-run/abc-12:t",
            &format!("gauntlet-run/x@sha256:{}", "a".repeat(64)),
            "gauntlet-bench:final",
            "gauntlet-bench-run:x",
            "gauntlet-grader/w04-concurrency:0123abcd",
        ] {
            let e = everything.judge_name(name).expect_err(name);
            assert!(e.contains("Gauntlet's own"), "{name}: {e}");
            assert!(BuildPolicy::default().judge_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn image_ids_are_refused() {
        for name in ["1d81abcaf808", "sha256:1d81abcaf808", "0"] {
            let e = allow(&["*"]).judge_name(name).expect_err(name);
            assert!(e.contains("by its id"), "{e}");
        }
    }

    #[test]
    fn the_allow_list_matches_familiar_and_full_names() {
        let policy = allow(&["debian:*", "python:3.12-slim", "gauntlet-base/*"]);
        for ok in [
            "debian",
            "debian:bookworm",
            "docker.io/library/debian:12",
            "python:3.12-slim",
            "gauntlet-base/deb:1",
        ] {
            assert!(policy.judge_name(ok).is_ok(), "{ok} refused");
        }
        for refused in [
            "python:3.13-slim",
            "python",
            "evil/debian:1",
            "ghcr.io/x/debian:1",
        ] {
            let e = policy.judge_name(refused).expect_err(refused);
            assert!(e.contains("debian:*, python:3.12-slim"), "{e}");
        }
    }

    #[test]
    fn without_an_allow_list_any_valid_name_goes_on_to_the_engine_check() {
        let policy = BuildPolicy::default();
        assert!(policy.judge_name("python:3.12-slim").is_ok());
        assert!(!policy.allows_local_only());
        assert!(policy.judge_name("Not/Valid").is_err());
    }

    #[test]
    fn a_bad_pattern_is_reported() {
        let e = BuildPolicy::default()
            .with_allowed_bases(&["debian:[".to_string()])
            .expect_err("refused");
        assert!(e.to_string().contains("debian:["), "{e}");
    }
}
