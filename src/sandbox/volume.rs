//! A run's data volume, handed to the user the service runs as.
//!
//! A new volume's root belongs to root, so a service running as [`User::DEFAULT`] could not write its data.
//! The engine has no "owner" option for local volumes, but its archive API extracts entries with the owner the
//! tar header names: a directory entry for the mount point, extracted at the mount point's parent, gives the
//! volume's root that owner. The service's own container cannot take it (its root filesystem is read-only,
//! and the engine refuses archives outside a volume then), so a container that is created and never started,
//! from the same image and with the same volume, carries the write and is removed at once. It is labelled with
//! the run, so a crash in between leaves nothing the run's clean-up cannot find.

use std::path::Path;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, UploadToContainerOptions,
};

use super::build::ImageId;
use super::error::{cannot_run, SandboxError, StartError};
use super::run::RunLabel;
use super::start::User;
use super::Sandbox;

impl Sandbox {
    /// Makes the root of `volume`, mounted at `dir`, owned by `user` (mode 0755).
    pub(crate) async fn give_volume_to(
        &self,
        run: &RunLabel,
        image: &ImageId,
        volume: &str,
        dir: &str,
        user: User,
    ) -> Result<(), StartError> {
        let (parent, name) = split_mount_point(dir).ok_or(SandboxError::DataDir {
            dir: dir.to_string(),
        })?;
        let config = ContainerCreateBody {
            image: Some(image.0.clone()),
            labels: Some(run.labels("volume-owner")),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(dir.to_string()),
                    source: Some(volume.to_string()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            // Named after the volume: instances with volumes of their own may be started at once.
            name: Some(format!("{volume}-owner")),
            ..Default::default()
        };
        let holder = self
            .docker
            .create_container(Some(options), config)
            .await
            .map_err(|e| match cannot_run(&e) {
                // The image made the data folder a file: the learner's to fix.
                Some(message) => StartError::CannotRun { message },
                None => SandboxError::docker("create the data volume's owner container")(e).into(),
            })?;
        let uploaded = self
            .docker
            .upload_to_container(
                &holder.id,
                Some(UploadToContainerOptions {
                    path: parent,
                    ..Default::default()
                }),
                bollard::body_full(owner_entry(&name, user)?.into()),
            )
            .await
            .map_err(SandboxError::docker(
                "hand the data volume to the service's user",
            ));
        let removed = self
            .remove_holder(&holder.id, "remove the data volume's owner container")
            .await;
        uploaded.and(removed).map_err(StartError::from)
    }

    /// Removes a never-started container made only to reach into a volume or an image (the volume's owner, a
    /// file read out of an image), with the anonymous volumes an image's `VOLUME` made, which carry no label of
    /// the run and so would outlive it.
    pub(super) async fn remove_holder(
        &self,
        id: &str,
        action: &'static str,
    ) -> Result<(), SandboxError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        self.docker
            .remove_container(id, Some(options))
            .await
            .map_err(SandboxError::docker(action))
    }
}

/// `/var/lib/app/data` → (`/var/lib/app`, `data`); `None` for `/` or a path that is not absolute.
fn split_mount_point(dir: &str) -> Option<(String, String)> {
    let path = Path::new(dir);
    if !path.is_absolute() {
        return None;
    }
    let name = path.file_name()?.to_str()?.to_string();
    let parent = path.parent()?.to_str()?.to_string();
    Some((parent, name))
}

/// A tar holding one directory entry, `name`, owned by `user`.
fn owner_entry(name: &str, user: User) -> Result<Vec<u8>, SandboxError> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_uid(u64::from(user.uid));
    header.set_gid(u64::from(user.gid));
    header.set_size(0);
    header.set_mtime(0);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, name, std::io::empty())
        .and_then(|()| builder.into_inner())
        .map_err(|source| SandboxError::Archive { source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_point_splits_into_its_parent_and_name() {
        assert_eq!(
            split_mount_point("/data"),
            Some(("/".to_string(), "data".to_string()))
        );
        assert_eq!(
            split_mount_point("/var/lib/app/data/"),
            Some(("/var/lib/app".to_string(), "data".to_string()))
        );
        assert_eq!(split_mount_point("/"), None);
        assert_eq!(split_mount_point("data"), None);
    }

    #[test]
    fn the_owner_entry_is_one_directory_owned_by_the_user() {
        let bytes = owner_entry("data", User::DEFAULT).expect("tar");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u64, u64, bool)> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let h = e.header();
                (
                    e.path().expect("path").display().to_string(),
                    h.uid().expect("uid"),
                    h.gid().expect("gid"),
                    h.entry_type().is_dir(),
                )
            })
            .collect();
        assert_eq!(entries, vec![("data".to_string(), 10001, 10001, true)]);
    }
}
