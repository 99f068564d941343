//! What is checked before a build is sent to the engine, so that a refused build runs no step at all: the
//! context's and the Dockerfile's sizes, then every image the Dockerfile makes the build read, against the
//! operator's [`BuildPolicy`].
//!
//! The engine's knowledge is needed for the default rule (no allow-list): an image that exists on the engine
//! without any registry digest was built or imported there, so it may be an operator's private image or hold
//! what a learner must not read; an image that is not there at all will be pulled from its registry by the
//! build. The `ONBUILD` triggers of a base that is on the engine are checked as well, since they run in the
//! learner's build.

use std::collections::BTreeMap;
use std::io::Read;

use super::dockerfile::{image_uses, ImageUse};
use super::error::{BuildError, SandboxError};
use super::policy::{is_reserved, BuildPolicy};
use super::reference::ImageRef;
use super::Sandbox;

/// Reads the Dockerfile out of a build context (tar or tar.gz), refusing a context or a Dockerfile past the
/// policy's sizes. The engine reads `Dockerfile`, or `dockerfile` when there is none.
pub(crate) fn read_dockerfile(context: &[u8], policy: &BuildPolicy) -> Result<String, BuildError> {
    let refused = |message: String| BuildError::Refused { message };
    let reader: Box<dyn Read + '_> = if context.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(context))
    } else {
        Box::new(context)
    };
    let unreadable = |e: std::io::Error| {
        refused(format!(
            "the project could not be read as a tar archive: {e}"
        ))
    };
    let mut archive = tar::Archive::new(reader);
    let (mut total, mut found): (u64, BTreeMap<&str, Vec<u8>>) = (0, BTreeMap::new());
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        total = total.saturating_add(entry.size());
        if total > policy.max_context_bytes {
            return Err(refused(format!(
                "the build context (your project as sent to Docker) is larger than {}, the limit for a build",
                mib(policy.max_context_bytes)
            )));
        }
        let path = entry
            .path()
            .map_err(unreadable)?
            .to_string_lossy()
            .to_string();
        let Some(name) = ["Dockerfile", "dockerfile"]
            .into_iter()
            .find(|n| path.trim_start_matches("./") == *n)
        else {
            continue;
        };
        if !entry.header().entry_type().is_file() {
            return Err(refused(format!("`{name}` must be a regular file")));
        }
        if entry.size() > policy.max_dockerfile_bytes {
            return Err(refused(format!(
                "the {name} is larger than {}, the limit for a Dockerfile",
                mib(policy.max_dockerfile_bytes)
            )));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(unreadable)?;
        found.insert(name, bytes);
    }
    let bytes = found
        .remove("Dockerfile")
        .or_else(|| found.remove("dockerfile"))
        .ok_or_else(|| refused("the project has no Dockerfile at its root".into()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

impl Sandbox {
    /// Checks every image `dockerfile` makes the build read; `Refused` names the first refused line. Every
    /// build runs it first; it is public so that a Dockerfile can be checked without building it.
    pub async fn admit(
        &self,
        dockerfile: &str,
        build_args: &BTreeMap<String, String>,
    ) -> Result<(), BuildError> {
        let uses = image_uses(dockerfile, build_args).map_err(|e| BuildError::Refused {
            message: e.to_string(),
        })?;
        for used in &uses {
            self.admit_image(used, true).await?;
        }
        Ok(())
    }

    /// One image: by name, then by what the engine holds under that name, then (for an image whose triggers
    /// would run) its `ONBUILD` triggers.
    async fn admit_image(&self, used: &ImageUse, with_triggers: bool) -> Result<(), BuildError> {
        let refuse = |why: String| BuildError::Refused {
            message: format!(
                "Dockerfile line {} (`{}`): `{}` {why}",
                used.line, used.instruction, used.name
            ),
        };
        self.policy.judge_name(&used.name).map_err(refuse)?;
        let inspected = match self.docker.inspect_image(&used.name).await {
            Ok(image) => image,
            // Not on the engine: the build pulls it from its registry, which is what the default rule allows.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(()),
            Err(e) => return Err(SandboxError::docker("inspect a base image")(e).into()),
        };
        let tags = inspected.repo_tags.unwrap_or_default();
        if tags
            .iter()
            .filter_map(|t| ImageRef::parse(t).ok())
            .any(|t| is_reserved(&t))
        {
            return Err(refuse(
                "is an image of Gauntlet's own runs; a build may not read it".into(),
            ));
        }
        let digests = inspected.repo_digests.unwrap_or_default();
        if digests.is_empty() && !self.policy.allows_local_only() {
            return Err(refuse(
                "exists only on this grading host (it was built or imported here, never pulled from a \
                 registry), and such images are not allowed as bases: use a public image"
                    .into(),
            ));
        }
        let triggers = inspected
            .config
            .and_then(|c| c.on_build)
            .unwrap_or_default();
        if with_triggers {
            for trigger in triggers {
                // A trigger runs as if written after the base's FROM; its sources are read as images.
                let text = format!("FROM scratch\nONBUILD {trigger}\n");
                let nested = image_uses(&text, &BTreeMap::new()).map_err(|e| {
                    refuse(format!(
                        "has an ONBUILD trigger that cannot be checked: {}",
                        e.message
                    ))
                })?;
                for inner in nested {
                    let inner = ImageUse {
                        line: used.line,
                        instruction: format!(
                            "{} (ONBUILD {trigger} of {})",
                            used.instruction, used.name
                        ),
                        name: inner.name,
                    };
                    Box::pin(self.admit_image(&inner, false)).await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(files: &[(&str, &[u8])], gzip: bool) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, *bytes).expect("append");
        }
        let tar = tar.into_inner().expect("tar");
        if !gzip {
            return tar;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).expect("gzip");
        gz.finish().expect("gzip")
    }

    #[test]
    fn the_dockerfile_is_read_from_a_tar_or_a_tar_gz() {
        let policy = BuildPolicy::default();
        for gzip in [false, true] {
            let c = context(
                &[("app.py", b"x"), ("./Dockerfile", b"FROM scratch\n")],
                gzip,
            );
            assert_eq!(
                read_dockerfile(&c, &policy).expect("read"),
                "FROM scratch\n"
            );
        }
        let c = context(&[("dockerfile", b"FROM a\n")], false);
        assert_eq!(read_dockerfile(&c, &policy).expect("read"), "FROM a\n");
        let c = context(&[("sub/Dockerfile", b"FROM a\n")], false);
        assert!(read_dockerfile(&c, &policy).is_err());
    }

    #[test]
    fn an_oversize_dockerfile_or_context_is_refused() {
        let mut policy = BuildPolicy::default();
        policy.max_context_bytes = 4096;
        policy.max_dockerfile_bytes = 1024;
        let big = vec![b'#'; 2048];
        let e =
            read_dockerfile(&context(&[("Dockerfile", &big)], true), &policy).expect_err("refused");
        assert!(e.to_string().contains("larger than 1 KiB"), "{e}");
        let data = vec![0u8; 8192];
        let c = context(&[("Dockerfile", b"FROM scratch\n"), ("data", &data)], true);
        let e = read_dockerfile(&c, &policy).expect_err("refused");
        assert!(e.to_string().contains("build context"), "{e}");
    }
}
