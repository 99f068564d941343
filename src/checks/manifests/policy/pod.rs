//! The pod templates of the Deployments, and their containers with the paths findings use
//! (`spec.template.spec.containers[notes]`, by name as kube-linter names them).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};

use crate::checks::manifests::Manifests;

/// The path of a Deployment's pod spec.
pub const POD: &str = "spec.template.spec";

/// One Deployment's pod template.
pub struct Template<'a> {
    /// `Deployment/name`.
    pub object: String,
    pub deployment: &'a Deployment,
    pub spec: &'a PodSpec,
    /// The pod template's labels (what a Service must select).
    pub labels: BTreeMap<String, String>,
}

/// A container of a template, regular or init, with its path.
pub struct Slot<'a> {
    pub container: &'a Container,
    /// `spec.template.spec.containers[notes]` or `...initContainers[migrate]`.
    pub path: String,
    pub init: bool,
}

/// Every Deployment that has a pod spec.
pub fn templates(m: &Manifests) -> Vec<Template<'_>> {
    m.deployments()
        .filter_map(|d| {
            let template = &d.spec.as_ref()?.template;
            Some(Template {
                object: format!("Deployment/{}", d.metadata.name.as_deref().unwrap_or("")),
                deployment: d,
                spec: template.spec.as_ref()?,
                labels: template
                    .metadata
                    .as_ref()
                    .and_then(|meta| meta.labels.clone())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

impl<'a> Template<'a> {
    /// The regular containers, then the init containers.
    pub fn all_containers(&self) -> Vec<Slot<'a>> {
        let regular = self.spec.containers.iter().map(|c| Slot {
            container: c,
            path: format!("{POD}.containers[{}]", c.name),
            init: false,
        });
        let init = self.spec.init_containers.iter().flatten().map(|c| Slot {
            container: c,
            path: format!("{POD}.initContainers[{}]", c.name),
            init: true,
        });
        regular.chain(init).collect()
    }

    /// The regular containers only (those that serve, and take probes and `preStop`).
    pub fn containers(&self) -> Vec<Slot<'a>> {
        self.all_containers()
            .into_iter()
            .filter(|s| !s.init)
            .collect()
    }
}
