//! The two volumes of a grader's run: `/results`, handed to the grader's user, and `/submission`, the learner's
//! project, copied in owned by root and mounted read-only. Both are filled through a container created with them
//! and never started (as `volume.rs` hands a data folder over): the engine's archive API extracts a tar with the
//! owners its headers name, and refuses writes into a container whose root is read-only.

use std::path::Path;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveVolumeOptions, UploadToContainerOptions,
};

use super::error::SandboxError;
use super::grader::GraderLaunch;
use super::run::RunLabel;
use super::start::User;
use super::Sandbox;

impl Sandbox {
    /// Hands the results folder to the grader's user and copies the project into the submission volume, through
    /// a container that is created with both volumes and never started.
    pub(super) async fn fill_grader_volumes(
        &self,
        run: &RunLabel,
        launch: &GraderLaunch,
        name: &str,
        mounts: Vec<Mount>,
    ) -> Result<(), SandboxError> {
        let tar = {
            let (project, results, submission) = (
                launch.project.clone(),
                launch.results_dir.clone(),
                launch.submission_dir.clone(),
            );
            tokio::task::spawn_blocking(move || {
                volumes_tar(&results, &submission, project.as_deref())
            })
            .await
            .map_err(|e| SandboxError::Archive {
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(|source| SandboxError::Archive { source })?
        };
        let config = ContainerCreateBody {
            image: Some(launch.image.0.clone()),
            // Never run: a command is still required of an image without one.
            cmd: Some(vec!["/gauntlet-never-started".to_string()]),
            labels: Some(run.labels("grader-holder")),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(format!("{name}-holder")),
            ..Default::default()
        };
        let holder = self
            .docker
            .create_container(Some(options), config)
            .await
            .map_err(SandboxError::docker("create the grader's volume holder"))?;
        let uploaded = self
            .docker
            .upload_to_container(
                &holder.id,
                Some(UploadToContainerOptions {
                    path: "/".to_string(),
                    ..Default::default()
                }),
                bollard::body_full(tar.into()),
            )
            .await
            .map_err(SandboxError::docker("fill the grader's volumes"));
        let removed = self
            .remove_holder(&holder.id, "remove the grader's volume holder")
            .await;
        uploaded.and(removed)
    }

    pub(super) async fn remove_grader_volumes(&self, volumes: &[&str]) {
        for v in volumes {
            let removed = self
                .docker
                .remove_volume(v, Some(RemoveVolumeOptions { force: true }))
                .await;
            if let Err(e) = removed {
                tracing::warn!(volume = v, error = %e, "a grader volume is left for the run's clean-up");
            }
        }
    }
}

pub(super) fn volume_mount(target: &str, volume: &str, read_only: bool) -> Mount {
    Mount {
        target: Some(target.to_string()),
        source: Some(volume.to_string()),
        typ: Some(MountType::VOLUME),
        read_only: Some(read_only),
        ..Default::default()
    }
}

/// A tar to extract at `/`: the results folder owned by the grader's user, and the project's files under the
/// submission folder, readable by anyone (owned by root, so the grader cannot change them even where the mount
/// would let it). Links are kept as links, never followed.
fn volumes_tar(
    results_dir: &str,
    submission_dir: &str,
    project: Option<&Path>,
) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let dir_entry = |builder: &mut tar::Builder<Vec<u8>>, path: &str, user: User, mode: u32| {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(mode);
        header.set_uid(u64::from(user.uid));
        header.set_gid(u64::from(user.gid));
        header.set_size(0);
        header.set_mtime(0);
        builder.append_data(&mut header, path.trim_start_matches('/'), std::io::empty())
    };
    dir_entry(&mut builder, results_dir, User::DEFAULT, 0o755)?;
    let root = User { uid: 0, gid: 0 };
    dir_entry(&mut builder, submission_dir, root, 0o755)?;
    if let Some(project) = project {
        let prefix = Path::new(submission_dir.trim_start_matches('/'));
        append_tree(&mut builder, project, project, prefix)?;
    }
    builder.into_inner()
}

/// Appends `dir`'s entries (relative to `root`, under `prefix`), owned by root, files 0644 or 0755.
fn append_tree(
    builder: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    dir: &Path,
    prefix: &Path,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = path.strip_prefix(root).map_err(std::io::Error::other)?;
        let name = prefix.join(rel);
        let meta = std::fs::symlink_metadata(&path)?;
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder.append_data(&mut header, &name, std::io::empty())?;
            append_tree(builder, root, &path, prefix)?;
        } else if meta.file_type().is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            builder.append_link(&mut header, &name, std::fs::read_link(&path)?)?;
        } else if meta.is_file() {
            let executable =
                std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if executable { 0o755 } else { 0o644 });
            header.set_size(meta.len());
            builder.append_data(&mut header, &name, std::fs::File::open(&path)?)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_volumes_tar_gives_results_to_the_grader_and_the_project_to_root() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("src")).expect("src");
        std::fs::write(dir.path().join("src/main.go"), "package main").expect("file");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).expect("link");
        let bytes = volumes_tar("/results", "/submission", Some(dir.path())).expect("tar");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u64, bool)> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                (
                    e.path().expect("path").display().to_string(),
                    e.header().uid().expect("uid"),
                    e.header().entry_type().is_symlink(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("results".to_string(), 10001, false),
                ("submission".to_string(), 0, false),
                ("submission/link".to_string(), 0, true),
                ("submission/src".to_string(), 0, false),
                ("submission/src/main.go".to_string(), 0, false),
            ]
        );
    }
}
