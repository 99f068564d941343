//! A run's images: the repository `gauntlet-run/<run>` they are tagged in, and their removal.
//!
//! The classic builder commits an image per step and leaves those that are not the final image's ancestors
//! (the earlier stages of a multi-stage build, every layer of a failed, cancelled or crash-interrupted build)
//! untagged and unlabelled: nothing would find them again, and a bootcamp's disk fills with learners' build
//! stages. So `build` tags each layer here as the build log names it, and clean-up removes the repository.
//!
//! The build log also carries the learner's own `RUN` output, so a line that looks like a layer id may be
//! forged. Two rules keep that harmless: an image that has a name outside the run's repository (a base image)
//! is never tagged, and images are removed by the run's tags, never by id with force, so the engine deletes an
//! image only when the run's tag was the last name it had.

use std::collections::{BTreeMap, BTreeSet};

use bollard::models::ImageSummary;
use bollard::query_parameters::{ListImagesOptions, RemoveImageOptions, TagImageOptions};

use super::error::SandboxError;
use super::run::{RunLabel, IMAGE_REPO};
use super::Sandbox;

/// How the engine lists an image without a name (older API versions) or without a digest.
const NO_TAG: &str = "<none>:<none>";
const NO_DIGEST: &str = "<none>@<none>";

impl Sandbox {
    /// Tags a layer the build just committed in the run's repository, so that clean-up finds it whether or
    /// not it ends up an ancestor of the final image. Best effort: an untagged layer is a leak (which the
    /// removal still finds if it sits on a tagged one), not a failed build.
    pub(super) async fn tag_layer(&self, run: &RunLabel, layer: &str) {
        let repo = run.image_repo();
        match self.docker.inspect_image(layer).await {
            Ok(image) => {
                let names = image.repo_tags.iter().chain(image.repo_digests.iter());
                if names.flatten().any(|name| !is_in_repo(name, &repo)) {
                    tracing::debug!(run = %run, layer, "not tagging an image named elsewhere");
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(run = %run, layer, error = %e, "could not inspect a build layer");
                return;
            }
        }
        let options = TagImageOptions {
            repo: Some(repo),
            tag: Some(format!("layer-{layer}")),
        };
        if let Err(e) = self.docker.tag_image(layer, Some(options)).await {
            tracing::warn!(run = %run, layer, error = %e, "could not tag a build layer; it may outlive the run");
        }
    }

    /// Removes every image of `run`: the final image, a test stage, each layer its builds committed, and any
    /// untagged image built on one of those (a layer committed just before a crash, before it was tagged).
    ///
    /// Children before parents, since the engine keeps an image another one is built on. Returns how many
    /// images were deleted; one the engine keeps (it has a name elsewhere, or a child that is not the run's)
    /// only loses the run's tags.
    pub(super) async fn remove_images(&self, run: &str) -> Result<usize, SandboxError> {
        let repo = format!("{IMAGE_REPO}/{run}");
        let tagged = self.list_images(Some(&repo), false).await?;
        if tagged.is_empty() {
            return Ok(0);
        }
        let all = self.list_images(None, true).await?;
        let mut left = run_images(&tagged, &all, &repo);
        let mut deleted = 0;
        while !left.is_empty() {
            let parents: BTreeSet<String> = left.values().map(|i| i.parent.clone()).collect();
            let leaves: Vec<String> = left
                .keys()
                .filter(|id| !parents.contains(*id))
                .cloned()
                .collect();
            if leaves.is_empty() {
                // Only a cycle could get here, and image parents cannot form one.
                break;
            }
            for id in leaves {
                if let Some(image) = left.remove(&id) {
                    if self.remove_image(&id, &image.run_tags).await? {
                        deleted += 1;
                    }
                }
            }
        }
        Ok(deleted)
    }

    /// Removes `id` by the run's tags on it (by id when it has none, i.e. an untagged layer); whether the
    /// engine deleted it. A conflict (a child that is not the run's) leaves it, untagged, for the engine.
    async fn remove_image(&self, id: &str, run_tags: &[String]) -> Result<bool, SandboxError> {
        let names: Vec<&str> = if run_tags.is_empty() {
            vec![id]
        } else {
            run_tags.iter().map(String::as_str).collect()
        };
        let mut deleted = false;
        for name in names {
            match self
                .docker
                .remove_image(name, None::<RemoveImageOptions>, None)
                .await
            {
                Ok(items) => deleted |= items.iter().any(|i| i.deleted.as_deref() == Some(id)),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409,
                    message,
                }) => tracing::warn!(
                    image = id,
                    message,
                    "an image of a run is kept by the engine"
                ),
                Err(e) => return Err(SandboxError::docker("remove an image")(e)),
            }
        }
        Ok(deleted)
    }

    /// The images tagged in a repository matching `reference` (a glob such as `gauntlet-run/*`), or with
    /// `None` every image (`all`: untagged layers too).
    pub(super) async fn list_images(
        &self,
        reference: Option<&str>,
        all: bool,
    ) -> Result<Vec<ImageSummary>, SandboxError> {
        let filters = reference.map(|r| {
            std::collections::HashMap::from([("reference".to_string(), vec![r.to_string()])])
        });
        self.docker
            .list_images(Some(ListImagesOptions {
                all,
                filters,
                ..Default::default()
            }))
            .await
            .map_err(SandboxError::docker("list images"))
    }
}

/// One image to remove: its parent, and the run's tags on it (none for an untagged descendant).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunImage {
    parent: String,
    run_tags: Vec<String>,
}

/// The run's tagged images and every image without any name that descends from one of them: nothing but
/// the run's own build can have built on a run's layer, since runs share no cache.
fn run_images(
    tagged: &[ImageSummary],
    all: &[ImageSummary],
    repo: &str,
) -> BTreeMap<String, RunImage> {
    let mut found: BTreeMap<String, RunImage> = tagged
        .iter()
        .map(|i| {
            let run_tags = i
                .repo_tags
                .iter()
                .filter(|t| is_in_repo(t, repo))
                .cloned()
                .collect();
            (
                i.id.clone(),
                RunImage {
                    parent: i.parent_id.clone(),
                    run_tags,
                },
            )
        })
        .collect();
    let nameless: Vec<&ImageSummary> = all.iter().filter(|i| has_no_name(i)).collect();
    loop {
        let before = found.len();
        for image in &nameless {
            if found.contains_key(&image.parent_id) && !found.contains_key(&image.id) {
                let entry = RunImage {
                    parent: image.parent_id.clone(),
                    run_tags: Vec::new(),
                };
                found.insert(image.id.clone(), entry);
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

fn has_no_name(image: &ImageSummary) -> bool {
    image.repo_tags.iter().all(|t| t == NO_TAG) && image.repo_digests.iter().all(|d| d == NO_DIGEST)
}

/// Whether `name` (`repo:tag` or `repo@digest`) is in `repo`.
fn is_in_repo(name: &str, repo: &str) -> bool {
    name.strip_prefix(repo)
        .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, parent: &str, tags: &[&str]) -> ImageSummary {
        ImageSummary {
            id: id.into(),
            parent_id: parent.into(),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn names_belong_to_a_repository_only_up_to_its_tag_or_digest() {
        let repo = "gauntlet-run/a-1";
        assert!(is_in_repo("gauntlet-run/a-1:latest", repo));
        assert!(is_in_repo("gauntlet-run/a-1@sha256:00", repo));
        assert!(!is_in_repo("gauntlet-run/a-10:latest", repo));
        assert!(!is_in_repo("python:3.12", repo));
    }

    #[test]
    fn untagged_descendants_are_the_runs_but_named_images_and_strangers_are_not() {
        let repo = "gauntlet-run/r";
        let tagged = [
            image(
                "base-layer",
                "python",
                &["gauntlet-run/r:layer-1", "other:tag"],
            ),
            image("top", "base-layer", &["gauntlet-run/r:latest"]),
        ];
        let all = [
            tagged[0].clone(),
            tagged[1].clone(),
            image("python", "", &["python:3.12"]),
            image("orphan", "top", &[NO_TAG]),
            image("orphan-child", "orphan", &[]),
            image("named-child", "top", &["someone:else"]),
            image("stranger", "python", &[]),
        ];
        let found = run_images(&tagged, &all, repo);
        let ids: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(ids, ["base-layer", "orphan", "orphan-child", "top"]);
        assert_eq!(found["base-layer"].run_tags, ["gauntlet-run/r:layer-1"]);
        assert!(found["orphan"].run_tags.is_empty());
    }
}
