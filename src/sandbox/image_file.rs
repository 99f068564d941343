//! Reading one file out of a built image, such as the JUnit report a lab's test stage wrote.
//!
//! The engine's archive API reads from containers, not images, so a container is created from the image and
//! never started: nothing of the learner's runs, it has no network, and it is removed on every path. It is
//! labelled with the run, so a crash in between leaves nothing the run's clean-up cannot find. The file comes
//! as a tar stream read only up to the caller's cap, so a huge file costs no more than the cap in memory.

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, DownloadFromContainerOptions};
use futures_util::StreamExt;

use super::build::ImageId;
use super::error::SandboxError;
use super::run::RunLabel;
use super::Sandbox;

/// The room a tar stream needs beyond the file's bytes: the entry's headers (a long name takes a PAX header)
/// and the padding to whole 512-byte blocks.
const TAR_OVERHEAD: usize = 64 * 1024;

/// Why a file could not be read from an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    /// The image has nothing at that path: the learner's to fix.
    #[error("there is no file at `{path}`")]
    Missing { path: String },
    /// The path names a folder, a link or a device: the learner's to fix.
    #[error("`{path}` is not a regular file")]
    NotAFile { path: String },
    /// The file is larger than the caller reads: the learner's to fix.
    #[error("`{path}` is larger than {cap} bytes")]
    TooLarge { path: String, cap: usize },
    /// The engine failed: the platform's fault.
    #[error(transparent)]
    Platform(#[from] SandboxError),
}

impl Sandbox {
    /// The bytes of the regular file at `path` (absolute) in `image`, at most `cap` of them.
    pub async fn read_image_file(
        &self,
        run: &RunLabel,
        image: &ImageId,
        path: &str,
        cap: usize,
    ) -> Result<Vec<u8>, ImageFileError> {
        let config = ContainerCreateBody {
            image: Some(image.0.clone()),
            // Never run: a command is still required of an image without one (a `FROM scratch` stage).
            cmd: Some(vec!["/gauntlet-never-started".to_string()]),
            labels: Some(run.labels("image-file")),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(format!("{}-image-file", run.object_name())),
            ..Default::default()
        };
        let holder = self
            .docker
            .create_container(Some(options), config)
            .await
            .map_err(SandboxError::docker(
                "create a container to read a file of the image",
            ))?;
        let read = self.download(&holder.id, path, cap).await;
        let removed = self
            .remove_holder(
                &holder.id,
                "remove the container that read a file of the image",
            )
            .await;
        let bytes = read?;
        removed?;
        Ok(bytes)
    }

    /// The tar stream of `path` from a container, read up to `cap` plus the tar's own overhead, then unpacked.
    pub(super) async fn download(
        &self,
        container: &str,
        path: &str,
        cap: usize,
    ) -> Result<Vec<u8>, ImageFileError> {
        let mut stream = self.docker.download_from_container(
            container,
            Some(DownloadFromContainerOptions {
                path: path.to_string(),
            }),
        );
        let mut tar = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match e {
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                } => ImageFileError::Missing {
                    path: path.to_string(),
                },
                e => SandboxError::docker("read a file of the image")(e).into(),
            })?;
            tar.extend_from_slice(&chunk);
            if tar.len() > cap + TAR_OVERHEAD {
                return Err(ImageFileError::TooLarge {
                    path: path.to_string(),
                    cap,
                });
            }
        }
        first_file(&tar, path, cap)
    }
}

/// The content of the tar's first entry, which must be a regular file of at most `cap` bytes.
fn first_file(tar: &[u8], path: &str, cap: usize) -> Result<Vec<u8>, ImageFileError> {
    let broken = |source| SandboxError::Archive { source };
    let mut archive = tar::Archive::new(tar);
    let mut entries = archive.entries().map_err(broken)?;
    let Some(entry) = entries.next() else {
        return Err(ImageFileError::Missing {
            path: path.to_string(),
        });
    };
    let mut entry = entry.map_err(broken)?;
    if !entry.header().entry_type().is_file() {
        return Err(ImageFileError::NotAFile {
            path: path.to_string(),
        });
    }
    if usize::try_from(entry.size()).map_or(true, |size| size > cap) {
        return Err(ImageFileError::TooLarge {
            path: path.to_string(),
            cap,
        });
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(broken)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if kind.is_symlink() {
                header.set_link_name("elsewhere").expect("link name");
            }
            builder
                .append_data(&mut header, name, *data)
                .expect("append");
        }
        builder.into_inner().expect("tar")
    }

    #[test]
    fn a_regular_file_is_read_whole() {
        let tar = tar_of(&[("junit.xml", tar::EntryType::Regular, b"<testsuite/>")]);
        let bytes = first_file(&tar, "/r/junit.xml", 100).expect("file");
        assert_eq!(bytes, b"<testsuite/>");
    }

    #[test]
    fn a_folder_or_a_link_is_not_a_file() {
        let dir = tar_of(&[("reports", tar::EntryType::Directory, b"")]);
        assert!(matches!(
            first_file(&dir, "/reports", 100),
            Err(ImageFileError::NotAFile { .. })
        ));
        let link = tar_of(&[("junit.xml", tar::EntryType::Symlink, b"")]);
        assert!(matches!(
            first_file(&link, "/junit.xml", 100),
            Err(ImageFileError::NotAFile { .. })
        ));
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let tar = tar_of(&[("junit.xml", tar::EntryType::Regular, &[b'x'; 101])]);
        assert!(matches!(
            first_file(&tar, "/junit.xml", 100),
            Err(ImageFileError::TooLarge { cap: 100, .. })
        ));
    }

    #[test]
    fn an_empty_archive_is_a_missing_file() {
        assert!(matches!(
            first_file(&[0u8; 1024], "/junit.xml", 100),
            Err(ImageFileError::Missing { .. })
        ));
    }
}
