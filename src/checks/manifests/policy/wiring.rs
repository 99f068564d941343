//! The objects the manifests must hold and how they meet: a Deployment whose selector finds its own pods, a
//! Service that selects them and targets a named container port, a ConfigMap the pods read.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::Template;
use crate::checks::manifests::{Finding, Manifests};

/// The manifests hold a Service besides the Deployment, and each Deployment's selector matches its own pod
/// template (the API server refuses one that does not).
pub fn valid(m: &Manifests, pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    if m.services().next().is_none() {
        found.push(Finding::new("manifests", "", "hold no Service"));
    }
    for t in pods {
        let selector = t
            .deployment
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.clone())
            .unwrap_or_default();
        if selector.is_empty() {
            found.push(Finding::new(
                &t.object,
                "spec.selector.matchLabels",
                "is empty; it must select the pod template's labels",
            ));
        } else if !selects(&selector, &t.labels) {
            found.push(Finding::new(
                &t.object,
                "spec.selector.matchLabels",
                format!(
                    "{} does not match the pod template's labels {}",
                    labels(&selector),
                    labels(&t.labels)
                ),
            ));
        }
    }
    found
}

/// Every Service selects the pods of some Deployment and targets, by name, a port their containers declare.
pub fn service(m: &Manifests, pods: &[Template]) -> Vec<Finding> {
    let mut found = Vec::new();
    if m.services().next().is_none() {
        found.push(Finding::new("manifests", "", "hold no Service"));
    }
    for s in m.services() {
        let object = format!("Service/{}", s.metadata.name.as_deref().unwrap_or(""));
        let spec = s.spec.as_ref();
        let selector = spec.and_then(|s| s.selector.clone()).unwrap_or_default();
        if selector.is_empty() {
            found.push(Finding::new(
                &object,
                "spec.selector",
                "is empty; it must select the Deployment's pod labels",
            ));
            continue;
        }
        let Some(t) = pods.iter().find(|t| selects(&selector, &t.labels)) else {
            found.push(Finding::new(
                &object,
                "spec.selector",
                format!("{} matches no Deployment's pod labels", labels(&selector)),
            ));
            continue;
        };
        let names: Vec<&str> = t
            .containers()
            .iter()
            .flat_map(|c| c.container.ports.iter().flatten())
            .filter_map(|p| p.name.as_deref())
            .collect();
        let ports = spec.and_then(|s| s.ports.as_ref());
        if ports.is_none_or(Vec::is_empty) {
            found.push(Finding::new(&object, "spec.ports", "is empty"));
        }
        for p in ports.into_iter().flatten() {
            let at = format!(
                "spec.ports[{}].targetPort",
                p.name.clone().unwrap_or_else(|| p.port.to_string())
            );
            match &p.target_port {
                None => found.push(Finding::new(
                    &object,
                    at,
                    format!(
                        "is not set (so it is port {} by number); target the container port by its name",
                        p.port
                    ),
                )),
                Some(IntOrString::Int(n)) => found.push(Finding::new(
                    &object,
                    at,
                    format!("is {n}, a number; target the container port by its name"),
                )),
                Some(IntOrString::String(name)) if !names.contains(&name.as_str()) => {
                    found.push(Finding::new(
                        &object,
                        at,
                        format!(
                            "is \"{name}\", which no container of {} names",
                            t.object
                        ),
                    ))
                }
                Some(IntOrString::String(_)) => {}
            }
        }
    }
    found
}

/// A ConfigMap is present and some Deployment reads it (`envFrom`, `env[].valueFrom.configMapKeyRef` or a
/// volume).
pub fn config_map(m: &Manifests) -> Vec<Finding> {
    let names: Vec<&str> = m
        .config_maps()
        .filter_map(|c| c.metadata.name.as_deref())
        .collect();
    if names.is_empty() {
        return vec![Finding::new(
            "manifests",
            "",
            "hold no ConfigMap for the non-secret settings",
        )];
    }
    let pods = super::pod::templates(m);
    let read = pods.iter().any(|t| {
        let from_env = t.all_containers().iter().any(|slot| {
            let c = slot.container;
            let env_from = c
                .env_from
                .iter()
                .flatten()
                .filter_map(|e| e.config_map_ref.as_ref())
                .any(|r| names.contains(&r.name.as_str()));
            let env = c
                .env
                .iter()
                .flatten()
                .filter_map(|e| e.value_from.as_ref()?.config_map_key_ref.as_ref())
                .any(|r| names.contains(&r.name.as_str()));
            env_from || env
        });
        let volume = t
            .spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.config_map.as_ref())
            .any(|c| names.contains(&c.name.as_str()));
        from_env || volume
    });
    if read {
        Vec::new()
    } else {
        vec![Finding::new(
            &format!("ConfigMap/{}", names[0]),
            "",
            "is read by no Deployment (envFrom, env valueFrom or a volume)",
        )]
    }
}

/// Whether every label of `selector` is on the pod.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn labels(l: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(", "))
}
