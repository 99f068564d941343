//! The policy of the w06 README, one rule at a time, over typed objects. Each rule returns every violation it
//! finds (empty: the rule holds), so the learner sees all the places to fix at once.
//!
//! - `pod.rs`: the Deployments' pod templates and their containers, with the field paths findings name;
//! - `workload.rs`: replicas and the rollout strategy, the image, requests and limits, probes, shutdown;
//! - `security.rs`: the security context (pod and container merged as Kubernetes merges them) and host access;
//! - `secrets.rs`: secrets by reference only;
//! - `wiring.rs`: the objects the manifests must hold and how they meet (the Service, the ConfigMap).

mod pod;
mod secrets;
mod security;
mod wiring;
mod workload;

use super::{Finding, Manifests, Rule};

/// Every violation of `rule` in `m`.
pub(super) fn judge(rule: Rule, m: &Manifests) -> Vec<Finding> {
    let pods = pod::templates(m);
    // Every rule about the pod needs one; its absence is said once, by the rule asked.
    if pods.is_empty() && !matches!(rule, Rule::ConfigMap | Rule::SecretsByReference) {
        return vec![Finding::new(
            "manifests",
            "",
            "hold no Deployment with a pod template",
        )];
    }
    match rule {
        Rule::Valid => wiring::valid(m, &pods),
        Rule::Replicas => workload::replicas(&pods),
        Rule::ImagePinned => workload::image_pinned(&pods),
        Rule::Probes => workload::probes(&pods),
        Rule::Resources => workload::resources(&pods),
        Rule::GracefulShutdown => workload::graceful_shutdown(&pods),
        Rule::RunAsNonRoot => security::run_as_non_root(&pods),
        Rule::NoPrivilegeEscalation => security::no_privilege_escalation(&pods),
        Rule::ReadOnlyRoot => security::read_only_root(&pods),
        Rule::DropAllCapabilities => security::drop_all(&pods),
        Rule::HostIsolation => security::host_isolation(&pods),
        Rule::SecretsByReference => secrets::by_reference(m, &pods),
        Rule::Service => wiring::service(m, &pods),
        Rule::ConfigMap => wiring::config_map(m),
    }
}
