//! Reading a built image for the `image` checks: its configuration, its history, the base it was built on,
//! and its export (`docker save`) as a byte stream the checks walk without holding it.
//!
//! The base is found from the image itself rather than from the Dockerfile: walking the history from the
//! newest entry down, the first image the engine knows under a name outside the run's repository
//! (`python:3.12-slim`) whose layers are a prefix of the built image's. The run's own earlier stages are
//! tagged in the run's repository, so a final stage `FROM` one of them counts as the learner's, as it is;
//! `FROM scratch` has no base at all.

use bollard::models::ImageInspect;
use futures_util::TryStreamExt;

use super::error::SandboxError;
use super::run::IMAGE_REPO;
use super::start::Running;
use super::Sandbox;

/// Instructions that record a history entry but add no layer (classic builder: `#(nop)` entries other than
/// `COPY` and `ADD`; BuildKit: the bare instruction).
const NO_LAYER: &[&str] = &[
    "ENV",
    "ARG",
    "USER",
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "LABEL",
    "VOLUME",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
    "ONBUILD",
    "MAINTAINER",
    "WORKDIR",
];

/// What the engine says about an image, oldest history entry first.
#[derive(Debug, Clone, Default)]
pub struct ImageRecord {
    pub id: String,
    pub user: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<String>,
    pub size: u64,
    pub layers: usize,
    pub history: Vec<HistoryStep>,
    pub base: Option<BaseRecord>,
}

/// One history entry.
#[derive(Debug, Clone, Default)]
pub struct HistoryStep {
    pub created_by: String,
    pub size: u64,
    /// Whether the entry added no layer, judged from its instruction (the history API does not say).
    pub empty_layer: bool,
}

/// The image a final stage was built `FROM`.
#[derive(Debug, Clone, Default)]
pub struct BaseRecord {
    pub name: String,
    pub layers: usize,
    /// How many of the built image's history entries (the oldest) are the base's.
    pub history: usize,
    pub size: u64,
    pub env: Vec<String>,
}

impl Sandbox {
    /// The id (`sha256:…`) of the image a run's container was created from.
    pub async fn image_of(&self, running: &Running) -> Result<String, SandboxError> {
        let container = self
            .docker
            .inspect_container(&running.container_id, None)
            .await
            .map_err(SandboxError::docker("inspect the container"))?;
        container.image.ok_or_else(|| SandboxError::Docker {
            action: "read the container's image",
            source: bollard::errors::Error::RequestTimeoutError,
        })
    }

    /// The configuration, history and base of `image`.
    pub async fn read_image(&self, image: &str) -> Result<ImageRecord, SandboxError> {
        let inspect = self.inspect(image).await?;
        let mut history = self
            .docker
            .image_history(image)
            .await
            .map_err(SandboxError::docker("read an image's history"))?;
        let layers = layers_of(&inspect);
        let base = self.find_base(&history, &layers).await;
        history.reverse();
        let config = inspect.config.unwrap_or_default();
        Ok(ImageRecord {
            id: inspect.id.unwrap_or_default(),
            user: config.user.unwrap_or_default(),
            entrypoint: config.entrypoint,
            cmd: config.cmd,
            env: config.env.unwrap_or_default(),
            size: size(inspect.size),
            layers: layers.len(),
            history: history
                .into_iter()
                .map(|h| HistoryStep {
                    empty_layer: adds_no_layer(&h.created_by),
                    created_by: h.created_by,
                    size: size(Some(h.size)),
                })
                .collect(),
            base,
        })
    }

    /// `image` as `docker save` writes it, a stream read as it arrives; the engine's errors become I/O errors.
    pub fn export_image(&self, image: &str) -> impl tokio::io::AsyncRead + Send + 'static {
        let stream = self
            .docker
            .export_image(image)
            .map_err(std::io::Error::other);
        tokio_util::io::StreamReader::new(Box::pin(stream))
    }

    async fn inspect(&self, image: &str) -> Result<ImageInspect, SandboxError> {
        self.docker
            .inspect_image(image)
            .await
            .map_err(SandboxError::docker("inspect an image"))
    }

    /// The base image, from the history as the engine lists it (newest first); see the module's comment.
    async fn find_base(
        &self,
        history: &[bollard::models::ImageHistoryResponseItem],
        layers: &[String],
    ) -> Option<BaseRecord> {
        let own = format!("{IMAGE_REPO}/");
        for (i, step) in history.iter().enumerate().skip(1) {
            if step.id.is_empty() || step.id == "<missing>" {
                continue;
            }
            let Ok(candidate) = self.inspect(&step.id).await else {
                continue;
            };
            let names = candidate
                .repo_tags
                .iter()
                .chain(candidate.repo_digests.iter());
            let Some(name) = names.flatten().find(|n| !n.starts_with(&own)) else {
                continue;
            };
            let base_layers = layers_of(&candidate);
            if !layers.starts_with(&base_layers) {
                continue;
            }
            return Some(BaseRecord {
                name: name.clone(),
                layers: base_layers.len(),
                history: history.len() - i,
                size: size(candidate.size),
                env: candidate.config.and_then(|c| c.env).unwrap_or_default(),
            });
        }
        None
    }
}

fn layers_of(image: &ImageInspect) -> Vec<String> {
    image
        .root_fs
        .as_ref()
        .and_then(|r| r.layers.clone())
        .unwrap_or_default()
}

fn size(bytes: Option<i64>) -> u64 {
    bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(0)
}

fn adds_no_layer(created_by: &str) -> bool {
    let instruction = created_by
        .split_once("#(nop)")
        .map_or(created_by, |(_, rest)| rest)
        .trim_start();
    let keyword = instruction.split_whitespace().next().unwrap_or("");
    NO_LAYER.contains(&keyword.to_ascii_uppercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_instructions_add_no_layer_and_copies_and_runs_do() {
        assert!(adds_no_layer("/bin/sh -c #(nop)  ENV A=b"));
        assert!(adds_no_layer("ENTRYPOINT [\"/app\"]"));
        assert!(!adds_no_layer("/bin/sh -c #(nop) COPY file:abc in /app "));
        assert!(!adds_no_layer("|1 X=y /testsvc plant"));
        assert!(!adds_no_layer("/bin/sh -c apt-get update"));
    }
}
